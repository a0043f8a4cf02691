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
from contextlib import contextmanager
from pathlib import Path
from typing import IO, NamedTuple
from xml.etree import ElementTree

from auditbot.sources.tabular._sheetxml import Irregular, fields, rows, texts
from auditbot.sources.tabular.header import Row

PIECE = 4 << 20               # inflated bytes read at a time
FIRST_PIECE = 64 << 10        # at the start of a part
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
    """The XML from the opening `start` tag on, and where its content begins; None for an empty element. Read in
    small pieces at first: the header is in the first rows, and a reader that only looks for it reads no more."""
    data = b""
    while True:
        piece = stream.read(min(PIECE, max(FIRST_PIECE, len(data))))
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


class SheetStream:
    """The first sheet's rows as its XML is inflated, each call going on from where the last one stopped.
    Raises Irregular — on opening, before the first row or after any — where the sheet must be read by
    calamine; `last` is then the number of the last row read, `kept` how many of them had a value."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive
        self.names = {info.filename.replace("\\", "/").lower(): info.filename for info in archive.infolist()}
        first = _first_sheet(archive, self.names)
        if first is None:
            raise Irregular("no plain first sheet")
        self.name, self.member = first
        self.styles = _style_kinds(archive, self.names)
        self.shared = _shared_texts(archive, self.names)
        self._stream: IO[bytes] | None = None
        self.restart()

    def restart(self) -> None:
        """Back to the sheet's first row (the styles and shared texts are kept)."""
        self.close()
        self._stream = self.archive.open(self.member)
        found = _inside(self._stream, _SHEET_DATA)
        self._data, self._at = found or (b"", 0)
        self.done, self.last, self.kept = found is None, 0, 0

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def _more(self) -> None:
        assert self._stream is not None
        piece = self._stream.read(PIECE)
        if not piece:
            raise Irregular("the sheet ends early")
        if len(self._data) - self._at > MAX_ROW_BYTES:
            raise Irregular("a row longer than a dossier's")
        self._data, self._at = self._data[self._at:] + piece, 0

    def rows(self) -> Iterator[Row]:
        """Each row with a value, its cells at their absolute column."""
        while not self.done:
            batch, self._at, self.last, self.done = rows(self._data, self._at, self.last, self.styles, self.shared)
            self.kept += len(batch)
            yield from batch
            if not self.done:
                self._more()

    def fields(self, first: int, columns: tuple[int, ...], kinds: bytes) -> Iterator[Fields]:
        """From row `first` on, a piece at a time: the kept columns' cells, as texts where every cell of the row
        has a text twin and as the row's values otherwise (see `_sheetxml.fields`)."""
        while not self.done:
            lines, count, odd, self._at, self.last, self.done, width = fields(
                self._data, self._at, self.last, self.styles, self.shared, first, columns, kinds)
            yield Fields(lines, count, odd, width)
            if not self.done:
                self._more()


class Fields(NamedTuple):
    lines: bytes    # CSV, a line per row whose kept cells are all text (or have a text twin): number, extent, texts
    plain: int      # how many lines
    odd: list[Row]  # the other rows, their kept cells as values
    width: int      # the widest row's cells


@contextmanager
def open_sheet(path: Path) -> Iterator[SheetStream]:
    with zipfile.ZipFile(path) as archive:
        sheet = SheetStream(archive)
        try:
            yield sheet
        finally:
            sheet.close()
