"""A big XLSX export typed a column at a time, as its sheet streams out of the zip: the same rows, records,
rejections and counts as the row-at-a-time path, several times faster.

Runs in the reading child (see pipeline.py). The native reader (`_sheetxml.fields`) keeps only the mapped
columns' cells. A row whose cells are all text — or a datetime in a moment column, a whole fee, which the
parser reads exactly as it reads their text — is typed by the same columnar rules as a CSV's lines; any other
row goes to the source's row parser with its cells' own values. Where the stream is not sure of the sheet,
calamine reads it from the next row on and the row parser takes those rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import polars as pl

from ..config import Config
from .rows import Counts, Record, TableSpec, find_header
from .sheet_stream import Fields, open_sheet
from .staging import Emitter, Typing
from .workbook import NOT_STREAMED, calamine_rows_after, check_grid, streamed_then_calamine

BATCH_ROWS = 10_000    # rows typed together: the columnar rules' cost per call is paid once for this many
TEXT, MOMENT, AMOUNT = 0, 1, 2  # which cells of a column have a text twin (see _sheetxml.c)


def parse_sheet(path: Path, spec: TableSpec, config: Config, import_id: int,
                on_header: Callable[[dict[str, str], list[str]], None],
                on_batch: Callable[[list[Record]], None], on_stage: Callable[[bytes], None],
                scratch: Path) -> Counts | None:
    """The import's counts, or None when the workbook is not one the stream reads (the row path reads it)."""
    with ExitStack() as stack:
        try:
            sheet = stack.enter_context(open_sheet(path))
        except NOT_STREAMED:
            return None
        header, _ = find_header(streamed_then_calamine(path, sheet), path, spec, config)
        if not sheet.kept:
            return None  # calamine read another sheet
        sheet.restart()
        typing = Typing.start(header, spec, config, import_id, False, on_header)
        labels, parser, shape, names, columns = typing.labels, typing.parser, typing.shape, typing.names, typing.columns
        kinds = bytes(MOMENT if name in columns.moment_fields else AMOUNT if name in columns.amount_fields
                      else TEXT for name in names)
        counts = Counts()
        emit = Emitter(counts, parser, labels, spec, columns.schema, on_stage, scratch)
        batch = _Batch(names, shape.positions)
        streamed = _Streamed(sheet.fields(header.last_row + 1, tuple(shape.positions), kinds))
        for piece in streamed:
            check_grid(path, sheet.name, piece.width, sheet.last)
            if batch.add(piece) >= BATCH_ROWS:
                batch.type(columns, emit)
        batch.type(columns, emit)
        if not streamed.complete:  # from the row after the last one read, calamine and the row parser
            rest = (row for number, cells in calamine_rows_after(path, sheet.name, max(sheet.last, header.last_row))
                    if (row := shape(number, cells)) is not None)
            counts.take_all(rest, parser, labels, spec.min_cells, on_batch)
        emit.finish()
        return counts
    return None  # not reached: the stack does not swallow exceptions


class _Streamed:
    """The stream's pieces up to where it is not sure of the sheet (complete: it never was)."""

    def __init__(self, pieces: Iterator[Fields]) -> None:
        self.pieces, self.complete = pieces, True

    def __iter__(self) -> Iterator[Fields]:
        try:
            yield from self.pieces
        except NOT_STREAMED:
            self.complete = False


class _Batch:
    """Streamed pieces gathered until there are enough rows to type them together."""

    def __init__(self, names: tuple[str, ...], positions: list[int]) -> None:
        self.names, self.positions = names, positions
        self.lines: list[bytes] = []
        self.count = 0
        self.odd: list[Any] = []

    def add(self, piece: Fields) -> int:
        self.lines.append(piece.lines)
        self.count += piece.plain
        self.odd += piece.odd
        return self.count + len(self.odd)

    def type(self, columns: Any, emit: Emitter) -> None:
        """Hand the gathered rows on: the records the columnar rules are sure of, and the rows the parser
        must see (the odd ones, and the doubtful ones as their texts, which it reads as it reads the cells)."""
        if not self.count and not self.odd:
            return
        texts = [f"t{i}" for i in range(len(self.names))]
        frame = pl.read_csv(b"".join(self.lines), has_header=False, quote_char='"', infer_schema=False,
                            schema={"source_row": pl.Int64, "extent": pl.Int64} | dict.fromkeys(texts, pl.String),
                            empty_string_is_null=False)
        if frame.height != self.count:  # the lines are this reader's own: a mistake here is a bug, not the file's
            raise RuntimeError("the engine read a different number of lines than were written")
        # a field at or past the row's last cell is None, as the row path pads a short row
        cells = frame.select(
            (pl.when(pl.col("extent") > position).then(text) if position >= 0 else pl.lit(None, pl.String)).alias(name)
            for name, text, position in zip(self.names, texts, self.positions, strict=True))
        numbers = frame["source_row"]
        records, doubtful = columns.records(cells, numbers)
        rows = cells[doubtful].rows() if doubtful else []
        emit(records, [*self.odd, *((numbers[i], list(row)) for i, row in zip(doubtful, rows, strict=True))])
        self.lines, self.count, self.odd = [], 0, []
