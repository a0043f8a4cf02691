"""The default reading of listing pages: real units' pages read as a careful person reads them, and
real-shaped variants of layouts those pages do not show, without any per-site selector."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from auditbot.sources.listings.page import PageError, parse_html
from auditbot.sources.listings.reader import clean_name, read_listing

REAL = Path(__file__).parent / "real_pages"
PAGES = json.loads((REAL / "expected.json").read_text(encoding="utf-8"))["pages"]
PORTAL = ("dichvucong.gov.vn",)


def read(html: str | bytes, url: str = "https://xa.example.gov.vn/tthc") -> tuple[list[str], object]:
    body = html.encode("utf-8") if isinstance(html, str) else html
    reading = read_listing(parse_html(body, None), url, url, PORTAL)
    return [item.name for item in reading.items], reading


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_real_page_reads_every_listed_name_and_nothing_else(page: str) -> None:
    expected = PAGES[page]
    reading = read_listing(parse_html((REAL / page).read_bytes(), None), expected["source_url"],
                           expected["source_url"], PORTAL)
    assert [item.name for item in reading.items] == [p["name"] for p in expected["procedures"]]
    codes = [p.get("code") and ".".join(p["code"].split(".")[:2]) for p in expected["procedures"]]
    assert [item.code for item in reading.items] == codes


def test_real_pages_skip_their_section_rows_with_a_reason() -> None:
    _, reading = read((REAL / "sonvien.gov.vn/CMS/ListThuTuc.html").read_bytes())
    assert [(s.reason, s.text) for s in reading.skipped] == [("section row", "Lĩnh vực: Địa chính")]
    assert {item.section for item in reading.items} == {"Lĩnh vực: Địa chính"}
    _, reading = read((REAL / "dichvucong.conganquangbinh.gov.vn/quan-ly-nganh-nghe-kinh-doanh-co-dieu-kien.html")
                      .read_bytes())
    assert [item.section for item in reading.items] == ["Công an cấp tỉnh"] * 3 + [
        "Công an cấp Huyện, Thị xã, Thành phố"] * 2


# Real detail pages of one procedure (tests/real_pages/SOURCE.md): their fields, dossier components ("Bản chính: 1
# Bản sao: 0", "01 Tờ khai …"), fees and steps are no procedures; "detail" is what the centre is told.
DETAIL_PAGES = {
    "dichvucong.angiang.gov.vn/trang-chu/tra-cuu/chi-tiet-thu-tuc-27763.html": "detail",
    "dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet-1874.html": "detail",
    "dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet-1907.html": "none",  # its components table only
    "dichvucong.laocai.gov.vn/yenbai/tra-cuu/chi-tiet-thu-tuc-117241.html": "detail",
    "dvctt.thaibinh.gov.vn/block/phieu-huong-dan/thu-tuc/19442.html": "detail",
}


@pytest.mark.parametrize("page", sorted(DETAIL_PAGES))
def test_a_real_page_about_one_procedure_lists_no_procedure(page: str) -> None:
    names, reading = read((REAL / page).read_bytes(), "https://dichvucong.example.gov.vn/chi-tiet-thu-tuc")
    assert names == []
    assert reading.layout == DETAIL_PAGES[page]  # type: ignore[attr-defined]


def test_a_real_list_of_titles_with_teasers_full_of_dossier_words_is_still_a_listing() -> None:
    """Nam Giang's procedures, each a title over a teaser of its dossier ("Thành phần hồ sơ: - Tờ khai …", "Số
    lượng hồ sơ: 01 bộ", "Thời hạn giải quyết: …") under search filters: a list of procedures, not one's page."""
    names, reading = read((REAL / "namgiang.quangnam.gov.vn/Default.aspx-tabid-141.html").read_bytes())
    assert names == ["Cấp bản sao trích lục hộ tịch", "Đăng ký khai sinh cho người đã có hồ sơ, giấy tờ cá nhân",
                     "Đăng ký lại khai tử có yếu tố nước ngoài", "Đăng ký lại kết hôn có yếu tố nước ngoài"]
    assert reading.layout == "table"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("written", "name"), [
    ("35.1. Đăng ký biến động", "Đăng ký biến động"),
    ("35.2.Đăng ký biến động", "Đăng ký biến động"),
    ("12.2a. Bán tài sản", "Bán tài sản"),
    ("(3 Thủ tục đăng ký khai tử.", "Thủ tục đăng ký khai tử"),
    ("01 Đăng ký khai sinh", "Đăng ký khai sinh"),
    ("a) Đăng ký kết hôn", "Đăng ký kết hôn"),
    ("- Chứng thực chữ ký;", "Chứng thực chữ ký"),
    ("03 ngày làm việc", "03 ngày làm việc"),            # a number that is part of the text stays
    ("2 Giấy chứng nhận", "Giấy chứng nhận"),
    ("Biến động...", "Biến động.."),                    # one final full stop, as a reader drops it
    ("Cấp\x02 giấy phép", "Cấp giấy phép"),             # a control character means nothing to a reader
])
def test_numbering_is_stripped_and_numbers_in_names_are_not(written: str, name: str) -> None:
    assert clean_name(written) == name


