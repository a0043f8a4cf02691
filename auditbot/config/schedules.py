"""Schedule phrases from rules.toml ("every day at 02:00", "every monday at 07:30", "every 1 hour",
"every 5 seconds") -> jobs on a `schedule.Scheduler`, in the province's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import schedule

LONGEST = timedelta(days=366)
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
UNITS = {"second": "seconds", "minute": "minutes", "hour": "hours", "day": "days", "week": "weeks"}
PHRASE = re.compile(
    r"every\s+(?:(?P<count>\d+)\s+)?(?P<unit>seconds?|minutes?|hours?|days?|weeks?|" + "|".join(WEEKDAYS) + r")"
    r"(?:\s+at\s+(?P<at>\d{1,2}:\d{2}))?$")


@dataclass(frozen=True)
class When:
    count: int
    unit: str            # seconds | minutes | hours | days | weeks | a weekday
    at: str | None       # "HH:MM" for daily and weekly jobs

    def attach(self, scheduler: schedule.Scheduler, timezone: str) -> schedule.Job:
        job = scheduler.every(self.count)
        job = getattr(job, self.unit)
        attached: schedule.Job = job.at(self.at, timezone) if self.at else job
        return attached

    def last_due(self, now: datetime) -> datetime | None:
        """The latest moment at or before `now` this job was due (for jobs at a set time), for catch-up."""
        if self.at is None:
            return None
        hour, minute = map(int, self.at.split(":"))
        due = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if self.unit in WEEKDAYS:
            due -= timedelta(days=(now.weekday() - WEEKDAYS.index(self.unit)) % 7)
        return due if due <= now else due - timedelta(days=7 if self.unit in WEEKDAYS else 1)


def parse(phrase: str) -> When:
    """Raise ValueError saying what is accepted when the phrase is not understood."""
    match = PHRASE.match(" ".join(phrase.lower().split()))
    if not match:
        raise ValueError(f"not a schedule phrase: {phrase!r} (e.g. \"every day at 02:00\", \"every monday at 07:30\","
                         " \"every 1 hour\", \"every 5 seconds\")")
    count = int(match["count"] or 1)
    unit, at = match["unit"], match["at"]
    if unit in WEEKDAYS:
        if match["count"]:
            raise ValueError(f"{phrase!r}: say \"every {unit}\", without a number")
        return When(1, unit, at)
    if count < 1:
        raise ValueError(f"{phrase!r}: the interval must be at least 1")
    if at:
        if not unit.startswith("day") or count != 1:
            raise ValueError(f"{phrase!r}: \"at\" goes with \"every day\" or a weekday")
        hour, minute = map(int, at.split(":"))
        if hour > 23 or minute > 59:
            raise ValueError(f"{phrase!r}: {at} is not a time of day")
        return When(1, "days", f"{hour:02d}:{minute:02d}")
    unit = UNITS[unit.rstrip("s")]
    if count > LONGEST / timedelta(**{unit: 1}):  # `every 99999999999 days` would overflow the scheduler
        raise ValueError(f"{phrase!r}: the interval is longer than a year")
    return When(count, unit, None)
