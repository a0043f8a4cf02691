"""National-portal links checked against a portal stand-in on 127.0.0.1 (real HTTP, real host names
routed to loopback): each failure class, the politeness rules, the cache, and the circuit breaker."""

from __future__ import annotations

import csv
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from auditbot import app
from auditbot.config import Config, PortalSettings, load_config
from auditbot.localsites import LoopbackTransport
from auditbot.portal_urls import PortalUrls

PAGE = "/thu-tuc-hanh-chinh/"
OLD = "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html"

# subject -> the link its listing item carries (None: no portal link at all)
POSTED = {
    "1.000001": f"https://dichvucong.gov.vn{PAGE}1.000001",       # fine
    "1.000002": f"https://dichvucong.gov.vn{PAGE}1.000002",       # page says the procedure does not exist
    "1.000003": f"https://dichvucong.gov.vn{PAGE}1.000003",       # redirected to the home page
    "1.000004": f"https://dichvucong.gov.vn{PAGE}1.000004",       # redirect loop
    "1.000005": f"https://dichvucong.gov.vn{PAGE}1.000005",       # never answers in time
    "1.000006": f"https://dichvucong.gov.vn{PAGE}1.000006",       # 404
    "1.000007": f"https://dichvucong.gov.vn{PAGE}1.000007",       # 429 + Retry-After, then fine
    "1.000008": f"https://dichvucong.gov.vn{PAGE}1.000008",       # 503 twice, then fine
    "1.000009": f"{OLD}?ma_tthc=1.000009.000.00.00.H56&open_popup=1",  # fine (older pattern, agency suffix)
    "1.000010": "https://dichvucong.gov.vn/p/home/dvc-trang-chu.html",  # not direct: the home page
    "1.000011": f"{OLD}?ma_thu_tuc=1.000001",                   # another procedure's page
    "1.000012": f"https://dichvucong.gov.vn{PAGE}999999",       # an id the catalogue does not know
    "1.000013": None,                                           # no portal link
}

EXPECTED = {
    ("link.broken", "1.000002"), ("link.broken", "1.000003"), ("link.broken", "1.000004"),
    ("link.broken", "1.000005"), ("link.broken", "1.000006"), ("link.not_direct", "1.000010"),
    ("link.mismatch", "1.000011"), ("link.mismatch", "1.000012"), ("link.missing", "1.000013"),
}


class StandIn(BaseHTTPRequestHandler):
    """Two communes' listing pages and the national portal, told apart by Host."""

    server: StandInServer

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0]
        self.server.seen.append((host, self.path, time.monotonic()))
        if host.endswith("example.gov.vn"):
            return self.reply(200, self.listing())
        if self.server.mode == "down" or (self.server.mode == "pages_down" and self.path != "/"):
            return self.reply(503, "Service Unavailable")
        attempts = Counter(path for h, path, _ in self.server.seen if h == host)[self.path]
        code = self.path.removeprefix(PAGE)
        if code == "1.000002":
            return self.reply(200, "<div>Không tìm thấy thủ tục hành chính</div>")
        if code == "1.000003":
            return self.reply(302, "", {"Location": "/"})
        if code in ("1.000004", "loop"):
            return self.reply(302, "", {"Location": PAGE + ("loop" if code == "1.000004" else "1.000004")})
        if code == "1.000005":
            time.sleep(1.5)
        if code == "1.000006":
            return self.reply(404, "Not Found")
        if code == "1.000007" and attempts == 1:
            return self.reply(429, "Too Many Requests", {"Retry-After": "1"})
        if code == "1.000008" and attempts <= 2:
            return self.reply(503, "Service Unavailable")
        self.reply(200, "<div id='chi-tiet-tthc'>Đang tải…</div>" + "x" * 1000)

    def listing(self) -> str:
        rows = "".join(f"<tr><td>{code}</td><td>" + (f'<a href="{link.replace("&", "&amp;")}">' if link else "")
                       + f"Thủ tục số {code[-2:]}" + ("</a>" if link else "") + "</td></tr>"
                       for code, link in POSTED.items())
        return f"<html><body><table>{rows}</table></body></html>"

    def reply(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for key, value in {"Content-Type": "text/html; charset=utf-8", **(headers or {})}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body.encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped waiting, as it should

    def log_message(self, format: str, *args: Any) -> None:
        pass


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), StandIn)
        self.seen: list[tuple[str, str, float]] = []
        self.mode = "up"

    def portal_requests(self) -> Counter[str]:
        return Counter(path for host, path, _ in self.seen if host == "dichvucong.gov.vn")