VARIANTS = {
    "header cells as td, other column order, section/total/repeated-header/empty rows, a fee longer than the name": (
        """<table><tr><td>Lĩnh vực</td><td>Tên thủ tục</td><td>Thời hạn giải quyết</td><td>Phí, lệ phí</td></tr>
        <tr><td colspan=4>1. Lĩnh vực Hộ tịch</td></tr>
        <tr><td>Hộ tịch</td><td>01. Đăng ký khai sinh</td><td>03 ngày làm việc</td>
            <td>Miễn lệ phí đối với trường hợp đăng ký khai sinh đúng hạn, còn lại 8.000 đồng một lần đăng ký</td></tr>
        <tr><td>I.2. Cấp huyện</td><td></td><td></td><td></td></tr>
        <tr><td>Hộ tịch</td><td>a) Đăng ký kết hôn</td><td>Ngay trong ngày</td><td>Không</td></tr>
        <tr><td>Hộ tịch</td><td>Công nhận kết quả hòa giải</td><td>05 ngày</td><td>Không</td></tr>
        <tr><td>Lĩnh vực</td><td>Tên thủ tục</td><td>Thời hạn giải quyết</td><td>Phí, lệ phí</td></tr>
        <tr><td>Hộ tịch</td><td></td><td>5 ngày</td><td></td></tr>
        <tr><td>Tổng cộng</td><td>Tổng cộng: 2 thủ tục</td><td></td><td></td></tr></table>""",
        ["Đăng ký khai sinh", "Đăng ký kết hôn", "Công nhận kết quả hòa giải"]),  # "Công …" is no "Cộng"
    "roman and letter STT mark sections": (
        """<table><thead><tr><th>STT</th><th>Tên TTHC</th><th>Cơ quan thực hiện</th></tr></thead>
        <tr><td>I</td><td>Lĩnh vực Hộ tịch</td><td></td></tr><tr><td>1</td><td>Đăng ký khai sinh</td><td>UBND xã</td></tr>
        <tr><td>A.</td><td>Thủ tục hành chính cấp xã</td><td></td></tr>
        <tr><td>2</td><td>Chứng thực bản sao từ bản chính giấy tờ</td><td>UBND xã</td></tr></table>""",
        ["Đăng ký khai sinh", "Chứng thực bản sao từ bản chính giấy tờ"]),
    "a table with no header: the column that reads like procedures": (
        """<table><tr><td>1</td><td>Đăng ký khai sinh cho trẻ em</td><td>Hộ tịch</td></tr>
        <tr><td>2</td><td>Cấp bản sao trích lục hộ tịch</td><td>Hộ tịch</td></tr>
        <tr><td>3</td><td>Đăng ký kết hôn trong nước</td><td>Hộ tịch</td></tr></table>""",
        ["Đăng ký khai sinh cho trẻ em", "Cấp bản sao trích lục hộ tịch", "Đăng ký kết hôn trong nước"]),
    "a one-column table": (
        """<table><tr><td>Đăng ký khai sinh</td></tr><tr><td>Đăng ký kết hôn</td></tr></table>""",
        ["Đăng ký khai sinh", "Đăng ký kết hôn"]),
    "a layout table of menu entries is no listing": (
        """<table><tr><td><a href=/>Trang chủ</a></td><td>Giới thiệu chung về đơn vị</td></tr>
        <tr><td>Tin tức sự kiện nổi bật</td><td>Liên hệ với chúng tôi</td></tr></table>""", []),
    "div cards with a title link and a description": (
        """<div class=list><div class="card"><h4><a href="/tthc/1">Đăng ký khai sinh</a></h4><p>Lĩnh vực: Hộ tịch</p></div>
        <div class="card"><h4><a href="/tthc/2">Cấp lại giấy chứng nhận quyền sử dụng đất</a></h4><p>Lĩnh vực: Đất đai</p></div>
        <div class="card"><h4><a href="/tthc/3">Đăng ký kết hôn</a></h4><p>Lĩnh vực: Hộ tịch</p></div></div>""",
        ["Đăng ký khai sinh", "Cấp lại giấy chứng nhận quyền sử dụng đất", "Đăng ký kết hôn"]),
    "a cards beside a menu": (
        """<div class=ds><a class=item href="/a"><b>Đăng ký khai sinh</b><small>Hộ tịch · Mức độ 3</small></a>
        <a class=item href="/b"><b>Đăng ký khai tử cho người chết</b><small>Hộ tịch</small></a>
        <a class=item href="/c"><b>Chứng thực chữ ký trong giấy tờ</b><small>Chứng thực</small></a></div>
        <ul class=menu><li><a href=/>Trang chủ</a></li><li><a href=/gt>Giới thiệu</a></li>
        <li><a href=/tthc>Thủ tục hành chính</a></li></ul>""",
        ["Đăng ký khai sinh", "Đăng ký khai tử cho người chết", "Chứng thực chữ ký trong giấy tờ"]),
    "a definition list": (
        """<dl><dt>Đăng ký khai sinh</dt><dd>Thời hạn: ngay trong ngày. Lệ phí: miễn</dd><dt>Đăng ký kết hôn</dt>
        <dd>Thời hạn 3 ngày</dd><dt>Cấp bản sao trích lục hộ tịch</dt><dd>Ngay</dd></dl>""",
        ["Đăng ký khai sinh", "Đăng ký kết hôn", "Cấp bản sao trích lục hộ tịch"]),
    "a name and its description in one cell; a name broken over two lines": (
        """<table><tr><th>TT</th><th>Thủ tục hành chính</th><th>Mức độ</th></tr>
        <tr><td>1</td><td><p>Đăng ký khai sinh</p><p>Áp dụng cho trẻ em sinh ra trên địa bàn xã, người đi đăng ký là
        cha mẹ hoặc ông bà, người thân thích khác</p></td><td>4</td></tr>
        <tr><td>2</td><td>Cấp giấy phép xây dựng đối với nhà ở<br>riêng lẻ tại nông thôn</td><td>3</td></tr></table>""",
        ["Đăng ký khai sinh", "Cấp giấy phép xây dựng đối với nhà ở riêng lẻ tại nông thôn"]),
    "nested lists under field headings": (
        """<ul><li>Lĩnh vực Hộ tịch<ul><li><a href=/1>Đăng ký khai sinh</a></li><li><a href=/2>Đăng ký khai tử</a></li>
        </ul></li><li>Lĩnh vực Chứng thực<ul><li><a href=/3>Chứng thực bản sao từ bản chính</a></li>
        <li><a href=/4>Chứng thực chữ ký</a></li></ul></li></ul>""",
        ["Đăng ký khai sinh", "Đăng ký khai tử", "Chứng thực bản sao từ bản chính", "Chứng thực chữ ký"]),
    "numbered lines in one paragraph": (
        """<div class=content><p>Danh mục thủ tục hành chính cấp xã gồm:<br>1. Đăng ký khai sinh;<br>
        2. Đăng ký kết hôn;<br>3. Chứng thực chữ ký.</p></div>""",
        ["Đăng ký khai sinh", "Đăng ký kết hôn", "Chứng thực chữ ký"]),
    "news-style cards (title, date, teaser) titled by headings, without links": (
        """<div class="news"><div class="news-item"><h3 class="title">Thủ tục đăng ký khai sinh</h3>
        <div class="date">15/03/2023</div><p class="sapo">Trình tự thực hiện: Bước 1: Người có yêu cầu nộp hồ sơ tại
        Bộ phận một cửa.</p></div><div class="news-item"><h3 class="title">Thủ tục đăng ký kết hôn</h3>
        <div class="date">15/03/2023</div><p class="sapo">Cách thức thực hiện: trực tiếp hoặc trực tuyến.</p></div>
        <div class="news-item"><h3 class="title">Thủ tục chứng thực chữ ký trong các giấy tờ, văn bản</h3>
        <div class="date">14/03/2023</div><p class="sapo">Thời hạn giải quyết: trong ngày.</p></div></div>""",
        ["Thủ tục đăng ký khai sinh", "Thủ tục đăng ký kết hôn", "Thủ tục chứng thực chữ ký trong các giấy tờ, văn bản"]),
    "a dossier's components under a name-like header are no procedures": (
        """<table><tr><th>STT</th><th>Nội dung</th><th>Số lượng</th></tr>
        <tr><td>1</td><td>01 Tờ khai đề nghị cấp giấy thông hành (mẫu M01)</td><td>Bản chính: 1 Bản sao: 0</td></tr>
        <tr><td>2</td><td>Bản sao giấy khai sinh đối với người chưa đủ 14 tuổi</td><td>Bản chính: 0 Bản sao: 1</td></tr>
        <tr><td>3</td><td>02 ảnh 4x6cm, mặt nhìn thẳng, đầu để trần</td><td>Bản chính: 2 Bản sao: 0</td></tr></table>""",
        []),
    "field lines are no procedures, nor one line repeated": (
        """<ul><li><a href=/a>Bản chính: 1 Bản sao: 0</a></li><li><a href=/b>Bản chính: 1 Bản sao: 0</a></li>
        <li><a href=/c>Bản chính: 0 Bản sao: 1</a></li></ul>
        <div class=x><div class=c><h4>Thủ tục đăng ký khai sinh</h4></div><div class=c><h4>Thủ tục đăng ký khai sinh</h4>
        </div><div class=c><h4>Thủ tục đăng ký khai sinh</h4></div></div>
        <table><tr><th>STT</th><th>Tên thủ tục</th></tr><tr><td>1</td><td>Nộp hồ sơ trực tuyến mức độ 4</td></tr>
        <tr><td>2</td><td>Nộp hồ sơ trực tuyến mức độ 4</td></tr><tr><td>3</td><td>Nộp hồ sơ trực tuyến mức độ 4</td></tr>
        </table>""", []),
    "a listing under search filters labelled like a procedure's fields, in a form or not": (
        """<form class=filter><div><label>Lĩnh vực</label><select><option>Tất cả</option></select></div>
        <div><label>Cơ quan thực hiện</label><select><option>Tất cả</option></select></div></form>
        <div class=filters><div><span>Đối tượng thực hiện</span><select><option>Tất cả</option></select></div>
        <div><b>Thời hạn giải quyết</b><input name=t></div><div><b>Lệ phí</b><input name=f></div></div>
        <table><tr><th>STT</th><th>Tên thủ tục</th><th>Lĩnh vực</th></tr><tr><td>1</td><td>Đăng ký khai sinh</td>
        <td>Hộ tịch</td></tr><tr><td>2</td><td>Đăng ký kết hôn</td><td>Hộ tịch</td></tr></table>""",
        ["Đăng ký khai sinh", "Đăng ký kết hôn"]),
    "a news article about procedures lists none": (
        """<article><h1>Công bố thủ tục hành chính</h1><p>Ngày 1 tháng 2 UBND tỉnh ban hành quyết định công bố thủ
        tục hành chính mới trong lĩnh vực hộ tịch.</p><p>Quyết định có hiệu lực kể từ ngày ký.</p>
        <p>Các cơ quan có trách nhiệm thi hành quyết định này.</p></article>""", []),
    "a board whose rows scripts fill lists nothing as served": (
        """<table id=tb><thead><tr><th>STT</th><th>Tên thủ tục</th><th>Lĩnh vực</th></tr></thead><tbody></tbody>
        </table><script src=/app.js></script>""", []),
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_real_shaped_variants_read_right_without_a_selector(variant: str) -> None:
    html, names = VARIANTS[variant]
    assert read(f"<html><body><nav><a href=/>Trang chủ</a></nav>{html}</body></html>")[0] == names


def test_a_page_with_an_attribute_bomb_is_refused_before_parsing() -> None:
    attributes = " ".join(f"a{i}=x" for i in range(200_000))  # libxml2 would take minutes on this
    started = time.monotonic()
    with pytest.raises(PageError, match=r"200\.000 thuộc tính"):
        parse_html(f"<html><body><div {attributes}>x</div></body></html>".encode(), "utf-8")
    assert time.monotonic() - started < 2
    inline_image = "<img src='data:image/png;base64," + "A" * 100_000 + "'>"  # one long attribute is fine
    assert read(f"<html><body>{inline_image}{VARIANTS['a definition list'][0]}</body></html>")[0]
