"""The dossiers table: one row per dossier code, upserted idempotently, a later export's state kept.

An import writes in batches inside one transaction: `begin`, `write` per batch, `finish`; the counts it
returns let the import account for every row read (stored + updated + unchanged + rejected).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

COLUMNS = ("code", "unit", "procedure_code", "procedure_name", "received_at", "due_at", "finished_at", "status",
           "channel", "fee", "paid_online", "digitised", "result_ref", "import_id", "source_row", "known",
           "state_at", "inputs_digitised", "documents", "documents_digitised", "documents_reused", "supplements",
           "due_effective_at", "supplement_requests", "waiting_since", "heir")
_COMPARED = [c for c in COLUMNS if c not in ("code", "import_id", "source_row")]
_CHANGED = (f"({', '.join(f'dossiers.{c}' for c in _COMPARED)})"
            f" IS NOT ({', '.join(f'excluded.{c}' for c in _COMPARED)})")
_UPSERT = f"""
INSERT INTO dossiers ({", ".join(COLUMNS)}) VALUES ({", ".join("?" * len(COLUMNS))})
ON CONFLICT(code) DO UPDATE SET {", ".join(f"{c}=excluded.{c}" for c in COLUMNS[1:])}
WHERE {{guard}}
"""
UPSERT = _UPSERT.format(guard=f"dossiers.import_id = excluded.import_id OR {_CHANGED}")

# Which export is newer is told by what the files cover, not their names or the order they come in: a row
# showing an earlier state than the stored one (September's "processing" after October's "finished") is
# held back, and applied at the end only if this file covers at least as late as the one that wrote the
# stored state (a corrected re-export of October does; September's export never does).
OLDER_CODES = """
SELECT d.code FROM dossiers d JOIN json_each(?) j ON d.code = j.value ->> 0
WHERE d.state_at > j.value ->> 1 AND d.import_id IS NOT ?
"""
UPSERT_HELD = _UPSERT.format(guard=f"? >= coalesce((SELECT covered_to FROM imports WHERE id = dossiers.import_id),"
                                   f" '') AND {_CHANGED}")  # parameters: the record, then this file's coverage

# Rows of one file that repeat a dossier code: the later row wins, the earlier is reported.
SUPERSEDED_TRIGGER = """
CREATE TEMP TRIGGER IF NOT EXISTS dossier_superseded BEFORE UPDATE ON main.dossiers
WHEN old.import_id = new.import_id
BEGIN
  INSERT INTO superseded_rows (code, row, by_row) VALUES (old.code, old.source_row, new.source_row);
END
"""


STATE_AT, IMPORT_ID = COLUMNS.index("state_at"), COLUMNS.index("import_id")
Record = tuple[Any, ...]  # one dossier, in COLUMNS order


@dataclass
class Written:
    stored: int                  # new dossiers
    updated: int                 # dossiers whose stored row changed
    older: int                   # rows not applied: the stored state came from a later export
    superseded: list[tuple[str, int, int]]  # (code, row, the later row of the same file that won)


@dataclass
class DossierUpserts:
    """One file's writes to the dossiers table."""

    held: list[Record] = field(default_factory=list)  # rows showing an earlier state than the stored one
    covered_to: str = ""          # the latest moment any row of this file shows
    before: int = 0               # dossiers stored before this import
    changes: int = 0              # the connection's total_changes before this import

    def begin(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS superseded_rows (code TEXT, row INTEGER, by_row INTEGER)")
        conn.execute(SUPERSEDED_TRIGGER)
        conn.execute("DELETE FROM temp.superseded_rows")
        self.before = conn.execute("SELECT count(*) FROM dossiers").fetchone()[0]
        self.changes = conn.total_changes

    def write(self, conn: sqlite3.Connection, batch: list[Record]) -> None:
        if not batch:
            return
        self.covered_to = max(self.covered_to, *(record[STATE_AT] for record in batch))
        if self.before:  # only a database with dossiers can hold a newer state
            pairs = json.dumps([[record[0], record[STATE_AT]] for record in batch])
            older = {code for (code,) in conn.execute(OLDER_CODES, (pairs, batch[0][IMPORT_ID]))}
            if older:
                self.held += [record for record in batch if record[0] in older]
                batch = [record for record in batch if record[0] not in older]
        conn.executemany(UPSERT, batch)

    def finish(self, conn: sqlite3.Connection, import_id: int) -> Written:
        conn.execute("UPDATE imports SET covered_to = ? WHERE id = ?", (self.covered_to or None, import_id))
        changes = conn.total_changes
        conn.executemany(UPSERT_HELD, [(*record, self.covered_to) for record in self.held])
        older = len(self.held) - (conn.total_changes - changes)
        written = conn.total_changes - self.changes
        superseded = conn.execute("SELECT code, row, by_row FROM temp.superseded_rows").fetchall()
        stored = conn.execute("SELECT count(*) FROM dossiers").fetchone()[0] - self.before
        # total_changes also counts the trigger's own insert for each superseded row, and the imports update
        return Written(stored, written - 1 - stored - 2 * len(superseded), older, superseded)