RULES = """
[province]
name = "Thử Nghiệm"
timezone = "Asia/Ho_Chi_Minh"
[database]
path = "audit.db"
[[units]]
code = "XA_A"
name = "Xã An"
kind = "xa"
emails = ["an@example.gov.vn"]
listing_urls = ["https://an.example.gov.vn/tthc"]
[[units]]
code = "XA_B"
name = "Xã Bình"
kind = "xa"
emails = ["binh@example.gov.vn"]
listing_urls = ["https://binh.example.gov.vn/tthc"]
[sources]
catalogue = "catalogue.csv"
[email]
sender = "kiemsoat.tthc@example.gov.vn"
[listings]
delay_seconds = 0
[portal]
timeout_seconds = 0.5
retries = 2
backoff_seconds = 0.05
rate_per_second = 50
cache_hours = {cache_hours}
breaker_window = 6
"""


class Portal:
    def __init__(self, root: Path, server: StandInServer) -> None:
        self.root, self.server = root, server
        with (root / "catalogue.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Mã thủ tục", "Tên thủ tục", "Cấp thực hiện", "Tình trạng"])
            writer.writerows((code, f"Thủ tục số {code[-2:]}", "Cấp xã", "Còn hiệu lực") for code in POSTED)
        self.config = self.configure(cache_hours=24)
        app.import_catalogue_file(self.config, None)

    def configure(self, cache_hours: float) -> Config:
        (self.root / "rules.toml").write_text(RULES.format(cache_hours=cache_hours), encoding="utf-8")
        self.config = load_config(self.root / "rules.toml")
        return self.config

    def check(self) -> set[tuple[str, str, str]]:
        transport = LoopbackTransport(self.server.server_address[1], ("example.gov.vn", "dichvucong.gov.vn"))
        result = app.check(self.config, [], True, ["link", "portal"], transport=transport)
        assert not result.errors, result.errors
        return {(f["check"], f["unit"], f["subject"]) for f in result.findings}

    def status(self, check: str) -> dict[str, str]:
        db = sqlite_utils.Database(self.root / "audit.db")
        return {f"{r['unit']}:{r['subject']}": r["status"]
                for r in db.query("SELECT * FROM findings WHERE check_id = ?", [check])}


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Portal]:
    server = StandInServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Portal(tmp_path, server)
    server.shutdown()
    server.server_close()


def per_unit(pairs: set[tuple[str, str]]) -> set[tuple[str, str, str]]:
    return {(check, unit, subject) for check, subject in pairs for unit in ("XA_A", "XA_B")}


def test_every_failure_class_and_nothing_else(portal: Portal) -> None:
    assert portal.check() == per_unit(EXPECTED)
    db = sqlite_utils.Database(portal.root / "audit.db")
    reasons = {r["url"].rsplit("/", 1)[-1]: r["reason"] for r in db.query("SELECT * FROM link_checks")}
    assert reasons["1.000002"] == "not_found_marker" and reasons["1.000003"] == "redirect_home"
    assert reasons["1.000004"] == "redirect_loop" and reasons["1.000005"] == "timeout"
    assert reasons["1.000006"] == "http_404" and reasons["1.000007"] is None and reasons["1.000008"] is None
    broken = {f["subject"]: f for f in app.list_findings(portal.config, "XA_A", "open", ["link.broken"])}
    assert broken["1.000003"]["details"]["broken_links"][0]["final_url"] == "https://dichvucong.gov.vn/"
    assert "bị lỗi: chuyển hướng về trang chủ Cổng" in broken["1.000003"]["title"]
    mismatch = {f["subject"]: f for f in app.list_findings(portal.config, "XA_A", "open", ["link.mismatch"])}
    assert mismatch["1.000011"]["details"]["wrong_links"][0]["points_to"] == "1.000001"
    assert "mã 999999 không có trong danh mục" in mismatch["1.000012"]["title"]


