"""`auditbot serve`: Datasette started for real on a populated database, read over HTTP and in Chromium."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from browser import dump_dom, ink, screenshot, visible_text
from conftest import Province, province_now
from loopback import free_port

from auditbot.browse.cells import cell_text
from auditbot.browse.downloads import with_bom
from auditbot.browse.server import is_loopback, plan
from auditbot.checking.engine import run_checks, select_checks
from auditbot.checking.types import Finding
from auditbot.config.rules import load_config
from auditbot.store import Scope, Store
from auditbot.words.periods import current_period, previous_period

HOSTILE = '<script>alert("x")</script> Thủ tục <b>giả</b>'
CHECKS = ["link.missing", "listing.expired", "listing.unknown", "dossier.overdue", "rate.online"]


@dataclass
class History:
    province: Province
    now: datetime
    ids: dict[str, str]


def add_dossiers(store: Store, unit: str, today: datetime, count: int, online: int, digitised: int,
                 prefix: str | None = None) -> None:
    """`count` dossiers received over the last days, all finished on time, some online and digitised."""
    rows = []
    for i in range(count):
        received = today - timedelta(days=1 + i % 5, hours=2)
        rows.append({
            "code": f"{prefix or unit}-{i:04d}", "unit": unit, "procedure_code": "1.000894", "procedure_name": "Đăng ký kết hôn",
            "received_at": received.strftime("%Y-%m-%d %H:%M:%S"),
            "due_at": (received + timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S"),
            "finished_at": (received + timedelta(hours=5)).strftime("%Y-%m-%d %H:%M:%S"), "status": "finished",
            "channel": "online" if i < online else "direct", "fee": 50000 if i % 2 else 0,
            "paid_online": 1 if i % 4 == 1 else 0, "digitised": 1 if i < digitised else 0, "known": 31,
        })
    store.db.table("dossiers").insert_all(rows)


def seed_history(province: Province) -> History:
    """Five weeks of runs through the real store and engine: opened, kept, fixed, came back, figures per day."""
    config = load_config(province.rules)
    now = province_now()
    store = Store.open(config)
    units = ["STP", "SXD", "XA_QP"]

    def record(at: datetime, produced: list[Finding], period: str | None = None) -> None:
        for check in CHECKS:
            if check.startswith("rate.") != (period is not None):
                continue  # rate findings belong to their period's runs only
            scope = Scope(frozenset({check}), frozenset(units), period if check.startswith("rate.") else None)
            run_id = store.start_run("test", "check", scope, at)
            store.record(run_id, scope, [f for f in produced if f.check == check], at)
            store.finish_run(run_id, at)

    link = Finding("link.missing", "STP", "1.000894", "Thủ tục 1.000894 không có liên kết")
    expired = Finding("listing.expired", "SXD", "1.009999", "Thủ tục 1.009999 đã bãi bỏ vẫn niêm yết")
    closed, running = previous_period("quarter", now.date()).label, current_period("quarter", now.date()).label
    rate_q3 = Finding("rate.online", "XA_QP", closed, "Tỷ lệ hồ sơ trực tuyến 40,00% dưới ngưỡng 50,00%",
                      period=closed)
    rate_q4 = Finding("rate.online", "XA_QP", running, "Tỷ lệ hồ sơ trực tuyến 45,00% dưới ngưỡng 50,00%",
                      period=running)
    unknown = Finding("listing.unknown", "SXD", "la", "Thủ tục niêm yết «Cấp phép lạ» không có trong danh mục")
    overdue = Finding("dossier.overdue", "STP", "HS-2", HOSTILE)

    record(now - timedelta(weeks=5), [link, expired])
    record(now - timedelta(weeks=5), [rate_q3], period=closed)
    record(now - timedelta(weeks=3), [expired])                     # the link was fixed...
    record(now - timedelta(days=10), [expired, unknown])
    record(now - timedelta(days=2), [link, expired, unknown, overdue])  # ...and came back
    record(now - timedelta(days=2), [rate_q4], period=running)
    record(now - timedelta(days=1), [link, expired, overdue])       # the unknown listing is gone

    add_dossiers(store, "STP", now, 20, online=16, digitised=12)
    add_dossiers(store, "XA_QP", now, 10, online=4, digitised=10)
    quarter_end = previous_period("quarter", now.date()).end  # the closed quarter's verdict stands too
    add_dossiers(store, "XA_QP", datetime(quarter_end.year, quarter_end.month, quarter_end.day, 12), 10,
                 online=4, digitised=10, prefix="XA_QP-closed")
    rate_checks = select_checks(config, ["rate"])
    for days_ago in (2, 1, 0):
        at = now - timedelta(days=days_ago)
        run_checks(config, store, rate_checks, units, at)
    ids = {f"{r['check']}:{r['unit']}:{r['subject']}": r["id"] for r in store.findings()}
    store.close()
    return History(province, now, ids)


def start_server(province: Province, port: int, env: dict[str, str] | None = None,
                 host: str = "127.0.0.1") -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "auditbot.cli", "serve", "--host", host, "--port", str(port),
         "--config", str(province.rules)],
        env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited {process.returncode}: {process.stdout.read() if process.stdout else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/versions.json", timeout=1):
                return process
        except urllib.error.HTTPError as answer:
            answer.close()
            return process  # it answers (a login may be required)
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("serve did not answer within 30 s")


def stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    output, _ = process.communicate(timeout=10)
    return output


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[History, str]]:
    province = Province(tmp_path_factory.mktemp("serve"))
    history = seed_history(province)
    port = free_port()
    process = start_server(province, port)
    yield history, f"http://127.0.0.1:{port}"
    stop(process)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.read().decode("utf-8"))


def query(base: str, name: str, **params: str) -> list[dict[str, Any]]:
    qs = urllib.parse.urlencode({**params, "_shape": "objects", "_size": "max"})
    data = get_json(f"{base}/audit/{name}.json?{qs}")
    return list(data["rows"])


def test_tables_views_and_vietnamese_metadata(served: tuple[History, str]) -> None:
    _history, base = served
    database = get_json(f"{base}/audit.json")
    tables = {t["name"]: t for t in database["tables"]}
    assert {"findings", "finding_events", "unit_figures", "units", "checks", "runs"} <= set(tables)
    assert {v["name"] for v in database["views"]} >= {"findings_overview", "figures_history"}
    assert tables["outbox"]["hidden"] and tables["locks"]["hidden"] and not tables["findings"]["hidden"]

    metadata = get_json(f"{base}/-/metadata.json")
    meta = metadata["databases"]["audit"]
    assert metadata["title"] == "Kiểm soát thủ tục hành chính — lịch sử vi phạm"
    assert meta["tables"]["findings_overview"]["title"] == "Tra cứu vi phạm"
    assert set(meta["queries"]) == {"open_by_unit", "new_this_week", "resolved_this_week", "open_longest",
                                    "unit_rates_history", "repeated_violations", "answers_pending"}

    # findings name their unit and check: Datasette shows the labels
    rows = get_json(f"{base}/audit/findings.json?_shape=objects&_labels=on&unit=STP&check_id=link.missing")["rows"]
    assert rows[0]["unit"] == {"value": "STP", "label": "Sở Tư pháp"}
    assert rows[0]["check_id"] == {"value": "link.missing", "label": "Thủ tục niêm yết không có liên kết đến Cổng DVCQG"}

    # the overview view's facets come from the metadata: unit, kind, family, check, status
    overview = get_json(f"{base}/audit/findings_overview.json?_shape=objects")
    facets = overview["facet_results"]
    assert set(facets) == {"Trạng thái", "Loại đơn vị", "Nhóm", "Loại vi phạm", "Đơn vị"}
    status_counts = {item["value"]: item["count"] for item in facets["Trạng thái"]["results"]}
    assert status_counts == {"Đang mở": 6, "Đã khắc phục": 1}
    kinds = {item["value"]: item["count"] for item in facets["Loại đơn vị"]["results"]}
    assert kinds == {"Sở, ban, ngành": 5, "Xã, phường, thị trấn": 2}


def test_every_canned_query_returns_the_expected_rows(served: tuple[History, str]) -> None:
    history, base = served
    ids = history.ids

    by_unit = {r["Mã đơn vị"]: r for r in query(base, "open_by_unit")}
    assert set(by_unit) == {"STP", "SXD", "XA_QP"}
    stp = by_unit["STP"]
    assert (stp["Vi phạm đang mở"], stp["Liên kết"], stp["Hồ sơ"], stp["Chỉ tiêu"]) == (3, 1, 1, 1)
    assert stp["Mới trong 7 ngày"] == 2       # the overdue dossier and the digitisation rate; the link came back
    assert by_unit["SXD"]["Vi phạm đang mở"] == 1 and by_unit["SXD"]["Niêm yết"] == 1
    assert by_unit["XA_QP"]["Chỉ tiêu"] == 2
    assert by_unit["XA_QP"]["Đơn vị"] == "Xã Quảng Phú" and by_unit["XA_QP"]["Loại đơn vị"] == "Xã, phường, thị trấn"

    new = {r["Mã vi phạm"] for r in query(base, "new_this_week")}
    assert new == {ids["dossier.overdue:STP:HS-2"], ids[f"rate.online:XA_QP:{current_period('quarter', history.now.date()).label}"],
                   ids[f"rate.digitisation:STP:{current_period('quarter', history.now.date()).label}"]}

    fixed = query(base, "resolved_this_week")
    assert [r["Mã vi phạm"] for r in fixed] == [ids["listing.unknown:SXD:la"]]
    assert fixed[0]["Số ngày tồn tại"] == 9

    longest = query(base, "open_longest")
    assert [r["Mã vi phạm"] for r in longest[:3]] == sorted(
        [ids["link.missing:STP:1.000894"], ids["listing.expired:SXD:1.009999"], ids[f"rate.online:XA_QP:{previous_period('quarter', history.now.date()).label}"]],
        key=lambda i: ({ids["link.missing:STP:1.000894"]: "Sở Tư pháp", ids["listing.expired:SXD:1.009999"]: "Sở Xây dựng",
                        ids[f"rate.online:XA_QP:{previous_period('quarter', history.now.date()).label}"]: "Xã Quảng Phú"}[i], i))
    assert all(34 <= r["Số ngày tồn tại"] <= 35 for r in longest[:3]) and len(longest) == 6

    days = query(base, "unit_rates_history", unit="STP")
    assert [r["Ngày"] for r in days] == [(history.now - timedelta(days=d)).date().isoformat() for d in (2, 1, 0)]
    today = days[-1]
    assert (today["Hồ sơ tiếp nhận"], today["Tỷ lệ trực tuyến"], today["Tỷ lệ số hóa"]) == (20, 80.0, 60.0)
    assert (today["Ngưỡng số hóa"], today["Ngưỡng trực tuyến"], today["Ngưỡng thanh toán"]) == (90, 70, 30)
    assert (today["Số hóa"], today["Trực tuyến"]) == ("Không đạt", "Đạt")
    xa = query(base, "unit_rates_history", unit="XA_QP")[-1]
    assert (xa["Tỷ lệ trực tuyến"], xa["Ngưỡng trực tuyến"], xa["Trực tuyến"]) == (40.0, 50, "Không đạt")
    everyone = query(base, "unit_rates_history", unit="")
    assert len(everyone) == 9 and {r["Mã đơn vị"] for r in everyone} == {"STP", "SXD", "XA_QP"}

    repeated = {(r["Mã đơn vị"], r["Mã kiểm tra"]): r for r in query(base, "repeated_violations")}
    assert set(repeated) == {("STP", "link.missing"), ("XA_QP", "rate.online")}
    assert repeated[("STP", "link.missing")]["Số lần tái phát"] == 1
    assert repeated[("XA_QP", "rate.online")]["Số kỳ không đạt"] == 2


def test_pages_read_in_vietnamese_and_escape_scraped_text(served: tuple[History, str]) -> None:
    history, base = served
    page = get_text(f"{base}/audit/findings_overview?" + urllib.parse.urlencode({"Mã kiểm tra": "dossier.overdue"}))
    assert "Tra cứu vi phạm" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    first_seen = (history.now - timedelta(days=2)).strftime("%d/%m/%Y %H:%M")
    assert first_seen in page                                   # ISO timestamps shown as dd/mm/yyyy hh:mm
    figures = get_text(f"{base}/audit/figures_history?" + urllib.parse.urlencode({"Mã đơn vị": "STP"}))
    assert "80,00%" in figures and "60,00%" in figures and "90,00%" in figures


def test_cells_format_numbers_rates_and_dates() -> None:
    assert cell_text(1234567, "received") == "1.234.567"
    assert cell_text(99.65, "Tỷ lệ số hóa") == "99,65%" and cell_text(90, "digitisation_min") == "90,00%"
    assert cell_text(123456, "id") is None and cell_text(5000, "Mã vi phạm") is None
    assert cell_text("2026-11-23 08:05:00", "first_seen") == "23/11/2026 08:05"
    assert cell_text("2026-11-23", "day") == "23/11/2026"
    assert cell_text("Q4/2026", "period") is None and cell_text(True, "ok") is None


def test_the_dashboard_draws_its_charts(served: tuple[History, str], tmp_path: Path) -> None:
    _, base = served
    url = f"{base}/-/dashboards/tong-quan"
    dom = dump_dom(url, wait_ms=8000)
    assert "Tổng quan kiểm soát TTHC" in dom
    assert dom.count('role="graphics-document"') >= 3           # the weekly, rates and units charts, drawn by Vega
    assert dom.count("<path") > 10 and "Tuần bắt đầu ngày" in dom and "Xã Quảng Phú" in dom
    png = screenshot(url, tmp_path / "dashboard.png", width=1300, height=1800, wait_ms=8000)
    inked, colours = ink(png)
    assert inked > 0.05 and colours > 50, (inked, colours)


def test_the_index_dashboard_draws_each_units_points(served: tuple[History, str], tmp_path: Path) -> None:
    """The 766 index the checks runs recorded: points per unit and group, their days, the biggest gains."""
    _, base = served
    url = f"{base}/-/dashboards/chi-so-766"
    dom = dump_dom(url, wait_ms=8000)
    assert "Chỉ số 766 tạm tính" in dom and "Điểm tính được" in dom
    assert dom.count('role="graphics-document"') >= 2               # the units' bars and the days' lines
    assert "Tiến độ, kết quả giải quyết" in dom and "Số hóa hồ sơ" in dom and "Sở Tư pháp" in dom
    assert "đạt 100% hồ sơ có kết quả điện tử: +" in dom             # the gains table, from the recorded advice
    png = screenshot(url, tmp_path / "index.png", width=1300, height=1300, wait_ms=8000)
    inked, colours = ink(png)
    assert inked > 0.05 and colours > 50, (inked, colours)
    rows = get_json(f"{base}/audit/index_history.json?"
                    + urllib.parse.urlencode({"_shape": "objects", "Chỉ tiêu": "2.1"}))["rows"]
    assert rows and {row["Tên chỉ tiêu"] for row in rows} == {
        "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn (gồm hồ sơ đang xử lý trong hạn)"}
    assert all(row["Điểm tối đa"] == 20 for row in rows)


def test_a_non_loopback_address_needs_a_password(province: Province) -> None:
    port = free_port()
    done = subprocess.run([sys.executable, "-m", "auditbot.cli", "serve", "--host", "0.0.0.0", "--port", str(port),
                           "--config", str(province.rules)], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "AUDITBOT_SERVE_PASSWORD_HASH"})
    assert done.returncode == 2 and "refusing to serve on 0.0.0.0" in done.stderr
    assert "Traceback" not in done.stderr
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)

    config = load_config(province.rules)
    os.environ["AUDITBOT_SERVE_PASSWORD_HASH"] = "not-a-hash"
    try:
        with pytest.raises(Exception, match="is not a password hash"):
            plan(config, "0.0.0.0")
    finally:
        del os.environ["AUDITBOT_SERVE_PASSWORD_HASH"]
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5") and not is_loopback("server.local")


def test_with_a_password_every_page_needs_the_login(province: Province) -> None:
    hashed = subprocess.run([sys.executable, "-m", "auditbot.cli", "password-hash"], input="mật-khẩu-1\n",
                            capture_output=True, text=True, check=True).stdout.strip()
    assert hashed.startswith("pbkdf2_sha256$") and "mật-khẩu-1" not in hashed
    port = free_port()
    process = start_server(province, port, env={"AUDITBOT_SERVE_PASSWORD_HASH": hashed})
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/audit/findings.json", timeout=10)
        assert refused.value.code == 403
        refused.value.close()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/audit/findings", timeout=10)
        page = refused.value.read().decode("utf-8")
        assert refused.value.code == 403 and "Cần đăng nhập" in page and 'href="/-/login"' in page
        assert "Forbidden" not in page and "permission" not in page
        with pytest.raises(urllib.error.HTTPError) as unit_page:  # a unit's page is its token's, not the login's
            urllib.request.urlopen(f"http://127.0.0.1:{port}/tra-loi/{'x' * 43}", timeout=10)
        assert unit_page.value.code == 404 and "không còn hiệu lực" in unit_page.value.read().decode()
        unit_page.value.close()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())

        def log_in(password: str) -> str:
            with opener.open(f"http://127.0.0.1:{port}/-/login", timeout=30) as page:
                form = page.read().decode()
            token = re.search(r'name="csrftoken" value="([^"]+)"', form)
            assert token, "the login form carries a CSRF token"
            data = urllib.parse.urlencode({"username": "trungtam", "password": password, "csrftoken": token[1]})
            with opener.open(f"http://127.0.0.1:{port}/-/login", data=data.encode(), timeout=30) as answer:
                return str(answer.read().decode())

        refused_page = log_in("sai")
        assert "Sai tên đăng nhập hoặc mật khẩu" in refused_page and "Mật khẩu" in refused_page
        assert "Invalid username" not in refused_page and "Log in" not in refused_page
        log_in("mật-khẩu-1")
        with opener.open(f"http://127.0.0.1:{port}/audit/units.json?_shape=objects", timeout=10) as answer:
            rows = json.loads(answer.read())
        assert {"STP", "SXD", "XA_QP"} <= {r["code"] for r in rows["rows"]}
    finally:
        output = stop(process)
    assert hashed not in output and "mật-khẩu-1" not in output


def test_findings_of_an_older_database_gain_their_keys(tmp_path: Path, province: Province) -> None:
    """A database made before findings referenced units and checks keeps its rows and gains the keys."""
    with sqlite3.connect(province.db_path) as conn:
        conn.execute("CREATE TABLE findings (id TEXT PRIMARY KEY, check_id TEXT NOT NULL, unit TEXT NOT NULL,"
                     " subject TEXT NOT NULL, title TEXT NOT NULL, severity TEXT NOT NULL, status TEXT NOT NULL,"
                     " period TEXT, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, resolved_at TEXT,"
                     " details TEXT, muted_reason TEXT, muted_until TEXT, muted_at TEXT, last_run INTEGER)")
        conn.execute("INSERT INTO findings (id, check_id, unit, subject, title, severity, status, first_seen,"
                     " last_seen) VALUES ('abc', 'link.missing', 'STP', 's', 't', 'medium', 'open', '2026-01-01',"
                     " '2026-01-01')")
    with Store.open(load_config(province.rules)) as store:
        keys = {(fk.column, fk.other_table) for fk in store.db.table("findings").foreign_keys}
        assert keys == {("unit", "units"), ("check_id", "checks")}
        assert [r["id"] for r in store.findings()] == ["abc"]


# Datasette's own English, as 0.65 prints it, and what its table.js, the dashboards and the login page add
ENGLISH_CHROME = ["Powered by", "rows?", "records", "results", "Sort by", "Sort", "descending", "Apply", "Custom SQL",
                  "returning", "Run SQL", "Edit SQL", "Format SQL", "Query parameters", "hide", "show",
                  "Log in", "Log out", "Advanced export", "This data as", "advanced", "Next page", "Suggested facets",
                  "Queries", "Tables", "Views", "hidden", "home", "dashboards", "Dashboards", "Fullscreen",
                  "remove filter", "column", "contains", "ends with", "starts with", "is null", "is not blank",
                  "Sort ascending", "Facet by this", "Hide this column", "Show all columns", "Remove this filter",
                  "Menu", "Table actions", "Queries took", "where", "View and edit SQL", "Click to view actions",
                  "X-axis", "Save as"]
ENGLISH = re.compile(r"\b(" + "|".join(ENGLISH_CHROME) + r")\b")


def page_text(url: str) -> str:
    """The page as Chromium shows it after its scripts ran, checked for Datasette's English."""
    text = visible_text(dump_dom(url, wait_ms=5000))
    found = sorted(set(ENGLISH.findall(text)))
    assert not found, f"English chrome on {url}: {found}"
    return text


