"""The dossiers table: one row per dossier code, upserted idempotently, a later export's state kept.

An import writes in batches inside one transaction: `begin`, `write` per batch, `finish`; the counts it
returns let the import account for every row read (stored + updated + unchanged + rejected).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any

COLUMNS = ("code", "unit", "procedure_code", "procedure_name", "received_at", "due_at", "finished_at", "status",
           "channel", "fee", "paid_online", "digitised", "result_ref", "import_id", "source_row", "known",
           "state_at", "inputs_digitised", "documents", "documents_digitised", "documents_reused", "supplements",
           "due_effective_at", "supplement_requests", "waiting_since", "heir", "synced", "synced_at", "system",
           "alt_code", "submitted_at", "receipt_due_at", "apologised", "new_due_at")
_COMPARED = [c for c in COLUMNS if c not in ("code", "import_id", "source_row")]
# Columns a tabular export never fills (the portal's sync fields, supplements and heirs when it has no
# column for them): a batch leaves them out of its statement instead of binding a million NULLs each (a
# third of the write's time), and the statement sets them to NULL, so the stored row is the same.
SPARSE = ("inputs_digitised", "documents", "documents_digitised", "documents_reused", "supplements",
          "due_effective_at", "supplement_requests", "waiting_since", "heir", "synced", "synced_at", "system",
          "alt_code", "submitted_at", "receipt_due_at", "apologised", "new_due_at")
_SPARSE_AT = tuple(COLUMNS.index(c) for c in SPARSE)


@cache
def upsert_sql(present: tuple[str, ...], guard: str, source: str | None = None) -> str:
    """The upsert of records holding only `present` (COLUMNS order), bound one by one or, with `source`,
    selected from that table in row order; `guard` decides which updates apply (`{changed}` in it: the
    stored row differs from the record, absent columns counting as NULL)."""
    absent = [c for c in COLUMNS if c not in present]
    changed = " OR ".join([*(f"dossiers.{c} IS NOT excluded.{c}" for c in _COMPARED if c in present),
                           *(f"dossiers.{c} IS NOT NULL" for c in _COMPARED if c in absent)])
    rows = f"VALUES ({', '.join('?' * len(present))})" if source is None else \
        f"SELECT {', '.join(present)} FROM {source} WHERE true ORDER BY rowid"
    return f"""
INSERT INTO dossiers ({", ".join(present)}) {rows}
ON CONFLICT(code) DO UPDATE SET {", ".join([*(f"{c}=excluded.{c}" for c in present[1:]),
                                            *(f"{c}=NULL" for c in absent)])}
WHERE {guard.format(changed=f"({changed})")}
"""


UPSERT_GUARD = "dossiers.import_id = excluded.import_id OR {changed}"


def compact(batch: list[Record]) -> tuple[tuple[str, ...], list[Record]]:
    """The batch's records without the sparse columns none of them fills, and the columns they keep."""
    empty = {i for i in _SPARSE_AT if all(record[i] is None for record in batch)}
    if not empty:
        return COLUMNS, batch
    keep = [i for i in range(len(COLUMNS)) if i not in empty]
    pick = itemgetter(*keep)
    return tuple(COLUMNS[i] for i in keep), list(map(pick, batch))


# Which export is newer is told by what the files cover, not their names or the order they come in: a row
# showing an earlier state than the stored one (September's "processing" after October's "finished") is
# held back, and applied at the end only if this file covers at least as late as the one that wrote the
# stored state (a corrected re-export of October does; September's export never does).
OLDER_CODES = """
SELECT d.code FROM dossiers d JOIN json_each(?) j ON d.code = j.value ->> 0
WHERE d.state_at > j.value ->> 1 AND d.import_id IS NOT ?
"""
# the same for a staged batch, row by row (`s` the staged row)
STAGED_OLDER = """
EXISTS (SELECT 1 FROM main.dossiers d WHERE d.code = s.code AND d.state_at > s.state_at
        AND d.import_id IS NOT s.import_id)
"""
# parameters: the record, then this file's coverage
HELD_GUARD = "? >= coalesce((SELECT covered_to FROM imports WHERE id = dossiers.import_id), '') AND {changed}"

