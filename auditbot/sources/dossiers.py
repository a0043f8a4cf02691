"""Dossier exports (CSV/XLSX/XLS/JSON) -> the `dossiers` table, never a citizen's personal data.

Only the columns named in dossier_fields.FIELDS are ever read out of a row; everything else
(names, ID numbers, phones, addresses) is left where it was found.
"""

from __future__ import annotations

import glob
import hashlib
import json
import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import InputError
from ..store import Store, timestamp
from ..text import fold, nfc
from .dossier_fields import (BOOLEAN_VALUES, CHANNEL_VALUES, FIELDS, REQUIRED, STATUS_VALUES)
from .common import Rejection, UnitResolver, cell_text, file_digest, keep_rejections, within_limit
from .tables import AliasTable, Cell, locate_header, read_rows
from .values import ValueMap, parse_amount, parse_when

FIELD_NAMES = tuple(FIELDS)
INDEX = {name: i for i, name in enumerate(FIELD_NAMES)}
PLACEHOLDER_REFS = {"", "0", "-", "--", ".", "x", "không", "khong", "n/a", "na", "null", "none"}
BATCH = 20_000
PARALLEL_FROM_BYTES = 8 << 20  # exports this big are parsed in a child process
# a row with no dossier code and fewer filled cells than this is a title, subtotal or signature line
MIN_CELLS_FOR_A_DOSSIER = 3
EXPORT_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".json")

UPSERT = """
INSERT INTO dossiers (code, unit, procedure_code, procedure_name, received_at, due_at, finished_at, status,
                      channel, fee, paid_online, digitised, result_ref, import_id, source_row)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
ON CONFLICT(code) DO UPDATE SET
  unit=excluded.unit, procedure_code=excluded.procedure_code, procedure_name=excluded.procedure_name,
  received_at=excluded.received_at, due_at=excluded.due_at, finished_at=excluded.finished_at,
  status=excluded.status, channel=excluded.channel, fee=excluded.fee, paid_online=excluded.paid_online,
  digitised=excluded.digitised, result_ref=excluded.result_ref, import_id=excluded.import_id,
  source_row=excluded.source_row
WHERE dossiers.import_id = excluded.import_id
   OR (dossiers.unit, dossiers.procedure_code, dossiers.procedure_name, dossiers.received_at, dossiers.due_at,
       dossiers.finished_at, dossiers.status, dossiers.channel, dossiers.fee, dossiers.paid_online,
       dossiers.digitised, dossiers.result_ref)
  IS NOT (excluded.unit, excluded.procedure_code, excluded.procedure_name, excluded.received_at,
          excluded.due_at, excluded.finished_at, excluded.status, excluded.channel, excluded.fee,
          excluded.paid_online, excluded.digitised, excluded.result_ref)
"""

# Rows of one file that repeat a dossier code: the later row wins, the earlier is reported.
SUPERSEDED_TRIGGER = """
CREATE TEMP TRIGGER IF NOT EXISTS dossier_superseded BEFORE UPDATE ON main.dossiers
WHEN old.import_id = new.import_id
BEGIN
  INSERT INTO superseded_rows (code, row, by_row) VALUES (old.code, old.source_row, new.source_row);
END
"""


@dataclass
class ImportSummary:
    file: str
    rows_read: int = 0
    stored: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0
    unknown_units: Counter[str] = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "rows_read": self.rows_read, "stored": self.stored, "updated": self.updated,
                "unchanged": self.unchanged, "rejected": self.rejected, "skipped": self.skipped,
                "unknown_units": dict(self.unknown_units.most_common())}


