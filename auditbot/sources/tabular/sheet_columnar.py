"""A workbook export typed a column at a time: the same rows, records, rejections and counts as the
row-at-a-time path, with the row parser called only for the rows the columnar rules are not sure of.

Runs in the reading child (see pipeline.py). calamine reads the sheet (under a memory budget that follows
what the file holds); each row's mapped cells are then handed on as texts where the row parser reads the
cell exactly as it reads a text — a text itself, a datetime of whole seconds or a date in a moment field,
a whole non-negative number in an amount field — and typed by the same columnar rules as a CSV's lines;
a row with any other cell goes to the source's row parser with its cells' own values."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import polars as pl

from auditbot.config.rules import Config
from auditbot.sources.tabular import reading_process as children
from auditbot.sources.tabular.header import Cell, Row
from auditbot.sources.tabular.rows import Counts, Record, TableSpec, find_header
from auditbot.sources.tabular.staging import Emitter, Typing
from auditbot.sources.tabular.workbook import reading_budget_mb, workbook_rows

BATCH_ROWS = 20_000  # rows typed together: the columnar rules' cost per call is paid once for this many
TEXT, MOMENT, AMOUNT = 0, 1, 2  # which of a field's typed cells have a text twin
_WHOLE = 1e15  # past this a float's digits are no longer the number written


def read_sheet(path: Path, spec: TableSpec, config: Config, import_id: int,
               on_header: Callable[[dict[str, str], list[str]], None],
               on_batch: Callable[[list[Record]], None], on_stage: Callable[[bytes], None],
               scratch: Path) -> Counts | None:
    """The import's counts (never None: every workbook is one this path reads)."""
    with children.address_space(reading_budget_mb(path, config.max_memory_mb)):
        header, rows = find_header(workbook_rows(path), path, spec, config)  # calamine loads the sheet here
    typing = Typing.start(header, spec, config, import_id, False, on_header)
    kinds = [MOMENT if name in spec.moment_fields else AMOUNT if name in spec.amount_fields  # type: ignore[attr-defined]
             else TEXT for name in typing.names]
    counts = Counts()
    with Emitter(counts, typing.parser, typing.labels, spec, typing.columns.schema, on_stage, scratch) as emit:
        while batch := list(islice(rows, BATCH_ROWS)):
            _type(batch, typing.names, typing.shape.positions, kinds, typing.columns, emit)
        emit.finish()
    return counts


def _twin(value: Cell, kind: int) -> str | bool | None:
    """The text the row parser reads exactly as it reads this cell; False if there is none."""
    if value is None or type(value) is str:
        return value
    if kind == MOMENT and type(value) is datetime and not value.microsecond:
        return str(value)
    if kind == MOMENT and type(value) is date:
        return str(value)
    if kind == AMOUNT and type(value) is float and 0 <= value < _WHOLE and value.is_integer() \
            and str(value)[0] != "-":
        return str(int(value))
    return False


def _type(batch: list[Row], names: tuple[str, ...], positions: list[int], kinds: list[int], columns: Any,
          emit: Emitter) -> None:
    """Hand a batch's rows on: the records the columnar rules are sure of, and the rows the parser must see
    (the odd ones with their cells' values, and the doubtful ones as their texts, which it reads as it
    reads the cells). A column at a time: a Python object a cell is what calamine gives, no more."""
    kept = [(number, cells) for number, cells in batch if any(cells)]  # a blank line is layout, as in Shaper
    numbers = [number for number, _ in kept]
    rows = [cells for _, cells in kept]
    width = min(map(len, rows), default=0)
    texts: list[list[Any]] = []
    odd: set[int] = set()
    for position, kind in zip(positions, kinds):
        if position < 0:
            column: list[Any] = [None] * len(rows)
        elif position < width:
            column = [cells[position] for cells in rows]
        else:  # past a short row's last cell, None, as Shaper pads it
            column = [cells[position] if position < len(cells) else None for cells in rows]
        if not set(map(type, column)) <= {str, type(None)}:
            column = [value if type(value) is str else _twin(value, kind) for value in column]
            odd.update(i for i, value in enumerate(column) if value is False)
        texts.append(column)
    items: list[tuple[int, list[Cell]]] = []
    if odd:
        items = [(numbers[i], [rows[i][p] if 0 <= p < len(rows[i]) else None for p in positions]) for i in sorted(odd)]
        keep = [i for i in range(len(rows)) if i not in odd]
        numbers = [numbers[i] for i in keep]
        texts = [[column[i] for i in keep] for column in texts]
    frame = pl.DataFrame(dict(zip(names, texts)), schema=dict.fromkeys(names, pl.String))
    records, doubtful = columns.records(frame, pl.Series("source_row", numbers, dtype=pl.Int64))
    plain = frame[doubtful].rows() if doubtful else []
    emit(records, [*items, *((numbers[i], list(row)) for i, row in zip(doubtful, plain, strict=True))])