def test_pages_show_no_english_chrome(served: tuple[History, str]) -> None:
    history, base = served
    home = page_text(f"{base}/")
    assert "Vận hành bằng Datasette" in home and "dòng trong" in home and "Dữ liệu kiểm soát TTHC" in home

    database = page_text(f"{base}/audit")
    assert "Truy vấn có sẵn" in database and "Bảng dữ liệu" in database and "Vi phạm đang mở theo đơn vị" in database

    # a raw table: the stored codes read in Vietnamese in cells, facets and the filter's sentence
    findings = page_text(f"{base}/audit/findings?status=open&_facet=severity")
    assert "6 dòng có status = “Đang mở”" in findings
    assert "Trung bình 6" in findings and "Đang mở" in findings and "Áp dụng" in findings
    assert "Sắp xếp tăng dần" in findings and "Lọc nhanh theo cột này" in findings     # table.js's column menu
    assert "chứa" in findings and "không trống" in findings                            # the filter operators
    assert get_json(f"{base}/audit/findings.json?_shape=objects&status=open")["rows"][0]["status"] == "open"

    overview = page_text(f"{base}/audit/findings_overview")
    assert "Tra cứu vi phạm" in overview and "Excel (XLSX)" in overview and "CSV (Excel)" in overview
    assert "Tải dữ liệu: tùy chọn khác" in overview

    finding = page_text(f"{base}/audit/findings/{history.ids['link.missing:STP:1.000894']}")
    assert "Liên kết từ các bảng khác" in finding and "Diễn biến của vi phạm" in finding

    # a canned query opens on its results; its SQL is one click away
    by_unit = page_text(f"{base}/audit/open_by_unit")
    assert "Kết quả: 3 dòng" in by_unit and "xem SQL" in by_unit and "SELECT" not in by_unit
    rates = page_text(f"{base}/audit/unit_rates_history?unit=STP")
    assert "Mã đơn vị (để trống: mọi đơn vị)" in rates and "Xem kết quả" in rates and "Không đạt" in rates


