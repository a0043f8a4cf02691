"""A page about one procedure is no listing: its fields, its dossier components, its field lines.

A procedure's detail page on a provincial or the national portal ("chi tiết thủ tục", a printable guide
sheet) names the parts every procedure has by law: the steps (trình tự thực hiện), the ways to submit
(cách thức thực hiện), the dossier (thành phần hồ sơ: "Bản chính: 1 Bản sao: 0", "01 Tờ khai …"), the fees,
the time limit, the deciding agency. Read as a listing, those lines become junk "procedures" that would
open `listing.unknown` for each and `listing.missing` for everything else. What is recognised here is
what the listing reader leaves out.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from lxml import etree
from lxml.etree import _Element as Element  # lxml's element type (it has no public alias)

from auditbot.words.text import CONTROL, fold_ascii, nfc

# the fields of one procedure, as a detail page labels them (folded, no diacritics, no punctuation)
FIELDS = {
    "steps": r"trinh tu(?: thuc hien)?",
    "ways": r"cach thuc(?: thuc hien| nop ho so)?",
    "dossier": r"(?:thanh phan(?: so luong)? ho so(?: can nop| bao gom)?|ho so bao gom|so luong ho so)",
    "time_limit": r"(?:thoi han|thoi gian)(?: giai quyet| xu ly)?",
    "applicants": r"doi tuong(?: thuc hien)?",
    "agency": r"(?:co quan (?:thuc hien|giai quyet|co tham quyen)|tham quyen (?:xu ly|giai quyet)|dia chi co quan giai quyet"
              r"|noi tiep nhan(?: va (?:hoan )?tra ket qua)?)",
    "result": r"ket qua (?:thuc hien|thu tuc|giai quyet)",
    "fees": r"(?:phi le phi|le phi|phi|cac khoan phi va le phi|phi va le phi)",
    "conditions": r"yeu cau(?: va)? dieu kien(?: thuc hien)?",
    "legal_basis": r"can cu phap ly(?: cua thu tuc hanh chinh)?",
    "forms": r"mau don to khai",
    "code": r"(?:ky hieu|ma)(?: so)? (?:thu tuc|tthc)",
    "field": r"linh vuc",
}
FIELD = re.compile(r"^(?:\d{1,2} )?(?:" + "|".join(f"(?P<{key}>{words})" for key, words in FIELDS.items()) + r")$")
LABELS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "span", "strong", "b", "dt", "li", "td", "th")
CONTROLS = etree.XPath("boolean(.//select|.//input|.//textarea)")
MAX_LABEL = 200  # a longer element is prose or a value, not a label
MIN_FIELDS = 3   # the distinct fields that make a page one procedure's

# lines of a detail page that read like names but are not: a field with its value, a dossier component
FIELD_LINE = re.compile(
    r"^(?:ban chinh|ban sao|so luong|so bo|linh vuc|co quan thuc hien|muc do|thoi han(?: giai quyet)?|le phi|phi"
    r"|ky hieu thu tuc|ma thu tuc|ngay (?:dang|cap nhat|ban hanh|hieu luc)|luot xem|file mau|mau don to khai"
    r"|doi tuong thuc hien|cach thuc thuc hien)\s*:")
COMPONENT = re.compile(
    r"^[+*•-]?\s*(?:\d{1,2}\s+(?:ban|bo|to|to khai|don|van ban|giay|anh|quyen|cuon)\b|\d{1,2}\s*anh\b"
    r"|(?:to khai|ban sao|ban chinh|ban chup|ban goc)\b|(?:don|van ban) (?:de nghi|xin|cam ket|uy quyen)\b)")


def _folded(text: str) -> str:
    """Folded for matching; "Ð" (U+00D0, Icelandic), which pages type for "Đ", is "d" too."""
    return fold_ascii(text.replace("Ð", "Đ").replace("ð", "đ"))


@lru_cache(maxsize=65536)  # pure, and asked again for every cell of every page
def field_of(text: str) -> str | None:
    """The procedure field a label names ("Thành phần hồ sơ", "Phí, lệ phí:"), or None. A label with its value
    on one line ("Thời hạn giải quyết: 3 ngày") is no label here: a card's teaser reads like that."""
    if not text or len(text) > MAX_LABEL:
        return None
    found = FIELD.match(_folded(text))
    return next(key for key, value in found.groupdict().items() if value) if found else None


