"""A listing page's tree -> the procedures a careful reader sees on it, and the rows skipped and why.

Real units publish their procedures in many shapes: tables whose name column is known only by its
header (no code, no portal link), one table per group under a heading, section rows inside a table,
cards, plain lists, and numbered paragraphs in a news article. The reader looks for the shape, not for
one site: first tables with a name column (by header, else by what the cells hold), then repeated
sibling records (cards, list items, definition terms), then numbered paragraphs. What it cannot
recognise it leaves out, so an unrecognised page reads as "no listing", never as "nothing listed".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.etree import _Element as Element  # lxml's element type (it has no public alias)

from auditbot.sources.listings.procedure_page import (
    MIN_FIELDS,
    about_one_procedure,
    is_component,
    is_field_line,
    key_value_fields,
)
from auditbot.words.codes import CODE_IN_TEXT
from auditbot.words.text import CONTROL, fold, fold_ascii, nfc

CODE = CODE_IN_TEXT
ABSOLUTE = re.compile(r"^https?://", re.IGNORECASE)
NOT_LETTERS = re.compile(r"[\W\d_]+")
SKIPPED_TEXT = 160  # how much of a skipped row the diagnosis shows

# numbering a page puts before a name: "35.1. ", "12.2a. ", "1) ", "(3) ", "(3 ", "a) ", "- ";
# a bare number ("01 ") only before a capital, so "03 ngày làm việc" keeps its number
NUMBERING = re.compile(
    r"^\s*(?:[-–—•*+·]\s*"
    r"|\(\d{1,3}[a-z]?\)?\s*"
    r"|\d{1,3}(?:\.\d{1,3})+[a-z]?\.?\s*(?=\D)"
    r"|\d{1,3}[a-z]?[.)]\s*(?=\D)"
    r"|[a-zđ][.)]\s+"
    r"|\d{1,3}\s+(?=[A-ZÀ-ỸĐ])"
    r"|[IVX]{1,5}[.)]\s+(?=[A-ZÀ-ỸĐ]))")
ROMAN_OR_LETTER = re.compile(r"^(?:[IVXLC]{1,6}|[A-Z]|[a-z])[.)]?$")

# a line that groups procedures instead of being one (folded, no diacritics)
SECTION_WORDS = re.compile(
    r"^(?:linh vuc|phan (?:[ivxlc]+|\d+|thu)\b|nhom\b|chuong (?:[ivxlc]+|\d+)\b|muc (?:[ivxlc]+|\d+)\b|danh muc|"
    r"thu tuc hanh chinh cap|tthc cap|thu tuc cap|cap (?:tinh|huyen|xa|trung uong)\b|"
    r"thu (?:nhat|hai|ba|tu|nam|sau|bay|tam|chin|muoi)\b|"
    r"(?:cac )?thu tuc hanh chinh (?:thuoc|thuc hien|ban hanh|sua doi|bai bo)|co quan thuc hien\b)")
TOTALS = re.compile(r"^(?:tổng cộng|tổng số|cộng)\b|^tổng\s*(?:\d|$)")  # with diacritics: "Công nhận" is no total
ACTIONS = re.compile(  # link texts that are actions, never names
    r"^(?:xem(?: chi tiet| them| tiep)?|chi tiet|nop(?: ho so)?(?: truc tuyen)?(?: muc \d)?|nop ho so muc \d|"
    r"tai(?: ve| xuong)?|download|dang nhap|in|chon|thuc hien|xem thu tuc|bieu mau|van ban)$")
LABEL = re.compile(r"^[^:]{2,40}:\s")  # "Lĩnh vực: ...", "Cơ quan thực hiện: ..." — a description line

# the first words of procedure names in the national catalogue (folded): a cell that starts with one
# of these reads like a procedure; used only where no header names the column
PROCEDURE_VERBS = frozenset(word.strip() for word in ["\ncap", " dang ky", " thu tuc", " giai quyet", " tham dinh", " phe duyet", " cong nhan", " xac nhan", " chap thuan", " gia han", " dieu chinh", "\nthay doi", " ho tro", " tro cap", " thong bao", " tiep nhan", " chuyen", " xet", " doi", " sua doi", " huy", " khai", " ho so", " de nghi", " bo sung", "\nthu hoi", " cho phep", " lien thong", " giao", " cho thue", " chung thuc", " quyet dinh", " to chuc", " thanh lap", " giai the", " sap nhap", "\nchia", " tach", " hop nhat", " mien", " giam", " kiem tra", " kiem dinh", " thanh toan", " hoan", " dinh chinh", " cai chinh", " ghi", " cong bo", "\nphan hang", " xep hang", " bo nhiem", " tang", " truy tang", " chi tra", " mua", " ban", " nop", " rut", " nhan", " tra", " hop phap hoa", "\ncong chung", " dau gia", " boi thuong", " dang kiem", " tuyen sinh", " tuyen dung", " ket nap", " lua chon", " ap dung", " hieu dinh", "\ndieu dong", " nang ngach", " chuyen doi", " xoa", " cho y kien", " lay y kien", " thong qua", " danh gia", " bao cao", " cung cap", " gop von", "\n"])

HEADER_WORDS = ("stt", "tt", "so tt", "ten", "ma", "linh vuc", "co quan", "muc do", "thoi han", "phi", "le phi",
                "dia diem", "cach thuc", "can cu", "chon", "don vi", "thao tac", "luot xem", "noi dung", "tieu de")
NAME_HEADER_NEGATIVE = ("so ", "ma ", "van ban", "can cu", "co quan", "linh vuc", "thoi han", "muc do", "phi",
                        "le phi", "dia diem", "cach thuc", "bieu mau", "ket qua", "trinh tu", "ghi chu")
HREFS = etree.XPath(".//a/@href")
HEADED_OR_LINKED = etree.XPath("boolean(.//a[@href]|.//h1|.//h2|.//h3|.//h4|.//h5|.//h6)")
TITLE_PARTS = [etree.XPath(path) for path in (".//h1|.//h2|.//h3|.//h4|.//h5|.//h6", ".//a", ".//strong|.//b")]
BLOCKS = {"p", "div", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "ul", "ol", "br",
          "section", "article", "header", "footer", "blockquote", "pre"}
NOISE = ("script", "style", "noscript", "template", "select", "option", "nav", "button", "svg", "iframe")
PROSE_TAGS = {"p", "div", "span", "font", "br"}
LONE_RECORDS = {"li", "dt", "article"}  # tags that are one record even when a page shows only one


@dataclass
class ListedItem:
    name: str
    code: str | None
    links: list[str]
    page: str
    section: str | None = None


@dataclass
class Skipped:
    text: str
    reason: str


@dataclass
class Reading:
    """What a page gave: its items, the rows passed over, and which shape they were read from."""
    page: str
    items: list[ListedItem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    layout: str = "none"  # table | records | paragraphs | selector | detail (one procedure's page) | none

    def skip(self, text: str, reason: str) -> None:
        self.skipped.append(Skipped(text[:SKIPPED_TEXT], reason))


def text_of(node: Element) -> str:
    return nfc(" ".join(CONTROL.sub(" ", " ".join(node.itertext())).split()))


@lru_cache(maxsize=65536)
def clean_name(text: str) -> str:
    """The name as a reader sees it: no leading numbering, no final full stop (or list comma), single spaces,
    no control characters (they break the XLSX annexes and mean nothing to a reader)."""
    name = " ".join(CONTROL.sub(" ", text).split())
    stripped = NUMBERING.sub("", name, count=1)
    stripped = NUMBERING.sub("", stripped, count=1) if stripped.startswith(("-", "–", "•")) else stripped
    name = stripped.strip() or name
    return name[:-1].rstrip() if name.endswith((".", ";", ",")) else name


@lru_cache(maxsize=65536)
def is_section(text: str) -> bool:
    folded = fold_ascii(text)
    unnumbered = fold_ascii(NUMBERING.sub("", text, count=1))
    return bool(SECTION_WORDS.match(folded) or SECTION_WORDS.match(unnumbered))


@lru_cache(maxsize=65536)  # pure, and asked again for every candidate group
def name_like(text: str) -> bool:
    """Reads like a procedure's name: several words of prose, not a number, date, code, action or heading."""
    name = clean_name(text)
    words = fold_ascii(name).split()
    if len(words) < 3 or len(name) > 1200 or is_section(name) or ACTIONS.match(" ".join(words)):
        return False
    if is_field_line(name) or is_component(text):  # "Bản chính: 1 Bản sao: 0", "01 Tờ khai …"
        return False
    return len(NOT_LETTERS.sub("", name)) >= 0.6 * len(name.replace(" ", ""))