def test_each_distinct_url_is_asked_once_and_the_portal_is_treated_politely(portal: Portal) -> None:
    portal.check()
    asked = portal.server.portal_requests()
    # two communes post the same 11 direct links: each asked once, retried only when transient
    assert asked[PAGE + "1.000001"] == 1 and asked[PAGE + "1.000006"] == 1 and asked[PAGE + "1.000002"] == 1
    assert asked[PAGE + "1.000008"] == 3  # 503, 503, 200
    assert asked[PAGE + "1.000005"] == 3  # timeouts are retried, then broken
    times = [at for host, path, at in portal.server.seen if path == PAGE + "1.000007"]
    assert len(times) == 2 and times[1] - times[0] >= 1.0  # Retry-After: 1 honoured


def test_a_fresh_result_is_reused_without_asking_again(portal: Portal) -> None:
    first = portal.check()
    before = sum(portal.server.portal_requests().values())
    assert portal.check() == first
    assert sum(portal.server.portal_requests().values()) == before  # `check` right after a run: no requests
    portal.configure(cache_hours=0)
    portal.check()
    assert sum(portal.server.portal_requests().values()) > before


@pytest.mark.parametrize("mode", ["down", "pages_down"])
def test_a_failing_portal_gives_one_operator_finding_and_resolves_nothing(portal: Portal, mode: str) -> None:
    first = portal.check()
    portal.configure(cache_hours=0)
    portal.server.mode = mode  # "down": the canary fails; "pages_down": the canary passes, the pages fail
    found = portal.check()
    assert ("portal.unavailable", "_centre", "portal") in found
    assert {f for f in found if f[0] == "link.broken"} == {f for f in first if f[0] == "link.broken"}
    assert set(portal.status("link.broken").values()) == {"open"}  # nothing resolved on missing evidence
    tripped = sqlite_utils.Database(portal.root / "audit.db").execute(
        "SELECT tripped FROM portal_runs ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert tripped.startswith("canary" if mode == "down" else "6 of the last 6 answers failed")
    portal.server.mode = "up"
    again = portal.check()
    assert ("portal.unavailable", "_centre", "portal") not in again
    assert portal.status("portal.unavailable") == {"_centre:portal": "resolved"}
    assert again == first


@pytest.mark.parametrize(("url", "direct", "code", "portal_id"), [
    (f"{OLD}?ma_thu_tuc=1.001108", True, "1.001108", None),
    (f"{OLD}?ma_thu_tuc=432777&open_popup=1", True, None, "432777"),
    (f"{OLD}?ma_tthc=1.000110.000.00.00.H01", True, "1.000110", None),
    ("https://thutuc.dichvucong.gov.vn/thu-tuc-hanh-chinh/1.015045/", True, "1.015045", None),
    ("https://www.dichvucong.gov.vn/thu-tuc-hanh-chinh/432777", True, None, "432777"),
    (f"{OLD}?ma_thu_tuc=", False, None, None),
    ("https://dichvucong.gov.vn/p/home/dvc-tra-cuu-thu-tuc.html?keyword=khai+sinh", False, None, None),
    ("https://dichvucong.gov.vn/", False, None, None),
])
def test_portal_links_are_classified_from_the_url(url: str, direct: bool, code: str | None,
                                                  portal_id: str | None) -> None:
    link = PortalUrls(PortalSettings()).classify(url)
    assert link is not None and (link.direct, link.code, link.portal_id) == (direct, code, portal_id)


def test_links_elsewhere_are_not_portal_links() -> None:
    urls = PortalUrls(PortalSettings())
    assert urls.classify("https://stp.example.gov.vn/thu-tuc-hanh-chinh/1.001108") is None
    assert urls.classify("https://dichvucong.gov.vn.example.com/thu-tuc-hanh-chinh/1.001108") is None
