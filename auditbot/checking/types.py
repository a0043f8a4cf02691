"""The shapes checks and the engine agree on: a check, what it sees, what it yields."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlite_utils

from auditbot.config.rules import Config
from auditbot.domain.lineage import Lineage
from auditbot.domain.rates import Figures
from auditbot.store.figures import unit_figures
from auditbot.store.lifecycle import Finding
from auditbot.words.periods import Judged, Period, parse_period

__all__ = ["CENTRE_AUDIENCE", "SYNC_AUDIENCE", "UNIT_AUDIENCE", "Check", "CheckContext", "Finding"]

UNIT_AUDIENCE = "unit"      # told to the unit, in its weekly letter's annexes
CENTRE_AUDIENCE = "centre"  # told to the centre only: why a unit cannot be judged, or auditbot's own health
SYNC_AUDIENCE = "sync"      # about a unit's dossiers, told to whoever [routing] sync names and the centre


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may look at: observations (read-only, through store.observations), the rules,
    the units in scope, the period judged."""

    db: sqlite_utils.Database
    config: Config
    units: tuple[str, ...]
    period: Period
    now: datetime
    judged: Judged | None = None  # for rate checks: whether `period` is running, settling or final
    memo: dict[str, Any] = field(default_factory=dict)  # what several checks share, computed once a run

    def figures(self) -> dict[str, Figures]:
        """The period's per-unit figures, computed once and shared by the rate checks and the history
        (a final period's are those frozen, put here by the engine)."""
        if "unit_figures" not in self.memo:
            self.memo["unit_figures"] = unit_figures(self.config, self.db, self.period, self.units)
        figures: dict[str, Figures] = self.memo["unit_figures"]
        return figures

    def month_figures(self, label: str) -> dict[str, Figures]:
        """The per-unit figures of one month (mm/yyyy) of the units in scope, computed once a run."""
        key = f"month_figures:{label}"
        if key not in self.memo:
            self.memo[key] = unit_figures(self.config, self.db, parse_period(label), self.units)
        figures: dict[str, Figures] = self.memo[key]
        return figures

    @property
    def lineage(self) -> Lineage:
        if "lineage" not in self.memo:
            self.memo["lineage"] = Lineage.of(self.config)
        lineage: Lineage = self.memo["lineage"]
        return lineage

    def dossier_units(self) -> list[str]:
        """Whose stored dossiers the units in scope answer for: themselves and the units they took over from."""
        return self.lineage.with_ancestors(self.units)

    def answering(self, unit: str, heir: str | None = None) -> str | None:
        """The unit in scope answering today for a dossier stored under `unit`, or None if none does."""
        owner = self.lineage.heir(unit, self.now.date(), heir)
        return owner if owner in self.units else None


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
    audience: str = UNIT_AUDIENCE
    # the keys each finding's details carry: the annexes' columns may name only these (a test holds them to it)
    details: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]
