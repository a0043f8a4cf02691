"""Reporting periods: quarters, months and years as the province names them, running or closed.

A running period is cut at today (nothing not yet due counts as overdue) and its figures are
provisional ("tạm tính"). A period that has ended settles for `[dossiers] settle_days` while late exports
for it arrive; the first run after that computes it once more and freezes those figures as final.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from auditbot.errors import UserError

ROMAN = ("I", "II", "III", "IV")
# how a person may write a period: Q3/2026, Quý III/2026, 11/2026, tháng 11/2026, 2026
_QUARTER = re.compile(r"^(?:q|quý\s*)(1|2|3|4|i|ii|iii|iv)\s*/\s*(\d{4})$", re.IGNORECASE)
_MONTH = re.compile(r"^(?:tháng\s*)?(\d{1,2})\s*/\s*(\d{4})$", re.IGNORECASE)
_YEAR = re.compile(r"^(?:năm\s*)?(\d{4})$", re.IGNORECASE)
_EXPLICIT = re.compile(r"^(\d\d)/(\d\d)/(\d{4})-(\d\d)/(\d\d)/(\d{4})$")

RUNNING, SETTLING, FINAL = "running", "settling", "final"

# the days auditbot reasons about: a unit's life, a holiday, a period. Far enough either way for any real
# office, near enough that a day after the last one (or a period around it) is still a date
EARLIEST, LATEST = date(1900, 1, 1), date(2100, 12, 31)


def within_calendar(day: date) -> bool:
    return EARLIEST <= day <= LATEST


def calendar_span() -> str:
    return f"{EARLIEST:%d/%m/%Y} – {LATEST:%d/%m/%Y}"


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    label: str  # the stable key findings and figures are stored under: Q3/2026, 11/2026, 2026

    @property
    def start_at(self) -> str:
        return f"{self.start.isoformat()} 00:00:00"

    @property
    def end_at(self) -> str:
        """`to` is inclusive: the whole last day belongs to the period."""
        return f"{self.end.isoformat()} 23:59:59"

    @property
    def name(self) -> str:
        """The period in a letter's words: Quý III/2026, tháng 11/2026, năm 2026, 01/07/2026–15/08/2026."""
        return period_name(self.label)


def period_name(label: str) -> str:
    if match := re.fullmatch(r"Q([1-4])/(\d{4})", label):
        return f"Quý {ROMAN[int(match[1]) - 1]}/{match[2]}"
    if re.fullmatch(r"\d\d/\d{4}", label):
        return f"tháng {label}"
    if re.fullmatch(r"\d{4}", label):
        return f"năm {label}"
    return label.replace("-", "–")


def whole_period(kind: str, day: date) -> Period:
    """The whole quarter, month or year that contains `day`."""
    if kind == "month":
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return Period(start, following - timedelta(days=1), f"{day.month:02d}/{day.year}")
    if kind == "year":
        return Period(date(day.year, 1, 1), date(day.year, 12, 31), str(day.year))
    quarter = (day.month - 1) // 3
    start = date(day.year, quarter * 3 + 1, 1)
    following = date(day.year + (quarter == 3), (quarter * 3 + 3) % 12 + 1, 1)
    return Period(start, following - timedelta(days=1), f"Q{quarter + 1}/{day.year}")


def current_period(kind: str, today: date) -> Period:
    """The running quarter, month or year, cut at today so nothing not yet due counts as overdue."""
    whole = whole_period(kind, today)
    return Period(whole.start, today, whole.label)


def previous_period(kind: str, today: date) -> Period:
    """The last whole period that ended before today's."""
    return whole_period(kind, whole_period(kind, today).start - timedelta(days=1))


def explicit_period(start: date, end: date) -> Period:
    return Period(start, end, f"{start:%d/%m/%Y}-{end:%d/%m/%Y}")


def resolve_period(kind: str, start: datetime | None, end: datetime | None, today: date) -> Period:
    if start is None and end is None:
        return current_period(kind, today)
    default = current_period(kind, today)
    return explicit_period(start.date() if start else default.start, end.date() if end else today)


def parse_period(text: str) -> Period:
    """`--period Q3/2026` (also Quý III/2026, 11/2026, 2026, or a stored dd/mm/yyyy-dd/mm/yyyy label)."""
    try:
        period = _parse_period(text)
    except (ValueError, OverflowError):  # year 0, or a period that would end after year 9999
        period = None
    if period is None or not (within_calendar(period.start) and within_calendar(period.end)):
        raise UserError(f"--period {text!r}: outside the days auditbot reasons about ({calendar_span()})")
    return period


def _parse_period(text: str) -> Period:
    written = " ".join(text.split())
    if match := _QUARTER.match(written):
        number = match[1].upper()
        quarter = ROMAN.index(number) + 1 if number in ROMAN else int(number)
        return whole_period("quarter", date(int(match[2]), quarter * 3, 1))
    if (match := _MONTH.match(written)) and 1 <= int(match[1]) <= 12:
        return whole_period("month", date(int(match[2]), int(match[1]), 1))
    if match := _YEAR.match(written):
        return whole_period("year", date(int(match[1]), 1, 1))
    if match := _EXPLICIT.match(written):
        try:
            return explicit_period(date(int(match[3]), int(match[2]), int(match[1])),
                                   date(int(match[6]), int(match[5]), int(match[4])))
        except ValueError:
            pass
    raise UserError(f"--period {text!r}: expected a quarter (Q3/2026), a month (11/2026) or a year (2026)")


@dataclass(frozen=True)
class Judged:
    """A period rate checks judge in a run, and how far its figures are from final."""

    period: Period      # a running one is cut at today
    state: str          # RUNNING (provisional), SETTLING (ended, late exports still counted), FINAL
    ends_on: date       # the period's last day, even while it runs
    settles_on: date    # the last day late exports still count
    frozen: bool        # FINAL and already stored: its figures are read back, never recomputed

    def elapsed_percent(self, today: date) -> float:
        """How much of the period has gone by, today included: 6 days of a 90-day quarter is 6,67%."""
        days = (self.ends_on - self.period.start).days + 1
        return min(100.0, max(0.0, ((today - self.period.start).days + 1) * 100 / days))


def judged_periods(kind: str, today: date, settle_days: int, frozen: set[str]) -> list[Judged]:
    """The running period and the last closed one: a closed period's verdict stands in the letters until
    the next one closes. It settles for `settle_days` after its end, then is final."""
    whole = whole_period(kind, today)
    closed = previous_period(kind, today)
    settles_on = closed.end + timedelta(days=settle_days)
    state = SETTLING if today <= settles_on and closed.label not in frozen else FINAL
    return [Judged(closed, state, closed.end, settles_on, closed.label in frozen),
            Judged(current_period(kind, today), RUNNING, whole.end, whole.end + timedelta(days=settle_days), False)]
