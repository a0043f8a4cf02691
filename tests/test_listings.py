"""Unit listings read from real HTTP servers on 127.0.0.1: what each check finds, and where it must not."""

from __future__ import annotations

import csv
import itertools
import os
import re
import threading
import time
import unicodedata
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from conftest import Province

from auditbot.demo.samplegen import windows_1258_form
from auditbot.demo.sites import SiteFolderServer, serve_sites
from auditbot.domain.matching import Catalogue, same_name
from auditbot.words.text import fold

PORTAL = "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc="

RULES = """
[province]
name = "Thử Nghiệm"
timezone = "Asia/Ho_Chi_Minh"

[database]
path = "audit.db"

[[units]]
code = "STP"
name = "Sở Tư pháp"
kind = "so"
emails = ["stp@example.gov.vn"]
listing_urls = ["{site}/stp/tthc"]

[[units]]
code = "SXD"
name = "Sở Xây dựng"
kind = "so"
emails = ["sxd@example.gov.vn"]
listing_urls = ["{site}/sxd/tthc"]

[[units]]
code = "SYT"
name = "Sở Y tế"
kind = "so"
emails = ["syt@example.gov.vn"]
listing_urls = ["{site}/syt/thu-tuc/"]
listing_selector = "div.the"

[[units]]
code = "XA_A"
name = "Xã An"
kind = "xa"
emails = ["an@example.gov.vn"]
listing_urls = ["{site}/xa-an/tthc"]

[[units]]
code = "XA_B"
name = "Xã Bình"
kind = "xa"
emails = ["binh@example.gov.vn"]
listing_urls = ["{site}/xa-binh/tthc.asp"]

[[units]]
code = "XA_DOWN"
name = "Xã Đồi"
kind = "xa"
emails = ["doi@example.gov.vn"]
listing_urls = ["{trouble}/down"]

[[units]]
code = "XA_SLOW"
name = "Xã Sông"
kind = "xa"
emails = ["song@example.gov.vn"]
listing_urls = ["{trouble}/slow"]

[sources]
catalogue = "catalogue.csv"

[email]
sender = "kiemsoat.tthc@example.gov.vn"

[listings]
timeout_seconds = 0.5
delay_seconds = {delay}
max_pages = {max_pages}
"""

CATALOGUE = [
    ("1.000001", "Đăng ký khai sinh", "Cấp xã", "", "Còn hiệu lực", "", "", ""),
    ("1.000002", "Đăng ký kết hôn", "Cấp xã", "", "Còn hiệu lực", "", "", ""),
    ("1.000003", "Đăng ký kết hôn có yếu tố nước ngoài", "Cấp xã", "", "Đã bãi bỏ", "01/01/2019", "30/06/2025",
     "QĐ 700/QĐ-UBND"),
    ("1.100001", "Cấp Phiếu lý lịch tư pháp", "Cấp tỉnh", "Sở Tư pháp", "Còn hiệu lực", "", "", ""),
    ("1.100002", "Cấp giấy xác nhận tình trạng tư pháp", "Cấp tỉnh", "Sở Tư pháp", "Còn hiệu lực", "01/01/2019",
     "31/12/2025", ""),
    ("1.100003", "Cấp bản sao trích lục", "Cấp tỉnh", "Sở Tư pháp", "Còn hiệu lực", "", "31/12/2099", ""),
    *[(f"1.20000{n}", f"Cấp giấy phép xây dựng loại {n}", "Cấp tỉnh", "Sở Xây dựng", "Còn hiệu lực", "", "", "")
      for n in range(1, 7)],
    ("1.300001", "Cấp chứng chỉ hành nghề dược", "Cấp tỉnh", "Sở Y tế", "Còn hiệu lực", "", "", ""),
    ("1.300002", "Cấp lại chứng chỉ hành nghề dược", "Cấp tỉnh", "Sở Y tế", "Còn hiệu lực", "", "", ""),
]


