"""Per-unit figures over the dossiers in one pass, the day-by-day history of them, and closed periods'
final figures, frozen once."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import datetime
from typing import Any

import sqlite_utils

from ..config import EXEMPTIBLE, Config
from ..lineage import Lineage
from ..periods import Period
from ..rates import COUNTS, KNOWN, Figures, group_figures
from ..text import fold
from ..vocabulary.dossiers import CLOSED_STATUSES
from .connection import Connection, timestamp

CLOSED = ", ".join(f"'{status}'" for status in CLOSED_STATUSES)

# One pass over the dossiers; :start/:end are the period's first and last second. Due dates are those
# after deducting the time the dossier waited for the citizen's papers (supplements.py): an open request
# stops the clock, a second request counts the dossier overdue. The inner query turns
# each row into a few 0/1 flags, and LIMIT -1 keeps SQLite from flattening it, so the GROUP BY sorts
# small records instead of whole rows (a third faster at a million dossiers).
FIGURES_SQL = """
SELECT unit, heir,
  sum(in_period) AS received,
  sum(in_period AND ch AND online) AS online,
  sum(done) AS finished,
  sum(done AND due AND on_time) AS on_time,
  sum(done AND dig AND digitised) AS digitised,
  sum(in_period AND pay AND fee_paid) AS fee_paid,
  sum(in_period AND pay AND paid_online) AS paid_online,
  sum(open_at_end) AS unfinished,
  sum(open_at_end AND due AND due_passed) AS overdue_open,
  sum(in_period AND ch) AS channel_known,
  sum(done AND due) AS due_known,
  sum(done AND dig) AS digitised_known,
  sum(in_period AND pay) AS payment_known,
  sum(open_at_end AND due) AS unfinished_due_known,
  sum(in_period AND ch AND lvl_full AND online) AS online_full,
  sum(in_period AND ch AND lvl_partial AND online) AS online_partial,
  sum(in_period AND ch AND lvl_full) AS full_known,
  sum(in_period AND ch AND lvl_partial) AS partial_known,
  sum(done AND dig AND inputs IS NOT NULL AND digitised AND inputs) AS digitised_both,
  sum(done AND dig AND inputs IS NOT NULL) AS both_known,
  sum(in_period AND documents IS NOT NULL AND documents_reused > 0) AS reused,
  sum(in_period AND documents IS NOT NULL) AS reuse_known
FROM (
  SELECT unit, heir,
    received_at >= :start AS in_period,
    known & 1 AND NOT {exempt_online} AS ch, known & 2 AND NOT {exempt_overdue} AS due,
    known & 4 AND NOT {exempt_digitisation} AS dig, known & 8 AND NOT {exempt_online_payment} AS pay,
    {level_full} AS lvl_full, {level_partial} AS lvl_partial,
    channel = 'online' AS online,
    status = 'finished' AND finished_at BETWEEN :start AND :end AS done,
    coalesce(supplement_requests, 0) < 2
      AND (due_at IS NULL OR finished_at <= coalesce(due_effective_at, due_at)) AS on_time,
    digitised, documents, documents_reused,
    coalesce(inputs_digitised, documents_digitised > 0) AS inputs,  -- the guide: a file among the papers
    fee > 0 OR paid_online AS fee_paid,
    paid_online,
    NOT (status IN ({closed}) AND coalesce(finished_at, '') <= :end)
      AS open_at_end,
    coalesce(supplement_requests, 0) >= 2
      OR coalesce(coalesce(due_effective_at, due_at) < min(:end, coalesce(waiting_since, :end)), 0) AS due_passed
  FROM dossiers
  WHERE received_at <= :end AND rowid BETWEEN :first AND :last {unit_filter}
  LIMIT -1
)
GROUP BY unit, heir
"""


def figures_sql(config: Config, db: sqlite_utils.Database) -> tuple[str, dict[str, str]]:
    """FIGURES_SQL with this province's exemptions and online service levels, and their parameters.
    A rule with nothing to match costs nothing: it is the constant 0, not a lookup per dossier."""
    params: dict[str, str] = {}
    parts: dict[str, str] = {"closed": CLOSED}

    def member(name: str, codes: set[str]) -> str:
        if not codes:
            return "0"
        params[name] = json.dumps(sorted(codes))
        return f"(procedure_code IN (SELECT value FROM json_each(:{name})))"

    for rate in EXEMPTIBLE:
        parts[f"exempt_{rate}"] = member(f"exempt_{rate}", exempted_codes(config, db, rate))
    levels: dict[str, set[str]] = {"full": set(), "partial": set()}
    for code, level in db.execute("SELECT code, online_level FROM procedures WHERE online_level IN ('full', 'partial')"):
        levels[level].add(code)
    for level, codes in levels.items():
        parts[f"level_{level}"] = member(f"level_{level}", codes)
    return FIGURES_SQL.replace("{unit_filter}", "{{unit_filter}}").format(**parts), params


def exempted_codes(config: Config, db: sqlite_utils.Database, rate: str) -> set[str]:
    """The national codes a rate leaves out: those rules.toml names, and the catalogue's in the fields it names."""
    exemption = config.exemptions.get(rate)
    if exemption is None:
        return set()
    codes = set(exemption.procedures)
    if exemption.fields:
        wanted = {fold(field) for field in exemption.fields}
        codes |= {code for code, field in db.execute("SELECT code, field FROM procedures WHERE field IS NOT NULL")
                  if fold(field) in wanted}
    return codes


