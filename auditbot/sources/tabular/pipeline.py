"""The one import pipeline every source file goes through.

    sniff the real format -> read rows -> locate the header -> map columns by alias (never a person's
    column) -> type each row (a parser per source) -> keep rejections without personal data -> write in one
    transaction -> say what was mapped, what is missing and what cannot be computed.

A source (dossier exports, the catalogue, later feedback exports) is an `ImportSpec`: its fields and
aliases, a row parser, and how its records are written. Workbooks and big files are read and parsed in a
child process with a memory cap: whatever a hostile file does to a reader there is one refused file here.
"""

from __future__ import annotations

import marshal
import os
import pickle
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from auditbot.config.rules import Config
from auditbot.errors import InputError
from auditbot.ops import progress
from auditbot.sources.tabular import formats, scratch
from auditbot.sources.tabular import reading_process as children
from auditbot.sources.tabular.common import Rejection, file_digest, within_limit
from auditbot.sources.tabular.rows import CanonicalRow, Counts, Record, TableSpec, tabular
from auditbot.sources.tabular.workbook import check_declared, reading_budget_mb
from auditbot.store import Store
from auditbot.store.imports import close_import, keep_rejections, open_import

PARALLEL_FROM_BYTES = 8 << 20  # text exports this big are parsed in a child process, on the second core
# a reading child says something every batch; one silent this long is stuck (a workbook's first rows come
# after the whole sheet is loaded, so the wait is long), and the import is refused instead of waiting on
CHILD_SILENCE_SECONDS = 600


class ImportSpec(TableSpec, Protocol):
    kind: str                               # imports.kind

    def json_rows(self, path: Path) -> tuple[Iterator[CanonicalRow], dict[str, str]]: ...
    def preview(self, record: Record) -> dict[str, Any]: ...
    def begin(self, conn: sqlite3.Connection) -> None: ...
    def write(self, conn: sqlite3.Connection, batch: list[Record]) -> None: ...
    def finish(self, conn: sqlite3.Connection, summary: ImportSummary, now: datetime) -> None: ...
    def judge(self, summary: ImportSummary, report: dict[str, Any]) -> None: ...


@dataclass
class ImportSummary:
    kind: str
    file: str
    format: str = ""
    rows_read: int = 0
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    skipped_because: Counter[str] = field(default_factory=Counter)   # reason -> rows (e.g. not yet received)
    unknown_units: Counter[str] = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)             # field -> the header text as written
    missing: list[str] = field(default_factory=list)                  # fields the file has no column for
    unknown_figures: list[str] = field(default_factory=list)          # figures this file cannot give
    problems: list[str] = field(default_factory=list)                 # loud lines: the import did not do its job
    notes: list[str] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    extra: dict[str, Any] = field(default_factory=dict)               # what one source alone reports

    @property
    def failed(self) -> bool:
        return bool(self.problems)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "file": self.file, "format": self.format, "rows_read": self.rows_read,
                "stored": self.stored, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected, "skipped": self.skipped,
                "skipped_because": dict(self.skipped_because), "unknown_units": dict(self.unknown_units.most_common()),
                "columns": self.columns, "missing": self.missing, "unknown_figures": self.unknown_figures,
                "problems": self.problems, "notes": self.notes,
                "rejections": [{"row": r.row, "column": r.column, "reason": r.reason, "params": r.params}
                               for r in self.rejections]}


# --- parsing, here or in a child -----------------------------------------------------------------

def _parse(path: Path, kind: str, spec: ImportSpec, config: Config, import_id: int,
           on_header: Callable[[dict[str, str], list[str]], None],
           on_batch: Callable[[list[Record]], None]) -> Counts:
    if kind == formats.JSON:
        rows, labels = spec.json_rows(path)
        found = set(labels)
    else:
        rows, header = tabular(path, kind, spec, config)
        labels, found = header.labels, set(header.columns)
    on_header(labels, [name for name, aliases in spec.fields.items() if aliases and name not in found])
    parser = spec.parser(config, found, import_id)
    counts = Counts()
    counts.take_all(rows, parser, labels, spec.min_cells, on_batch)
    counts.report = parser.report()
    return counts