@lru_cache(maxsize=65536)
def verb_start(text: str) -> bool:
    words = fold_ascii(clean_name(text)).split()
    return bool(words) and (words[0] in PROCEDURE_VERBS or " ".join(words[:2]) in PROCEDURE_VERBS)


def links_in(node: Element, base: str) -> list[str]:
    found = []
    for anchor in node.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        try:
            url = href if ABSOLUTE.match(href) else urljoin(base, href)
            if "[" in url:
                _ = urlsplit(url).hostname  # a malformed IPv6 host ("http://[x") is no link
        except ValueError:
            continue
        if url.lower().startswith(("http://", "https://")):  # javascript:, mailto:, file: lead nowhere we check
            found.append(url)
    return list(dict.fromkeys(found))


def lines_of(node: Element) -> list[str]:
    """The node's text as a reader sees its lines: block elements and <br> break them."""
    lines: list[str] = []
    current: list[str] = []

    def walk(element: Element) -> None:
        block = isinstance(element.tag, str) and element.tag in BLOCKS
        if block and current:
            lines.append(" ".join(current))
            current.clear()
        if element.text and isinstance(element.tag, str):
            current.append(element.text)
        for child in element:
            walk(child)
            if child.tail:
                current.append(child.tail)
        if block and current:
            lines.append(" ".join(current))
            current.clear()

    walk(node)
    if current:
        lines.append(" ".join(current))
    return [line for line in (nfc(" ".join(CONTROL.sub(" ", part).split())) for part in lines) if line]


