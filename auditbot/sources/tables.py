"""Rows out of the spreadsheets people really export: CSV in any of four encodings, XLSX/XLS/ODS,
title rows above a (possibly two-row, merged) header that we find ourselves."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Union, cast

from python_calamine import CalamineWorkbook

from ..errors import InputError
from ..text import fold_ascii

Cell = Union[str, float, int, bool, datetime, date, time, timedelta, None]
Row = tuple[int, list[Cell]]  # (row number as the user sees it, cells)

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
HEADER_SCAN_ROWS = 40
MAX_CELL_CHARS = 32_767  # Excel's own limit; longer cells are junk, not data
csv.field_size_limit(1 << 20)


def read_rows(path: Path) -> Iterator[Row]:
    """Stream the rows of a CSV or spreadsheet file, whatever its encoding and delimiter."""
    if path.suffix.lower() in SPREADSHEET_SUFFIXES:
        return _spreadsheet_rows(path)
    return _csv_rows(path)


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


def _sniff_delimiter(sample: str) -> str:
    lines = [line for line in sample.splitlines()[:HEADER_SCAN_ROWS] if line.strip()]
    counts = {d: sum(line.count(d) for line in lines) for d in ("\t", ";", ",", "|")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _csv_rows(path: Path) -> Iterator[Row]:
    try:
        with path.open("rb") as raw:
            head = raw.read(65536)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if not head.strip():
        raise InputError(f"{path}: the file is empty")
    encoding = detect_encoding(head)
    sample = head.decode(encoding, errors="ignore")
    delimiter = _sniff_delimiter(sample)
    return _csv_iter(path, encoding, delimiter)


def _csv_iter(path: Path, encoding: str, delimiter: str) -> Iterator[Row]:
    with path.open(encoding=encoding, newline="", errors="strict") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            for number, cells in enumerate(reader, start=1):
                yield number, cast(list[Cell], cells)  # str cells; no copy on the hot path
        except UnicodeDecodeError as exc:
            # the decoder reads ahead, so the bad bytes are somewhere after the last row read
            raise InputError(f"{path}: after row {reader.line_num}: bytes that are not {encoding} text"
                             f" ({exc.reason})") from None
        except csv.Error as exc:
            raise InputError(f"{path}: row {reader.line_num}: not readable as CSV: {exc}") from None


def _spreadsheet_rows(path: Path) -> Iterator[Row]:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error types for every kind of corruption
        raise InputError(f"{path}: not a readable spreadsheet: {exc}") from None
    return _sheet_iter(path, workbook)


def _sheet_iter(path: Path, workbook: CalamineWorkbook) -> Iterator[Row]:
    # the first sheet that has any cells: exports put the data first, notes after
    for name in workbook.sheet_names:
        try:
            sheet = workbook.get_sheet_by_name(name)
            if not sheet.height:
                continue
            offset = sheet.start[0] if sheet.start else 0
            for index, cells in enumerate(sheet.iter_rows()):
                yield index + offset + 1, list[Cell](cells)
        except InputError:
            raise
        except Exception as exc:
            raise InputError(f"{path}: sheet {name!r} is not readable: {exc}") from None
        return
    raise InputError(f"{path}: the workbook has no data")


# --- finding the header ---------------------------------------------------------------------

_PARENS = re.compile(r"\(.*?\)|\[.*?\]")


def header_key(label: Cell) -> str:
    if label is None or isinstance(label, (datetime, date, time, timedelta, float, int)):
        return ""
    return fold_ascii(_PARENS.sub(" ", str(label).replace("*", " ")))


@dataclass(frozen=True)
class Header:
    last_row: int                    # data starts after this row number
    columns: dict[str, int]          # canonical field -> column index
    labels: dict[str, str]           # canonical field -> the header text as written
    unmapped: tuple[str, ...]        # header texts we did not use


class AliasTable:
    """Header aliases for each canonical field, most specific first."""

    def __init__(self, fields: dict[str, tuple[str, ...]], extra: dict[str, tuple[str, ...]] | None = None):
        self.fields = tuple(fields)
        self.rank: dict[str, tuple[str, int]] = {}
        for name, aliases in fields.items():
            for position, alias in enumerate((*(extra or {}).get(name, ()), *aliases)):
                self.rank.setdefault(header_key(alias), (name, position))

    def match(self, label: str) -> tuple[str, int] | None:
        return self.rank.get(label)


def _row_labels(top: list[Cell], sub: list[Cell] | None) -> list[list[str]]:
    """Candidate labels per column: a sub-header cell, its merged group joined with it, or the top cell."""
    width = max(len(top), len(sub or ()))
    candidates: list[list[str]] = []
    group = ""
    for j in range(width):
        top_label = header_key(top[j]) if j < len(top) else ""
        sub_label = header_key(sub[j]) if sub is not None and j < len(sub) else ""
        group = top_label or (group if sub_label else "")  # a merged group cell is blank after its first column
        labels = [label for label in (sub_label, f"{group} {sub_label}".strip(), top_label) if label]
        candidates.append(list(dict.fromkeys(labels)))
    return candidates


def _assign(candidates: list[list[str]], aliases: AliasTable) -> dict[str, tuple[int, int, str]]:
    """field -> (priority, column, label): each field takes its best-ranked column, each column one field."""
    best: dict[str, tuple[int, int, str]] = {}
    taken: set[int] = set()
    options = sorted(
        (rank[1], column, rank[0], label)
        for column, labels in enumerate(candidates)
        for label in labels
        if (rank := aliases.match(label)) is not None
    )
    for priority, column, name, label in options:
        if name not in best and column not in taken:
            best[name] = (priority, column, label)
            taken.add(column)
    return best


def locate_header(rows: Iterator[Row], aliases: AliasTable, required: tuple[str, ...],
                  source: Path) -> tuple[Header, Iterator[Row]]:
    """Scan the first rows for the one naming most known columns; merge a second header row if it helps."""
    buffered: list[Row] = []
    for row in rows:
        buffered.append(row)
        if len(buffered) >= HEADER_SCAN_ROWS:
            break
    best: tuple[int, int, dict[str, tuple[int, int, str]], list[list[str]]] | None = None
    for index, (_, cells) in enumerate(buffered):
        for span in (1, 2):
            sub = buffered[index + 1][1] if span == 2 and index + 1 < len(buffered) else None
            if span == 2 and sub is None:
                continue
            candidates = _row_labels(cells, sub)
            assigned = _assign(candidates, aliases)
            # on a tie the single-row header wins: a title row above a header is not a header group
            if best is None or len(assigned) > len(best[2]) or (len(assigned) == len(best[2]) and span < best[1]):
                best = (index, span, assigned, candidates)
    if best is None or len(best[2]) < 2:
        expected = ", ".join(required)
        raise InputError(f"{source}: no header row found in the first {HEADER_SCAN_ROWS} rows "
                         f"(expected columns for: {expected})")
    index, span, assigned, candidates = best
    top_cells = buffered[index][1]
    sub_cells = buffered[index + 1][1] if span == 2 else []

    def written(column: int) -> str:
        for cells in (sub_cells, top_cells):
            if column < len(cells) and cells[column] not in (None, ""):
                return " ".join(str(cells[column]).split())
        return ""

    missing = [name for name in required if name not in assigned]
    if missing:
        header_row = buffered[index][0]
        raise InputError(f"{source}: row {header_row}: header has no column for {', '.join(missing)}",
                         [f"found: {', '.join(f'{n} = {written(assigned[n][1])!r}' for n in assigned)}",
                          "add the header text under [dossiers.columns] in rules.toml if it is named differently"])
    used = {column for _, column, _ in assigned.values()}
    unmapped = tuple(written(column) for column, labels in enumerate(candidates) if labels and column not in used)
    last_row = buffered[index + span - 1][0]
    header = Header(last_row=last_row, columns={n: v[1] for n, v in assigned.items()},
                    labels={n: written(v[1]) for n, v in assigned.items()}, unmapped=unmapped)
    rest = buffered[index + span:]

    def remaining() -> Iterator[Row]:
        yield from rest
        yield from rows

    return header, remaining()
