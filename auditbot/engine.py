"""Run checks over observations and hand what they find to the store, one scope at a time."""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import selection
from .clock import local_now
from .config import Config
from .model import Check, CheckContext, Finding
from .periods import Period
from .plugins import registered_checks
from .rates import Figures, run_figures
from .store import CENTRE, LifecycleCounts, Scope, Store


@dataclass
class CheckRun:
    run_id: int
    counts: LifecycleCounts
    findings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def select_checks(config: Config, requested: Iterable[str] | None) -> list[Check]:
    """The checks asked for (ids or families, any case); without any, every check not disabled."""
    available = registered_checks()
    chosen = selection.checks(requested, available)
    if chosen is None:
        return [check for cid, check in available.items() if cid not in config.disabled_checks]
    return [available[cid] for cid in chosen]


def select_units(config: Config, codes: Iterable[str], all_units: bool) -> list[str]:
    return selection.units(config, [] if all_units else codes)


def run_checks(config: Config, store: Store, checks: list[Check], units: list[str], period: Period,
               now: datetime, trigger: str = "cli") -> CheckRun:
    """Each check runs in its own scope; one failing check is recorded and never stops the others."""
    store.expire_mutes(now)
    overall = Scope(frozenset(c.id for c in checks), frozenset(units), period.label)
    run_id = store.start_run(trigger, "check", overall, now)
    context = CheckContext(db=store.db, config=config, units=tuple(units), period=period, now=now)
    result = CheckRun(run_id=run_id, counts=LifecycleCounts())
    for check in checks:
        try:
            # operator findings are the centre's: a run covers them wherever it covers the source
            covered = set(units) if check.evidence is None else set(check.evidence(context)) & {*units, CENTRE}
            scope = Scope(frozenset({check.id}), frozenset(covered), period.label if check.per_period else None)
            produced = [_with_policy(config, check, f) for f in check.find(context)]
        except Exception:  # a broken check is an operator problem, not a reason to stop the run
            result.errors.append(f"{check.id}: {traceback.format_exc(limit=3)}")
            continue
        result.counts.add(store.record(run_id, scope, produced, now))
    if any(check.family == "rate" for check in checks):
        store.record_figures(run_id, figure_rows(context), now)
    store.finish_run(run_id, local_now(config), result.counts, "\n".join(result.errors) or None)
    result.findings = store.findings(units=[*units, CENTRE], statuses=["open"], checks=[c.id for c in checks])
    return result


def figure_rows(context: CheckContext) -> list[dict[str, Any]]:
    """The run's figures per unit with the thresholds they were held to: the history Datasette charts."""
    figures = run_figures(context)
    rows = []
    for code in context.units:
        unit = context.config.unit(code)
        thresholds = context.config.thresholds_for(unit.kind)
        row = (figures.get(code) or Figures(group=code)).as_row()
        rows.append({
            "unit": row.pop("group"), "kind": unit.kind, "period": context.period.label,
            "period_start": context.period.start.isoformat(), "period_end": context.period.end.isoformat(), **row,
            "digitisation_min": thresholds.digitisation_min, "online_min": thresholds.online_min,
            "online_payment_min": thresholds.online_payment_min, "overdue_max": thresholds.overdue_max,
        })
    return rows


def _with_policy(config: Config, check: Check, finding: Finding) -> Finding:
    severity = config.severities.get(check.id, finding.severity or check.severity)
    if severity == finding.severity:
        return finding
    return Finding(**{**finding.__dict__, "severity": severity})