def title_of(node: Element) -> str:
    """A cell's or card's title: its heading, its name link, or its first line when a description
    follows; lines that continue a sentence (a lower-case start) are joined back."""
    if not len(node):  # no child element: the text is the title
        return text_of(node)
    for find in TITLE_PARTS:
        for part in find(node):
            text = text_of(part)
            if name_like(text) and not ACTIONS.match(fold_ascii(text)):
                return text
    lines = lines_of(node)
    joined: list[str] = []
    for line in lines:
        if joined and (line[:1].islower() or joined[-1].endswith((",", ";", "-", "và", "hoặc"))):
            joined[-1] += " " + line
        else:
            joined.append(line)
    if len(joined) > 1 and name_like(joined[0]) and all(_describes(line, joined[0]) for line in joined[1:]):
        return joined[0]
    return " ".join(joined)


def _describes(line: str, title: str) -> bool:
    """A line under a title that tells about the procedure instead of naming it."""
    return (bool(LABEL.match(line)) or line.startswith(("(", "-", "+", "•"))
            or (len(line.split()) >= 12 and len(line) > len(title)))


def code_in(text: str) -> str | None:
    found = CODE.search(text)
    return found.group(1) if found else None


# --- tables -----------------------------------------------------------------------------------------

@dataclass
class Grid:
    """A table's own rows (not its nested tables'), cells spread over their colspan."""
    rows: list[tuple[Element, list[Element | None]]]
    width: int


def grid_of(table: Element) -> Grid:
    rows = []
    for row in table.iter("tr"):
        if _owner_table(row) is not table:
            continue
        cells: list[Element | None] = []
        for cell in row:
            if cell.tag not in ("td", "th"):
                continue
            span = _span(cell)
            cells.append(cell)
            cells.extend([None] * (span - 1))
        rows.append((row, cells))
    return Grid(rows, max((len(c) for _, c in rows), default=0))