@lru_cache(maxsize=65536)  # pure, and asked again for every cell of every page
def is_field_line(text: str) -> bool:
    """ "Bản chính: 1 Bản sao: 0", "Lượt xem: 27": a field of one procedure with its value, no procedure."""
    return bool(FIELD_LINE.match(_folded(text)))


@lru_cache(maxsize=65536)  # pure, and asked again for every cell of every page
def is_component(text: str) -> bool:
    """ "01 Tờ khai đề nghị …", "02 ảnh 4x6cm …", "Bản sao giấy khai sinh …": a dossier component."""
    return bool(COMPONENT.match(_folded(text)))


def _label_text(node: Element) -> str | None:
    """The node's text if short enough to be a label, else None (read no further: a page's big containers)."""
    parts, size = [], 0
    for part in node.itertext():
        size += len(part)
        if size > 4 * MAX_LABEL:  # generous: markup whitespace counts here
            return None
        parts.append(part)
    return nfc(" ".join(CONTROL.sub(" ", " ".join(parts)).split()))


def _cell_is_label(cell: Element) -> bool:
    """A table cell labels a field only as the first of a row of at most two (a key-value table);
    in a wider row it is a column header, which listings have too ("Thời hạn giải quyết", "Phí, lệ phí")."""
    row = cell.getparent()
    if row is None:
        return False
    cells = [c for c in row if c.tag in ("td", "th")]
    return len(cells) <= 2 and cells[0] is cell


def _label_position(node: Element) -> bool:
    """Whether a node stands where a field's label stands: outside tables, or in a key-value table's first
    column; never in a form (a listing's search filters are labelled "Lĩnh vực", "Cơ quan thực hiện" …)."""
    ancestors = list(node.iterancestors())
    if node.tag == "form" or any(a.tag in ("form", "label") for a in ancestors):
        return False
    parent = node.getparent()
    if parent is not None and CONTROLS(parent):  # a filter's caption beside its drop-down, form or not
        return False
    cell = node if node.tag in ("td", "th") else next((a for a in ancestors if a.tag in ("td", "th")), None)
    return cell is None or _cell_is_label(cell)


def procedure_fields(tree: Element) -> Counter[str]:
    """Each procedure field the page labels, and how many times (innermost labelling elements only)."""
    labelled: list[tuple[Element, str]] = []
    for node in tree.iter(*LABELS):
        field = field_of(_label_text(node) or "")
        if field and _label_position(node):
            labelled.append((node, field))
    inner = {id(node) for node, _ in labelled}
    return Counter(field for node, field in labelled
                   if not any(id(child) in inner for child in node.iterdescendants()))


# the words of those fields (lower case, with diacritics): a page naming fewer than three is not looked at closer
FIELD_WORDS = ("trình tự", "cách thức", "thành phần", "số lượng hồ sơ", "thời hạn", "thời gian", "đối tượng",
               "cơ quan", "thẩm quyền", "nơi tiếp nhận", "kết quả", "phí", "yêu cầu", "căn cứ", "mẫu đơn", "ký hiệu",
               "mã thủ tục", "mã tthc", "lĩnh vực")
SCANNED_TEXT = 200_000  # a detail page names its fields near its top


def about_one_procedure(tree: Element) -> list[str] | None:
    """The fields that show a page is about one procedure (its detail page), or None for any other page:
    at least three labelled once each (a list of cards repeats its few fields card after card)."""
    text = nfc(" ".join(tree.itertext())[:SCANNED_TEXT]).lower().replace("ð", "đ")
    if sum(word in text for word in FIELD_WORDS) < MIN_FIELDS:
        return None
    once = sorted(field for field, count in procedure_fields(tree).items() if count == 1)
    return once if len(once) >= MIN_FIELDS else None


def key_value_fields(first_column: list[str]) -> int:
    """How many distinct procedure fields a table's first column names: a procedure's sheet, not a listing."""
    return len({field for text in first_column if (field := field_of(text))})
