"""Reporting periods: the quarter (month, year) to date, or explicit dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    label: str

    @property
    def start_at(self) -> str:
        return f"{self.start.isoformat()} 00:00:00"

    @property
    def end_at(self) -> str:
        """`to` is inclusive: the whole last day belongs to the period."""
        return f"{self.end.isoformat()} 23:59:59"


def current_period(kind: str, today: date) -> Period:
    """The running quarter, month or year, cut at today so nothing not yet due counts as overdue."""
    if kind == "month":
        start, label = today.replace(day=1), f"{today.month:02d}/{today.year}"
    elif kind == "year":
        start, label = date(today.year, 1, 1), str(today.year)
    else:
        quarter = (today.month - 1) // 3
        start, label = date(today.year, quarter * 3 + 1, 1), f"Q{quarter + 1}/{today.year}"
    return Period(start, today, label)


def explicit_period(start: date, end: date) -> Period:
    return Period(start, end, f"{start:%d/%m/%Y}-{end:%d/%m/%Y}")


def resolve_period(kind: str, start: datetime | None, end: datetime | None, today: date) -> Period:
    if start is None and end is None:
        return current_period(kind, today)
    default = current_period(kind, today)
    return explicit_period(start.date() if start else default.start, end.date() if end else today)