def _span(cell: Element) -> int:
    try:
        return max(1, min(int(cell.get("colspan", "1")), 50))
    except ValueError:
        return 1


def _owner_table(node: Element) -> Element | None:
    parent = node.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


def header_score(text: str) -> float:
    """How surely a header cell names the procedure column (0: it does not)."""
    folded = fold_ascii(text)
    if not folded:
        return 0
    core = folded.removeprefix("ten ").strip()
    if folded.startswith("ten ") and any(w in core for w in ("thu tuc", "tthc", "dich vu", "ho so", "cong viec")):
        return 3
    if core in ("thu tuc", "thu tuc hanh chinh", "tthc", "dich vu cong", "tieu de", "noi dung", "ten",
                "danh muc thu tuc", "danh muc thu tuc hanh chinh", "dich vu cong thu tuc hanh chinh"):
        return 3 if core != "ten" else 2
    if folded.startswith(NAME_HEADER_NEGATIVE) or folded in ("stt", "tt", "ma", "chon"):
        return 0
    if any(w in folded for w in ("thu tuc", "tthc", "dich vu cong")):
        return 1
    return 0


def is_header_row(cells: list[Element | None]) -> bool:
    present = [c for c in cells if c is not None]
    if present and all(c.tag == "th" for c in present):
        return True
    hits = sum(1 for c in present if fold_ascii(text_of(c)) in HEADER_WORDS or header_score(text_of(c)) >= 2)
    return hits >= 2


@dataclass
class Columns:
    name: int
    code: int | None
    number: int | None  # STT
    by_header: bool


def columns_of(grid: Grid) -> tuple[Columns | None, int]:
    """The name, code and STT columns, and how many leading rows are header rows."""
    header_rows = 0
    for _, cells in grid.rows[:3]:
        if is_header_row(cells):
            header_rows += 1
        else:
            break
    headers = [""] * grid.width
    for _, cells in grid.rows[:header_rows]:  # multi-row headers: the lowest row names the column
        last = ""
        for index, cell in enumerate(cells):
            label = text_of(cell) if cell is not None else last
            last = label
            if label:
                headers[index] = label
    scores = [header_score(h) for h in headers]
    code_column = next((i for i, h in enumerate(headers) if fold_ascii(h).startswith(("ma", "so ho so")) and
                        any(w in fold_ascii(h) for w in ("thu tuc", "tthc", "ho so", "so"))), None)
    number = next((i for i, h in enumerate(headers) if fold_ascii(h) in ("stt", "tt", "so tt", "#", "so thu tu")), None)
    if scores and max(scores) > 0:
        return Columns(scores.index(max(scores)), code_column, number, True), header_rows
    body = [cells for _, cells in grid.rows[header_rows:]]
    best, best_score = None, 0.0
    for index in range(grid.width):
        texts = [text_of(cells[index]) for cells in body if index < len(cells) and cells[index] is not None]
        texts = [t for t in texts if t]
        if len(texts) < 2:
            continue
        like = [t for t in texts if name_like(t)]
        verbs = sum(verb_start(t) for t in like)
        if len(like) < 0.6 * len(texts) or verbs < 0.5 * len(like):
            continue
        score = len(like) + verbs
        if score > best_score:
            best, best_score = index, score
    if best is None:
        return None, header_rows
    return Columns(best, code_column, number, False), header_rows


def _on_portal(url: str, portal_hosts: tuple[str, ...]) -> bool:
    return (urlsplit(url).hostname or "").removeprefix("www.") in portal_hosts


