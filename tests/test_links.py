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

from auditbot import commands
from auditbot.config.rules import Config, PortalSettings, load_config
from auditbot.demo.sites import LoopbackTransport
from auditbot.domain.portal_urls import PortalUrls

PAGE = "/thu-tuc-hanh-chinh/"
OLD = "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html"
NEW = "https://dichvucong.gov.vn/tim-kiem-thu-tuc-hanh-chinh"
UUID = {code: f"019d2bfe-0000-4000-8000-0000000000{code[-2:]}" for code in ("1.000014", "1.000017", "1.000018")}
SHOWS = {UUID["1.000014"]: "1.000014", UUID["1.000017"]: "1.000017", UUID["1.000018"]: "1.000001"}

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
    "1.000012": f"https://dichvucong.gov.vn{PAGE}999999",       # an id nobody can place: unverified, no finding
    "1.000013": None,                                           # no portal link
    "1.000014": f"{NEW}?pageIndex=1&formalityId={UUID['1.000014'].upper()}",  # 2026 form, UUID the catalogue has
    "1.000015": f"{NEW}?keyword=1.000015",                      # a search, not the procedure's page
    "1.000016": f"https://www.dichvucong.gov.vn{PAGE}1.000016",  # www. is the portal too
    "1.000017": f"{NEW}?formalityId={UUID['1.000017']}&tab=1",   # a UUID the catalogue lacks; the page names it
    "1.000018": f"{NEW}?formalityId={UUID['1.000018']}",         # ... a page that names another procedure
    "1.000019": f"https://dichvucong.gov.vn{PAGE}1.0000\t19",   # a TAB inside the address
    "1.000020": f"https://dichvucong.gov.vn{PAGE}1.000020?q={'a' * 70_000}",  # longer than any URL may be
}

EXPECTED = {
    ("link.broken", "1.000002"), ("link.broken", "1.000003"), ("link.broken", "1.000004"),
    ("link.broken", "1.000005"), ("link.broken", "1.000006"), ("link.not_direct", "1.000010"),
    ("link.mismatch", "1.000011"), ("link.missing", "1.000013"), ("link.not_direct", "1.000015"),
    ("link.mismatch", "1.000018"), ("link.broken", "1.000019"), ("link.broken", "1.000020"),
}


