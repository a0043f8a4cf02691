"""The real daemon as a subprocess, on second-level schedules: jobs fire, fail, stop and restart."""

from __future__ import annotations

import csv
import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from conftest import RULES, Province
from loopback import Sink, email_rules, free_port
from test_rates_and_checks import HEADER, dossier


def make(tmp_path: Path, schedule: str, sources: str = "", extra: str = "") -> Province:
    province = Province(tmp_path)
    text = RULES.format(extra=extra + f"[schedule]\n{schedule}\n")
    province.rules.write_text(text.replace('dossiers = ["exports/"]', f'dossiers = ["exports/"]\n{sources}'),
                              encoding="utf-8")
    return province


def write_export(province: Province, name: str, codes: list[str]) -> None:
    with (province.root / "exports" / name).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(dossier(code) for code in codes)


@contextmanager
def daemon(province: Province) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([sys.executable, "-m", "auditbot.cli", "run", "--config", str(province.rules)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "JOURNAL_STREAM": "8:4242"})  # as under systemd: the journal's lines
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=PATIENCE)


def query(province: Province, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    # mode=rw: looking never creates the database (the daemon's first start must be the one that does)
    # closed at once: the test never keeps the database (or its -wal) open under the daemon
    with closing(sqlite3.connect(f"file:{province.db_path}?mode=rw", uri=True, timeout=30)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql, params)]


# limits, never expectations: a daemon on a loaded machine may take a minute to start or to stop a job
PATIENCE = 180


def wait_for(condition: Callable[[], Any], timeout: float = PATIENCE) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except sqlite3.OperationalError:  # the database is not created yet
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the daemon")


def job_runs(province: Province, job: str) -> list[dict[str, Any]]:
    return query(province, "SELECT * FROM runs WHERE command = ? ORDER BY id", (f"job:{job}",))


def test_jobs_fire_a_failing_job_does_not_stop_the_others_and_sigterm_exits_0(tmp_path: Path) -> None:
    province = make(tmp_path, 'dossiers = "every 1 second"\nchecks = "every 2 seconds"\n'
                              'catalogue = "every 1 second"\nalert_after_failures = 2',
                    sources='catalogue = "no-such-catalogue.csv"')
    write_export(province, "week-1.csv", ["HS-1", "HS-2"])
    with daemon(province) as process:
        wait_for(lambda: len(job_runs(province, "checks")) >= 2 and len(job_runs(province, "catalogue")) >= 3)
        write_export(province, "week-2.csv", ["HS-3"])  # dropped into the watched folder while running
        wait_for(lambda: len(query(province, "SELECT * FROM dossiers")) == 3)
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=PATIENCE)
        assert process.returncode == 0
    assert all(r["status"] == "failed" and "no-such-catalogue.csv" in r["error"] for r in job_runs(province, "catalogue"))
    # a missing file is a person's to fix: one line that names it, no traceback
    assert "Traceback" not in log and "<3>auditbot.ops.daemon: ERROR job catalogue failed: " in log
    assert "no-such-catalogue.csv" in log
    assert {r["status"] for r in job_runs(province, "checks")} <= {"ok", "interrupted"}
    assert job_runs(province, "checks")[0]["status"] == "ok"
    # each export imported once, by content, however often the folder was looked at
    assert sorted(r["file"].rsplit("/", 1)[-1] for r in query(province, "SELECT file FROM imports")) == [
        "week-1.csv", "week-2.csv"]
    assert len(job_runs(province, "dossiers")) >= 3
    # jobs never overlap: each job run starts after the previous one finished
    runs = query(province, "SELECT started_at, finished_at FROM runs WHERE command LIKE 'job:%' ORDER BY id")
    assert all(a["finished_at"] <= b["started_at"] for a, b in itertools.pairwise(runs))
    [alert] = query(province, "SELECT * FROM findings WHERE check_id = 'job.failing'")
    assert alert["unit"] == "_centre" and alert["subject"] == "catalogue" and alert["status"] == "open"
    status = province.run("status", "--format", "json")
    state = json.loads(status.stdout)
    assert state["daemon"]["running"] is False and state["daemon"]["stopped_at"]
    jobs = {j["job"]: j for j in state["jobs"]}
    assert jobs["catalogue"]["last_status"] == "failed" and jobs["catalogue"]["failures"] >= 3
    assert jobs["dossiers"]["next_run"] and jobs["checks"]["last_status"] in ("ok", "interrupted")
    table = province.run("status").stdout
    [line] = [line for line in table.splitlines() if line.startswith("nhập danh mục thủ tục")]
    assert "tiến trình nền: KHÔNG CHẠY" in table and " lỗi " in line and "no-such" in line