def read_table(grid: Grid, columns: Columns, header_rows: int, page_url: str, base: str, section: str | None,
               reading: Reading) -> None:
    header = [fold_ascii(text_of(c)) if c is not None else "" for _, cells in grid.rows[header_rows - 1:header_rows]
              for c in cells] if header_rows else []
    start = len(reading.items)
    for row, cells in grid.rows[header_rows:]:
        texts = [text_of(c) if c is not None else "" for c in cells]
        row_text = " | ".join(t for t in texts if t)
        if not row_text:
            continue
        name_cell = _cell(cells, columns.name)
        raw = title_of(name_cell) if name_cell is not None else ""
        passed_over = _passed_over(grid, columns, cells, texts, raw, header)
        if passed_over == "section row":
            section = raw or row_text
        if passed_over:
            reading.skip(row_text, passed_over)
            continue
        not_a_name = _not_a_name(raw)
        if not_a_name:
            reading.skip(row_text, not_a_name)
            continue
        code = code_in(texts[columns.code]) if columns.code is not None and columns.code < len(texts) else None
        code = code or code_in(raw) or next((code_in(t) for t in texts if CODE.fullmatch(t)), None)
        name = clean_name(CODE.sub(" ", raw) if code_in(raw) else raw)
        if not NOT_LETTERS.sub("", name):
            reading.skip(row_text, "no name in the name column")
            continue
        reading.items.append(ListedItem(name=name, code=code, links=links_in(row, base), page=page_url,
                                        section=section))
    read = reading.items[start:]
    if _repeated([item.name for item in read]):
        del reading.items[start:]
        for item in read:
            reading.skip(item.name, "the same line repeated, not a list of procedures")


def _not_a_name(raw: str) -> str | None:
    """Why a name cell of a procedure's own page holds no procedure ("Bản chính: 1 Bản sao: 0", "01 Tờ khai …")."""
    if is_field_line(clean_name(raw)):
        return "a field of one procedure, not a procedure's name"
    if is_component(raw):
        return "a dossier component, not a procedure's name"
    return None


def _cell(cells: list[Element | None], index: int | None) -> Element | None:
    return cells[index] if index is not None and index < len(cells) else None


def _passed_over(grid: Grid, columns: Columns, cells: list[Element | None], texts: list[str], raw: str,
                 header: list[str]) -> str | None:
    """Why a table row is not a procedure (a section, header or totals row, no name), or None."""
    present = [c for c in cells if c is not None]
    filled = [i for i, t in enumerate(texts) if t]
    only = cells[filled[0]] if len(filled) == 1 and grid.width > 1 else None
    if only is not None and (_span(only) > 1 or len(present) < grid.width or len(present) == 1):
        return "section row"  # one cell across a table of several columns
    if all(c.tag == "th" for c in present) or (header and [fold_ascii(t) for t in texts] == header):
        return "header row"  # the header again, further down
    if not raw:
        return "no name in the name column"
    if TOTALS.match(fold(raw)):
        return "totals row"
    number = texts[columns.number] if columns.number is not None and columns.number < len(texts) else ""
    others = [i for i in filled if i not in (columns.name, columns.number)]
    if ROMAN_OR_LETTER.match(number) or (not others and is_section(raw)):
        return "section row"  # "I", "A." in the STT column, or "Lĩnh vực …" with nothing beside it
    return None


def heading_before(node: Element) -> str | None:
    """The nearest heading (or short bold/paragraph line) above a table: the group it lists."""
    for previous in node.itersiblings(preceding=True):
        if not isinstance(previous.tag, str):
            continue
        text = text_of(previous)
        if not text:
            continue
        if previous.tag in ("h1", "h2", "h3", "h4", "h5", "h6") or (
                previous.tag in ("p", "strong", "b", "div") and len(text) <= 160 and not text.endswith(".")):
            return text  # a heading, or a short line that reads like one (prose ends with a full stop)
        return None
    return None