def page(title: str, body: str, charset: str = "utf-8", head: str = "") -> str:
    return (f'<!DOCTYPE html><html lang="vi"><head><meta charset="{charset}">{head}<title>{title}</title></head>'
            f'<body><nav><ul><li><a href="/">Trang chủ</a></li><li><a href="/lien-he">Liên hệ</a></li></ul></nav>'
            f"<main><h1>{title}</h1>{body}</main></body></html>")


STP_PAGE = page("Thủ tục hành chính", f"""
<table><thead><tr><th>STT</th><th>Mã</th><th>Tên thủ tục</th></tr></thead><tbody>
<tr><td>1</td><td>1.100003.000.00.00.H56</td><td><a href="{PORTAL}1.100003">Cấp bản sao trích lục</a></td></tr>
<tr><td>2</td><td></td><td><a href="{PORTAL}">Cấp Phiếu lý lịch tư phap</a></td></tr>
<tr><td>3</td><td>1.100002</td><td><a href="{PORTAL}1.100002">Cấp giấy xác nhận tình trạng tư pháp</a></td></tr>
<tr><td>4</td><td></td><td><a href="{PORTAL}">Cấp giấy phép tổ chức hội thi tư pháp</a></td></tr>
</tbody></table>""")


def sxd_page(numbers: range, pager: str) -> str:
    items = "".join(f'<li><a href="{PORTAL}1.20000{n}">1.20000{n} - Cấp giấy phép xây dựng loại {n}</a>'
                    f' <a href="javascript:void(0)">In</a></li>' for n in numbers)
    return page("TTHC Sở Xây dựng", f'<ul class="tthc">{items}</ul><div class="pager">{pager}</div>')


SYT_PAGE = page("Thủ tục", f"""
<div class="ds"><div class="the"><h3>Cấp chứng chỉ hành nghề dược</h3><p>Lĩnh vực: Dược &amp; mỹ phẩm</p>
<a href="chi-tiet/1.html">Xem chi tiết</a> <a href="{PORTAL}1.300001&amp;tab=1">Nộp trực tuyến</a></div>
<div class="the"><h3>Cấp lại chứng chỉ hành nghề dược</h3><a href="../van-ban/2.html">Văn bản</a></div></div>
""", head='<base href="https://syt.example.gov.vn/thu-tuc/">')

XA_AN_PAGE = unicodedata.normalize("NFD", page("Thủ tục hành chính cấp xã", f"""
<ol><li><a href="{PORTAL}">Đăng ký khai sinh</a></li>
<li><a href="{PORTAL}">Đăng ký kết hôn có yếu tố nước ngoài</a></li></ol>"""))

# an old site: Windows-1258 (decomposed tones, as that code page writes them), unclosed cells
XA_BINH_PAGE = windows_1258_form(page("Danh mục TTHC", f"""
<table><tr><td>1<td><a href="{PORTAL}">Đăng ký khai sinh</a>
<tr><td>2<td><a href="{PORTAL}">Đăng ký kết hôn</a>
</table>""", charset="windows-1258"))


