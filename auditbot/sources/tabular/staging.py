"""Typed batches handed from the process that reads an export to the one that writes the store, as SQLite
database images: the writer upserts a whole batch with one INSERT ... SELECT, never a Python object a row.

The image is written by ADBC's SQLite driver straight from the frame's Arrow columns."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import adbc_driver_sqlite.dbapi as adbc
import polars as pl

from auditbot.config.rules import Config
from auditbot.sources.tabular.header import Header
from auditbot.sources.tabular.rows import PREVIEW_ROWS, CanonicalRow, Counts, Record, Shaper, TableSpec
from auditbot.store.dossiers import SPARSE

TABLE = "batch"


class Stager:
    """One scratch database file in `folder` (which its owner removes), rewritten for each batch."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "batch.db"

    def image(self, frame: pl.DataFrame) -> bytes:
        if self.path.exists():
            os.unlink(self.path)
        with adbc.connect(str(self.path), autocommit=True) as conn, conn.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = OFF")  # a scratch file: nothing to lose in a crash
            cursor.adbc_ingest(TABLE, frame, mode="create")
        return self.path.read_bytes()


class Emitter:
    """A reader's pieces -> counts and staged images: a piece's sure records (typed a column at a time) and
    the records the row parser makes of its other rows, staged together in row order.

    A piece is staged and sent on a thread of its own while the reader types the next one (the driver lets go
    of the interpreter while it writes): one piece in flight at a time, sent in order. Whatever the reader
    sends itself goes after `flush`; used as a context, nothing is still sending when it is left."""

    def __init__(self, counts: Counts, parser: Any, labels: dict[str, str], spec: TableSpec,
                 schema: dict[str, Any], on_stage: Callable[[bytes], None], scratch: Path) -> None:
        self.counts, self.parser, self.labels, self.spec, self.schema = counts, parser, labels, spec, schema
        self.on_stage, self.stager = on_stage, Stager(scratch)
        self.preview: list[Record] = []
        self._staging = ThreadPoolExecutor(max_workers=1, thread_name_prefix="staging")
        self._in_flight: Future[None] | None = None

    def __enter__(self) -> Emitter:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        try:
            if kind is None:
                self.flush()
            elif self._in_flight is not None:
                wait([self._in_flight])  # its own failure is not the one being reported
        finally:
            self._staging.shutdown()

    def __call__(self, frame: pl.DataFrame, items: list[CanonicalRow]) -> None:
        counts = self.counts
        counts.rows_read += frame.height
        records = []
        for number, cells in sorted(items, key=lambda item: item[0]):
            record = counts.take(number, cells, self.parser, self.labels, self.spec.min_cells)
            if record is not None:
                records.append(record)
        frame = _merge(frame, records, self.schema)
        counts.preview.clear()  # the parser's records alone are not the file's first ones
        if len(self.preview) < PREVIEW_ROWS:
            self.preview += frame.head(PREVIEW_ROWS - len(self.preview)).rows()
        if frame.height:
            staged = frame.select(
                [c for c in frame.columns if c not in SPARSE or frame[c].null_count() < frame.height]
            ).sort("code", "source_row")
            self.flush()
            self._in_flight = self._staging.submit(lambda: self.on_stage(self.stager.image(staged)))

    def flush(self) -> None:
        """Wait for the piece being staged to be sent (and raise its error, if it failed)."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            in_flight.result()

    def finish(self) -> None:
        self.flush()
        self.counts.preview = (self.preview + self.counts.preview)[:PREVIEW_ROWS]
        self.counts.report = self.parser.report()


def _merge(frame: pl.DataFrame, records: list[Record], schema: dict[str, Any]) -> pl.DataFrame:
    if not records:
        return frame
    return pl.concat([frame, pl.DataFrame(records, schema=schema, orient="row")]).sort("source_row")


@dataclass
class Typing:
    """What a columnar reader needs once the header is found: the header's labels (already announced), the
    row parser, the row shaper, the mapped fields' names and their columnar rules."""

    labels: dict[str, str]
    parser: Any
    shape: Shaper
    names: tuple[str, ...]
    columns: Any

    @classmethod
    def start(cls, header: Header, spec: TableSpec, config: Config, import_id: int, strict: bool,
              on_header: Callable[[dict[str, str], list[str]], None]) -> Typing:
        labels, found = header.labels, set(header.columns)
        on_header(labels, [name for name, aliases in spec.fields.items() if aliases and name not in found])
        parser = spec.parser(config, found, import_id)
        names = tuple(name for name, aliases in spec.fields.items() if aliases)
        return cls(labels, parser, Shaper(header, spec, strict=strict), names,
                   spec.columns(parser, names))  # type: ignore[attr-defined]