def read_tables(tree: Element, page_url: str, base: str, portal_hosts: tuple[str, ...], reading: Reading) -> None:
    for table in tree.iter("table"):
        if table.xpath(".//table"):
            inner = [t for t in table.xpath(".//table") if grid_of(t).rows]
            if inner:
                continue  # a layout table around a data table: the inner one is read
        grid = grid_of(table)
        if len(grid.rows) < 1 or grid.width < 1:
            continue
        first_column = [text_of(cells[0]) for _, cells in grid.rows if cells and cells[0] is not None]
        if key_value_fields(first_column) >= MIN_FIELDS:  # "Cơ quan thực hiện | …", "Lệ phí | …": one procedure
            reading.skip(" | ".join(first_column), "a procedure's fields, not a listing")
            continue
        columns, header_rows = columns_of(grid)
        if columns is None:
            continue
        read_table(grid, columns, header_rows, page_url, base, heading_before(table), reading)


# --- repeated records: cards, list items, definition terms, numbered paragraphs -----------------------

def _signature(node: Element) -> tuple[str, str]:
    return node.tag, " ".join(sorted((node.get("class") or "").split()))


@dataclass
class Group:
    members: list[Element]
    prose: bool


def groups_of(tree: Element) -> Iterator[Group]:
    for parent in tree.iter():
        if not isinstance(parent.tag, str) or parent.tag in ("table", "tr", "thead", "tbody", "head"):
            continue
        by_signature: dict[tuple[str, str], list[Element]] = {}
        for child in parent:
            if isinstance(child.tag, str) and child.tag not in ("br", "hr", "img", "table"):
                by_signature.setdefault(_signature(child), []).append(child)
        for (tag, _), members in by_signature.items():
            if len(members) >= 2 or tag in LONE_RECORDS:
                # a card titled by a heading is a record even without a link; bare paragraphs are prose
                yield Group(members, prose=tag in PROSE_TAGS and not any(HEADED_OR_LINKED(m) for m in members))


def _numbered(text: str) -> bool:
    return bool(re.match(r"^\s*(?:\(\d{1,3}[a-z]?\)?|\d{1,3}(?:\.\d{1,3})*[a-z]?[.)])\s*\S", text))


def read_records(tree: Element, page_url: str, base: str, portal_hosts: tuple[str, ...], reading: Reading) -> None:
    """Repeated siblings whose titles read like procedures; paragraphs and lines only when numbered."""
    chosen: list[tuple[Group, list[str]]] = []
    for group in groups_of(tree):
        titles = [title_of(m) for m in group.members]
        like = [(m, t) for m, t in zip(group.members, titles) if _record_title(t, group.prose)]
        if not like or len(like) < 0.6 * len([t for t in titles if t and not is_section(t)]):
            continue
        if _repeated([t for _, t in like]):
            continue
        marked = sum(1 for m, t in like if code_in(t) or any(_on_portal(u, portal_hosts) for u in _hrefs(m)))
        strong = marked + sum(1 for _, t in like if verb_start(t))
        if (len(like) >= 2 and strong >= max(2, 0.5 * len(like))) or marked == len(like) == 1:
            chosen.append((group, titles))  # a lone item (a listing's last page) only with a code or portal link
    members = {id(m) for group, _ in chosen for m in group.members}
    records = [(group, titles) for group, titles in chosen  # a group holding another chosen group is its container
               if not any(id(d) in members for m in group.members for d in m.iterdescendants())]
    found: list[tuple[Element, ListedItem]] = []
    for group, titles in records:
        container = group.members[0].getparent()
        section = _group_heading(container) if container is not None else None
        for member, title in zip(group.members, titles):
            if group.prose and (is_section(title) or title.endswith(":")):
                section = title
                reading.skip(title, "section line")
            elif not _record_title(title, group.prose):
                if title:
                    reading.skip(title, "not a procedure's name")
            else:
                found.append((member, _record(title, text_of(member), links_in(member, base), page_url, section)))
        reading.layout = "paragraphs" if group.prose else "records"
    if len(records) > 1:  # groups were found parent by parent: put their items back in page order
        order = {node: index for index, node in enumerate(tree.iter())}
        found.sort(key=lambda pair: order[pair[0]])
    reading.items += [item for _, item in found]
    if not reading.items:
        read_lines(tree, page_url, reading)


