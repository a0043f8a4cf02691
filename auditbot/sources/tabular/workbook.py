"""XLSX/XLS/ODS workbooks, read with calamine after bounding what the file declares.

A 5 KB XLSX can declare a cell at XFD1048576 and make a reader allocate the whole grid, or carry a
malformed reference that panics the Rust reader. So: the zip's declared sizes, each sheet's declared
dimension and the shared-string count are checked first, and the reading itself runs in a child process
(see pipeline.py) under a memory budget that follows what the file really holds (`reading_budget_mb`), where
an abort is one refused file, not a dead daemon. calamine reads the XML with a real XML parser: what a
comment, a processing instruction or a CDATA section holds is never a row."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import cast

from python_calamine import CalamineWorkbook

from auditbot.errors import InputError
from auditbot.sources.tabular.formats import zip_content
from auditbot.sources.tabular.header import Cell, Row

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
            zip_content(path, archive)
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


# what reading a workbook may take beyond what it holds: the reader's own start, and its cells' bookkeeping
READING_BASE_MB = 128
READING_PER_BYTE = 10  # calamine keeps a cell in 32 bytes plus its text, several times its XML's few bytes


def reading_budget_mb(path: Path, max_memory_mb: float) -> float:
    """The memory reading this workbook may take: a multiple of what it really holds (its members' real
    uncompressed sizes; an XLS, its own size), never more than [sources] max_memory_mb. A 5 KB workbook
    declaring a cell at XFD1048576 makes a reader allocate the whole grid: under this budget the allocation
    fails at once, and the file is one refusal instead of gigabytes taken."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                holds = sum(info.file_size for info in archive.infolist())
        else:
            holds = path.stat().st_size
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError):
        holds = path.stat().st_size
    return min(max_memory_mb, READING_BASE_MB + READING_PER_BYTE * holds / (1 << 20))


def workbook_rows(path: Path) -> Iterator[Row]:
    """The rows of the first sheet that has any cells (exports put the data first, notes after), each cell at
    its column counted from A, read by calamine. Errors name the file and sheet only: a reader's own message
    may quote a cell, and an unmapped cell may hold a citizen's name."""
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except BaseException as exc:  # calamine's errors, and a Rust panic, which is no Exception
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise InputError(f"{path}: not a readable workbook ({type(exc).__name__})") from None
    for name in workbook.sheet_names:
        try:
            found = workbook.get_sheet_by_name(name)
            if not found.height:
                continue
            # iter_rows starts at the sheet's first row (blank rows before the first cell) but at the first
            # column that has a cell
            padding: list[Cell] = [""] * (found.start or (0, 0))[1]
            if padding:
                for index, cells in enumerate(found.iter_rows(), start=1):
                    yield index, padding + list[Cell](cells)
            else:
                yield from enumerate(cast(Iterator[list[Cell]], found.iter_rows()), start=1)  # a list a row
        except InputError:
            raise
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
                raise
            raise InputError(f"{path}: sheet {name!r} is not readable ({type(exc).__name__})") from None
        return
    raise InputError(f"{path}: the workbook has no data")