class TroubleHandler(BaseHTTPRequestHandler):
    """A site that is down (503) and one that never answers in time."""

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(2)
        try:
            self.send_response(503)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write("Hệ thống đang bảo trì".encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting, as it should

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def trouble() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TroubleHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def write_sites(root: Path) -> Path:
    sites = root / "sites" / "127.0.0.1"
    pages = {
        "stp/tthc": STP_PAGE,
        "sxd/tthc": sxd_page(range(1, 3), '<span>1</span> <a rel="next" href="?page=2">2</a>'),
        "sxd/tthc?page=2": sxd_page(range(3, 5), '<a href="tthc">1</a> <a href="tthc?page=3">Trang sau</a>'),
        "sxd/tthc?page=3": sxd_page(range(5, 6), '<a href="tthc?page=2">«</a> <span>3</span>'),
        "syt/thu-tuc/index.html": SYT_PAGE,
        "xa-an/tthc": XA_AN_PAGE,
    }
    for name, html in pages.items():
        (sites / name).parent.mkdir(parents=True, exist_ok=True)
        (sites / name).write_text(html, encoding="utf-8")
    (sites / "xa-binh").mkdir()
    (sites / "xa-binh" / "tthc.asp").write_bytes(XA_BINH_PAGE.encode("cp1258"))
    return root / "sites"


def rewrite(path: Path, html: str) -> None:
    """A site's page changes; Last-Modified counts whole seconds, so the change is dated a little later."""
    path.write_text(html, encoding="utf-8")
    later = time.time() + 5
    os.utime(path, (later, later))


class ListingProvince(Province):
    def __init__(self, root: Path, server: SiteFolderServer, trouble: str) -> None:
        super().__init__(root)
        self.server, self.trouble = server, trouble
        with (root / "catalogue.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Mã thủ tục", "Tên thủ tục", "Cấp thực hiện", "Cơ quan thực hiện", "Tình trạng",
                             "Ngày hiệu lực", "Ngày hết hiệu lực", "Quyết định bãi bỏ"])
            writer.writerows(CATALOGUE)
        self.configure()
        assert self.run("import", "catalogue").exit_code == 0

    def configure(self, delay: float = 0, max_pages: int = 5) -> None:
        site = f"http://127.0.0.1:{self.server.port}"
        self.rules.write_text(RULES.format(site=site, trouble=self.trouble, delay=delay, max_pages=max_pages),
                              encoding="utf-8")

    def findings(self, *args: str) -> set[tuple[str, str, str]]:
        data = self.json("check", "--all", "--checks", "listing,source.unreadable", *args)
        assert isinstance(data, list)
        return {(f["check"], f["unit"], f["subject"]) for f in data}

    @property
    def db(self) -> sqlite_utils.Database:
        return sqlite_utils.Database(self.db_path)


@pytest.fixture
def listings(tmp_path: Path, trouble: str) -> Iterator[ListingProvince]:
    with serve_sites(write_sites(tmp_path)) as server:
        yield ListingProvince(tmp_path, server, trouble)


EXPECTED = {
    ("listing.expired", "STP", "1.100002"),                                  # past its end date
    ("listing.unknown", "STP", "cấp giấy phép tổ chức hội thi tư pháp"),      # in no catalogue
    ("listing.missing", "SXD", "1.200006"),                                  # pages 1-3 list 1..5 only
    ("listing.expired", "XA_A", "1.000003"),                                 # abolished, still posted
    ("listing.missing", "XA_A", "1.000002"),
    ("source.unreadable", "XA_DOWN", "{trouble}/down"),
    ("source.unreadable", "XA_SLOW", "{trouble}/slow"),
}


def expected(listings: ListingProvince) -> set[tuple[str, str, str]]:
    return {(c, u, s.format(trouble=listings.trouble)) for c, u, s in EXPECTED}


def test_each_check_fires_where_it_should_and_nowhere_else(listings: ListingProvince) -> None:
    assert listings.findings() == expected(listings)
    data = listings.json("findings", "--unit", "XA_A")
    assert isinstance(data, list)
    abolished = next(f for f in data if f["check"] == "listing.expired")
    assert abolished["details"]["abolished_by"] == "QĐ 700/QĐ-UBND"
    assert abolished["title"] == ("Thủ tục 1.000003 «Đăng ký kết hôn có yếu tố nước ngoài» đã hết hiệu lực"
                                  " từ 30/06/2025 vẫn niêm yết")
    unknown = next(f for f in listings.json("findings", "--unit", "STP") if f["check"] == "listing.unknown")
    assert "1.100002" in [n["code"] for n in unknown["details"]["nearest"]]
    errors = {row["unit"]: row["error"] for row in listings.db.query("SELECT * FROM listing_fetches WHERE NOT ok")}
    assert errors["XA_DOWN"] == f"máy chủ trả lời HTTP 503 cho {listings.trouble}/down"
    assert errors["XA_SLOW"] == f"quá 0,5 giây chưa trả lời xong ({listings.trouble}/slow)"