class StandIn(BaseHTTPRequestHandler):
    """Two communes' listing pages and the national portal, told apart by Host."""

    server: StandInServer

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0]
        self.server.seen.append((host, self.path, time.monotonic()))
        if host == "many.example.gov.vn":  # one page posting thousands of distinct portal ids
            rows = "".join(f'<tr><td><a href="https://dichvucong.gov.vn{PAGE}{900000 + n}">Đăng ký khai sinh'
                           f" loại {n}</a></td></tr>" for n in range(self.server.many))
            return self.reply(200, f"<html><body><table>{rows}</table></body></html>")
        if host == "hkd.example.gov.vn":
            return self.reply(200, HOUSEHOLD_BOARD)
        if host.endswith("example.gov.vn"):
            return self.reply(200, self.listing())
        if self.server.mode == "stop" and self.path != "/":
            return self.reply(429, "Too Many Requests", {"Retry-After": "86400"})
        if self.server.mode == "down" or (self.server.mode == "pages_down" and self.path != "/"):
            return self.reply(503, "Service Unavailable")
        attempts = Counter(path for h, path, _ in self.server.seen if h == host)[self.path]
        if self.path.startswith("/tim-kiem-thu-tuc-hanh-chinh"):
            shown = next((code for uuid, code in SHOWS.items() if uuid in self.path.lower()), None)
            return self.reply(200, f"<h1>Chi tiết thủ tục</h1><p>Mã thủ tục: <b>{shown}</b></p>" if shown else "…")
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
        self.many = 0

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
            writer.writerow(["Mã thủ tục", "Tên thủ tục", "Cấp thực hiện", "Tình trạng", "ID trên Cổng DVCQG"])
            writer.writerows((code, f"Thủ tục số {code[-2:]}", "Cấp xã", "Còn hiệu lực",
                              UUID[code] if code == "1.000014" else "") for code in POSTED)
        self.config = self.configure(cache_hours=24)
        commands.import_catalogue_file(self.config, None)

    def configure(self, cache_hours: float, extra: str = "") -> Config:
        (self.root / "rules.toml").write_text(RULES.format(cache_hours=cache_hours) + extra, encoding="utf-8")
        self.config = load_config(self.root / "rules.toml")
        return self.config

    def check(self, checks: tuple[str, ...] = ("link", "portal")) -> set[tuple[str, str, str]]:
        transport = LoopbackTransport(self.server.server_address[1], ("example.gov.vn", "dichvucong.gov.vn"))
        result = commands.check(self.config, [], True, list(checks), transport=transport)
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
    broken = {f["subject"]: f for f in commands.list_findings(portal.config, "XA_A", "open", ["link.broken"])}
    assert broken["1.000003"]["details"]["broken_links"][0]["final_url"] == "https://dichvucong.gov.vn/"
    assert "bị lỗi: chuyển hướng về trang chủ Cổng" in broken["1.000003"]["title"]
    mismatch = {f["subject"]: f for f in commands.list_findings(portal.config, "XA_A", "open", ["link.mismatch"])}
    assert mismatch["1.000011"]["details"]["wrong_links"][0]["points_to"] == "1.000001"
    wrong = mismatch["1.000018"]["details"]["wrong_links"][0]  # the portal's own page named another procedure
    assert wrong["points_to"] == "1.000001" and wrong["correct_url"] == f"{OLD}?ma_thu_tuc=1.000018"
    # every link finding names the link posted and, where the catalogue knows it, the address to post instead
    assert mismatch["1.000018"]["details"]["posted"] == [wrong["url"]]
    assert mismatch["1.000018"]["details"]["correct_url"] == wrong["correct_url"]
    assert broken["1.000003"]["details"]["posted"] == [broken["1.000003"]["details"]["broken_links"][0]["url"]]
    assert broken["1.000003"]["details"]["correct_url"].startswith("https://dichvucong.gov.vn/")
    missing = {f["subject"]: f for f in commands.list_findings(portal.config, "XA_A", "open", ["link.missing"])}
    assert missing["1.000013"]["details"]["posted"] == []
    assert missing["1.000013"]["details"]["correct_url"].startswith("https://dichvucong.gov.vn/")
    assert reasons["1.0000\t19"] == "invalid_url" and reasons["1.000016"] is None  # www.: asked, and fine
    assert "bị lỗi: địa chỉ liên kết không hợp lệ" in broken["1.000019"]["title"]
    codes = {r["url"]: r["page_code"] for r in db.query("SELECT * FROM link_checks WHERE page_code IS NOT NULL")}
    assert set(codes.values()) == {"1.000014", "1.000017", "1.000001"}


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
    assert tripped.startswith("trang chủ Cổng" if mode == "down" else "6/6 lần hỏi gần nhất bị lỗi")
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
    (f"{NEW}?pageIndex=2&FormalityId=019D2BFE-AAAA-4BBB-8CCC-DDDDEEEEFFFF", True, None,
     "019d2bfe-aaaa-4bbb-8ccc-ddddeeeeffff"),
    (f"{NEW}?keyword=1.001193", False, None, None),
    (f"{NEW}?keyword=khai+sinh&formalityId=", False, None, None),
])
def test_portal_links_are_classified_from_the_url(url: str, direct: bool, code: str | None,
                                                  portal_id: str | None) -> None:
    link = PortalUrls(PortalSettings()).classify(url)
    assert link is not None and (link.direct, link.code, link.portal_id) == (direct, code, portal_id)