class _Channel:
    """Child -> parent messages over a pipe. Batches of records (plain tuples of text, numbers and None)
    go as marshal, several times cheaper than pickle at a million rows; the rest as pickle."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def batch(self, records: list[Record]) -> None:
        self.connection.send_bytes(b"M" + marshal.dumps(records))

    def stage(self, image: bytes) -> None:
        self.connection.send_bytes(b"S" + image)

    def put(self, message: str, payload: Any) -> None:
        self.connection.send_bytes(b"P" + pickle.dumps((message, payload)))

    @staticmethod
    def decode(data: bytes) -> tuple[str, Any]:
        if data[:1] == b"M":
            return "batch", marshal.loads(data[1:])
        if data[:1] == b"S":
            return "stage", data[1:]
        message, payload = pickle.loads(data[1:])
        return message, payload


def _columnar(kind: str, spec: ImportSpec) -> bool:
    """Whether the file's rows can be read a chunk at a time by the columnar engine (see columnar.py)."""
    return kind in (formats.CSV, formats.WORKBOOK) and hasattr(spec, "columns")


def child_main(job: tuple[Any, ...], connection: Any) -> None:
    """The reading child's work (see reading_child.py): read the file, say everything down the pipe."""
    path, kind, spec, config, import_id, scratch, parent, columnar = job
    channel = _Channel(connection)
    children.die_with_parent(parent)
    if columnar:
        children.watch_memory(config.max_memory_mb)
    else:
        children.cap_memory(reading_budget_mb(path, config.max_memory_mb) if kind == formats.WORKBOOK
                            else config.max_memory_mb)
    children.quiet_stderr()

    def on_header(labels: dict[str, str], missing: list[str]) -> None:
        channel.put("header", (labels, missing))

    try:
        counts = None
        if columnar:
            if kind == formats.WORKBOOK:
                from auditbot.sources.tabular.sheet_columnar import read_sheet as read
            else:
                from auditbot.sources.tabular.columnar import parse_columnar as read
            counts = read(path, spec, config, import_id, on_header, channel.batch, channel.stage, scratch)
        if counts is None:
            counts = _parse(path, kind, spec, config, import_id, on_header, channel.batch)
        channel.put("done", counts)
    except InputError as exc:
        channel.put("error", str(exc))
    except MemoryError:
        channel.put("error", children.too_big(path, config.max_memory_mb))
    except BaseException as exc:  # noqa: BLE001 - anything else is still one message, never a cell's content
        channel.put("error", f"{path}: import stopped ({type(exc).__name__})")


Started = tuple[subprocess.Popen[bytes], Connection]


def _start_child(config: Config) -> Started:
    """A reading child, started before its job is known: the new interpreter imports what it reads with
    (polars, calamine, the store's modules: a good part of a big import's first seconds) while this process
    checks the file and opens the import."""
    return children.start_reader("auditbot.sources.tabular.reading_child", [config.email.password_env])


def _stop_child(started: Started) -> None:
    child, reader = started
    reader.close()
    if child.stdin is not None:
        child.stdin.close()  # its job, if it was never sent
    if child.poll() is None:
        child.kill()
    child.wait()


def _parse_in_child(started: Started, path: Path, kind: str, spec: ImportSpec, config: Config, import_id: int,
                    on_header: Callable[[dict[str, str], list[str]], None],
                    on_batch: Callable[[list[Record]], None],
                    on_stage: Callable[[bytes], None] = lambda image: None) -> Counts:
    # the child's scratch files, removed here: a child that is stopped cannot clean up after itself (and if
    # this process is stopped too, the next import removes them: see scratch.py)
    folder = scratch.make()
    child, reader = started
    try:
        children.send_job(child, (path, kind, spec, config, import_id, folder, os.getpid(), _columnar(kind, spec)))
        while True:
            if not reader.poll(CHILD_SILENCE_SECONDS):
                raise InputError(f"{path}: the reader said nothing for {CHILD_SILENCE_SECONDS} s and was stopped;"
                                 " not imported")
            try:
                message, payload = _Channel.decode(reader.recv_bytes())
            except (EOFError, OSError):
                child.wait()
                if child.returncode == children.MEMORY_EXIT:
                    raise InputError(children.too_big(path, config.max_memory_mb)) from None
                raise InputError(children.stopped(path, child.returncode)) from None
            if message == "header":
                on_header(*payload)
            elif message == "batch":
                on_batch(payload)
            elif message == "stage":
                on_stage(payload)
            elif message == "done":
                counts: Counts = payload
                return counts
            else:
                raise InputError(payload)
    finally:
        _stop_child(started)
        scratch.remove(folder)