def test_what_was_read_from_each_kind_of_page(listings: ListingProvince) -> None:
    listings.findings()
    items: dict[str, list[dict[str, Any]]] = {}
    for row in listings.db.query("SELECT * FROM listing_items ORDER BY id"):
        items.setdefault(row["unit"], []).append(row)
    assert [i["code"] for i in items["SXD"]] == [f"1.20000{n}" for n in range(1, 6)]  # three pages, in order
    assert all("javascript" not in i["links"] for i in items["SXD"])
    assert [i["code"] for i in items["STP"]] == ["1.100003", None, "1.100002", None]
    syt = {i["name"]: i for i in items["SYT"]}
    assert set(syt) == {"Cấp chứng chỉ hành nghề dược", "Cấp lại chứng chỉ hành nghề dược"}
    assert syt["Cấp chứng chỉ hành nghề dược"]["links"] == (
        f'["https://syt.example.gov.vn/thu-tuc/chi-tiet/1.html", "{PORTAL}1.300001&tab=1"]')  # base href, &amp;
    assert "https://syt.example.gov.vn/van-ban/2.html" in syt["Cấp lại chứng chỉ hành nghề dược"]["links"]
    for unit in ("XA_A", "XA_B"):  # decomposed and Windows-1258 pages are stored as NFC text
        assert all(unicodedata.is_normalized("NFC", i["name"]) for i in items[unit])
    assert [i["name"] for i in items["XA_B"]] == ["Đăng ký khai sinh", "Đăng ký kết hôn"]
    fetches = {row["unit"]: row for row in listings.db.query("SELECT * FROM listing_fetches")}
    assert fetches["SXD"]["pages"] == 3 and fetches["SXD"]["items"] == 5 and fetches["SXD"]["content_hash"]


def test_requests_are_identifiable_polite_and_conditional(listings: ListingProvince) -> None:
    listings.configure(delay=0.2)
    first = listings.findings()
    asked = [r for r in listings.server.requests if r.path.startswith("/sxd/")]
    assert [r.path for r in asked] == ["/sxd/tthc", "/sxd/tthc?page=2", "/sxd/tthc?page=3"]
    assert "mailto:kiemsoat.tthc@example.gov.vn" in asked[0].headers["User-Agent"]
    assert all(b.at - a.at >= 0.2 for a, b in itertools.pairwise(asked))  # one host, a pause between requests
    assert all("If-Modified-Since" not in r.headers for r in asked)
    listings.server.requests.clear()
    assert listings.findings() == first
    assert all("If-Modified-Since" in r.headers for r in listings.server.requests)
    fetches = list(listings.db.query("SELECT * FROM listing_fetches WHERE batch = 2 AND ok"))
    assert len(fetches) == 5 and all(row["not_modified"] == row["pages"] for row in fetches)


def test_an_unreadable_site_resolves_nothing_and_a_fixed_one_resolves_its_findings(
        listings: ListingProvince) -> None:
    listings.findings()
    stp_page = listings.server.root / "127.0.0.1" / "stp" / "tthc"
    stp_page.unlink()  # the site loses its page: no evidence about STP this time
    found = listings.findings()
    assert {("listing.expired", "STP", "1.100002"), ("listing.unknown", "STP", fold(
        "Cấp giấy phép tổ chức hội thi tư pháp"))} <= found
    assert ("source.unreadable", "STP", f"http://127.0.0.1:{listings.server.port}/stp/tthc") in found
    # back, without the expired procedure: that finding and the site's own are resolved, the rest kept
    rewrite(stp_page, re.sub(r"<tr><td>3</td>.*?</tr>", "", STP_PAGE, flags=re.S))
    after = listings.findings()
    assert after == expected(listings) - {("listing.expired", "STP", "1.100002")}
    statuses = {row["check_id"]: row["status"] for row in listings.db.query(
        "SELECT check_id, status FROM findings WHERE unit = 'STP'")}
    assert statuses == {"listing.expired": "resolved", "listing.unknown": "open", "source.unreadable": "resolved"}


