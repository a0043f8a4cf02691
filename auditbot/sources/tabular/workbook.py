"""XLSX/XLS/ODS workbooks, read with calamine after bounding what the file declares.

A 5 KB XLSX can declare a cell at XFD1048576 and make a reader allocate the whole grid, or carry a
malformed reference that panics the Rust reader. So: the zip's declared sizes, each sheet's declared
dimension and the shared-string count are checked first, and the reading itself runs in a child process
(see pipeline.py) under a memory cap, where an abort is one refused file, not a dead daemon."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

from python_calamine import CalamineWorkbook

from auditbot.errors import InputError
from auditbot.sources.tabular._sheetxml import Irregular
from auditbot.sources.tabular.header import Cell, Row
from auditbot.sources.tabular.sheet_stream import SheetStream, open_sheet

MAX_CELLS = 100_000_000      # a million dossiers by a hundred columns; more is not an export
MAX_SHARED_STRINGS = 20_000_000
_DIMENSION = re.compile(rb'<dimension[^>]*\bref="([A-Z]{1,3})?(\d+)?(?::([A-Z]{1,3})(\d+))?"')
_SST_COUNT = re.compile(rb'<sst[^>]*\buniqueCount="(\d+)"')
_PEEK = 1 << 16


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _peek(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with archive.open(info) as member:
        return member.read(_PEEK)


def check_declared(path: Path, max_uncompressed_mb: float) -> None:
    """Refuse, before any reading, a workbook whose own declarations exceed what an export can be."""
    if not zipfile.is_zipfile(path):
        return  # XLS (OLE): calamine bounds it by the file's size, the child by its memory cap
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            total = sum(info.file_size for info in members)
            if total > max_uncompressed_mb * (1 << 20):
                raise InputError(f"{path}: the workbook unpacks to {total / (1 << 20):,.0f} MB, more than"
                                 f" [sources] max_memory_mb = {max_uncompressed_mb:g} MB; not read")
            for info in members:
                name = info.filename.lower()
                if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                    _check_dimension(path, info.filename, _peek(archive, info))
                elif name == "xl/sharedstrings.xml":
                    count = _SST_COUNT.search(_peek(archive, info))
                    if count and int(count.group(1)) > MAX_SHARED_STRINGS:
                        raise InputError(f"{path}: the workbook declares {int(count.group(1)):,} distinct texts,"
                                         f" more than {MAX_SHARED_STRINGS:,}; not read")
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise InputError(f"{path}: not a readable workbook ({type(exc).__name__})") from None


def _check_dimension(path: Path, sheet: str, head: bytes) -> None:
    match = _DIMENSION.search(head)
    if not match:
        return
    first_column, first_row, last_column, last_row = (part.decode() if part else "" for part in match.groups())
    columns = _column_number(last_column or first_column or "A") - _column_number(first_column or "A") + 1
    rows = int(last_row or first_row or 1) - int(first_row or 1) + 1
    if columns * rows > MAX_CELLS:
        raise InputError(f"{path}: {sheet} declares {columns:,} columns by {rows:,} rows, more than"
                         f" {MAX_CELLS:,} cells; not read")


# what the streamed reader raises where calamine must read the sheet instead (or say why it cannot)
NOT_STREAMED = (Irregular, UnicodeDecodeError, ElementTree.ParseError, zipfile.BadZipFile, OSError, EOFError,
                NotImplementedError, ValueError)


def check_grid(path: Path, sheet: str, width: int, number: int) -> None:
    """Refuse a sheet whose cells reach further than a reader that allocates the grid could be asked for."""
    if width * number > MAX_CELLS:
        raise InputError(f"{path}: sheet {sheet!r} has cells up to column {width:,} and row {number:,},"
                         f" a grid of more than {MAX_CELLS:,} cells; not read")


def workbook_rows(path: Path) -> Iterator[Row]:
    """The rows of the first sheet that has any cells (exports put the data first, notes after), each cell at
    its column counted from A. An XLSX sheet is streamed (sheet_stream.py) and, where that reader is not sure,
    read by calamine from the next row on. Errors name the file and sheet only: a reader's own message may
    quote a cell, and an unmapped cell may hold a citizen's name."""
    try:
        with open_sheet(path) as sheet:
            yield from streamed_then_calamine(path, sheet)
            return
    except NOT_STREAMED:  # not a plain XLSX (XLS, ODS, a workbook that says it counts from 1904)
        pass
    yield from calamine_rows_after(path, None, 0)


def streamed_then_calamine(path: Path, sheet: SheetStream) -> Iterator[Row]:
    """The sheet's rows streamed, and from where the stream is not sure (or when it has none: the data may be
    on another sheet) calamine's."""
    try:
        yield from checked_rows(path, sheet)
        if sheet.kept:
            return
    except NOT_STREAMED:
        pass  # calamine reads it, or says why it cannot
    yield from calamine_rows_after(path, sheet.name if sheet.kept else None, sheet.last)


def checked_rows(path: Path, sheet: SheetStream) -> Iterator[Row]:
    """The stream's rows, the grid they reach bounded as they come."""
    width = 0
    for number, cells in sheet.rows():
        width = max(width, len(cells))
        check_grid(path, sheet.name, width, number)
        yield number, cells


def calamine_rows_after(path: Path, sheet: str | None, last: int) -> Iterator[Row]:
    """The rows after row `last` of the named sheet (None: the first sheet that has any), read by calamine."""
    for number, cells in _calamine_rows(path, sheet):
        if number > last:
            yield number, cells


def _calamine_rows(path: Path, sheet: str | None) -> Iterator[Row]:
    """The named sheet's rows, or the first sheet's that has any."""
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except BaseException as exc:  # calamine's errors, and a Rust panic, which is no Exception
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise InputError(f"{path}: not a readable workbook ({type(exc).__name__})") from None
    for name in [sheet] if sheet is not None else workbook.sheet_names:
        try:
            found = workbook.get_sheet_by_name(name)
            if not found.height:
                continue
            # iter_rows starts at the sheet's first row (blank rows before the first cell) but at the first
            # column that has a cell
            padding: list[Cell] = [""] * (found.start or (0, 0))[1]
            for index, cells in enumerate(found.iter_rows()):
                yield index + 1, padding + list[Cell](cells)
        except InputError:
            raise
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                raise
            raise InputError(f"{path}: sheet {name!r} is not readable ({type(exc).__name__})") from None
        return
    raise InputError(f"{path}: the workbook has no data")
