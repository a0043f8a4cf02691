"""Typed batches handed from the process that reads an export to the one that writes the store, as SQLite
database images: the writer upserts a whole batch with one INSERT ... SELECT, never a Python object a row.

The image is written by ADBC's SQLite driver straight from the frame's Arrow columns."""

from __future__ import annotations

import os
from pathlib import Path

import adbc_driver_sqlite.dbapi as adbc
import polars as pl

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
