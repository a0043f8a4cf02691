"""Faults: a file too big to read, kill -9 in the middle of an import or of a send; nothing is lost,
nothing is done twice.

README "What auditbot guarantees" points here."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from conftest import RULES, Province, province_today
from conftest import run_cli as cli
from hypothesis import HealthCheck, settings
from loopback import Sink, email_rules, free_port

from auditbot.demo.samplegen import make_dossiers, write_csv

UNIT_NAMES = ["Sở Tư pháp", "Sở Xây dựng", "UBND xã Quảng Phú"]
CASES = int(os.environ.get("AUDITBOT_FUZZ_CASES", "120"))  # `AUDITBOT_FUZZ_CASES=2000 make test` digs deeper
FUZZ = settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck))

def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


ROWS = 300_000


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is `pid` (one this test started)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit():
                fields = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()
                if int(fields[1]) == pid and fields[0] != b"Z":
                    found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def alive(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}") / "stat").read_bytes().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def test_kill_9_during_an_import_loses_nothing_and_the_next_run_completes(province: Province) -> None:
    path = province.root / "exports" / "ca-quy.csv"
    write_csv(path, list(make_dossiers(ROWS, UNIT_NAMES, province_today(), days=90)))
    process = subprocess.Popen([sys.executable, "-m", "auditbot.cli", "import", "dossiers", str(path), "--config",
                                str(province.rules)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def importing() -> bool:  # the writer lock is taken (and committed) just before the file's transaction
        try:
            with sqlite3.connect(province.db_path) as conn:
                return bool(conn.execute("SELECT count(*) FROM locks").fetchone()[0])
        except sqlite3.Error:
            return False

    wait_for(importing, 60, "the import to start")
    time.sleep(1.0)
    assert process.poll() is None, "the import finished before it could be killed: make the file bigger"
    [child] = children_of(process.pid)  # its parsing child (a 50 MB export)
    assert b"auditbot.sources.tabular.reading_child" in Path(f"/proc/{child}/cmdline").read_bytes()
    process.send_signal(signal.SIGKILL)
    process.wait()
    # the parsing child dies with its parent, instead of holding the export and the database forever
    wait_for(lambda: not alive(child), 10, "the parsing child to die with its parent")
    with sqlite3.connect(province.db_path) as conn:  # the file's one transaction rolled back: nothing half-done
        assert conn.execute("SELECT count(*) FROM dossiers").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 0
    result = cli(province, "import", "dossiers", str(path))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(province.db_path) as conn:
        read, stored, rejected = conn.execute("SELECT rows_read, stored, rejected FROM imports").fetchone()
        assert read == ROWS and stored + rejected == read
        assert conn.execute("SELECT count(*) FROM dossiers").fetchone()[0] == stored


def test_kill_9_during_a_send_batch_never_sends_a_letter_twice(tmp_path: Path) -> None:
    sink = Sink(delay=0.4)
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        province = Province(tmp_path)
        province.rules.write_text(RULES.format(extra=email_rules(controller.port)), encoding="utf-8")
        write_csv(province.root / "exports" / "thang-11.csv", list(make_dossiers(60, UNIT_NAMES, province_today())))
        assert cli(province, "import", "dossiers").returncode == 0
        assert cli(province, "check", "--offline").returncode in (0, 1)
        process = subprocess.Popen([sys.executable, "-m", "auditbot.cli", "report", "--send", "--config",
                                    str(province.rules)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: len(sink.received) >= 2, 60, "two letters to arrive")
        time.sleep(0.2)  # now inside the next letter's DATA: the server may or may not keep it
        process.send_signal(signal.SIGKILL)
        process.wait()
        time.sleep(sink.delay + 0.2)  # let the server finish what it was given
        again = cli(province, "report", "--send")
        assert again.returncode == 0, again.stdout + again.stderr
        third = cli(province, "report", "--send")
        assert third.returncode == 0
        recipients = [rcpt for rcpts, _ in sink.received for rcpt in rcpts]
        twice = {r for r in recipients if recipients.count(r) > 1}
        assert not twice, f"sent twice: {twice}"
        with sqlite3.connect(province.db_path) as conn:
            statuses = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
        assert set(statuses) <= {"sent", "unconfirmed"} and statuses.get("unconfirmed", 0) <= 1
        assert statuses["sent"] + statuses.get("unconfirmed", 0) >= len(set(recipients))
        state = json.loads(cli(province, "status", "--format", "json").stdout)
        assert len(state["unconfirmed_letters"]) == statuses.get("unconfirmed", 0)
    finally:
        controller.stop()