# Rows of one file that repeat a dossier code: the later row wins, the earlier is reported.
SUPERSEDED_TRIGGER = """
CREATE TEMP TRIGGER IF NOT EXISTS dossier_superseded BEFORE UPDATE ON main.dossiers
WHEN old.import_id = new.import_id
BEGIN
  INSERT INTO superseded_rows (code, row, by_row) VALUES (old.code, old.source_row, new.source_row);
END
"""


# What each system said of its dossiers, kept beside the winning state: the latest word of each system.
STATES = """
INSERT INTO dossier_states (code, system, status, due_at, finished_at, state_at, import_id)
SELECT code, coalesce(system, ''), status, due_at, finished_at, state_at, import_id FROM {source}
WHERE import_id = ?
ON CONFLICT(code, system) DO UPDATE SET status = excluded.status, due_at = excluded.due_at,
  finished_at = excluded.finished_at, state_at = excluded.state_at, import_id = excluded.import_id
WHERE excluded.state_at >= dossier_states.state_at
"""
# A dossier this import stored under one code that is another stored dossier's other code (or the reverse):
# the same dossier seen by two systems (the province's and a ministry's).
SAME_DOSSIER = """
SELECT a.code, b.code FROM dossiers a JOIN dossiers b ON b.code = a.alt_code WHERE a.import_id = ?1
UNION
SELECT a.code, b.code FROM dossiers a JOIN dossiers b ON b.alt_code = a.code AND b.code <> a.code
WHERE a.import_id = ?1
"""
_KEPT = [c for c in COLUMNS if c not in ("code", "alt_code")]


def merge_same_dossiers(conn: sqlite3.Connection, import_id: int) -> int:
    """One row per dossier across systems: under the code stored first, with the latest state (the earlier
    one on a tie), the other code kept as its alternative; each system's own word moves with it."""
    merged = 0
    for new, stored in conn.execute(SAME_DOSSIER, (import_id,)).fetchall():
        rows = dict(conn.execute("SELECT code, state_at FROM dossiers WHERE code IN (?, ?)", (new, stored)))
        if len(rows) < 2:
            continue  # already merged through another pair
        if rows[new] > rows[stored]:
            conn.execute(f"UPDATE dossiers SET ({', '.join(_KEPT)}) = (SELECT {', '.join(_KEPT)} FROM dossiers"
                         " WHERE code = ?) WHERE code = ?", (new, stored))
        conn.execute("UPDATE dossiers SET alt_code = coalesce(alt_code, ?) WHERE code = ?", (new, stored))
        conn.execute("DELETE FROM dossiers WHERE code = ?", (new,))
        conn.execute("UPDATE OR REPLACE dossier_states SET code = ? WHERE code = ?", (stored, new))
        merged += 1
    return merged


STATE_AT, IMPORT_ID = COLUMNS.index("state_at"), COLUMNS.index("import_id")
Record = tuple[Any, ...]  # one dossier, in COLUMNS order


@dataclass
class Written:
    stored: int                  # new dossiers
    updated: int                 # dossiers whose stored row changed
    older: int                   # rows not applied: the stored state came from a later export
    superseded: list[tuple[str, int, int]]  # (code, row, the later row of the same file that won)
    merged: int = 0              # dossiers found stored already under another system's code


HELD_TABLE = f"CREATE TEMP TABLE IF NOT EXISTS held_dossiers ({', '.join(COLUMNS)})"