class Hanging(BaseHTTPRequestHandler):
    """A unit's site that never answers in time: the listings job is mid-run for as long as we like."""

    def do_GET(self) -> None:
        time.sleep(60)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_kill_9_mid_job_then_restart_records_the_interrupted_run(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hanging)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    province = make(tmp_path, 'listings = "every 1 second"',
                    extra="[listings]\ntimeout_seconds = 120\ndelay_seconds = 0\n")
    province.rules.write_text(province.rules.read_text().replace(
        'emails = ["stp@example.gov.vn"]',
        f'emails = ["stp@example.gov.vn"]\nlisting_urls = ["http://127.0.0.1:{server.server_address[1]}/tthc"]'))
    try:
        with daemon(province) as first:
            wait_for(lambda: any(r["status"] == "running" for r in job_runs(province, "listings")))
            first.kill()  # kill -9 while the job is mid-fetch
            first.wait(timeout=PATIENCE)
        assert [r["status"] for r in job_runs(province, "listings")] == ["running"]
        with daemon(province) as second:
            wait_for(lambda: len(job_runs(province, "listings")) == 2)  # the schedule resumed: mid-fetch again
            runs = job_runs(province, "listings")
            assert runs[0]["status"] == "interrupted" and "killed" in runs[0]["error"]
            second.send_signal(signal.SIGTERM)  # SIGTERM during a job: it ends cleanly, exit 0
            assert second.wait(timeout=PATIENCE) == 0
    finally:
        server.shutdown()
        server.server_close()
    runs = job_runs(province, "listings")
    assert [r["status"] for r in runs] == ["interrupted", "interrupted"]
    assert "stopped" in runs[1]["error"] and runs[1]["finished_at"]
    assert not query(province, "SELECT * FROM runs WHERE status = 'running'")
    assert not query(province, "SELECT * FROM locks")  # the stale lock of the killed process was taken over
    status = province.run("status")
    assert "bị ngắt: lượt" in status.stdout


def test_a_first_start_sends_nothing_and_a_report_due_while_down_is_sent_once_after_restart(tmp_path: Path) -> None:
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()

    def start_and_stop() -> str:
        before = len(job_runs(province, "dossiers")) if province.db_path.exists() else 0
        with daemon(province) as process:
            wait_for(lambda: len(job_runs(province, "dossiers")) >= before + 2)
            process.send_signal(signal.SIGINT)
            _, log = process.communicate(timeout=PATIENCE)
            assert process.returncode == 0
        return log

    try:
        province = make(tmp_path, 'weekly_report = "every monday at 07:30"\ndossiers = "every 1 second"\n'
                                  'checks = "every day at 05:00"',
                        extra=email_rules(port))
        # the first start on a new database: last Monday's report is not "due while down"
        log = start_and_stop()
        assert sink.received == [] and job_runs(province, "weekly_report") == []
        assert "first start: created the database" in log
        status = province.run("status").stdout
        assert "thư hằng tuần: first start: nothing caught up" in status and "next scheduled time" in status
        # a daemon that ran before last Monday and was down then: its report goes out once at restart
        with sqlite3.connect(province.db_path) as conn:
            conn.execute("UPDATE daemon SET started_at = '2020-01-06T07:00:00'")
        start_and_stop()
        start_and_stop()  # the third start has nothing to send
        # an ad-hoc send the same week adds nothing either
        assert province.run("report", "--send").exit_code == 0
    finally:
        controller.stop()
    # no unit was checked yet (no "nothing open" without evidence): the centre's summary, exactly once
    assert [a for rcpt, _ in sink.received for a in rcpt] == ["centre@example.gov.vn"]
    assert [r["status"] for r in job_runs(province, "weekly_report")] == ["ok"]
    assert "nothing caught up" not in province.run("status").stdout


def test_a_second_daemon_on_the_same_database_refuses_to_start_naming_the_first(tmp_path: Path) -> None:
    province = make(tmp_path, 'dossiers = "every 1 second"')
    with daemon(province) as first:
        wait_for(lambda: job_runs(province, "dossiers"))
        second = subprocess.run([sys.executable, "-m", "auditbot.cli", "run", "--config", str(province.rules)],
                                capture_output=True, text=True, timeout=300)
        assert second.returncode == 3
        assert f"already running on {province.db_path}: pid {first.pid} on {os.uname().nodename}" in second.stderr
        assert "Traceback" not in second.stderr
        assert first.poll() is None and json.loads(province.run("status", "--format", "json").stdout)[
            "daemon"]["pid"] == first.pid  # the second start left no trace in the records
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=PATIENCE) == 0
    with daemon(province) as again:  # the lock went with the first process: a restart is not blocked
        wait_for(lambda: json.loads(province.run("status", "--format", "json").stdout)["daemon"].get("pid")
                 == again.pid)
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=PATIENCE) == 0


HOLD_WRITE_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