class DossierParser:
    """One row of canonical-field cells -> a `dossiers` record, or the reason it cannot be one."""

    def __init__(self, config: Config) -> None:
        values = config.dossiers.values
        self.status = ValueMap("status", STATUS_VALUES, values.get("status"))
        self.channel = ValueMap("channel", CHANNEL_VALUES, values.get("channel"))
        self.boolean = ValueMap("boolean", BOOLEAN_VALUES, values.get("boolean"), blank=False)
        self.units = UnitResolver(config)

    def parse(self, cells: list[Cell], import_id: int, row: int,
              labels: dict[str, str]) -> tuple[Any, ...] | Rejection:
        column = "code"
        try:
            code = cells[0].strip() if type(cells[0]) is str else cell_text(cells[0])
            if not code:
                raise ValueError("the dossier code is empty")
            column = "unit"
            unit_name = cells[3].strip() if type(cells[3]) is str else cell_text(cells[3])
            if not unit_name:
                raise ValueError("the unit is empty")
            unit = self.units(unit_name)
            if unit is None:
                raise LookupError(unit_name)
            column = "received_at"
            received_at = parse_when(cells[4])
            if received_at is None:
                raise ValueError("the date received is empty")
            column = "due_at"
            due_at = parse_when(cells[5], end_of_day=True)
            column = "finished_at"
            finished_at = parse_when(cells[6])
            column = "status"
            status = self.status(cells[7])
            if status is None:
                raise ValueError("the status is empty")
            if status == "finished" and finished_at is None:
                column = "finished_at"
                raise ValueError("a finished dossier has no finish date")
            column = "channel"
            channel = self.channel(cells[8])
            column = "fee"
            fee = parse_amount(cells[9])
            column = "paid_online"
            paid_online = self.boolean(cells[10])
            column = "digitised"
            digitised = self.boolean(cells[11])
        except LookupError as exc:
            return Rejection(row, labels.get("unit", "unit"), f"unknown unit {exc.args[0]!r}", _fields(cells))
        except ValueError as exc:
            return Rejection(row, labels.get(column, column), str(exc), _fields(cells))
        result_ref = cell_text(cells[12])
        if result_ref.casefold() in PLACEHOLDER_REFS:
            result_ref = ""
        return (code, unit, cell_text(cells[1]) or None, nfc(cell_text(cells[2])) or None, received_at, due_at,
                finished_at, status, channel, fee, int(bool(paid_online)), int(bool(digitised)),
                result_ref or None, import_id, row)


def _fields(cells: list[Cell]) -> dict[str, str]:
    """What a rejected row said, field by field: only the mapped, non-personal fields."""
    return {name: cell_text(cells[i])[:200] for i, name in enumerate(FIELD_NAMES) if cell_text(cells[i])}


# --- reading files into canonical-field rows ---------------------------------------------------

CanonicalRow = tuple[int, list[Cell]]


def _tabular_rows(path: Path, config: Config) -> tuple[Iterator[CanonicalRow], dict[str, str]]:
    aliases = AliasTable(FIELDS, config.dossiers.columns)
    header, rows = locate_header(read_rows(path), aliases, REQUIRED, path)
    positions = [header.columns.get(name, -1) for name in FIELD_NAMES]  # -1: the None appended to each row
    needed = max(positions) + 1

    def canonical() -> Iterator[CanonicalRow]:
        for number, cells in rows:
            if not any(cells):
                continue  # blank lines are layout, not rows
            cells.append(None)
            if len(cells) <= needed:  # a short row: pad it, the missing cells are empty
                cells[-1:] = [None] * (needed - len(cells) + 2)
            yield number, [cells[p] for p in positions]

    return canonical(), header.labels


# the national portal's sync records (DongBoHoSoMC): field -> key, or a function of the record
def _json_fee(record: dict[str, Any]) -> Cell:
    fees = record.get("DanhSachLePhi") or []
    if not isinstance(fees, list):
        raise ValueError("DanhSachLePhi is not a list")
    return sum(float(item.get("Gia") or 0) for item in fees if isinstance(item, dict))


def _json_paid_online(record: dict[str, Any]) -> Cell:
    return str(record.get("DuocThanhToanTrucTuyen", "")).strip() in ("1", "2")