@dataclass
class DossierUpserts:
    """One file's writes to the dossiers table."""

    held: int = 0                 # rows showing an earlier state than the stored one, kept in temp.held_dossiers
    covered_to: str = ""          # the latest moment any row of this file shows
    before: int = 0               # dossiers stored before this import
    written: int = 0              # rows the upserts changed (the superseded-row trigger's own inserts included)

    def begin(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS superseded_rows (code TEXT, row INTEGER, by_row INTEGER)")
        conn.execute(SUPERSEDED_TRIGGER)
        conn.execute("DELETE FROM temp.superseded_rows")
        conn.execute(HELD_TABLE)
        conn.execute("DELETE FROM temp.held_dossiers")
        self.before = conn.execute("SELECT count(*) FROM dossiers").fetchone()[0]

    def _upsert(self, conn: sqlite3.Connection, sql: str, rows: list[Record] | tuple[Any, ...]) -> int:
        """Run one upsert; how many dossiers it changed."""
        changes = conn.total_changes
        if isinstance(rows, list):
            conn.executemany(sql, rows)
        else:
            conn.execute(sql, rows)
        self.written += conn.total_changes - changes
        return conn.total_changes - changes

    def write(self, conn: sqlite3.Connection, batch: list[Record]) -> None:
        if not batch:
            return
        self.covered_to = max(self.covered_to, *(record[STATE_AT] for record in batch))
        if self.before:  # only a database with dossiers can hold a newer state
            pairs = json.dumps([[record[0], record[STATE_AT]] for record in batch])
            older = {code for (code,) in conn.execute(OLDER_CODES, (pairs, batch[0][IMPORT_ID]))}
            if older:
                held = [record for record in batch if record[0] in older]
                conn.executemany(f"INSERT INTO temp.held_dossiers VALUES ({', '.join('?' * len(COLUMNS))})", held)
                self.held += len(held)
                batch = [record for record in batch if record[0] not in older]
        present, records = compact(batch)
        self._upsert(conn, upsert_sql(present, UPSERT_GUARD), records)

    def write_staged(self, conn: sqlite3.Connection, image: bytes) -> int:
        """A batch staged as a database image (table `batch`, COLUMNS less the sparse ones none of its
        rows fills, in row order): the same upsert as `write`, one statement for the whole batch. Its rows
        (for the progress bar)."""
        if "stage" not in {row[1] for row in conn.execute("PRAGMA database_list")}:
            conn.execute("ATTACH ':memory:' AS stage")  # once per connection; a new image replaces the last
        conn.deserialize(image, name="stage")
        present = tuple(c for c in COLUMNS if c in {row[1] for row in conn.execute("PRAGMA stage.table_info(batch)")})
        (latest, rows) = conn.execute("SELECT max(state_at), count(*) FROM stage.batch").fetchone()
        self.covered_to = max(self.covered_to, latest or "")
        if self.before:
            columns = ", ".join(present)
            held = conn.execute(f"INSERT INTO temp.held_dossiers ({columns}) SELECT {columns} FROM stage.batch s"
                                f" WHERE {STAGED_OLDER} ORDER BY rowid").rowcount
            if held:
                conn.execute(f"DELETE FROM stage.batch AS s WHERE {STAGED_OLDER}")
                self.held += held
        self._upsert(conn, upsert_sql(present, UPSERT_GUARD, "stage.batch"), ())
        return int(rows)

    def finish(self, conn: sqlite3.Connection, import_id: int) -> Written:
        conn.execute("UPDATE imports SET covered_to = ? WHERE id = ?", (self.covered_to or None, import_id))
        applied = self._upsert(conn, upsert_sql(COLUMNS, HELD_GUARD, "temp.held_dossiers"),
                               (self.covered_to,)) if self.held else 0
        superseded = conn.execute("SELECT code, row, by_row FROM temp.superseded_rows ORDER BY row").fetchall()
        stored = conn.execute("SELECT count(*) FROM dossiers").fetchone()[0] - self.before
        # the upserts' changes also count the trigger's own insert for each superseded row
        updated = self.written - stored - 2 * len(superseded)
        for source in ("main.dossiers", "temp.held_dossiers"):
            conn.execute(STATES.format(source=source), (import_id,))
        merged = merge_same_dossiers(conn, import_id)
        return Written(stored - merged, updated, self.held - applied, superseded, merged)
