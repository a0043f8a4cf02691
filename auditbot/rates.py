"""The province's figures per unit, unit kind and province, exactly as DESIGN.md defines them."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import sqlite_utils

from . import vietnamese
from .config import DEFAULT_ROUNDING, EXEMPTIBLE, Config
from .periods import FINAL, RUNNING, Period
from .text import fold
from .vietnamese import percent

if TYPE_CHECKING:
    from .check_types import CheckContext

COUNTS = ("received", "online", "finished", "on_time", "late", "digitised", "fee_paid", "paid_online",
          "unfinished", "overdue_open", "online_full", "online_partial")
# how many dossiers of each figure's base had its input at all (an export without a channel column has
# none): a figure is computed over those, and is unknown (null) when there are none. A procedure exempted
# from a rate in rules.toml counts as not having that rate's input. full_known / partial_known: dossiers
# with a channel whose procedure the catalogue lists as a full / partial online service.
KNOWN = ("channel_known", "due_known", "digitised_known", "payment_known", "unfinished_due_known",
         "full_known", "partial_known")
RATES = ("online_rate", "on_time_rate", "digitisation_rate", "online_payment_rate", "overdue_rate",
         "online_full_rate", "online_partial_rate")
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
  sum(open_at_end AND due) AS unfinished_due_known,
  sum(in_period AND ch AND lvl_full AND online) AS online_full,
  sum(in_period AND ch AND lvl_partial AND online) AS online_partial,
  sum(in_period AND ch AND lvl_full) AS full_known,
  sum(in_period AND ch AND lvl_partial) AS partial_known
FROM (
  SELECT unit,
    received_at >= :start AS in_period,
    known & 1 AND NOT {exempt_online} AS ch, known & 2 AND NOT {exempt_overdue} AS due,
    known & 4 AND NOT {exempt_digitisation} AS dig, known & 8 AND NOT {exempt_online_payment} AS pay,
    {level_full} AS lvl_full, {level_partial} AS lvl_partial,
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


def rounded(numerator: int, denominator: int) -> float | None:
    """A percentage rounded half up to two decimals, in integers (no float ties): 291 of 320 is 90,94."""
    if not denominator:
        return None
    return ((numerator * 20000 + denominator) // (2 * denominator)) / 100


def share(numerator: int, denominator: int, rule: str = "cut") -> float | None:
    return rounded(numerator, denominator) if rule == "round" else cut(numerator, denominator)


def figures_sql(config: Config, db: sqlite_utils.Database) -> tuple[str, dict[str, str]]:
    """FIGURES_SQL with this province's exemptions and online service levels, and their parameters.
    A rule with nothing to match costs nothing: it is the constant 0, not a lookup per dossier."""
    params: dict[str, str] = {}
    parts: dict[str, str] = {}

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


def exemption_text(config: Config, rate: str) -> str | None:
    """The annex's footnote for a rate that leaves procedures out: which, and why."""
    exemption = config.exemptions.get(rate)
    if exemption is None:
        return None
    named = [*(f"thủ tục {code}" for code in exemption.procedures), *(f"lĩnh vực {f}" for f in exemption.fields)]
    return f"Không tính {', '.join(named)}: {exemption.reason}"


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
    online_full: int = 0
    online_partial: int = 0
    full_known: int = 0
    partial_known: int = 0

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

    def rates(self, rounding: Mapping[str, str] = DEFAULT_ROUNDING) -> dict[str, float | None]:
        """Each rate cut or rounded as [rounding] says (the province's own way by default)."""
        counts = {
            "online_rate": (self.online, self.channel_known),
            "on_time_rate": (self.on_time, self.due_known),
            "digitisation_rate": (self.digitised, self.digitised_known),
            "online_payment_rate": (self.paid_online, self.fee_paid if self.payment_known else 0),
            "overdue_rate": (self.overdue, self.overdue_base),
            "online_full_rate": (self.online_full, self.full_known),
            "online_partial_rate": (self.online_partial, self.partial_known),
        }
        return {rate: share(numerator, denominator, rounding.get(rate, "cut"))
                for rate, (numerator, denominator) in counts.items()}

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

    def as_row(self, rounding: Mapping[str, str] = DEFAULT_ROUNDING) -> dict[str, Any]:
        row: dict[str, Any] = {**asdict(self), **self.rates(rounding)}
        for name in self.unknown():
            row[name] = None
        return row


def unit_figures(config: Config, db: sqlite_utils.Database, period: Period,
                 units: Iterable[str] | None = None) -> dict[str, Figures]:
    """Per-unit counts. The scan is split by rowid across threads, one connection each: SQLite lets go
    of the GIL while it scans and sorts, so the slices run on separate cores."""
    template, rule_params = figures_sql(config, db)
    params: dict[str, Any] = {"start": period.start_at, "end": period.end_at, **rule_params}
    unit_filter = ""
    if units is not None:
        codes = list(units)
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
                item = Figures(group=row["unit"], **{k: int(row[k] or 0) for k in columns})
                item.late = item.due_known - item.on_time
                figures.setdefault(item.group, Figures(group=item.group)).add(item)
    return figures


def run_figures(context: CheckContext) -> dict[str, Figures]:
    """The run's per-unit figures, computed once and shared by the rate checks and the history."""
    if "unit_figures" not in context.memo:
        context.memo["unit_figures"] = unit_figures(context.config, context.db, context.period, context.units)
    figures: dict[str, Figures] = context.memo["unit_figures"]
    return figures


def grouped_figures(config: Config, db: sqlite_utils.Database, period: Period, by: str = "unit",
                    units: Iterable[str] | None = None) -> list[Figures]:
    """Figures per unit (every configured unit, zeros included), per unit kind, or for the province."""
    codes = list(units) if units is not None else [u.code for u in config.units]
    return group_figures(config, unit_figures(config, db, period, codes), by, codes)


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
              "online_payment_rate": "paid_online", "overdue_rate": "overdue_open",
              "online_full_rate": "online_full", "online_partial_rate": "online_partial"}
assert {f.name for f in fields(Figures)} == {"group", *COUNTS, *KNOWN}


def rate_text(row: dict[str, Any], rate: str) -> str:
    """A rate as people read it: 99,65%; "—" with no dossiers; "không có dữ liệu" when the exports lack its input."""
    if row[rate] is None and row[RATE_INPUT[rate]] is None:
        return UNKNOWN_TEXT
    return percent(row[rate])


@dataclass
class RatesOutcome:
    period: Period
    per_unit: dict[str, Figures]
    state: str                  # running | settling | final: how far the figures are from final
    frozen_at: str | None = None

    def grouped(self, config: Config, by: str, codes: list[str]) -> list[Figures]:
        return group_figures(config, self.per_unit, by, codes)

    @property
    def state_words(self) -> str:
        """How final the figures are, in a report's words."""
        if self.state == FINAL:
            return f"số liệu chính thức, chốt ngày {vietnamese.day(self.frozen_at)}" if self.frozen_at else "số liệu chính thức"
        return "số liệu tạm tính" if self.state == RUNNING else "số liệu đang chốt"