def test_links_elsewhere_are_not_portal_links() -> None:
    urls = PortalUrls(PortalSettings())
    assert urls.classify("https://stp.example.gov.vn/thu-tuc-hanh-chinh/1.001108") is None
    assert urls.classify("https://dichvucong.gov.vn.example.com/thu-tuc-hanh-chinh/1.001108") is None


def test_a_day_long_retry_after_trips_the_breaker_instead_of_sleeping(portal: Portal) -> None:
    first = portal.check()
    portal.configure(cache_hours=0)
    portal.server.mode = "stop"  # every procedure page: 429, Retry-After: 86400
    started = time.monotonic()
    found = portal.check()
    assert time.monotonic() - started < 10
    assert ("portal.unavailable", "_centre", "portal") in found
    assert {f for f in found if f[0] == "link.broken"} == {f for f in first if f[0] == "link.broken"}
    title = commands.list_findings(portal.config, "_centre", "open", ["portal.unavailable"])[0]["title"]
    assert "Retry-After" in title and "86400" in title


def test_no_page_can_turn_auditbot_into_a_load_generator(portal: Portal) -> None:
    portal.server.many = 3000
    portal.configure(cache_hours=24, extra=(
        '[[units]]\ncode = "XA_C"\nname = "Xã Cát"\nkind = "xa"\nemails = ["cat@example.gov.vn"]\n'
        'listing_urls = ["https://many.example.gov.vn/tthc"]\n'))
    rules = portal.root / "rules.toml"
    rules.write_text(rules.read_text(encoding="utf-8").replace(
        "[portal]\n", "[portal]\nmax_links_per_unit = 40\nmax_links_per_run = 100\n"), encoding="utf-8")
    portal.config = load_config(rules)
    found = portal.check()
    asked = {path for host, path, _ in portal.server.seen if path.startswith(f"{PAGE}90")}
    assert len(asked) == 40  # XA_C's own cap, out of 3.000 distinct ids on its page
    assert ("link.unchecked", "XA_C", "links") in found
    assert per_unit(EXPECTED) <= found  # the other communes' links were judged as always
    deferred = sqlite_utils.Database(portal.root / "audit.db").execute(
        "SELECT deferred FROM portal_runs ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert deferred == '{"XA_C": 2960}'


def test_the_portal_is_one_notion_for_classifier_guard_and_canary() -> None:
    from auditbot.config.origins import Origins
    settings = PortalSettings(home="https://localhost:8443/", hosts=("localhost:8443", "dichvucong.gov.vn"))
    guard = Origins.of(hosts=settings.hosts)
    assert guard.allows(settings.home) and not guard.allows("https://localhost/")
    assert guard.allows("https://www.dichvucong.gov.vn/x") and not guard.allows("https://dichvucong.gov.vn:8080/x")
    urls = PortalUrls(settings)
    assert urls.classify("https://localhost:8443/thu-tuc-hanh-chinh/1.001193") is not None


def test_an_unexpected_failure_is_one_line_and_exit_4(portal: Portal, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from auditbot.cli import cli

    def explode(*args: Any) -> None:
        raise RuntimeError("Nguyễn Văn A 0912345678")  # a message that must never be printed

    monkeypatch.setattr("auditbot.sources.listings.crawl.fetch_listings", explode)  # where `check` imports it from
    monkeypatch.delenv("AUDITBOT_DEBUG", raising=False)
    result = CliRunner().invoke(cli, ["check", "--config", str(portal.root / "rules.toml")])
    assert result.exit_code == 4
    assert "unexpected RuntimeError in test_links.py" in result.output and "Nguyễn" not in result.output
    assert "Traceback" not in result.output


def test_an_unverified_link_is_shown_to_the_centre_not_to_the_unit(portal: Portal) -> None:
    portal.check()
    transport = LoopbackTransport(portal.server.server_address[1], ("example.gov.vn", "dichvucong.gov.vn"))
    [site] = commands.listing_reading(portal.config, "XA_A", None, None, transport)
    links = {item["procedure"]: item["portal_links"] for item in site["items"]}
    assert links["1.000012"] == [{"url": POSTED["1.000012"], "direct": True, "id": "999999", "procedure": None,
                                  "verified": False, "ambiguous": False, "candidates": []}]
    assert links["1.000017"][0]["procedure"] == "1.000017" and links["1.000017"][0]["verified"]  # by its page
    assert links["1.000014"][0]["procedure"] == "1.000014"  # by the catalogue's UUID, whatever the case


# A commune board as one really posts its household-business procedures (real names and codes from the national
# catalogue export in tests/real_catalogues/../danh-sach-tthc-BoTaiChinh.xlsx): the portal id it links is one the
# catalogue gives to two procedures, the posted one among them. The UUIDs are made up: the real ones are not in
# the stored pages.
SHARED = "019d2bfe-1612-4720-8000-000000001612"
OWN = "019d2bfe-1266-4000-8000-000000001266"
HOUSEHOLD = {"1.001612": ("Đăng ký thành lập hộ kinh doanh", SHARED),
             "2.000720": ("Đăng ký thay đổi nội dung đăng ký hộ kinh doanh", SHARED),
             "1.001266": ("Chấm dứt hoạt động hộ kinh doanh", OWN)}
HOUSEHOLD_BOARD = "<html><body><table><tr><th>STT</th><th>Tên thủ tục hành chính</th></tr>" + "".join(
    f'<tr><td>{n}</td><td><a href="{NEW}?pageIndex=1&amp;formalityId={SHARED.upper()}">{name}</a></td></tr>'
    for n, (name, _) in enumerate(HOUSEHOLD.values(), start=1)) + "</table></body></html>"


def test_an_id_the_catalogue_gives_to_several_procedures_is_no_mismatch_for_either(portal: Portal) -> None:
    with (portal.root / "catalogue.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Mã thủ tục", "Tên thủ tục", "Cấp thực hiện", "Tình trạng", "ID trên Cổng DVCQG"])
        writer.writerows((code, name, "Cấp xã", "Còn hiệu lực", uuid) for code, (name, uuid) in HOUSEHOLD.items())
    portal.configure(cache_hours=24, extra=(
        '[[units]]\ncode = "XA_H"\nname = "Xã Hòa"\nkind = "xa"\nemails = ["hoa@example.gov.vn"]\n'
        'listing_urls = ["https://hkd.example.gov.vn/tthc"]\n'))
    commands.import_catalogue_file(portal.config, None)
    found = {f for f in portal.check(("link",)) if f[1] == "XA_H"}
    # both procedures that share the id are posted with it: no mismatch for either; the third one is another's page
    assert found == {("link.mismatch", "XA_H", "1.001266")}
    [wrong] = commands.list_findings(portal.config, "XA_H", "open", ["link.mismatch"])
    posted = wrong["details"]["posted"]
    assert wrong["details"]["wrong_links"][0]["points_to"] in ("1.001612", "2.000720")
    assert wrong["details"]["correct_url"] == f"{NEW}?formalityId={OWN}" and wrong["details"]["correct_url"] not in posted
    transport = LoopbackTransport(portal.server.server_address[1], ("example.gov.vn", "dichvucong.gov.vn"))
    [site] = commands.listing_reading(portal.config, "XA_H", None, None, transport)
    shown = {item["procedure"]: item["portal_links"][0] for item in site["items"]}
    assert shown["1.001612"]["ambiguous"] and shown["1.001612"]["candidates"] == ["1.001612", "2.000720"]
    assert shown["1.001612"]["procedure"] is None and not shown["1.001612"]["verified"]


def test_no_finding_names_as_correct_the_address_that_is_posted(portal: Portal) -> None:
    portal.check()
    for finding in commands.list_findings(portal.config, None, "open", ["link"]):
        details = finding["details"]
        assert details["correct_url"] is None or details["correct_url"] not in details["posted"], finding
        for wrong in details.get("wrong_links", []):
            assert wrong["correct_url"] != wrong["url"], finding
