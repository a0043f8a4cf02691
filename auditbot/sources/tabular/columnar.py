"""A big CSV export read a chunk at a time by a columnar engine, typed a column at a time, and handed to the
writer as staged database images: the same rows, records, rejections and counts as the row-at-a-time path,
several times faster.

Runs in the reading child (see pipeline.py). Nothing here decides anything about a row on its own: what the
columnar rules are not sure of goes through the source's row parser, what the engine cannot be trusted to
read (csv_chunks.py) goes through `csv.reader`, and a chunk the engine fails on is read the exact way from its
first record to the end of the file."""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import polars as pl

from auditbot.config.rules import Config
from auditbot.sources.tabular import formats
from auditbot.sources.tabular.csv_chunks import MAX_LINE, Chunk, Rest, chunks, data_offset, odd_cells
from auditbot.sources.tabular.header import Cell
from auditbot.sources.tabular.rows import CanonicalRow, Counts, Record, Shaper, TableSpec, tabular
from auditbot.sources.tabular.staging import Emitter, Typing

ROWS_ENCODING = "utf-8"  # after the header a BOM is a character like any other


def _read(chunk: Chunk, delimiter: str, width: int) -> pl.DataFrame | None:
    """The chunk's regular lines as text columns c0..; None if the engine does not read them as expected."""
    try:
        frame = pl.read_csv(chunk.text, has_header=False, separator=delimiter, quote_char='"',
                            schema={f"c{i}": pl.String for i in range(width)}, empty_string_is_null=False,
                            infer_schema=False)
    except pl.exceptions.PolarsError:
        return None
    if frame.height != len(chunk.numbers) or (frame.height and frame.select(
            pl.max_horizontal(pl.all().str.len_bytes().max())).item() > MAX_LINE):
        return None  # csv.reader refuses a cell that long: the exact way says so
    return frame


def parse_columnar(path: Path, spec: TableSpec, config: Config, import_id: int,
                   on_header: Callable[[dict[str, str], list[str]], None],
                   on_batch: Callable[[list[Record]], None], on_stage: Callable[[bytes], None],
                   scratch: Path) -> Counts | None:
    """The import's counts, or None when the file is not one this path reads (the caller reads it row by row)."""
    encoding, delimiter = formats.csv_dialect(path)
    rows, header = tabular(path, formats.CSV, spec, config)
    rows.close()  # type: ignore[attr-defined]
    offset = data_offset(path, encoding, delimiter, header.last_row)
    if offset is None:
        return None
    typing = Typing.start(header, spec, config, import_id, True, on_header)
    labels, parser, shape, names, columns = typing.labels, typing.parser, typing.shape, typing.names, typing.columns
    counts = Counts()
    with Emitter(counts, parser, labels, spec, columns.schema, on_stage, scratch) as emit, path.open("rb") as handle:
        handle.seek(offset)
        for piece in chunks(handle, delimiter, header.width, header.last_row + 1):
            staged = _chunk(piece, delimiter, shape, names, columns) if isinstance(piece, Chunk) else None
            if staged is None:  # from here on, the exact way (records it takes go to the preview)
                start = piece if isinstance(piece, Rest) else Rest(piece.offset, piece.first)
                emit.flush()  # its rows are sent after the pieces staged before them
                _rest(path, encoding, delimiter, start, shape, counts, parser, labels, spec, on_batch)
                break
            emit(*staged)
        emit.finish()
    return counts


def _chunk(chunk: Chunk, delimiter: str, shape: Shaper, names: tuple[str, ...],
           columns: Any) -> tuple[pl.DataFrame, list[CanonicalRow]] | None:
    """(the records the columnar rules are sure of, the rows the parser must see), or None to read the chunk
    the exact way. Nothing is counted here: a chunk given up on leaves no trace."""
    if chunk.text.startswith(codecs.BOM_UTF8):  # the engine drops a BOM that starts its input, csv.reader keeps it
        line, _, rest = chunk.text.partition(b"\n")
        chunk = Chunk(chunk.offset, chunk.first, chunk.numbers[1:], rest, [(chunk.numbers[0], line), *chunk.odd])
    try:
        odd = [row for number, line in chunk.odd
               if (row := shape(number, cast(list[Cell], odd_cells(line, ROWS_ENCODING, delimiter)))) is not None]
    except (UnicodeDecodeError, csv.Error):
        return None
    frame = _read(chunk, delimiter, shape.width)
    if frame is None:
        return None
    cells = frame.select([pl.col(f"c{p}").alias(name) if p >= 0 else pl.lit(None, pl.String).alias(name)
                          for name, p in zip(names, shape.positions, strict=True)])
    try:
        records, doubtful = columns.records(cells, pl.Series("source_row", chunk.numbers, dtype=pl.Int64))
    except pl.exceptions.PolarsError:
        return None
    rows = cells[doubtful].rows() if doubtful else []
    blank = frame[doubtful].rows() if doubtful else []  # a line of empty cells is layout, as in Shaper
    return records, [*odd, *((chunk.numbers[i], list(row))
                             for i, row, whole in zip(doubtful, rows, blank, strict=True) if any(whole))]


def _rest(path: Path, encoding: str, delimiter: str, start: Rest, shape: Shaper, counts: Counts, parser: Any,
          labels: dict[str, str], spec: TableSpec, on_batch: Callable[[list[Record]], None]) -> None:
    rows = formats.csv_rows_from(path, encoding, delimiter, start.offset, start.number)
    counts.take_all((row for number, cells in rows if (row := shape(number, cells)) is not None), parser, labels,
                    spec.min_cells, on_batch)