def _json_result(record: dict[str, Any]) -> Cell:
    if record.get("MaKetQua"):
        return record["MaKetQua"]
    documents = record.get("DanhSachGiayToKetQua") or []
    for item in documents if isinstance(documents, list) else []:
        if isinstance(item, dict):
            reference = item.get("MaGiayTo") or item.get("SoKyHieu") or item.get("TenTepDinhKem")
            if reference:
                return reference
    return None


def _json_digitised(record: dict[str, Any]) -> Cell:
    documents = record.get("DanhSachGiayToKetQua") or []
    return bool(isinstance(documents, list) and documents)


JSON_FIELDS: dict[str, Any] = {
    "code": "MaHoSo", "procedure_code": "MaTTHC", "procedure_name": "TenTTHC", "unit": "DonViXuLy",
    "received_at": "NgayTiepNhan", "due_at": "NgayHenTra",
    "finished_at": lambda r: r.get("NgayKetThucXuLy") or r.get("NgayTra"),
    "status": "TrangThaiHoSo", "channel": "KenhThucHien", "fee": _json_fee, "paid_online": _json_paid_online,
    "digitised": _json_digitised, "result_ref": _json_result,
}
JSON_LABELS = {name: key if isinstance(key, str) else name for name, key in JSON_FIELDS.items()}


def _json_records(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not readable as JSON: {exc}") from None
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if len(lists) == 1 else data.get("data", data.get("HoSo"))
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a list of dossier records (DongBoHoSoMC), or an object holding one")
    return data


def _json_rows(path: Path) -> tuple[Iterator[CanonicalRow], dict[str, str]]:
    records = _json_records(path)

    def canonical() -> Iterator[CanonicalRow]:
        for number, record in enumerate(records, start=1):
            if not isinstance(record, dict):
                yield number, [None] * len(FIELD_NAMES)
                continue
            cells: list[Cell] = []
            for name in FIELD_NAMES:
                source = JSON_FIELDS[name]
                try:
                    value = record.get(source) if isinstance(source, str) else source(record)
                except (TypeError, ValueError, AttributeError):
                    value = "<unreadable>"
                cells.append(value if isinstance(value, (str, int, float, bool)) or value is None else str(value))
            yield number, cells

    return canonical(), JSON_LABELS


# --- the import ------------------------------------------------------------------------------

def expand_sources(sources: Iterable[Path]) -> list[Path]:
    """Files, folders (every export inside) and globs -> the export files, in a stable order."""
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files += sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in EXPORT_SUFFIXES)
        elif glob.has_magic(str(source)):  # type: ignore[attr-defined]
            files += sorted(Path(p) for p in glob.glob(str(source), recursive=True) if Path(p).is_file())
        else:
            files.append(source)
    return files