def _repeated(titles: list[str]) -> bool:
    """The same line over and over ("Bản chính: 1", "Xem chi tiết"): no list of different procedures."""
    return len(titles) >= 2 and len(set(map(fold, titles))) < 0.6 * len(titles)


def _hrefs(node: Element) -> list[str]:
    """The raw href values below a node: enough to see a portal host without resolving every link."""
    return [href for href in HREFS(node) if isinstance(href, str)]


def _record_title(title: str, prose: bool) -> bool:
    return name_like(title) and (not prose or _numbered(title))


def _record(title: str, text: str, links: list[str], page_url: str, section: str | None) -> ListedItem:
    code = code_in(title) or code_in(text)
    name = clean_name(CODE.sub(" ", title).strip(" -–:") if code_in(title) else title)
    return ListedItem(name=name, code=code, links=links, page=page_url, section=section)


def _group_heading(container: Element) -> str | None:
    """What a list of records sits under: the heading before it, or its parent's own leading text."""
    heading = heading_before(container)
    parent = container.getparent()
    if heading is None and parent is not None and parent.text and parent.text.strip():
        heading = nfc(" ".join(parent.text.split()))
    return heading


def read_lines(tree: Element, page_url: str, reading: Reading) -> None:
    """Numbered lines inside one block, broken by <br>: "1. Đăng ký khai sinh;<br>2. ..."."""
    for block in tree.iter():
        if not isinstance(block.tag, str) or sum(1 for child in block if child.tag == "br") < 2:
            continue
        lines = lines_of(block)
        if sum(1 for line in lines if _record_title(line, True)) < 2:
            continue
        section: str | None = None
        for line in lines:
            if _record_title(line, True):
                reading.items.append(_record(line, line, [], page_url, section))
            elif is_section(line) or line.endswith(":"):
                section = line
                reading.skip(line, "section line")
            else:
                reading.skip(line, "not a procedure's name")
        reading.layout = "paragraphs"


def read_selected(tree: Element, selector: str, page_url: str, base: str, reading: Reading) -> None:
    for node in CSSSelector(selector)(tree):
        if node.tag == "tr":
            table = _owner_table(node)
            if table is not None:
                grid = grid_of(table)
                columns, _header_rows = columns_of(grid)
                if columns is not None:
                    row = next(((r, c) for r, c in grid.rows if r is node), None)
                    if row is not None:
                        read_table(Grid([row], grid.width), columns, 0, page_url, base, None, reading)
                        continue
        title = title_of(node)
        code = code_in(text_of(node))
        name = clean_name(CODE.sub(" ", title).strip(" -–:") if code_in(title) else title)
        if name and any(ch.isalpha() for ch in name):
            reading.items.append(ListedItem(name=name, code=code, links=links_in(node, base), page=page_url))
        else:
            reading.skip(text_of(node), "no name in the selected element")


def strip_noise(tree: Element) -> None:
    """Scripts, styles, menus and form controls hold no procedure: emptied, their tails kept."""
    for node in tree.xpath("|".join(f"//{tag}" for tag in NOISE)):
        node.clear(keep_tail=True)


def read_listing(tree: Element, page_url: str, base: str, portal_hosts: tuple[str, ...],
                 selector: str | None = None) -> Reading:
    """The procedures on one page; tables first, then repeated records, then numbered paragraphs."""
    reading = Reading(page_url)
    strip_noise(tree)
    if selector:
        read_selected(tree, selector, page_url, base, reading)
        reading.layout = "selector" if reading.items else "none"
        return reading
    fields = about_one_procedure(tree)
    if fields:  # one procedure's detail page: its components, fees and steps are no procedures
        reading.layout = "detail"
        reading.skip(", ".join(fields), "a page about one procedure, not a listing")
        return reading
    read_tables(tree, page_url, base, portal_hosts, reading)
    if reading.items:
        reading.layout = "table"
        return reading
    reading.skipped.clear()
    read_records(tree, page_url, base, portal_hosts, reading)
    return reading
