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
from .vn import percent

if TYPE_CHECKING:
    from .model import CheckContext

COUNTS = ("received", "online", "finished", "on_time", "late", "digitised", "fee_paid", "paid_online",
          "unfinished", "overdue_open")
# how many dossiers of each figure's base had its input at all (an export without a channel column has
# none): a figure is computed over those, and is unknown (null) when there are none
KNOWN = ("channel_known", "due_known", "digitised_known", "payment_known", "unfinished_due_known")
RATES = ("online_rate", "on_time_rate", "digitisation_rate", "online_payment_rate", "overdue_rate")
GROUPINGS = ("unit", "kind", "province")
UNKNOWN_TEXT = "không có dữ liệu"

# One pass over the dossiers; :start/:end are the period's first and last second. Due dates are those
# after deducting the time the dossier waited for the citizen's papers (supplements.py): an open request
# stops the clock, a second request counts the dossier overdue. The inner query turns
# each row into a few 0/1 flags, and LIMIT -1 keeps SQLite from flattening it, so the GROUP BY sorts
# small records instead of whole rows (a third faster at a million dossiers).
FIGURES_SQL = """
SELECT unit,
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
  sum(open_at_end AND due) AS unfinished_due_known
FROM (
  SELECT unit,
    received_at >= :start AS in_period,
    known & 1 AS ch, known & 2 AS due, known & 4 AS dig, known & 8 AS pay,
    channel = 'online' AS online,
    status = 'finished' AND finished_at BETWEEN :start AND :end AS done,
    coalesce(supplement_requests, 0) < 2
      AND (due_at IS NULL OR finished_at <= coalesce(due_effective_at, due_at)) AS on_time,
    digitised,
    fee > 0 OR paid_online AS fee_paid,
    paid_online,
    NOT (status IN ('finished', 'rejected', 'withdrawn', 'stopped') AND coalesce(finished_at, '') <= :end)
      AS open_at_end,
    coalesce(supplement_requests, 0) >= 2
      OR coalesce(coalesce(due_effective_at, due_at) < min(:end, coalesce(waiting_since, :end)), 0) AS due_passed
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
    channel_known: int = 0
    due_known: int = 0
    digitised_known: int = 0
    payment_known: int = 0
    unfinished_due_known: int = 0

    @classmethod
    def from_row(cls, group: str, row: dict[str, Any]) -> Figures:
        """Counts as stored (an unknown one is NULL there: its base's known count says so again)."""
        return cls(group=group, **{name: int(row.get(name) or 0) for name in (*COUNTS, *KNOWN)})

    def add(self, other: Figures) -> None:
        for name in (*COUNTS, *KNOWN):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def overdue(self) -> int:
        return self.late + self.overdue_open

    @property
    def overdue_base(self) -> int:
        return self.due_known + self.unfinished_due_known

    def rates(self) -> dict[str, float | None]:
        return {
            "online_rate": cut(self.online, self.channel_known),
            "on_time_rate": cut(self.on_time, self.due_known),
            "digitisation_rate": cut(self.digitised, self.digitised_known),
            "online_payment_rate": cut(self.paid_online, self.fee_paid) if self.payment_known else None,
            "overdue_rate": cut(self.overdue, self.overdue_base),
        }

    def unknown(self) -> set[str]:
        """The counts whose base has dossiers, none of which had the input: not 0, unknown."""
        absent = {
            ("online",): self.received and not self.channel_known,
            ("on_time", "late"): self.finished and not self.due_known,
            ("digitised",): self.finished and not self.digitised_known,
            ("fee_paid", "paid_online"): self.received and not self.payment_known,
            ("overdue_open",): self.unfinished and not self.unfinished_due_known,
        }
        return {name for names, missing in absent.items() if missing for name in names}

    def as_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {**asdict(self), **self.rates()}
        for name in self.unknown():
            row[name] = None
        return row


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

    columns = ["unit", *(k for k in COUNTS if k != "late"), *KNOWN]
    figures: dict[str, Figures] = {}
    with ThreadPoolExecutor(max_workers=slices) as pool:
        for rows in pool.map(scan, bounds):
            for values in rows:
                row = dict(zip(columns, values))
                item = Figures(group=row["unit"], **{k: int(row[k] or 0) for k in columns[1:]})
                item.late = item.due_known - item.on_time
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
    return group_figures(config, unit_figures(db, period, codes), by, codes)


def group_figures(config: Config, per_unit: dict[str, Figures], by: str, codes: list[str]) -> list[Figures]:
    if by == "unit":
        return [per_unit.get(code) or Figures(group=code) for code in codes]
    groups: dict[str, Figures] = {}
    for unit in config.units:
        if unit.code not in codes:
            continue
        key = unit.kind if by == "kind" else config.province
        groups.setdefault(key, Figures(group=key)).add(per_unit.get(unit.code) or Figures(group=unit.code))
    return list(groups.values())


FIELD_ORDER = ("group", *COUNTS, *RATES, *KNOWN)
RATE_INPUT = {"online_rate": "online", "on_time_rate": "on_time", "digitisation_rate": "digitised",
              "online_payment_rate": "paid_online", "overdue_rate": "overdue_open"}
assert {f.name for f in fields(Figures)} == {"group", *COUNTS, *KNOWN}


def rate_text(row: dict[str, Any], rate: str) -> str:
    """A rate as people read it: 99,65%; "—" with no dossiers; "không có dữ liệu" when the exports lack its input."""
    if row[rate] is None and row[RATE_INPUT[rate]] is None:
        return UNKNOWN_TEXT
    return percent(row[rate])