def test_the_dashboard_takes_a_units_code(served: tuple[History, str]) -> None:
    _, base = served
    drawn = {}
    for unit in ("STP", "Sở Tư pháp"):
        url = f"{base}/-/dashboards/tong-quan?" + urllib.parse.urlencode({"unit": unit})
        dom = dump_dom(url, wait_ms=8000)
        metrics = re.findall(r'id="chart-(open-now|new-week|fixed-week)".*?font-weight: 900;">(\d+)</p>', dom, re.S)
        drawn[unit] = dict(metrics)
        assert dom.count('role="graphics-document"') >= 4, unit          # weekly, rates, lineage, units
        assert not re.search(r'class="chart-tooltip"[^>]*visibility: visible', dom)   # no ⚠️ shown
        assert re.search(r'<option value="' + unit + '" selected', dom)               # "Áp dụng" keeps it
    assert drawn["STP"] == drawn["Sở Tư pháp"] == {"open-now": "3", "new-week": "2", "fixed-week": "0"}
    text = page_text(f"{base}/-/dashboards/tong-quan?unit=STP")
    assert "Bảng tổng quan" in text and "Áp dụng" in text and "Bấm để xem thao tác" in text


def download(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.headers.get("content-type")), bytes(response.read())


def test_downloads_open_in_excel(served: tuple[History, str]) -> None:
    """The page's CSV link gives a file with a BOM; its XLSX link a workbook with Vietnamese headers."""
    _, base = served
    page = get_text(f"{base}/audit/findings_overview")
    links = {label: href.replace("&amp;", "&") for href, label in re.findall(r'<a href="([^"]+)">([^<]+)</a>', page)}
    kind, body = download(base + links["CSV (Excel)"])
    assert kind.startswith("text/csv") and body.startswith(b"\xef\xbb\xbf")
    header = body[3:].decode("utf-8").splitlines()[0]
    assert header.startswith("Mã vi phạm,Đơn vị,Loại đơn vị") and "\ufeff" not in body[3:].decode("utf-8")
    assert get_text(f"{base}/audit/findings_overview.json").startswith("{")   # JSON keeps no BOM

    kind, body = download(base + links["Excel (XLSX)"])
    assert kind == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet.title == "Tra cứu vi phạm" and sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Mã vi phạm", "Đơn vị", "Loại đơn vị") and len(rows) == 1 + 7
    statuses = {row[rows[0].index("Trạng thái")] for row in rows[1:]}
    assert statuses == {"Đang mở", "Đã khắc phục"}
    first_seen = [row[rows[0].index("Phát hiện lần đầu")] for row in rows[1:]]
    assert all(isinstance(moment, datetime) for moment in first_seen)             # dates as Excel dates
    assert sheet.cell(2, rows[0].index("Phát hiện lần đầu") + 1).number_format == "dd/mm/yyyy hh:mm"
    assert HOSTILE in {row[rows[0].index("Nội dung")] for row in rows[1:]}      # scraped text stays text
    _, body = download(f"{base}/audit/findings_overview.xlsx?_size=2")        # a page of a bigger result
    rows = list(openpyxl.load_workbook(io.BytesIO(body)).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 2 + 2 and str(rows[-1][0]).startswith("Chỉ có 2 dòng đầu tiên")

    rates = get_text(f"{base}/audit/unit_rates_history?unit=STP")
    xlsx = re.search(r'<a href="([^"]+)">Excel \(XLSX\)</a>', rates)
    assert xlsx
    _, body = download(base + xlsx[1].replace("&amp;", "&"))
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Ngày", "Kỳ", "Đơn vị", "Hồ sơ tiếp nhận") and len(rows) == 1 + 3
    assert rows[-1][rows[0].index("Tỷ lệ trực tuyến")] == 80.0                   # numbers as numbers
    assert "Excel (XLSX)" not in get_text(f"{base}/audit/findings")            # raw tables: CSV and JSON only


def test_the_bom_goes_only_before_csv_and_its_length_counts_it() -> None:
    """A CSV sent whole (with a Content-Length) grows by the BOM's 3 bytes; other bodies pass untouched."""
    def app_sending(kind: bytes, body: bytes) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body[:4], "more_body": True})
            await send({"type": "http.response.body", "body": body[4:]})
        return app

    def through(kind: bytes, body: bytes) -> tuple[dict[bytes, bytes], bytes]:
        sent: list[Any] = []

        async def send(message: Any) -> None:
            sent.append(message)

        async def receive() -> Any:
            return {"type": "http.request"}

        asyncio.run(with_bom(app_sending(kind, body))({"type": "http"}, receive, send))
        return dict(sent[0]["headers"]), b"".join(m.get("body", b"") for m in sent[1:])

    headers, body = through(b"text/csv; charset=utf-8", "Đơn vị,Số\nSở Tư pháp,3\n".encode())
    assert body == b"\xef\xbb\xbf" + "Đơn vị,Số\nSở Tư pháp,3\n".encode()
    assert int(headers[b"content-length"]) == len(body)
    headers, body = through(b"application/json", b'{"ok": true}')
    assert body == b'{"ok": true}' and headers[b"content-length"] == b"12"
