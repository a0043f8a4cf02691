"""Whose fault each overdue dossier is: `unit` (late after the time it waited for the citizen is deducted),
`citizen` (late only by the exported date: the wait for papers or fees explains it), `sync` (on time in the
latest state auditbot holds, yet the portal cannot know it: never synced, synced only after its due date, or
another system still saying it is late). Phụ lục I and rate.overdue count the unit's own (figures.py deducts
the same waits); the rest go to whoever fixes them.

One SQL text, parameter `:now`: the Datasette view binds it to SQLite's clock, the summary to the run's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

import sqlite_utils

CAUSES = ("unit", "citizen", "sync")

OVERDUE_CAUSES = """
SELECT code, unit, procedure_code, due_at, due_effective_at, finished_at, status, synced, synced_at, system,
  CASE
    WHEN coalesce(supplement_requests, 0) >= 2 THEN 'unit'
    WHEN status = 'finished' AND finished_at > coalesce(due_effective_at, due_at) THEN 'unit'
    WHEN status NOT IN ('finished', 'rejected', 'withdrawn', 'stopped')
      AND coalesce(due_effective_at, due_at) < min({now}, coalesce(waiting_since, {now})) THEN 'unit'
    WHEN status = 'finished' AND finished_at > due_at THEN 'citizen'
    WHEN status NOT IN ('finished', 'rejected', 'withdrawn', 'stopped') AND due_at < {now} THEN 'citizen'
    WHEN synced = 0 AND due_at < {now} THEN 'sync'
    WHEN synced = 1 AND synced_at > due_at AND status = 'finished' THEN 'sync'
    WHEN EXISTS (SELECT 1 FROM dossier_states s WHERE s.code = dossiers.code AND s.system <> coalesce(dossiers.system, '')
                 AND ((s.finished_at IS NULL AND s.status NOT IN ('rejected', 'withdrawn', 'stopped')
                       AND s.due_at < {now}) OR s.finished_at > s.due_at)) THEN 'sync'
  END AS cause
FROM dossiers
WHERE due_at IS NOT NULL AND status <> 'registered'
"""


def causes_sql(now: str) -> str:
    """The dossiers overdue in anyone's eyes, each with its cause (`now`: an SQL expression)."""
    return f"SELECT * FROM ({OVERDUE_CAUSES.format(now=now)}) WHERE cause IS NOT NULL"


def cause_split(db: sqlite_utils.Database, now: datetime, units: Iterable[str] | None = None) -> Counter[str]:
    """How many overdue dossiers each cause explains (the units given, or all)."""
    chosen = None if units is None else sorted(units)
    sql = f"SELECT unit, cause, count(*) AS n FROM ({causes_sql(':now')}) GROUP BY unit, cause"
    split: Counter[str] = Counter()
    for row in db.query(sql, {"now": now.strftime("%Y-%m-%d %H:%M:%S")}):
        if chosen is None or row["unit"] in chosen:
            split[row["cause"]] += row["n"]
    return split
