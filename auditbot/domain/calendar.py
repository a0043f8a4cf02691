"""The province's one working calendar: which days are worked (weekdays but its holidays, `[index] holidays`)
and which hours of them. The 766 index's "working days", the daily warning's "due within N working hours"
and the receipt deadline's "N working hours after submission" all count on it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from auditbot.config.rules import Config

# the offices' hours (a morning and an afternoon, 8 hours a day): a working hour is one of these
WORKING_HOURS = ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 30)))
# how far ahead a search for the next working moment looks: more than any run of holidays (Tết is 9 days)
MAX_DAYS_OFF = 60


@dataclass(frozen=True)
class Calendar:
    holidays: frozenset[date] = frozenset()

    @classmethod
    def of(cls, config: Config) -> Calendar:
        return cls(frozenset(config.index.holidays))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The day `days` working days after `start`."""
        day = start
        while days > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                days -= 1
        return day

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours from `start` to `end` (0 when `end` is not after `start`)."""
        total = timedelta()
        day = start.date()
        while day <= end.date():
            for opens, closes in self._windows(day):
                overlap = min(end, closes) - max(start, opens)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return total / timedelta(hours=1)

    def working_hours_later(self, start: datetime, hours: float) -> datetime:
        """The latest moment at most `hours` working hours after `start`: when the hours end at a close, the
        next opening (a due time in the evening or over a holiday is no further away than the close)."""
        left = timedelta(hours=hours)
        day = start.date()
        for _ in range(int(hours // 8 + 1) * 7 + MAX_DAYS_OFF):
            for opens, closes in self._windows(day):
                begin = max(start, opens)
                if begin >= closes:
                    continue
                if left < closes - begin:
                    return begin + left
                left -= closes - begin
                if left == timedelta():
                    return self._next_opening(closes)
            day += timedelta(days=1)
        raise ValueError(f"no working hours within {MAX_DAYS_OFF} days of {start:%d/%m/%Y}: check [index] holidays")

    def _next_opening(self, moment: datetime) -> datetime:
        day = moment.date()
        for _ in range(MAX_DAYS_OFF):
            for opens, _closes in self._windows(day):
                if opens >= moment:
                    return opens
            day += timedelta(days=1)
        raise ValueError(f"no working day within {MAX_DAYS_OFF} days of {moment:%d/%m/%Y}: check [index] holidays")

    def _windows(self, day: date) -> Iterable[tuple[datetime, datetime]]:
        if not self.is_working_day(day):
            return ()
        return [(datetime.combine(day, opens), datetime.combine(day, closes)) for opens, closes in WORKING_HOURS]