def unit_figures(config: Config, db: sqlite_utils.Database, period: Period,
                 units: Iterable[str] | None = None) -> dict[str, Figures]:
    """Per-unit counts; an ended unit's dossiers count for whoever took over from it by the period's end
    (lineage.py). The scan is split by rowid across threads, one connection each: SQLite lets go
    of the GIL while it scans and sorts, so the slices run on separate cores."""
    template, rule_params = figures_sql(config, db)
    params: dict[str, Any] = {"start": period.start_at, "end": period.end_at, **rule_params}
    lineage = Lineage.of(config)
    wanted = set(units) if units is not None else None
    unit_filter = ""
    if units is not None:
        codes = lineage.with_ancestors(units)
        params.update({f"u{i}": code for i, code in enumerate(codes)})
        unit_filter = f"AND unit IN ({', '.join(f':u{i}' for i in range(len(codes)))})" if codes else "AND 0"
    sql = template.format(unit_filter=unit_filter)
    first, last = db.execute("SELECT min(rowid), max(rowid) FROM dossiers").fetchone()
    if first is None:
        return {}
    slices = max(1, min(os.cpu_count() or 1, 4, (last - first) // 100_000 + 1))
    step = (last - first) // slices + 1
    bounds = [(first + i * step, min(last, first + (i + 1) * step - 1)) for i in range(slices)]
    path = db.execute("PRAGMA database_list").fetchone()[2]

    def scan(bound: tuple[int, int]) -> list[dict[str, Any]]:
        if slices == 1 or not path:
            cursor = db.execute(sql, {**params, "first": bound[0], "last": bound[1]})
            return [dict(zip([c[0] for c in cursor.description], values)) for values in cursor.fetchall()]
        with closing(sqlite3.connect(path)) as conn:
            cursor = conn.execute(sql, {**params, "first": bound[0], "last": bound[1]})
            return [dict(zip([c[0] for c in cursor.description], values)) for values in cursor.fetchall()]

    columns = [name for name in (*COUNTS, *KNOWN) if name != "late"]
    figures: dict[str, Figures] = {}
    with ThreadPoolExecutor(max_workers=slices) as pool:
        for rows in pool.map(scan, bounds):
            for row in rows:
                owner = lineage.heir(row["unit"], period.end, row["heir"])
                if wanted is not None and owner not in wanted:
                    continue
                item = Figures(group=owner, **{k: int(row[k] or 0) for k in columns})
                item.late = item.due_known - item.on_time
                figures.setdefault(owner, Figures(group=owner)).add(item)
    return figures


def grouped_figures(config: Config, db: sqlite_utils.Database, period: Period, by: str = "unit",
                    units: Iterable[str] | None = None) -> list[Figures]:
    """Figures per unit (every unit of the period, zeros included), per unit kind, or for the province."""
    codes = list(units) if units is not None else Lineage.of(config).figure_units(period.start, period.end)
    return group_figures(config, unit_figures(config, db, period, codes), by, codes)


class FigureHistory(Connection):
    def record_figures(self, run_id: int, rows: Iterable[dict[str, Any]], now: datetime) -> int:
        """Each unit's figures for a period, one row per unit, period and day (the day's last run wins)."""
        stamped = [{**row, "day": now.date().isoformat(), "run_id": run_id, "recorded_at": timestamp(now)}
                   for row in rows]
        with self.transaction():
            self.db.table("unit_figures").upsert_all(stamped, pk=("day", "period", "unit"))
        return len(stamped)

    def record_index(self, run_id: int, rows: Iterable[dict[str, Any]], now: datetime) -> int:
        """Each unit's 766 index for a period, indicator by indicator, per day (the day's last run wins)."""
        stamped = [{**row, "day": now.date().isoformat(), "run_id": run_id, "recorded_at": timestamp(now)}
                   for row in rows]
        with self.transaction():
            self.db.table("unit_index").upsert_all(stamped, pk=("day", "period", "unit", "indicator"))
        return len(stamped)

    def frozen_periods(self) -> set[str]:
        return {row[0] for row in self.db.conn.execute("SELECT period FROM closed_periods")}

    def freeze_period(self, period: Period, run_id: int, rows: list[dict[str, Any]], now: datetime) -> None:
        """A closed period's final figures, per unit: recorded once, never recomputed."""
        at = timestamp(now)
        with self.transaction():
            self.db.table("period_figures").upsert_all(
                [{**row, "run_id": run_id, "frozen_at": at} for row in rows], pk=("period", "unit"))
            self.db.table("closed_periods").insert(
                {"period": period.label, "period_start": period.start.isoformat(),
                 "period_end": period.end.isoformat(), "frozen_at": at, "run_id": run_id, "units": len(rows)},
                replace=True)

    def closed_period(self, label: str) -> dict[str, Any] | None:
        return next(iter(self.db.query("SELECT * FROM closed_periods WHERE period = ?", [label])), None)

    def final_figures(self, label: str) -> dict[str, Figures]:
        return {row["unit"]: Figures.from_row(row["unit"], row)
                for row in self.db.query("SELECT * FROM period_figures WHERE period = ?", [label])}
