"""The first sheet of an XLSX workbook read as its XML streams out of the zip, a few megabytes at a time.

calamine loads a whole sheet before its first row: for a 200.000-row export that is seconds and more memory
than the import may use. Here the sheet's XML is inflated in pieces and `_sheetxml.rows` (native) turns each
piece's complete rows into the values calamine would give. What that reader is not sure of (see _sheetxml.c)
raises `Irregular`; the sheet is then read by calamine from the next row on, so the rows are the same either
way, only the cost differs."""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

from ._sheetxml import Irregular, rows, texts
from .tables import Row

PIECE = 4 << 20               # inflated bytes read at a time
MAX_ROW_BYTES = 64 << 20      # one row's XML; more is not a dossier
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_SHEET_DATA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheetData\b[^>]*?(/?)>")
_SST = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sst\b[^>]*?(/?)>")
DATE_FORMATS = frozenset((*range(14, 23), 45, 47))   # built-in formats calamine reads as dates and times
NUMBER, DATE, UNKNOWN = 0, 1, 2


def number_format_kind(code: str) -> int:
    """NUMBER, DATE or UNKNOWN for a custom number format: a date when its first section, outside quotes and
    escapes, has a day, month, year, hour or second letter. Brackets (locales, colours, elapsed hours) and AM/PM
    are where readers differ: UNKNOWN, left to calamine."""
    if code.strip().lower() == "general":
        return NUMBER
    quoted = escaped = False
    for char in code:
        if escaped:
            escaped = False
        elif quoted:
            quoted = char != '"'
        elif char == '"':
            quoted = True
        elif char in "\\_*":
            escaped = True
        elif char == ";":
            return NUMBER
        elif char in "[aApP":
            return UNKNOWN
        elif char in "dmhysDMHYS":
            return DATE
    return NUMBER


def _xml(archive: zipfile.ZipFile, names: dict[str, str], name: str) -> ElementTree.Element | None:
    real = names.get(name.lower())
    if real is None:
        return None
    return ElementTree.fromstring(archive.read(real))


def _style_kinds(archive: zipfile.ZipFile, names: dict[str, str]) -> bytes:
    styles = _xml(archive, names, "xl/styles.xml")
    if styles is None:
        return bytes([NUMBER])  # style 0 is General
    custom = {fmt.get("numFmtId"): number_format_kind(fmt.get("formatCode") or "")
              for fmt in styles.iter(f"{_MAIN}numFmt")}
    kinds = bytearray()
    for xfs in styles.iter(f"{_MAIN}cellXfs"):
        for xf in xfs.iter(f"{_MAIN}xf"):
            ident = xf.get("numFmtId", "0")
            if ident in custom:
                kinds.append(custom[ident] if not ident.isdigit() or int(ident) >= 164 else UNKNOWN)
            elif ident.isdigit():
                number = int(ident)
                kinds.append(DATE if number in DATE_FORMATS else UNKNOWN if number == 46 or number >= 164
                             else NUMBER)
            else:
                kinds.append(UNKNOWN)
    return bytes(kinds or [NUMBER])


def _first_sheet(archive: zipfile.ZipFile, names: dict[str, str]) -> tuple[str, str] | None:
    """(name, zip member) of the workbook's first sheet; None when the workbook says it counts days from 1904
    or does not say plainly which part the sheet is."""
    workbook = _xml(archive, names, "xl/workbook.xml")
    rels = _xml(archive, names, "xl/_rels/workbook.xml.rels")
    if workbook is None or rels is None:
        return None
    properties = workbook.find(f"{_MAIN}workbookPr")
    if properties is not None and properties.get("date1904", "0").lower() in ("1", "true"):
        return None
    sheet = workbook.find(f"{_MAIN}sheets/{_MAIN}sheet")
    if sheet is None:
        return None
    targets = {rel.get("Id"): rel.get("Target") or "" for rel in rels.iter(f"{_RELS}Relationship")}
    target = targets.get(sheet.get(_REL_ID))
    if not target:
        return None
    member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    real = names.get(member.lower())
    return (sheet.get("name") or "", real) if real else None


def _inside(stream: IO[bytes], start: re.Pattern[bytes]) -> tuple[bytes, int] | None:
    """The XML from the opening `start` tag on, and where its content begins; None for an empty element."""
    data = b""
    while True:
        piece = stream.read(PIECE)
        data += piece
        match = start.search(data)
        if match:
            return None if match.group(1) else (data, match.end())
        if not piece or len(data) > MAX_ROW_BYTES:
            raise Irregular("the element was not found where expected")


def _shared_texts(archive: zipfile.ZipFile, names: dict[str, str]) -> list[str] | None:
    real = names.get("xl/sharedstrings.xml")
    if real is None:
        return None
    out: list[str] = []
    with archive.open(real) as stream:
        found = _inside(stream, _SST)
        if found is None:
            return out
        data, at = found
        while True:
            items, end, done = texts(data, at)
            out += items
            if done:
                return out
            piece = stream.read(PIECE)
            if not piece:
                raise Irregular("the shared texts end early")
            data, at = data[end:] + piece, 0


def streamed_rows(path: Path) -> Iterator[tuple[str, Row]]:
    """(sheet name, row) for each row with a value in the first sheet, cells at their absolute column.
    Raises Irregular — before the first row or after any — where the sheet must be read by calamine."""
    with zipfile.ZipFile(path) as archive:
        names = {info.filename.replace("\\", "/").lower(): info.filename for info in archive.infolist()}
        first = _first_sheet(archive, names)
        if first is None:
            raise Irregular("no plain first sheet")
        sheet, member = first
        styles = _style_kinds(archive, names)
        shared = _shared_texts(archive, names)
        with archive.open(member) as stream:
            found = _inside(stream, _SHEET_DATA)
            if found is None:
                return
            data, at = found
            last = 0
            while True:
                batch, end, last, done = rows(data, at, last, styles, shared)
                for row in batch:
                    yield sheet, row
                if done:
                    return
                piece = stream.read(PIECE)
                if not piece:
                    raise Irregular("the sheet ends early")
                if len(data) - end > MAX_ROW_BYTES:
                    raise Irregular("a row longer than a dossier's")
                data, at = data[end:] + piece, 0
