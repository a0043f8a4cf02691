"""What an export really is, told from its bytes, not its name: one-door systems save an HTML <table>, an
XML Spreadsheet 2003 or plain CSV under an ".xls" name as often as a real workbook.

Each reader streams (row number, cells). Workbooks (XLSX/XLS/ODS) go through `workbook.py`, which bounds
what they declare and reads them in a child process; the text formats here are read in this process with
parsers that never expand entities, fetch anything or grow past a row's width."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, cast

from lxml import etree

from auditbot.errors import InputError
from auditbot.sources.tabular.header import HEADER_SCAN_ROWS, Cell, Row

CSV, WORKBOOK, HTML, XML_SPREADSHEET, JSON = "csv", "workbook", "html", "xml-spreadsheet", "json"
SNIFF_BYTES = 4096
MAX_COLUMNS = 16_384  # Excel's own width; a wider row is a damaged or hostile file
MAX_SPAN = 1_000      # the HTML standard's own cap on colspan
csv.field_size_limit(1 << 20)

_XML_SPREADSHEET = b"urn:schemas-microsoft-com:office:spreadsheet"
_HTML_START = re.compile(rb"<\s*(!doctype\s+html|html|table|head|body|meta)\b", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.I)


# What a file that is no export often really is, told by its first bytes, so the error names it instead
# of a parser's complaint about it ("bytes that are not cp1258 text" for a photo renamed .xlsx). A dozen
# fixed signatures, compared and never parsed: not worth a dependency.
NOT_SPREADSHEETS = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"), (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"),
    (b"%PDF-", "a PDF document"), (b"{\\rtf", "an RTF document"), (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"), (b"\x1f\x8b", "a gzip archive"),
    (b"SQLite format 3\x00", "an SQLite database"), (b"MZ", "a Windows program"),
)
# a ZIP's members tell a workbook from an Office document or a plain archive
ZIP_DOCUMENTS = (("word/", "a Word document (DOCX)"), ("ppt/", "a PowerPoint presentation (PPTX)"))
OPENDOCUMENT_SPREADSHEET = b"application/vnd.oasis.opendocument.spreadsheet"
EXPECTED = "expected a spreadsheet export: CSV, XLSX, XLS or ODS (or an HTML or XML table saved as .xls)"


def not_a_spreadsheet(path: Path, what: str) -> InputError:
    return InputError(f"{path}: this is {what}, not a spreadsheet; {EXPECTED}")


def zip_content(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse a ZIP that is no workbook, naming what it is (a DOCX, an ODT, an archive of other files)."""
    names = [name.lower() for name in archive.namelist()]
    if any(name.startswith("xl/") for name in names):
        return
    if "mimetype" in names:  # OpenDocument: the first member names the kind
        with archive.open(archive.namelist()[names.index("mimetype")]) as member:
            kind = member.read(100).strip()
        if kind.startswith(OPENDOCUMENT_SPREADSHEET):
            return
        named = kind.decode("ascii") if re.fullmatch(rb"[a-z0-9.+/-]{1,100}", kind) else "not named"
        raise not_a_spreadsheet(path, f"an OpenDocument file of another kind ({named})")
    for prefix, what in ZIP_DOCUMENTS:
        if any(name.startswith(prefix) for name in names):
            raise not_a_spreadsheet(path, what)
    raise not_a_spreadsheet(path, "a ZIP archive holding no workbook (unpack it and import the file inside)")


def sniff(path: Path) -> str:
    """The format of the file's content, whatever its suffix says."""
    try:
        with path.open("rb") as raw:
            head = raw.read(SNIFF_BYTES)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if not head.strip():
        raise InputError(f"{path}: the file is empty; {EXPECTED}")
    for signature, what in NOT_SPREADSHEETS:
        if head.startswith(signature):
            raise not_a_spreadsheet(path, what)
    if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return WORKBOOK
    encoding = detect_encoding(head)
    text = head.decode(encoding, errors="ignore").lstrip("\ufeff \t\r\n").encode("utf-8", errors="ignore")
    if text.startswith((b"{", b"[")):
        return JSON
    if text.startswith(b"<"):
        if _XML_SPREADSHEET in text:
            return XML_SPREADSHEET
        if _HTML_START.search(text):
            return HTML
    return CSV


def detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0:
        return "utf-16-le"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1258"  # Vietnamese Windows: what Excel writes for "CSV" on an office PC


# --- CSV -------------------------------------------------------------------------------------

def _sniff_delimiter(sample: str) -> str:
    lines = [line for line in sample.splitlines()[:HEADER_SCAN_ROWS] if line.strip()]
    counts = {d: sum(line.count(d) for line in lines) for d in ("\t", ";", ",", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def csv_dialect(path: Path) -> tuple[str, str]:
    """(encoding, delimiter) of a delimited text export."""
    with path.open("rb") as raw:
        head = raw.read(65536)
    encoding = detect_encoding(head)
    return encoding, _sniff_delimiter(head.decode(encoding, errors="ignore"))


def csv_rows(path: Path) -> Iterator[Row]:
    return _csv_iter(path, *csv_dialect(path))


def csv_rows_from(path: Path, encoding: str, delimiter: str, offset: int, number: int) -> Iterator[Row]:
    """The records from byte `offset` (a record's start) on, numbered from `number`."""
    return _csv_iter(path, "utf-8" if encoding == "utf-8-sig" else encoding, delimiter, offset, number)


def _csv_iter(path: Path, encoding: str, delimiter: str, offset: int = 0, first: int = 1) -> Iterator[Row]:
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding=encoding, newline="", errors="strict") as handle:
        raw.seek(offset)
        reader = csv.reader(handle, delimiter=delimiter)
        number = first - 1
        try:
            for number, cells in enumerate(reader, start=first):
                yield number, cast(list[Cell], cells)  # str cells; no copy on the hot path
        except UnicodeDecodeError as exc:
            # the decoder reads ahead, so the bad bytes are somewhere after the last row read
            where = reader.line_num if offset == 0 else number
            raise InputError(f"{path}: after row {where}: bytes that are not {encoding} text"
                             f" ({exc.reason})") from None
        except csv.Error as exc:
            where = reader.line_num if offset == 0 else number + 1
            raise InputError(f"{path}: row {where}: not readable as CSV ({exc})") from None


# --- an HTML table saved as .xls ------------------------------------------------------------

def _html_encoding(head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return detect_encoding(head)
    declared = _META_CHARSET.search(head)
    if declared:
        try:
            return codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            pass
    return detect_encoding(head)


def _let_go(element: etree._Element) -> None:
    """Free a row once read, and the rows before it: a 300 MB export is read in constant memory."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    while parent is not None and element.getprevious() is not None:
        del parent[0]


def _span(element: etree._Element, name: str, limit: int) -> int:
    try:
        return max(1, min(int(str(element.get(name, "1")).strip() or 1), limit))
    except ValueError:
        return 1


def html_rows(path: Path) -> Iterator[Row]:
    """Every <tr> of the document in order, merged cells laid out as a workbook lays them: the value in the
    first cell of the span, blanks in the rest (so a two-row header reads as it does from Excel)."""
    with path.open("rb") as handle:
        encoding = _html_encoding(handle.read(SNIFF_BYTES))
        handle.seek(0)
        number, spans = 0, _Spans()
        try:
            for number, (_, row) in enumerate(etree.iterparse(
                    handle, events=("end",), tag="tr", html=True, encoding=encoding, no_network=True,
                    remove_comments=True, huge_tree=False), start=1):
                yield number, _html_cells(path, number, row, spans)
                _let_go(row)
        except etree.LxmlError as exc:
            raise InputError(f"{path}: after table row {number}: not readable as HTML ({type(exc).__name__})") \
                from None
        if number == 0:  # a login or error page saved under the export's name, as one-door systems do
            raise not_a_spreadsheet(path, "a web page (HTML) with no table in it")


class _Spans:
    """Columns a rowspan above still covers, row after row."""

    def __init__(self) -> None:
        self.carried: dict[int, int] = {}

    def skip(self, cells: list[Cell]) -> None:
        while self.carried.get(len(cells), 0) > 0:
            self.carried[len(cells)] -= 1
            cells.append("")

    def cover(self, first: int, colspan: int, rowspan: int) -> None:
        for column in range(first, first + colspan):
            self.carried[column] = rowspan - 1

    def end_row(self, width: int) -> None:
        for column in [c for c, left in self.carried.items() if left > 0 and c >= width]:
            self.carried[column] -= 1


def _html_cells(path: Path, number: int, row: etree._Element, spans: _Spans) -> list[Cell]:
    cells: list[Cell] = []
    for cell in row:
        if not isinstance(cell.tag, str) or cell.tag.lower() not in ("td", "th"):
            continue
        spans.skip(cells)
        colspan, rowspan = _span(cell, "colspan", MAX_SPAN), _span(cell, "rowspan", 65_534)
        if rowspan > 1:
            spans.cover(len(cells), colspan, rowspan)
        cells.append(" ".join("".join(cell.itertext()).split()))
        cells += [""] * (colspan - 1)
        if len(cells) > MAX_COLUMNS:
            raise InputError(f"{path}: table row {number}: more than {MAX_COLUMNS:,} columns")
    spans.end_row(len(cells))
    return cells


# --- XML Spreadsheet 2003 -------------------------------------------------------------------

_SS = "{urn:schemas-microsoft-com:office:spreadsheet}"


def _ss_int(element: etree._Element, name: str, path: Path, row: int) -> int | None:
    value = element.get(_SS + name)
    if value is None:
        return None
    if not value.strip().isdigit() or not 0 < int(value) <= MAX_COLUMNS * 64:
        raise InputError(f"{path}: row {row}: ss:{name} is not a position (expected a number up to"
                         f" {MAX_COLUMNS:,})")
    return int(value)


def _ss_value(cell: etree._Element) -> Cell:
    data = cell.find(_SS + "Data")
    if data is None:
        return None
    text = "".join(data.itertext())
    kind = data.get(_SS + "Type", "String")
    try:
        if kind == "Number":
            return float(text)
        if kind == "DateTime":
            return datetime.fromisoformat(text.strip()[:19])
        if kind == "Boolean":
            return text.strip() == "1"
    except ValueError:
        pass  # left as text: the field's own parser says what it expected
    return text


def xml_spreadsheet_rows(path: Path) -> Iterator[Row]:
    """The first worksheet of an XML Spreadsheet 2003 (what "Save as XML Spreadsheet" and many .NET exports
    write), honouring ss:Index (skipped cells and rows) and ss:MergeAcross."""
    with path.open("rb") as handle:
        yield from _xml_spreadsheet_rows(path, handle)


def _xml_spreadsheet_rows(path: Path, handle: IO[bytes]) -> Iterator[Row]:
    number = 0
    parser_options = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False}
    try:
        for _, element in etree.iterparse(handle, events=("end",), tag=(_SS + "Row", _SS + "Worksheet"),
                                          **parser_options):
            if element.tag == _SS + "Worksheet":
                if number:
                    return  # exports put the data first, notes after
                continue
            number = _ss_int(element, "Index", path, number + 1) or number + 1
            cells: list[Cell] = []
            for cell in element.iterchildren(_SS + "Cell"):
                index = _ss_int(cell, "Index", path, number)
                if index is not None:
                    if index > MAX_COLUMNS:
                        raise InputError(f"{path}: row {number}: a cell beyond column {MAX_COLUMNS:,}")
                    cells += [None] * max(0, index - 1 - len(cells))
                cells.append(_ss_value(cell))
                cells += [None] * min(_ss_int(cell, "MergeAcross", path, number) or 0, MAX_COLUMNS)
                if len(cells) > MAX_COLUMNS:
                    raise InputError(f"{path}: row {number}: more than {MAX_COLUMNS:,} columns")
            _let_go(element)
            yield number, cells
    except etree.LxmlError as exc:
        raise InputError(f"{path}: after row {number}: not a readable XML Spreadsheet ({type(exc).__name__})") \
            from None
