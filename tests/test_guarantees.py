"""What auditbot promises, tried by breaking it: fuzzed input, hostile pages, kills mid-work, planted
personal data, requests it must never make. README "What auditbot guarantees" points here."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from conftest import RULES, Province, province_today
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_report import Sink, email_rules, free_port

from auditbot import commands
from auditbot.config import load_config
from auditbot.errors import ConfigError, UserError
from auditbot.localsites import LoopbackTransport
from auditbot.origins import Origins
from auditbot.samplegen import FLAT, TITLE_ROWS, make_dossiers, windows_1258_form, write_csv, write_xlsx
from auditbot.sources.listing_html import PageError, parse_html
from auditbot.sources.listing_reader import read_listing
from auditbot.sources.portal import check_urls

UNIT_NAMES = ["Sở Tư pháp", "Sở Xây dựng", "UBND xã Quảng Phú"]
CASES = int(os.environ.get("AUDITBOT_FUZZ_CASES", "120"))  # `AUDITBOT_FUZZ_CASES=2000 make test` digs deeper
FUZZ = settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck))


def cli(province: Province, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditbot.cli", *args, "--config", str(province.rules)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


# --- bad input, fuzzed ---------------------------------------------------------------------------

CELL = st.one_of(
    st.text(max_size=30), st.sampled_from(["=1+1", "=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0", "@SUM(1)",
                                          "31/02/2026", "2026-13-45", "32/10/2026 25:61", "", " ", "\x00", "NaN",
                                          "Đã trả kết quả", "Trực tuyến", "Sở Tư pháp", "1e308", "-0"]),
    st.text(min_size=5000, max_size=40000).map(lambda s: s[:40000]),
    st.integers(), st.floats(allow_nan=True))
HEADER = st.lists(st.sampled_from([*FLAT, "Mã hồ sơ", "Mã hồ sơ", "", "Cột lạ", "Ngày tiếp nhận"]), min_size=0,
                  max_size=20)


def import_file(province: Province, path: Path) -> tuple[commands.ImportOutcome, dict[str, int]]:
    config = load_config(province.rules)
    outcome = commands.import_dossier_files(config, [path])
    with sqlite3.connect(province.db_path) as conn:
        counts = {"rejected_rows": conn.execute("SELECT count(*) FROM rejected_rows WHERE file = ?",
                                                [str(path)]).fetchone()[0]}
    return outcome, counts


def assert_accounted(path: Path, outcome: commands.ImportOutcome, counts: dict[str, int]) -> None:
    """Either one clear error naming the file, or every row read is stored, updated, unchanged or rejected."""
    if outcome.errors:
        assert len(outcome.errors) == 1 and str(path) in outcome.errors[0] and "Traceback" not in outcome.errors[0]
        return
    (summary,) = outcome.summaries
    assert summary.rows_read == summary.stored + summary.updated + summary.unchanged + summary.rejected
    assert counts["rejected_rows"] >= summary.rejected  # kept with their reason (earlier imports of a same name too)
    assert all(r.reason for r in summary.rejections)


@FUZZ
@given(header=HEADER, rows=st.lists(st.lists(CELL, max_size=20), max_size=25),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1258"]),
       delimiter=st.sampled_from([",", ";", "\t", "|"]), title_rows=st.integers(0, 8))
def test_fuzzed_csv_exports_are_imported_or_refused_clearly(tmp_path_factory: pytest.TempPathFactory, header: list[str],
                                                            rows: list[list[Any]], encoding: str, delimiter: str,
                                                            title_rows: int) -> None:
    province = Province(tmp_path_factory.mktemp("fuzz"))
    path = province.root / "exports" / "fuzz.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    for _ in range(title_rows):
        writer.writerow(["DANH SÁCH HỒ SƠ"])
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    path.write_bytes(buffer.getvalue().encode(encoding, errors="replace"))
    assert_accounted(path, *import_file(province, path))


@FUZZ
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".csv", ".xlsx", ".xls", ".ods", ".json", ".txt"]))
def test_random_bytes_never_crash_an_importer(tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str) -> None:
    province = Province(tmp_path_factory.mktemp("bytes"))
    path = province.root / f"random{suffix}"
    path.write_bytes(data)
    assert_accounted(path, *import_file(province, path))
    config = load_config(province.rules)
    try:
        commands.import_catalogue_file(config, path)
    except UserError as exc:
        assert str(path) in str(exc)


@FUZZ
@given(drop=st.sets(st.integers(0, len(FLAT) - 1), max_size=6), shift=st.integers(0, 3),
       duplicate=st.booleans(), seed=st.integers(0, 1000))
def test_real_shaped_exports_with_broken_headers(tmp_path_factory: pytest.TempPathFactory, drop: set[int], shift: int,
                                                 duplicate: bool, seed: int) -> None:
    """Columns missing, shifted right, a duplicated header row: imported as far as it makes sense, or refused."""
    province = Province(tmp_path_factory.mktemp("shaped"))
    dossiers = list(make_dossiers(30, UNIT_NAMES, province_today(), seed=seed))
    path = province.root / "exports" / "shaped.csv"
    write_csv(path, dossiers, seed=seed)
    lines = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    keep = [i for i in range(len(FLAT)) if i not in drop]
    rebuilt = [[""] * shift + ([line[i] for i in keep if i < len(line)] if len(line) >= len(FLAT) else line)
               for line in lines]
    if duplicate:
        rebuilt.insert(len(TITLE_ROWS) + 5, rebuilt[len(TITLE_ROWS)])  # the header row again among the data
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rebuilt)
    outcome, counts = import_file(province, path)
    assert_accounted(path, outcome, counts)
    if not drop and not outcome.errors:
        assert outcome.summaries[0].stored + outcome.summaries[0].rejected == 30 + duplicate  # a repeated header row is read, and rejected


HTML_PIECES = st.sampled_from([
    "<table>", "</table>", "<tr>", "<td>", "</td>", "<li>", "<a href='https://dichvucong.gov.vn/thu-tuc-hanh-chinh/1.000894'>",
    "<a href='javascript:alert(1)'>", "<a href='file:///etc/passwd'>", "<a href='http://10.0.0.1/'>", "</a>",
    "<script>document.write('<td>')</script>", "<base href='http://127.0.0.1:1/'>", "&#x0;", "&amp;", "&#xD800;",
    "Đăng ký khai sinh", "1.000894", "<!--", "-->", "<![CDATA[", "<svg><a href='x'>", "<style>td{}</style>",
    "\x00", "\ufeff", "<meta charset='windows-1258'>", "<div class='the-tthc'>", "</div>", "<p>" * 50])


@FUZZ
@given(pieces=st.lists(st.one_of(HTML_PIECES, st.text(max_size=20)), max_size=80), raw=st.binary(max_size=512),
       selector=st.sampled_from([None, "div.the-tthc", "tr", "a[href]"]))
def test_hostile_listing_pages_give_items_or_a_clear_error(pieces: list[str], raw: bytes, selector: str | None) -> None:
    for body in ("".join(pieces).encode("utf-8", errors="replace"), raw):
        try:
            tree = parse_html(body, None)
            url = "https://stp.example.gov.vn/tthc"
            items = read_listing(tree, url, url, ("dichvucong.gov.vn",), selector).items
        except PageError as exc:
            assert str(exc)
            continue
        for item in items:
            assert isinstance(item.name, str) and item.name == item.name.strip()
            assert all(link.startswith(("http://", "https://")) for link in item.links), item.links


TOML_VALUE = st.recursive(
    st.one_of(st.text(max_size=10), st.integers(), st.floats(allow_nan=False), st.booleans()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3)),
    max_leaves=6)


def toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if value == value and abs(value) != float("inf") else "0"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_literal(v)}" for k, v in value.items()) + "}"


KEYS = ["province.name", "province.timezone", "database.path", "thresholds.online_min", "thresholds.min_dossiers",
        "email.smtp_port", "email.security", "schedule.checks", "portal.concurrency", "listings.max_pages",
        "serve.port", "sources.max_file_mb", "report.top_units", "checks.disabled", "dossiers.period"]


@FUZZ
@given(changes=st.dictionaries(st.sampled_from(KEYS), TOML_VALUE, max_size=4), junk=st.text(max_size=40))
def test_fuzzed_rules_toml_is_loaded_or_refused_with_key_paths(tmp_path_factory: pytest.TempPathFactory,
                                                               changes: dict[str, Any], junk: str) -> None:
    root = tmp_path_factory.mktemp("rules")
    text = RULES.format(extra="")
    for key, value in changes.items():
        table, name = key.split(".")
        text += f"\n[{table}]\n{name} = {toml_literal(value)}\n" if f"[{table}]" not in text else ""
    for variant in (text, text + "\n" + junk):
        (root / "rules.toml").write_text(variant, encoding="utf-8")
        try:
            load_config(root / "rules.toml")
        except ConfigError as exc:
            assert str(exc) and "Traceback" not in str(exc)


def test_a_1_gb_export_is_refused_unread_and_the_others_import(province: Province) -> None:
    huge = province.root / "exports" / "ca-nam.csv"
    with huge.open("wb") as handle:
        handle.truncate(1 << 30)  # sparse: 1 GB on paper, nothing on disk
    write_csv(province.root / "exports" / "thang-11.csv", list(make_dossiers(20, UNIT_NAMES, province_today())))
    started = time.monotonic()
    result = cli(province, "import", "dossiers")
    assert result.returncode == 2
    assert f"{huge}: 1,024 MB is more than [sources] max_file_mb = 512 MB; not read" in result.stderr
    assert "thang-11.csv: read 20, stored 20" in result.stdout
    assert time.monotonic() - started < 30  # refused from its size, not after reading a gigabyte


# --- personal data -------------------------------------------------------------------------------

PLANTED_NAMES = ["Nguyễn Thị Bíẩnxyz", "Trần Văn Qwertyũ"]
PLANTED_IDS = ["038099123457", "001188776655"]
PLANTED_PHONES = ["0987001234", "0912009876"]


def test_planted_personal_data_reaches_no_table_log_email_or_attachment(tmp_path: Path) -> None:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        province = Province(tmp_path)
        province.rules.write_text(RULES.format(extra=email_rules(controller.port)), encoding="utf-8")
        dossiers = list(make_dossiers(40, UNIT_NAMES, province_today(), seed=3))
        planted = [dataclasses.replace(d, citizen=PLANTED_NAMES[i % 2], citizen_id=PLANTED_IDS[i % 2],
                                       phone=PLANTED_PHONES[i % 2]) for i, d in enumerate(dossiers)]
        write_xlsx(province.root / "exports" / "thang-11.xlsx", planted[:20])
        write_csv(province.root / "exports" / "thang-11.csv", planted[20:], encoding="cp1258")
        with (province.root / "exports" / "thang-11.csv").open("a", encoding="cp1258", newline="") as handle:
            # a row the importer rejects (a date that does not exist) carries them too
            bad = ["99", "BAD-ROW-1", "1.000894", "Đăng ký kết hôn", PLANTED_NAMES[0], PLANTED_IDS[0], PLANTED_PHONES[0],
                   "Sở Tư pháp", "Trực tiếp", "31/02/2026", "", "", "Hoàn thành", "0", "", "", ""]
            csv.writer(handle).writerow([windows_1258_form(cell) for cell in bad])
        logs = ""
        for args in (["import", "dossiers"], ["check", "--offline", "--format", "json"],
                     ["report", "--outbox", str(tmp_path / "outbox")], ["report", "--send"]):
            result = cli(province, *args)
            assert result.returncode in (0, 1), (args, result.stderr)
            logs += result.stdout + result.stderr
        with sqlite3.connect(province.db_path) as conn:
            assert conn.execute("SELECT count(*) FROM rejected_rows").fetchone()[0] >= 1
            assert conn.execute("SELECT count(*) FROM dossiers").fetchone()[0] >= 39
        assert sink.received, "letters were sent"
        texts = {"logs": logs}
        for path in [province.db_path, *province.root.glob("audit.db-*")]:
            texts[path.name] = path.read_bytes().decode("utf-8", errors="ignore")
        for rcpts, message in sink.received:
            rcpt = ", ".join(rcpts)
            for part in message.walk():
                payload = part.get_payload(decode=True)
                if not payload:
                    continue
                if part.get_filename():
                    with zipfile.ZipFile(io.BytesIO(payload)) as xlsx:
                        texts[f"xlsx to {rcpt}"] = "".join(xlsx.read(n).decode("utf-8", errors="ignore")
                                                           for n in xlsx.namelist())
                else:
                    texts[f"email to {rcpt}"] = payload.decode("utf-8", errors="ignore")
        for eml in (tmp_path / "outbox").rglob("*.eml"):
            texts[eml.name] = eml.read_bytes().decode("utf-8", errors="ignore")
        assert any(name.startswith("xlsx") for name in texts)
        for secret in [*PLANTED_NAMES, "Biẩnxyz", "Qwertyũ", *PLANTED_IDS, *PLANTED_PHONES]:
            for where, text in texts.items():
                assert secret not in text, f"{secret!r} found in {where}"
    finally:
        controller.stop()


# --- faults --------------------------------------------------------------------------------------

def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


ROWS = 300_000


def processes_reading(path: Path) -> list[int]:
    """Processes whose command line names the export (a forked child keeps its parent's)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(path).encode() in (entry / "cmdline").read_bytes() \
                    and (entry / "stat").read_text().split()[2] != "Z":
                found.append(int(entry.name))
        except OSError:
            continue
    return found


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
    assert len(processes_reading(path)) == 2  # the import and its parsing child (a 50 MB export)
    process.send_signal(signal.SIGKILL)
    process.wait()
    # the parsing child dies with its parent, instead of holding the export and the database forever
    wait_for(lambda: not processes_reading(path), 10, "the parsing child to die with its parent")
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


# --- fetching only what it should -------------------------------------------------------------------

class Recorder(ThreadingHTTPServer):
    def __init__(self, routes: dict[str, tuple[int, dict[str, str], str]]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes, self.seen, self.hosts = routes, [], []  # type: ignore[var-annotated]
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()


class Handler(BaseHTTPRequestHandler):
    server: Recorder

    def do_GET(self) -> None:
        self.server.seen.append(self.path)
        self.server.hosts.append(self.headers.get("Host") or "")
        status, headers, body = self.server.routes.get(self.path.split("?")[0], (404, {}, "không có"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        data = body.encode()
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def trap() -> Iterator[Recorder]:
    server = Recorder({})
    yield server
    server.shutdown()
    server.server_close()


def test_listing_pages_cannot_send_auditbot_elsewhere(tmp_path: Path, trap: Recorder) -> None:
    t = trap.port
    page = f"""<html><body><table>
      <tr><td>1.000894</td><td><a href="https://dichvucong.gov.vn/thu-tuc-hanh-chinh/1.000894">Đăng ký kết hôn</a></td></tr>
      <tr><td>1.001193</td><td><a href="http://127.0.0.1:{t}/steal">Đăng ký khai sinh</a></td></tr>
      <tr><td>2.001035</td><td><a href="file:///etc/passwd">Chứng thực chữ ký</a></td></tr>
      <tr><td>2.000908</td><td><a href="http://10.0.0.1/admin">Cấp bản sao trích lục hộ tịch</a></td></tr>
    </table><a rel="next" href="http://127.0.0.1:{t}/tthc?page=2">Trang sau</a></body></html>"""
    site = Recorder({"/tthc": (200, {}, page), "/moved": (302, {"Location": f"http://127.0.0.1:{t}/stolen"}, ""),
                     "/to-file": (302, {"Location": "file:///etc/passwd"}, "")})
    try:
        rules = RULES.format(extra="").replace(
            'emails = ["stp@example.gov.vn"]', f'emails = ["stp@example.gov.vn"]\nlisting_urls = ["http://127.0.0.1:{site.port}/tthc"]'
        ).replace('emails = ["sxd@example.gov.vn"]', f'emails = ["sxd@example.gov.vn"]\nlisting_urls = ["http://127.0.0.1:{site.port}/moved", "http://127.0.0.1:{site.port}/to-file"]')
        province = Province(tmp_path)
        province.rules.write_text(rules + '\n[listings]\ndelay_seconds = 0\n', encoding="utf-8")
        result = cli(province, "check", "--checks", "listing,source", "--format", "json")
        assert result.returncode in (0, 1), result.stderr
        assert trap.seen == [], f"auditbot asked a host rules.toml never named: {trap.seen}"
        assert sorted(site.seen) == ["/moved", "/to-file", "/tthc"]
        findings = json.loads(result.stdout)
        unreadable = [f for f in findings if f["check"] == "source.unreadable"]
        assert sorted((f["unit"], f["subject"].rsplit("/", 1)[1]) for f in unreadable) == [("SXD", "moved"), ("SXD", "to-file")]
        assert all(f["details"]["error"].startswith("trang dẫn đến địa chỉ ngoài các tên miền được phép hỏi")
                   for f in unreadable)
    finally:
        site.shutdown()
        site.server_close()


def test_only_the_portals_own_hosts_and_ports_are_allowed() -> None:
    portal = Origins.of(hosts=["dichvucong.gov.vn"])
    assert portal.allows("https://dichvucong.gov.vn/thu-tuc-hanh-chinh/1.000894")
    for url in ("https://dichvucong.gov.vn:8443/x", "http://127.0.0.1/", "file:///etc/passwd", "ftp://dichvucong.gov.vn/",
                "https://evil.example/", "https://dichvucong.gov.vn.evil.example/", "http://[::1]/", "not a url"):
        assert not portal.allows(url), url
    sites = Origins.of(urls=["http://stp.example.gov.vn/tthc", "http://127.0.0.1:8123/x"])
    assert sites.allows("https://www.stp.example.gov.vn/tthc?page=2") and sites.allows("http://127.0.0.1:8123/y")
    assert not sites.allows("http://127.0.0.1:8124/y") and not sites.allows("http://sxd.example.gov.vn/")


def test_the_link_checker_asks_the_portal_only(tmp_path: Path) -> None:
    """A portal redirect to another host, or a posted link on another port, is judged without a request."""
    portal = Recorder({"/": (200, {}, "Cổng DVCQG"),
                       "/thu-tuc-hanh-chinh/1.000001": (302, {"Location": "https://trap.example.gov.vn/steal"}, ""),
                       "/thu-tuc-hanh-chinh/1.000003": (200, {}, "<div>Đăng ký kết hôn</div>")})
    try:
        config = load_config(Province(tmp_path).rules)
        transport = LoopbackTransport(portal.port, ("dichvucong.gov.vn", "example.gov.vn"))
        urls = ["https://dichvucong.gov.vn/thu-tuc-hanh-chinh/1.000001",
                "https://dichvucong.gov.vn:8443/thu-tuc-hanh-chinh/1.000002",
                "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/1.000003"]
        results, tripped = asyncio.run(check_urls(config, urls, transport))
        assert tripped is None
        verdicts = {r.url.rsplit("/", 1)[1]: (r.outcome, r.reason) for r in results}
        assert verdicts == {"1.000001": ("broken", "off_portal"), "1.000002": ("broken", "off_portal"),
                            "1.000003": ("ok", None)}
        assert set(portal.hosts) == {"dichvucong.gov.vn"}, portal.hosts  # never trap.example.gov.vn, never :8443
        assert sorted(portal.seen) == ["/", "/thu-tuc-hanh-chinh/1.000001", "/thu-tuc-hanh-chinh/1.000003"]
    finally:
        portal.shutdown()
        portal.server_close()
