"""The units spreadsheet (`units_file`) as an office PC saves it, read by its content whatever its name says.

Excel for Vietnamese writes "CSV" in Windows-1258 (tone marks as combining characters), "Unicode Text" in
UTF-16 with a BOM and tabs, "CSV UTF-8" with a BOM; a workbook is often renamed .csv. Each is read (the
text made NFC, as every name auditbot compares is), or refused with the row and column at fault.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path

from auditbot.words.text import nfc

MAX_BYTES = 16 << 20      # a province's units fit in kilobytes; more is the wrong file
MAX_CELL = 10_000         # characters in one cell (a unit's list of listing URLs stays far below)
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # XLSX (zip), XLS (OLE: bounded by its size)
MAX_UNPACKED = 64 << 20   # what an XLSX units table may unpack to
MAX_ROWS, MAX_COLUMNS = 100_000, 200  # how far its cells may reach
_REFERENCES = {"c": "r", "row": "r", "dimension": "ref"}  # the sheet elements that say where cells are
_REFERENCE = re.compile(r"\$?([A-Z]{0,3})\$?(\d{0,7})")
_DELIMITERS = ("\t", ";", ",")


class UnitsFileError(ValueError):
    """Why the file cannot be read, with the row and column when one is at fault (never a cell's content)."""


Row = tuple[int, list[str]]  # (row number as the spreadsheet shows it, cells)


def units_table(path: Path) -> tuple[list[str], list[Row]]:
    """(header, data rows) of the file's first sheet or of its text."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise UnitsFileError(f"larger than {MAX_BYTES >> 20} MB; a units table is far smaller")
        data = path.read_bytes()
    except OSError as exc:
        raise UnitsFileError(f"cannot read it: {exc.strerror}") from None
    rows = _workbook_rows(data) if data.startswith(_WORKBOOK_MAGIC) else _text_rows(data)
    rows = [(number, cells) for number, cells in rows if any(cell.strip() for cell in cells)]
    if not rows:
        raise UnitsFileError("no header row (expected columns code, name, kind, emails, …)")
    (_, header), *body = rows
    for number, cells in rows:
        for column, cell in enumerate(cells):
            if len(cell) > MAX_CELL:
                name = header[column] if column < len(header) and number != rows[0][0] else str(column + 1)
                raise UnitsFileError(f"row {number}, column {name!r}: a cell of {len(cell)} characters, more than"
                                     f" {MAX_CELL} (a units table holds names, codes and addresses)")
    return [cell.strip() for cell in header], body


def text_encoding(data: bytes) -> str:
    """UTF-8 (with or without its BOM) or UTF-16 by their marks, else Windows-1258, Excel's "CSV" here."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(data) >= 4 and data[1] == 0 and data[3] == 0 and data[0] != 0:
        return "utf-16-le"  # UTF-16 saved without its BOM: every other byte of Latin text is zero
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1258"


def _text_rows(data: bytes) -> list[Row]:
    encoding = text_encoding(data)
    try:
        text = nfc(data.decode(encoding))
    except UnicodeDecodeError as exc:
        line = data[: exc.start].decode(encoding, errors="replace").count("\n") + 1
        raise UnitsFileError(f"row {line}: bytes that are not {encoding} text; save it as CSV UTF-8") from None
    first = text.split("\n", 1)[0]
    delimiter = max(_DELIMITERS, key=first.count)  # the header holds no lists, so its separator is the file's
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[Row] = []
    # the csv module's cap is one for the whole process, below this file's size: lifted while this bounded
    # text is read (config is read once, before anything else runs), so an overlong cell is told by its column
    limit = csv.field_size_limit(MAX_BYTES)
    try:
        for number, cells in enumerate(reader, start=1):
            rows.append((number, cells))
    except csv.Error as exc:  # a NUL byte, a quote left open
        raise UnitsFileError(f"row {reader.line_num}: not readable as CSV ({exc})") from None
    finally:
        csv.field_size_limit(limit)
    return rows


def _workbook_rows(data: bytes) -> list[Row]:
    from python_calamine import CalamineWorkbook  # only for a workbook: every command reads config

    if data.startswith(b"PK"):
        _check_declared(data)
    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
        values = sheet.to_python(skip_empty_area=False)
    except BaseException as exc:  # calamine's errors, and a Rust panic on a malformed file, which is no Exception
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise UnitsFileError(f"a workbook that cannot be read ({type(exc).__name__})") from None
    return [(number, [_cell_text(value) for value in row]) for number, row in enumerate(values, start=1)]


def _check_declared(data: bytes) -> None:
    """A 5 KB XLSX can name a cell at XFD1048576 and make calamine allocate the whole grid: every cell and row
    reference (and the declared dimension) is read with an XML parser, as Excel reads them, before calamine."""
    from lxml import etree

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if sum(member.file_size for member in members) > MAX_UNPACKED:
                raise UnitsFileError(f"a workbook that unpacks to more than {MAX_UNPACKED >> 20} MB")
            names = {member.filename for member in members}
            if "xl/workbook.xml" not in names:
                raise UnitsFileError("a zip that is no XLSX workbook (an OpenDocument sheet? save it as XLSX or CSV)")
            for name in sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")):
                with archive.open(name) as sheet:
                    parser = etree.iterparse(sheet, events=("start",), resolve_entities=False, no_network=True)
                    for _, element in parser:
                        attribute = _REFERENCES.get(etree.QName(element).localname)
                        if attribute:
                            _check_reference(element.get(attribute) or "")
                        element.clear(keep_tail=False)
    except (zipfile.BadZipFile, etree.XMLSyntaxError, OSError, EOFError, NotImplementedError) as exc:
        raise UnitsFileError(f"a workbook that cannot be read ({type(exc).__name__})") from None


def _check_reference(reference: str) -> None:
    for match in _REFERENCE.finditer(reference):
        letters, digits = match.groups()
        column = 0
        for letter in letters:
            column = column * 26 + ord(letter) - 64
        row = int(digits) if digits else 1
        if row > MAX_ROWS or column > MAX_COLUMNS:
            raise UnitsFileError(f"a workbook that reaches row {row}, column {column}: more than a units table"
                                 f" holds ({MAX_ROWS} rows, {MAX_COLUMNS} columns)")


def _cell_text(value: object) -> str:
    """A workbook's cell as the same column of a CSV would hold it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return nfc(str(value))
