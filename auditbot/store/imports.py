"""The imports ledger (one row per file read, with its counts), the rows each file had rejected and why,
and the catalogue's procedures with their former names."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from auditbot.store.connection import timestamp

UPSERT_PROCEDURE = """
INSERT INTO procedures (code, full_code, name, name_key, field, level, status, effective_from, effective_to,
                        decision, abolished_by, portal_id, units, online_level, decided_at, import_id)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
ON CONFLICT(code) DO UPDATE SET full_code=excluded.full_code, name=excluded.name, name_key=excluded.name_key,
  field=excluded.field, level=excluded.level, status=excluded.status, effective_from=excluded.effective_from,
  effective_to=excluded.effective_to, decision=excluded.decision, abolished_by=excluded.abolished_by,
  portal_id=excluded.portal_id, units=excluded.units, online_level=excluded.online_level,
  decided_at=excluded.decided_at, import_id=excluded.import_id
"""


def open_import(conn: sqlite3.Connection, kind: str, file: str, sha256: str, size: int, fmt: str,
                now: datetime) -> int:
    """The ledger row of a file being imported, inside the import's transaction: its id."""
    import_id = conn.execute(
        "INSERT INTO imports (kind, file, sha256, size, imported_at, format) VALUES (?, ?, ?, ?, ?, ?)",
        (kind, file, sha256, size, timestamp(now), fmt)).lastrowid
    assert import_id is not None
    return import_id


def close_import(conn: sqlite3.Connection, import_id: int, counts: Mapping[str, int], unknown_units: dict[str, int],
                 summary: dict[str, Any]) -> None:
    conn.execute(
        "UPDATE imports SET rows_read=?, stored=?, updated=?, unchanged=?, rejected=?, skipped=?,"
        " unknown_units=?, summary=? WHERE id=?",
        (counts["rows_read"], counts["stored"], counts["updated"], counts["unchanged"], counts["rejected"],
         counts["skipped"], json.dumps(unknown_units, ensure_ascii=False),
         json.dumps(summary, ensure_ascii=False), import_id))


def keep_rejections(conn: sqlite3.Connection, kind: str, file: str, sha256: str,
                    rejections: Iterable[tuple[int, str | None, str, dict[str, Any], dict[str, Any]]]) -> None:
    """(row, column, reason code, fields, the reason's params): re-importing a file replaces its rejected rows
    instead of piling them up."""
    conn.execute("DELETE FROM rejected_rows WHERE sha256 = ?", (sha256,))
    conn.executemany(
        "INSERT INTO rejected_rows (kind, file, sha256, row, column_name, reason, fields, params)"
        " VALUES (?,?,?,?,?,?,?,?)",
        [(kind, file, sha256, row, column, reason, json.dumps(fields, ensure_ascii=False),
          json.dumps(params, ensure_ascii=False) if params else None)
         for row, column, reason, fields, params in rejections])


def upsert_procedures(conn: sqlite3.Connection, records: Iterable[tuple[Any, ...]]) -> None:
    """Procedures in UPSERT_PROCEDURE's column order, by national code."""
    conn.executemany(UPSERT_PROCEDURE, records)


def keep_former_names(conn: sqlite3.Connection, names: Mapping[str, str], at: str) -> None:
    """A procedure renamed by this import keeps its former name (code -> its new folded name): a site still
    posting it is out of date, not posting something unknown."""
    stored = conn.execute("SELECT code, name, name_key FROM procedures WHERE code IN (SELECT value FROM json_each(?))",
                          [json.dumps(list(names))]).fetchall()
    conn.executemany("INSERT OR IGNORE INTO procedure_former_names (code, name, name_key, replaced_at)"
                     " VALUES (?,?,?,?)", [(code, name, key, at) for code, name, key in stored if key != names[code]])
    conn.executemany("DELETE FROM procedure_former_names WHERE code = ? AND name_key = ?", names.items())


def track_owners(conn: sqlite3.Connection, owners: Mapping[str, tuple[list[str], str | None]], today: str) -> None:
    """Each procedure's owners as this catalogue names them (code -> (unit codes, decision date)), against
    the ones before: an owner no longer named ends (until), a new one starts (since). The day of a move is
    the new publication decision's when the row's decision date changed, else the day the catalogue said
    so. Called before the procedures are upserted (it reads their former decision dates)."""
    decided_before = dict(conn.execute("SELECT code, decided_at FROM procedures").fetchall())
    known: set[str] = set()
    current: dict[str, set[str]] = {}
    for code, unit, until in conn.execute("SELECT code, unit, until FROM procedure_owners"):
        known.add(code)
        if until is None:
            current.setdefault(code, set()).add(unit)
    started: list[tuple[str, str, str | None]] = []
    ended: list[tuple[str, str, str]] = []
    for code, (units, decided) in owners.items():
        if code not in known:  # first sight: owned since before auditbot knew
            started += [(code, unit, None) for unit in units]
            continue
        day = decided[:10] if decided and decided != decided_before.get(code) else today
        before = current.get(code, set())
        ended += [(day, code, unit) for unit in sorted(before - set(units))]
        started += [(code, unit, day) for unit in sorted(set(units) - before)]
    conn.executemany("UPDATE procedure_owners SET until = ? WHERE code = ? AND unit = ? AND until IS NULL", ended)
    conn.executemany("INSERT INTO procedure_owners (code, unit, since) VALUES (?,?,?)", started)
