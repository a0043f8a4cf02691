"""The province's figures per unit, unit kind and province, exactly as DESIGN.md defines them."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import sqlite_utils

from .config import Config
from .periods import Period

if TYPE_CHECKING:
    from .model import CheckContext

COUNTS = ("received", "online", "finished", "on_time", "late", "digitised", "fee_paid", "paid_online",
          "unfinished", "overdue_open")
RATES = ("online_rate", "on_time_rate", "digitisation_rate", "online_payment_rate", "overdue_rate")
GROUPINGS = ("unit", "kind", "province")

# One pass over the dossiers; :start/:end are the period's first and last second. The inner query turns
# each row into a few 0/1 flags, and LIMIT -1 keeps SQLite from flattening it, so the GROUP BY sorts
# small records instead of whole rows (a third faster at a million dossiers).
FIGURES_SQL = """
SELECT unit,
  sum(in_period) AS received,
  sum(in_period AND online) AS online,
  sum(done) AS finished,
  sum(done AND on_time) AS on_time,
  sum(done AND digitised) AS digitised,
  sum(in_period AND fee_paid) AS fee_paid,
  sum(in_period AND paid_online) AS paid_online,
  sum(open_at_end) AS unfinished,
  sum(open_at_end AND due_passed) AS overdue_open
FROM (
  SELECT unit,
    received_at >= :start AS in_period,
    channel = 'online' AS online,
    status = 'finished' AND finished_at BETWEEN :start AND :end AS done,
    due_at IS NULL OR finished_at <= due_at AS on_time,
    digitised,
    fee > 0 OR paid_online AS fee_paid,
    paid_online,
    NOT (status IN ('finished', 'rejected', 'withdrawn') AND coalesce(finished_at, '') <= :end) AS open_at_end,
    coalesce(due_at < :end, 0) AS due_passed
  FROM dossiers
  WHERE received_at <= :end AND rowid BETWEEN :first AND :last {unit_filter}
  LIMIT -1
)
GROUP BY unit
"""


def cut(numerator: int, denominator: int) -> float | None:
    """A percentage cut (not rounded) to two decimals: 238.144 of 238.146 is 99,99, never 100."""
    if not denominator:
        return None
    return (numerator * 10000 // denominator) / 100


@dataclass
class Figures:
    group: str
    received: int = 0
    online: int = 0
    finished: int = 0
    on_time: int = 0
    late: int = 0
    digitised: int = 0
    fee_paid: int = 0
    paid_online: int = 0
    unfinished: int = 0
    overdue_open: int = 0

    def add(self, other: Figures) -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def overdue(self) -> int:
        return self.late + self.overdue_open

    @property
    def overdue_base(self) -> int:
        return self.finished + self.unfinished

    def rates(self) -> dict[str, float | None]:
        return {
            "online_rate": cut(self.online, self.received),
            "on_time_rate": cut(self.on_time, self.finished),
            "digitisation_rate": cut(self.digitised, self.finished),
            "online_payment_rate": cut(self.paid_online, self.fee_paid),
            "overdue_rate": cut(self.overdue, self.overdue_base),
        }

    def as_row(self) -> dict[str, Any]:
        return {**asdict(self), **self.rates()}


def unit_figures(db: sqlite_utils.Database, period: Period, units: Iterable[str] | None = None) -> dict[str, Figures]:
    """Per-unit counts. The scan is split by rowid across threads, one connection each: SQLite lets go
    of the GIL while it scans and sorts, so the slices run on separate cores."""
    params: dict[str, Any] = {"start": period.start_at, "end": period.end_at}
    unit_filter = ""
    if units is not None:
        codes = list(units)
        params.update({f"u{i}": code for i, code in enumerate(codes)})
        unit_filter = f"AND unit IN ({', '.join(f':u{i}' for i in range(len(codes)))})" if codes else "AND 0"
    sql = FIGURES_SQL.format(unit_filter=unit_filter)
    first, last = db.execute("SELECT min(rowid), max(rowid) FROM dossiers").fetchone()
    if first is None:
        return {}
    slices = max(1, min(os.cpu_count() or 1, 4, (last - first) // 100_000 + 1))
    step = (last - first) // slices + 1
    bounds = [(first + i * step, min(last, first + (i + 1) * step - 1)) for i in range(slices)]
    path = db.execute("PRAGMA database_list").fetchone()[2]

    def scan(bound: tuple[int, int]) -> list[Any]:
        if slices == 1 or not path:
            return list(db.execute(sql, {**params, "first": bound[0], "last": bound[1]}).fetchall())
        with closing(sqlite3.connect(path)) as conn:
            return conn.execute(sql, {**params, "first": bound[0], "last": bound[1]}).fetchall()

    columns = ["unit", *(k for k in COUNTS if k != "late")]
    figures: dict[str, Figures] = {}
    with ThreadPoolExecutor(max_workers=slices) as pool:
        for rows in pool.map(scan, bounds):
            for values in rows:
                row = dict(zip(columns, values))
                item = Figures(group=row["unit"], **{k: int(row[k] or 0) for k in columns[1:]})
                item.late = item.finished - item.on_time
                figures.setdefault(item.group, Figures(group=item.group)).add(item)
    return figures


def run_figures(context: CheckContext) -> dict[str, Figures]:
    """The run's per-unit figures, computed once and shared by the rate checks and the history."""
    if "unit_figures" not in context.memo:
        context.memo["unit_figures"] = unit_figures(context.db, context.period, context.units)
    figures: dict[str, Figures] = context.memo["unit_figures"]
    return figures


def grouped_figures(config: Config, db: sqlite_utils.Database, period: Period, by: str = "unit",
                    units: Iterable[str] | None = None) -> list[Figures]:
    """Figures per unit (every configured unit, zeros included), per unit kind, or for the province."""
    codes = list(units) if units is not None else [u.code for u in config.units]
    per_unit = unit_figures(db, period, codes)
    if by == "unit":
        return [per_unit.get(code) or Figures(group=code) for code in codes]
    groups: dict[str, Figures] = {}
    for unit in config.units:
        if unit.code not in codes:
            continue
        key = unit.kind if by == "kind" else config.province
        groups.setdefault(key, Figures(group=key)).add(per_unit.get(unit.code) or Figures(group=unit.code))
    return list(groups.values())


FIELD_ORDER = ("group", *COUNTS, *RATES)
assert {f.name for f in fields(Figures)} == {"group", *COUNTS}
