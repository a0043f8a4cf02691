"""The shapes checks and the engine agree on: a check, what it sees, what it yields."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils

    from .config import Config
    from .periods import Judged, Period


# findings for the centre that no check plugin makes: the daemon's and the weekly report's own
OPERATOR_CHECK_TITLES = {
    "job.failing": "Tác vụ định kỳ lỗi nhiều lần liên tiếp",
    "letter.failed": "Không lập được thư tuần của một đơn vị",
}


@dataclass(frozen=True)
class Finding:
    """One violation at one unit about one subject."""

    check: str
    unit: str
    subject: str
    title: str
    severity: str = "medium"
    details: dict[str, Any] = field(default_factory=dict)
    period: str | None = None


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may look at: observations (read-only), the rules, the units in scope."""

    db: sqlite_utils.Database
    config: Config
    units: tuple[str, ...]
    period: Period
    now: datetime
    judged: Judged | None = None  # for rate checks: whether `period` is running, settling or final
    memo: dict[str, Any] = field(default_factory=dict)  # figures several checks share, computed once a run

    def query(self, sql: str, params: Iterable[Any] = ()) -> Iterable[dict[str, Any]]:
        return self.db.query(sql, list(params))


@dataclass(frozen=True)
class Check:
    """A registered check: its stable id, Vietnamese title and the pure function that finds violations."""

    id: str
    title: str
    find: Callable[[CheckContext], Iterable[Finding]]
    severity: str = "medium"
    per_period: bool = False  # one finding per unit and period (rates), scoped to that period
    # the units this check has fresh evidence for; the others are left untouched (None: all of them)
    evidence: Callable[[CheckContext], Iterable[str]] | None = None
    source: str | None = None  # the source `check` refreshes first unless --offline (e.g. "listings")

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]
