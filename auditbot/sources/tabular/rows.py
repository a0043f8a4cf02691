"""From a file's rows to the canonical fields' cells, and each row counted: what every way of reading an
export shares (row by row in pipeline.py, a chunk at a time in columnar.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from auditbot.config.rules import Config
from auditbot.sources.tabular import formats
from auditbot.sources.tabular.common import Rejection, cell_text
from auditbot.sources.tabular.header import AliasTable, Cell, Header, Row, locate_header
from auditbot.sources.tabular.workbook import workbook_rows

BATCH = 20_000
PREVIEW_ROWS = 5

CanonicalRow = tuple[int, "list[Cell] | Rejection"]
Record = tuple[Any, ...]


class RowParser(Protocol):
    def parse(self, cells: list[Cell], row: int) -> Record | Rejection | str:
        """A record to store, a rejection with its reason, or the reason the row is skipped (not an error)."""

    def report(self) -> dict[str, Any]:
        """What the parser learnt over the whole file (e.g. which inputs any record had), for `judge`."""


class TableSpec(Protocol):
    """What reading a source's table needs to know of it."""

    section: str                            # where rules.toml adds header aliases
    fields: dict[str, tuple[str, ...]]      # canonical field -> header aliases, most specific first
    required: tuple[str, ...]
    personal: tuple[str, ...]               # header words that mark a citizen's column
    min_cells: int                          # a row without a key and fewer filled cells is layout

    def extra_aliases(self, config: Config) -> dict[str, tuple[str, ...]]: ...
    def parser(self, config: Config, found: set[str], import_id: int) -> RowParser: ...


def file_rows(path: Path, kind: str) -> Iterator[Row]:
    if kind == formats.WORKBOOK:
        return workbook_rows(path)
    if kind == formats.HTML:
        return formats.html_rows(path)
    if kind == formats.XML_SPREADSHEET:
        return formats.xml_spreadsheet_rows(path)
    return formats.csv_rows(path)


class Shaper:
    """A table row -> the canonical fields' cells, in `spec.fields` order (None for a field without a column)."""

    def __init__(self, header: Header, spec: TableSpec, strict: bool) -> None:
        # fields a header can name (a sync-only field is never in a table: the parser sees a shorter row)
        names = tuple(name for name, aliases in spec.fields.items() if aliases)
        self.positions = [header.columns.get(name, -1) for name in names]  # -1: the None appended to each row
        self.needed = max(self.positions) + 1
        # a delimited row with more or fewer cells than its header has shifted: which value is in which column
        # is in doubt, so nothing of it is kept (one unquoted comma puts a phone number in the unit column)
        self.strict = strict
        self.width = header.width
        self.min_cells = spec.min_cells

    def __call__(self, number: int, cells: list[Cell]) -> CanonicalRow | None:
        """None for a blank line (layout, not a row); [] for a title, subtotal or signature line."""
        if not any(cells):
            return None
        if self.strict and len(cells) != self.width:
            if sum(1 for c in cells if c not in (None, "")) < self.min_cells:
                return number, []
            return number, Rejection(number, "", "cells_count", {}, params={"cells": len(cells), "width": self.width})
        cells.append(None)
        if len(cells) <= self.needed:  # a short row: pad it, the missing cells are empty
            cells[-1:] = [None] * (self.needed - len(cells) + 2)
        return number, [cells[p] for p in self.positions]


def find_header(rows: Iterator[Row], path: Path, spec: TableSpec, config: Config) -> tuple[Header, Iterator[Row]]:
    """The source's header among the first rows, and the rows after it."""
    aliases = AliasTable(spec.fields, spec.extra_aliases(config), spec.personal, spec.section)
    return locate_header(rows, aliases, spec.required, path)


def tabular(path: Path, kind: str, spec: TableSpec, config: Config) -> tuple[Iterator[CanonicalRow], Header]:
    header, rows = find_header(file_rows(path, kind), path, spec, config)
    shape = Shaper(header, spec, strict=kind == formats.CSV)
    return (row for number, cells in rows if (row := shape(number, cells)) is not None), header


def mapped_fields(names: tuple[str, ...], cells: list[Cell]) -> dict[str, str]:
    """What a rejected row said, field by field: only mapped fields, which are never a person's."""
    return {name: cell_text(cells[i])[:200] for i, name in enumerate(names) if cell_text(cells[i])}


@dataclass
class Counts:
    rows_read: int = 0
    skipped: int = 0
    skipped_because: Counter[str] = field(default_factory=Counter)
    unknown_units: Counter[str] = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)
    preview: list[Record] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)

    def take(self, number: int, cells: list[Cell] | Rejection, parser: RowParser, labels: dict[str, str],
             min_cells: int) -> Record | None:
        """Count one canonical row; its record if it has one."""
        if isinstance(cells, Rejection):
            self.rows_read += 1
            self.rejections.append(cells)
            return None
        if not cells or (not cells[0] and sum(1 for c in cells if c not in (None, "")) < min_cells):
            self.skipped += 1
            return None
        self.rows_read += 1
        parsed = parser.parse(cells, number)
        if type(parsed) is tuple:
            if len(self.preview) < PREVIEW_ROWS:
                self.preview.append(parsed)
            return parsed
        if isinstance(parsed, Rejection):
            if not parsed.column:
                parsed.column = labels.get(parsed.field, parsed.field)
            self.rejections.append(parsed)
            if parsed.unknown_unit:
                self.unknown_units[parsed.unknown_unit] += 1
        else:
            self.skipped_because[str(parsed)] += 1
        return None

    def take_all(self, rows: Iterator[CanonicalRow], parser: RowParser, labels: dict[str, str], min_cells: int,
                 on_batch: Callable[[list[Record]], None]) -> None:
        """Count every row; hand the records on in batches."""
        batch: list[Record] = []
        for number, cells in rows:
            record = self.take(number, cells, parser, labels, min_cells)
            if record is not None:
                batch.append(record)
                if len(batch) >= BATCH:
                    on_batch(batch)
                    batch = []
        on_batch(batch)