# --- the import -----------------------------------------------------------------------------------

def run_import(config: Config, store: Store | None, path: Path, spec: ImportSpec, now: datetime,
               dry_run: bool = False) -> ImportSummary:
    """One file, in one transaction: all of it (rows stored or rejected) or nothing. A dry run reads and
    types every row, and writes nothing at all."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    scratch.sweep()  # what imports killed before could not remove
    within_limit(path, config.max_file_mb)
    kind = formats.sniff(path)
    isolated = kind == formats.WORKBOOK or path.stat().st_size >= PARALLEL_FROM_BYTES
    if not isolated:
        return _import(config, store, path, spec, now, dry_run, kind, _parse)
    started = _start_child(config)
    try:
        return _import(config, store, path, spec, now, dry_run, kind, partial(_parse_in_child, started))
    finally:
        _stop_child(started)  # already stopped, unless the file was refused before the child had its job


def _import(config: Config, store: Store | None, path: Path, spec: ImportSpec, now: datetime, dry_run: bool,
            kind: str, parse: Callable[..., Counts]) -> ImportSummary:
    sha256 = file_digest(path)
    if kind == formats.WORKBOOK:
        check_declared(path, config.max_memory_mb)
    summary = ImportSummary(kind=spec.kind, file=str(path), format=kind, dry_run=dry_run)
    isolated = parse is not _parse

    def on_header(labels: dict[str, str], missing: list[str]) -> None:
        summary.columns, summary.missing = dict(labels), list(missing)

    if dry_run or store is None:
        with progress.steps("rows", file=path.name):
            counts = parse(path, kind, spec, config, 0, on_header, lambda batch: progress.advance(len(batch)))
        _take_counts(summary, counts, spec)
        summary.stored = summary.rows_read - summary.rejected - sum(summary.skipped_because.values())
        spec.judge(summary, counts.report)
        return summary

    conn = store.db.conn

    def write(batch: list[Record]) -> None:
        spec.write(conn, batch)
        progress.advance(len(batch))

    def write_staged(image: bytes) -> None:
        progress.advance(spec.write_staged(conn, image))  # type: ignore[attr-defined]

    try:
        with conn, progress.steps("rows", file=path.name):
            import_id = open_import(conn, spec.kind, str(path), sha256, path.stat().st_size, kind, now)
            spec.begin(conn)
            if isolated:
                counts = parse(path, kind, spec, config, import_id, on_header, write, write_staged)
            else:
                counts = _parse(path, kind, spec, config, import_id, on_header, write)
            _take_counts(summary, counts, spec)
            summary.extra["import_id"] = import_id
            spec.finish(conn, summary, now)
            spec.judge(summary, counts.report)
            summary.rejected = len(summary.rejections)
            keep_rejections(conn, spec.kind, str(path), sha256,
                            [(r.row, r.column, r.reason, r.fields, r.params) for r in summary.rejections])
            close_import(conn, import_id, {name: getattr(summary, name) for name in (
                "rows_read", "stored", "updated", "unchanged", "rejected", "skipped")}, dict(summary.unknown_units),
                {k: v for k, v in summary.as_dict().items()
                 if k in ("columns", "missing", "unknown_figures", "problems", "notes", "skipped_because")})
    except InputError:
        raise
    except (ValueError, TypeError, OSError) as exc:  # a file that stops making sense half-way: nothing kept
        raise InputError(f"{path}: import stopped, nothing changed ({type(exc).__name__})") from None
    return summary


def _take_counts(summary: ImportSummary, counts: Counts, spec: ImportSpec) -> None:
    summary.rows_read, summary.skipped = counts.rows_read, counts.skipped
    summary.skipped_because, summary.unknown_units = counts.skipped_because, counts.unknown_units
    summary.rejections = counts.rejections
    summary.rejected = len(counts.rejections)
    summary.preview = [spec.preview(record) for record in counts.preview]
