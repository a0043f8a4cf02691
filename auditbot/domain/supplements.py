"""Waiting for the citizen is not the unit's delay: a dossier's due date after its supplement requests.

The national counting rule (Decision 766/QĐ-TTg and its formula guide): a dossier is on time when it
finishes by its due date after deducting the time it waited for the citizen to bring the papers asked
for; a second supplement request for the same dossier counts it overdue whatever the dates. The
deduction is calendar time, from each request to the day the papers came back. While a request is
still open the clock is stopped: the dossier cannot become overdue before the papers arrive.

Where the export's own due date is already the one the system moved after the last request (the
request's `due_after`), that wait is in it already and nothing more is deducted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

SECOND_REQUEST = 2  # from this many requests, the dossier counts overdue


@dataclass(frozen=True)
class SupplementClock:
    due_effective_at: str | None  # the due date after deducting the waits (None: no supplement history)
    requests: int | None          # supplement requests made (None: the export carries no history)
    waiting_since: str | None     # an open request: the clock stopped then
    waited_days: float = 0.0      # what was deducted, for the finding's details

    def as_columns(self) -> tuple[str | None, int | None, str | None]:
        return self.due_effective_at, self.requests, self.waiting_since


NO_HISTORY = SupplementClock(None, None, None)


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def supplement_clock(due_at: str | None, supplements: str | None) -> SupplementClock:
    """Read the supplement history stored with a dossier (a JSON list of {requested_at, received_at,
    due_before, due_after}); anything unreadable in it deducts nothing."""
    if not supplements:
        return NO_HISTORY
    try:
        items = [item for item in json.loads(supplements) if isinstance(item, dict)]
    except (ValueError, TypeError):
        return NO_HISTORY
    requested = [item for item in items if _moment(item.get("requested_at"))]
    waited = timedelta()
    waiting_since = None
    for item in requested:
        start, back = _moment(item.get("requested_at")), _moment(item.get("received_at"))
        assert start is not None
        if back is None:
            waiting_since = start if waiting_since is None else min(waiting_since, start)
        elif back > start:
            waited += back - start
    due = _moment(due_at)
    moved = [_moment(item.get("due_after")) for item in requested if _moment(item.get("due_after"))]
    if due is not None and moved and due == moved[-1]:
        waited = timedelta()  # the system already moved the due date by the wait
    effective = None if due is None else (due + waited).strftime("%Y-%m-%d %H:%M:%S")
    return SupplementClock(effective, len(requested),
                           waiting_since.strftime("%Y-%m-%d %H:%M:%S") if waiting_since else None,
                           round(waited.total_seconds() / 86400, 1))
