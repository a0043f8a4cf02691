"""A big XLSX export typed a column at a time, as its sheet streams out of the zip: the same rows, records,
rejections and counts as the row-at-a-time path, several times faster.

Runs in the reading child (see pipeline.py), on the batches the feeder sends (sheet_feed.py): the native
reader (`_sheetxml.fields`) keeps only the mapped columns' cells. A row whose cells are all text — or a
datetime in a moment column, a whole fee, which the parser reads exactly as it reads their text — is typed by
the same columnar rules as a CSV's lines; any other row goes to the source's row parser with its cells' own
values. Where the stream is not sure of the sheet, calamine reads it from the next row on and the row parser
takes those rows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from auditbot.config.rules import Config
from auditbot.sources.tabular.header import Header
from auditbot.sources.tabular.rows import Counts, Record, TableSpec
from auditbot.sources.tabular.sheet_stream import Fields
from auditbot.sources.tabular.staging import Emitter, Typing
from auditbot.sources.tabular.workbook import calamine_rows_after


class Feed(Protocol):
    """Where the rows come from (sheet_feed.Feed): batches of them, then how the reading ended."""

    sheet: str       # the sheet's name
    complete: bool   # read to the sheet's end
    last: int        # the last row read whole

    def batches(self) -> Iterator[Fields]: ...


def type_sheet(path: Path, header: Header, feed: Feed, spec: TableSpec, config: Config, import_id: int,
               on_header: Callable[[dict[str, str], list[str]], None],
               on_batch: Callable[[list[Record]], None], on_stage: Callable[[bytes], None],
               scratch: Path) -> Counts:
    """The import's counts: the feeder's batches typed, then the rows it was not sure of read by calamine."""
    typing = Typing.start(header, spec, config, import_id, False, on_header)
    labels, parser, shape, names, columns = typing.labels, typing.parser, typing.shape, typing.names, typing.columns
    counts = Counts()
    with Emitter(counts, parser, labels, spec, columns.schema, on_stage, scratch) as emit:
        for batch in feed.batches():
            _type(batch, names, shape.positions, columns, emit)
        if not feed.complete:  # from the row after the last one read, calamine and the row parser
            emit.flush()  # its rows are sent after the batches staged before them
            rest = (row for number, cells in calamine_rows_after(path, feed.sheet, max(feed.last, header.last_row))
                    if (row := shape(number, cells)) is not None)
            counts.take_all(rest, parser, labels, spec.min_cells, on_batch)
        emit.finish()
    return counts


def _type(batch: Fields, names: tuple[str, ...], positions: list[int], columns: Any, emit: Emitter) -> None:
    """Hand a batch's rows on: the records the columnar rules are sure of, and the rows the parser must see
    (the odd ones, and the doubtful ones as their texts, which it reads as it reads the cells)."""
    texts = [f"t{i}" for i in range(len(names))]
    frame = pl.read_csv(batch.lines, has_header=False, quote_char='"', infer_schema=False,
                        schema={"source_row": pl.Int64, "extent": pl.Int64} | dict.fromkeys(texts, pl.String),
                        empty_string_is_null=False)
    if frame.height != batch.plain:  # the lines are this reader's own: a mistake here is a bug, not the file's
        raise RuntimeError("the engine read a different number of lines than were written")
    # a field at or past the row's last cell is None, as the row path pads a short row
    cells = frame.select(
        (pl.when(pl.col("extent") > position).then(text) if position >= 0 else pl.lit(None, pl.String)).alias(name)
        for name, text, position in zip(names, texts, positions, strict=True))
    numbers = frame["source_row"]
    records, doubtful = columns.records(cells, numbers)
    rows = cells[doubtful].rows() if doubtful else []
    emit(records, [*batch.odd, *((numbers[i], list(row)) for i, row in zip(doubtful, rows, strict=True))])