def import_dossiers(config: Config, store: Store, path: Path, now: datetime) -> ImportSummary:
    """Import one export file in one transaction: all of it (rows stored or rejected) or nothing."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    sha256 = file_digest(within_limit(path, config.max_file_mb))
    rows, labels = _open_rows(path, config)  # fails fast on a file with no usable header
    summary = ImportSummary(file=str(path))
    conn = store.db.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS superseded_rows (code TEXT, row INTEGER, by_row INTEGER)")
    conn.execute(SUPERSEDED_TRIGGER)
    try:
        with conn:
            conn.execute("DELETE FROM temp.superseded_rows")
            import_id = conn.execute(
                "INSERT INTO imports (kind, file, sha256, size, imported_at) VALUES ('dossiers', ?, ?, ?, ?)",
                (str(path), sha256, path.stat().st_size, timestamp(now))).lastrowid
            assert import_id is not None
            before = conn.execute("SELECT count(*) FROM dossiers").fetchone()[0]
            changes = conn.total_changes
            if path.stat().st_size >= PARALLEL_FROM_BYTES:
                _parse_in_child(path, config, import_id, summary, lambda batch: conn.executemany(UPSERT, batch))
            else:
                parse_rows(rows, DossierParser(config), import_id, labels, summary,
                           lambda batch: conn.executemany(UPSERT, batch))
            written = conn.total_changes - changes
            superseded = conn.execute("SELECT code, row, by_row FROM temp.superseded_rows").fetchall()
            summary.stored = conn.execute("SELECT count(*) FROM dossiers").fetchone()[0] - before
            # total_changes also counts the trigger's own insert for each superseded row
            summary.updated = written - summary.stored - 2 * len(superseded)
            summary.rejections += [
                Rejection(row, labels.get("code", "code"), f"dossier code {code!r} repeated; row {by_row} kept", {})
                for code, row, by_row in superseded]
            summary.rejected = len(summary.rejections)
            summary.unchanged = summary.rows_read - summary.rejected - summary.stored - summary.updated
            keep_rejections(conn, "dossiers", path, sha256, summary.rejections)
            conn.execute(
                "UPDATE imports SET rows_read=?, stored=?, updated=?, unchanged=?, rejected=?, skipped=?,"
                " unknown_units=? WHERE id=?",
                (summary.rows_read, summary.stored, summary.updated, summary.unchanged, summary.rejected,
                 summary.skipped, json.dumps(dict(summary.unknown_units), ensure_ascii=False), import_id))
    except InputError:
        raise
    except (ValueError, TypeError, OSError) as exc:  # a file that stops making sense half-way: nothing kept
        raise InputError(f"{path}: import stopped, nothing changed: {exc}") from None
    return summary


def parse_rows(rows: Iterator[CanonicalRow], parser: DossierParser, import_id: int, labels: dict[str, str],
               summary: ImportSummary, store_batch: Callable[[list[tuple[Any, ...]]], Any]) -> None:
    batch: list[tuple[Any, ...]] = []
    for number, cells in rows:
        if not cells[0] and sum(1 for c in cells if c not in (None, "")) < MIN_CELLS_FOR_A_DOSSIER:
            summary.skipped += 1
            continue
        summary.rows_read += 1
        parsed = parser.parse(cells, import_id, number, labels)
        if isinstance(parsed, Rejection):
            summary.rejections.append(parsed)
            if parsed.reason.startswith("unknown unit"):
                summary.unknown_units[cell_text(cells[3])] += 1
            continue
        batch.append(parsed)
        if len(batch) >= BATCH:
            store_batch(batch)
            batch = []
    store_batch(batch)


def _open_rows(path: Path, config: Config) -> tuple[Iterator[CanonicalRow], dict[str, str]]:
    return _json_rows(path) if path.suffix.lower() == ".json" else _tabular_rows(path, config)


def _child_parse(path: Path, config: Config, import_id: int, channel: Any) -> None:
    """In a child process: read and parse, sending batches back; the parent only stores them."""
    try:
        rows, labels = _open_rows(path, config)
        summary = ImportSummary(file=str(path))
        parse_rows(rows, DossierParser(config), import_id, labels, summary, lambda b: channel.put(("batch", b)))
        channel.put(("done", summary))
    except InputError as exc:
        channel.put(("error", str(exc)))
    except Exception as exc:  # anything else still reaches the parent as a message, not a hang
        channel.put(("error", f"{path}: import stopped: {exc!r}"))


def _parse_in_child(path: Path, config: Config, import_id: int, summary: ImportSummary,
                    store_batch: Callable[[list[tuple[Any, ...]]], Any]) -> None:
    """Big exports: parsing (the CPU-heavy half) runs on the second core while this one writes SQLite."""
    context = multiprocessing.get_context("fork")
    channel = context.Queue(maxsize=4)
    child = context.Process(target=_child_parse, args=(path, config, import_id, channel), daemon=True)
    child.start()
    try:
        while True:
            kind, payload = channel.get()
            if kind == "batch":
                store_batch(payload)
            elif kind == "done":
                for name in ("rows_read", "skipped", "rejections", "unknown_units"):
                    setattr(summary, name, getattr(payload, name))
                return
            else:
                raise InputError(payload)
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