def test_a_run_for_one_unit_leaves_the_others_alone(listings: ListingProvince) -> None:
    listings.findings()
    rewrite(listings.server.root / "127.0.0.1" / "sxd" / "tthc?page=3", sxd_page(range(5, 7), ""))  # + 1.200006
    data = listings.json("check", "SXD", "--checks", "listing")
    assert data == []
    still_open = {(row["check_id"], row["unit"]) for row in listings.db.query(
        "SELECT check_id, unit FROM findings WHERE status = 'open'")}
    assert ("listing.missing", "SXD") not in still_open and ("listing.expired", "XA_A") in still_open
    assert listings.db["listing_fetches"].count == 7 + 1  # the first run's seven sites, then SXD's alone


def test_a_listing_longer_than_the_page_cap_is_not_evidence(listings: ListingProvince) -> None:
    listings.configure(max_pages=2)
    found = listings.findings()
    assert ("listing.missing", "SXD", "1.200006") not in found  # half a listing proves nothing missing
    error = next(row["error"] for row in listings.db.query("SELECT error FROM listing_fetches WHERE unit = 'SXD'"))
    assert error.startswith("nhiều hơn 2 trang (max_pages)")


def test_offline_uses_what_was_last_read(listings: ListingProvince) -> None:
    first = listings.findings()
    listings.server.requests.clear()
    assert listings.findings("--offline") == first
    assert listings.server.requests == []


@pytest.mark.parametrize(("listed", "official", "same"), [
    ("Cấp giấy phép xây dựng mới đối với nhà ở riêng le", "Cấp giấy phép xây dựng mới đối với nhà ở riêng lẻ", True),
    ("Thủ tục đăng ký khai sinh", "Đăng ký khai sinh", True),
    ("Đăng ky khai sinhh", "Đăng ký khai sinh", True),
    ("Cấp lại giấy chứng nhận", "Cấp giấy chứng nhận", False),        # an extra word is another procedure
    ("Đăng ký khai tử", "Đăng ký khai sinh", False),
    ("Cấp phiếu cho công dân", "Cấp phiếu cho cơ quan", False),
    ("Cấp giấy phép hạng A", "Cấp giấy phép hạng B", False),          # short words take no one-letter slip
])
def test_names_match_through_spelling_slips_only(listed: str, official: str, same: bool) -> None:
    assert same_name(fold(listed), fold(official)) is same


def test_a_name_two_procedures_share_is_never_guessed() -> None:
    catalogue = Catalogue([("1.000001", fold("Đăng ký khai sinh")), ("1.000009", fold("Đăng ký khai sinh")),
                           ("1.000002", fold("Đăng ký kết hôn"))])
    assert catalogue.identify(None, fold("Đăng ký kết hôn.")).code == "1.000002"
    ambiguous = catalogue.identify(None, fold("Đăng ký khai sinh"))
    assert ambiguous.code is None and set(ambiguous.nearest) == {"1.000001", "1.000009"}
    assert catalogue.identify("1.999999", fold("Đăng ký kết hôn")).code is None  # a code the catalogue lacks


def test_listing_settings_are_validated(province: Province) -> None:
    text = province.rules.read_text(encoding="utf-8")
    text = text.replace('emails = ["stp@example.gov.vn"]',
                        'emails = ["stp@example.gov.vn"]\nlisting_urls = ["stp.example.gov.vn/tthc"]')
    province.rules.write_text(text + "\n[listings]\nmax_pages = 0\npolite = true\n", encoding="utf-8")
    result = province.run("validate")
    assert result.exit_code == 2
    assert "units[0].listing_urls: not an http(s) URL: 'stp.example.gov.vn/tthc'" in result.output
    assert "listings: timeout_seconds must be > 0" in result.output
    assert "listings.polite" in result.output
