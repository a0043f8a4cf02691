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

from auditbot.config.rules import EXEMPTIBLE, Config
from auditbot.domain.lineage import Lineage
from auditbot.domain.rates import COUNTS, KNOWN, Figures, group_figures
from auditbot.store.connection import Connection, timestamp
from auditbot.words.dossiers import CLOSED_STATUSES
from auditbot.words.periods import Period
from auditbot.words.text import fold

CLOSED = ", ".join(f"'{status}'" for status in CLOSED_STATUSES)

# One pass over the dossiers; :start/:end are the period's first and last second. Due dates are those
# after deducting the time the dossier waited for the citizen's papers (supplements.py): an open request
# stops the clock, a second request counts the dossier overdue. {...} are the province's rules (figures_sql).
FLAGS = {  # what is true of one dossier for the period
    "in_period": "received_at >= :start",
    "has_channel": "known & 1 AND NOT {exempt_online}",
    "has_due": "known & 2 AND NOT {exempt_overdue}",
    "has_digitised": "known & 4 AND NOT {exempt_digitisation}",
    "has_payment": "known & 8 AND NOT {exempt_online_payment}",
    "level_full": "{level_full}",
    "level_partial": "{level_partial}",
    "online": "channel = 'online'",
    "done": "status = 'finished' AND finished_at BETWEEN :start AND :end",
    "on_time": "coalesce(supplement_requests, 0) < 2 AND (due_at IS NULL OR finished_at <= coalesce(due_effective_at, due_at))",
    "digitised": "digitised",
    "has_inputs": "coalesce(inputs_digitised, documents_digitised > 0) IS NOT NULL",
    "inputs": "coalesce(inputs_digitised, documents_digitised > 0)",  # the guide: a file among the papers
    "has_documents": "documents IS NOT NULL",
    "reused": "documents_reused > 0",
    "fee_paid": "fee > 0 OR paid_online",
    "paid_online": "paid_online",
    "open_at_end": "NOT (status IN ({closed}) AND coalesce(finished_at, '') <= :end)",
    "due_passed": "coalesce(supplement_requests, 0) >= 2"
                  " OR coalesce(coalesce(due_effective_at, due_at) < min(:end, coalesce(waiting_since, :end)), 0)",
}
COUNTED = {  # each count: the dossiers of which all these flags are true
    "received": ("in_period",),
    "online": ("in_period", "has_channel", "online"),
    "finished": ("done",),
    "on_time": ("done", "has_due", "on_time"),
    "digitised": ("done", "has_digitised", "digitised"),
    "fee_paid": ("in_period", "has_payment", "fee_paid"),
    "paid_online": ("in_period", "has_payment", "paid_online"),
    "unfinished": ("open_at_end",),
    "overdue_open": ("open_at_end", "has_due", "due_passed"),
    "channel_known": ("in_period", "has_channel"),
    "due_known": ("done", "has_due"),
    "digitised_known": ("done", "has_digitised"),
    "payment_known": ("in_period", "has_payment"),
    "unfinished_due_known": ("open_at_end", "has_due"),
    "online_full": ("in_period", "has_channel", "level_full", "online"),
    "online_partial": ("in_period", "has_channel", "level_partial", "online"),
    "full_known": ("in_period", "has_channel", "level_full"),
    "partial_known": ("in_period", "has_channel", "level_partial"),
    "digitised_both": ("done", "has_digitised", "has_inputs", "digitised", "inputs"),
    "both_known": ("done", "has_digitised", "has_inputs"),
    "reused": ("in_period", "has_documents", "reused"),
    "reuse_known": ("in_period", "has_documents"),
}
BIT = {flag: 1 << i for i, flag in enumerate(FLAGS)}
# Each dossier becomes one number, its flags' bits, and the scan counts dossiers per unit and number: SQLite
# then sorts small records and keeps one count a group instead of two dozen sums a dossier (LIMIT -1 keeps it
# from flattening the inner query). The counts are the sums of the groups that have all their flags.
FIGURES_SQL = f"""
SELECT unit, heir, {", ".join(f"sum(CASE WHEN flags & {need} = {need} THEN dossiers ELSE 0 END) AS {name}"
                             for name, need in ((name, sum(BIT[flag] for flag in flags))
                                                for name, flags in COUNTED.items()))}
FROM (
  SELECT unit, heir, flags, count(*) AS dossiers
  FROM (
    SELECT unit, heir, {" | ".join(f"((coalesce({expr}, 0) != 0) << {i})" for i, expr in enumerate(FLAGS.values()))}
      AS flags
    FROM dossiers
    WHERE received_at <= :end AND rowid BETWEEN :first AND :last {{unit_filter}}
    LIMIT -1
  )
  GROUP BY unit, heir, flags
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