def test_the_daemon_waits_out_a_database_locked_longer_than_the_busy_timeout(tmp_path: Path) -> None:
    province = make(tmp_path, 'dossiers = "every 1 second"', extra="")
    province.rules.write_text(province.rules.read_text().replace(
        "[database]\n", "[database]\nbusy_timeout_seconds = 0.5\n"), encoding="utf-8")
    with daemon(province) as process:
        wait_for(lambda: job_runs(province, "dossiers"))
        holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_LOCK, str(province.db_path), "8"],
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        holder.communicate(timeout=PATIENCE)
        assert holder.returncode == 0
        before = len(job_runs(province, "dossiers"))
        wait_for(lambda: len(job_runs(province, "dossiers")) >= before + 2)  # the schedule went on
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=PATIENCE)
        assert process.returncode == 0
    assert "database busy (another process holds its write lock): waiting" in log
    assert "database free again after waiting" in log and "Traceback" not in log
    [record] = query(province, "SELECT busy_waited_seconds FROM daemon")
    assert record["busy_waited_seconds"] > 0  # recorded; how long depends on when the daemon first met the lock
    assert "cơ sở dữ liệu: bận (một tiến trình khác giữ quyền ghi) trong" in province.run("status").stdout


def test_a_missing_damaged_or_read_only_database_stops_the_daemon_with_one_line_never_recreated(
        tmp_path: Path) -> None:
    province = make(tmp_path, 'dossiers = "every 1 second"')
    with daemon(province) as process:
        wait_for(lambda: job_runs(province, "dossiers"))
        province.db_path.unlink()  # deleted under the running daemon
        _, log = process.communicate(timeout=PATIENCE)
    assert process.returncode == 5 and "the database is missing, though the daemon has run on it" in log
    assert "Traceback" not in log and not province.db_path.exists()
    restart = subprocess.run([sys.executable, "-m", "auditbot.cli", "run", "--config", str(province.rules)],
                             capture_output=True, text=True, timeout=300)
    assert restart.returncode == 5 and not province.db_path.exists()  # never an empty one in its place
    status = province.run("status")
    assert status.exit_code == 5 and "restore it from a backup" in status.stderr

    province.db_path.write_bytes(b"this is not SQLite " * 1000)  # damaged
    damaged = subprocess.run([sys.executable, "-m", "auditbot.cli", "run", "--config", str(province.rules)],
                             capture_output=True, text=True, timeout=300)
    assert damaged.returncode == 5 and "not a usable SQLite database" in damaged.stderr
    assert "Traceback" not in damaged.stderr and len(damaged.stderr.strip().splitlines()) == 1
    assert province.run("status").exit_code == 5


def test_a_read_only_database_is_refused_in_one_line(tmp_path: Path) -> None:
    province = make(tmp_path, 'dossiers = "every 1 second"')
    assert province.run("findings").exit_code == 0  # creates the database
    # root writes any file by its mode bits: the immutable flag makes it read-only for root too
    protect = ["chattr", "+i"] if os.geteuid() == 0 else ["chmod", "a-w"]
    subprocess.run([*protect, str(province.db_path)], check=True)
    try:
        result = subprocess.run([sys.executable, "-m", "auditbot.cli", "run", "--config", str(province.rules)],
                                capture_output=True, text=True, timeout=300)
    finally:
        subprocess.run(["chattr", "-i", str(province.db_path)] if os.geteuid() == 0
                       else ["chmod", "u+w", str(province.db_path)], check=True)
    assert result.returncode == 5, result.stderr
    assert "is not writable for this user" in result.stderr and "Traceback" not in result.stderr
def test_an_adhoc_check_waits_for_the_daemon_or_says_a_run_is_in_progress(tmp_path: Path) -> None:
    province = make(tmp_path, 'dossiers = "every 1 second"\nlock_wait_seconds = 1')
    province.run("findings")  # creates the schema
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:  # another live process of this machine holds the writer lock
        with sqlite3.connect(province.db_path) as conn:
            conn.execute("INSERT INTO locks VALUES ('writer', ?, ?, 'check (daemon)', datetime('now'))",
                         (holder.pid, os.uname().nodename))
        result = province.run("check", "--offline")
        assert result.exit_code == 3
        assert f"a run is in progress (check (daemon), process {holder.pid}" in result.stderr
    finally:
        holder.kill()
        holder.wait()
    assert province.run("check", "--offline").exit_code in (0, 1)  # the holder is gone: its lock is stale


def test_a_daemon_that_would_send_letters_without_its_smtp_password_refuses_to_start(tmp_path: Path) -> None:
    province = make(tmp_path, 'weekly_report = "every monday at 07:30"\nchecks = "every day at 05:00"\n'
                              'dossiers = "every 1 hour"',
                    extra=email_rules(free_port()).replace("[email]\n", '[email]\nusername = "kiemsoat"\n'))
    env = {k: v for k, v in os.environ.items() if k != "AUDITBOT_SMTP_PASSWORD"}
    result = subprocess.run([sys.executable, "-m", "auditbot.cli", "run", "--config", str(province.rules)],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 2
    assert "cannot send letters: email.username: [email] username is set but $AUDITBOT_SMTP_PASSWORD is empty" \
        in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
