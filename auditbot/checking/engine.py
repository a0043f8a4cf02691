"""Run checks over observations and hand what they find to the store, one scope at a time."""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from auditbot.checking import selection
from auditbot.checking.plugins import registered_checks
from auditbot.checking.types import Check, CheckContext
from auditbot.config.rules import Config
from auditbot.domain.clock import local_now
from auditbot.domain.lineage import Lineage
from auditbot.domain.rates import Figures
from auditbot.index766.formula import formula_path, load_formulas
from auditbot.index766.inputs import index_results, index_rows
from auditbot.store import CENTRE, Finding, LifecycleCounts, Scope, Store
from auditbot.store.figures import unit_figures
from auditbot.words.periods import FINAL, Judged, Period, judged_periods


@dataclass
class CheckRun:
    run_id: int
    counts: LifecycleCounts
    findings: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # a source read on the way that could not be, one line each


def select_checks(config: Config, requested: Iterable[str] | None) -> list[Check]:
    """The checks asked for (ids or families, any case); without any, every check not disabled."""
    available = registered_checks()
    chosen = selection.checks(requested, available)
    if chosen is None:
        return [check for cid, check in available.items() if cid not in config.disabled_checks]
    return [available[cid] for cid in chosen]


def select_units(config: Config, codes: Iterable[str], all_units: bool) -> list[str]:
    return selection.units(config, [] if all_units else codes)


def run_checks(config: Config, store: Store, checks: list[Check], units: list[str], now: datetime,
               trigger: str = "cli") -> CheckRun:
    """Each check runs in its own scope; one failing check is recorded and never stops the others.

    Rate checks judge two periods: the running one (provisional) and the last closed one, whose verdict
    stands until the next one closes. The closed period is recomputed while it settles, then frozen.
    """
    store.expire_mutes(now)
    judged = judged_periods(config.dossiers.period, now.date(), config.dossiers.settle_days, store.frozen_periods())
    running = judged[-1].period
    overall = Scope(frozenset(c.id for c in checks), frozenset(units), running.label)
    run_id = store.start_run(trigger, "check", overall, now)
    contexts = [_context(config, store, units, item, now) for item in judged]
    context = contexts[-1]
    result = CheckRun(run_id=run_id, counts=LifecycleCounts())
    result.counts.add(_hand_over(config, store, run_id, now))
    for check in checks:
        try:
            # operator findings are the centre's: a run covers them wherever it covers the source
            covered = set(units) if check.evidence is None else set(check.evidence(context)) & {*units, CENTRE}
            if check.per_period:  # findings of periods no longer judged are superseded by the newer verdicts
                scope = Scope(frozenset({check.id}), frozenset(covered), None,
                              frozenset(item.period.label for item in judged))
                produced = [_with_policy(config, check, f) for each in contexts for f in check.find(each)]
            else:
                scope = Scope(frozenset({check.id}), frozenset(covered))
                produced = [_with_policy(config, check, f) for f in check.find(context)]
        except Exception:  # noqa: BLE001 a broken check is an operator problem, not a reason to stop the run
            result.errors.append(f"{check.id}: {traceback.format_exc(limit=3)}")
            continue
        result.counts.add(store.record(run_id, scope, produced, now))
    if any(check.per_period for check in checks):
        for each in contexts:  # the day's figures of periods not final yet; a final one's are frozen once
            if each.judged is not None and each.judged.state != FINAL:
                store.record_figures(run_id, figure_rows(config, each.period, each.figures(), each.units), now)
        closing = judged[0]
        if closing.state == FINAL and not closing.frozen:  # once, for every unit, whatever this run covered
            everyone = Lineage.of(config).figure_units(closing.period.start, closing.period.end)
            final = unit_figures(config, store.db, closing.period, everyone)
            store.freeze_period(closing.period, run_id, figure_rows(config, closing.period, final, everyone), now)
        try:  # the running period's 766 index, for the letters and the dashboard; it informs, it judges nothing
            table = load_formulas(formula_path(config.report.templates))
            store.record_index(run_id, index_rows(context, index_results(context, table)), now)
        except Exception:  # noqa: BLE001 a broken formula table is the operator's to fix; the findings stand
            result.errors.append(f"index: {traceback.format_exc(limit=3)}")
    store.finish_run(run_id, local_now(config), result.counts, "\n".join(result.errors) or None)
    result.findings = store.findings(units=[*units, CENTRE], statuses=["open"], checks=[c.id for c in checks])
    return result


def run_centre_checks(config: Config, store: Store, check_ids: list[str], now: datetime,
                      trigger: str) -> CheckRun:
    """Checks of auditbot's own health, after the daemon or the report recorded what happened."""
    return run_checks(config, store, select_checks(config, check_ids), [], now, trigger)


def _hand_over(config: Config, store: Store, run_id: int, now: datetime) -> LifecycleCounts:
    """The findings of units that have ended pass to whoever took over their subject, or are closed."""
    lineage = Lineage.of(config)
    ended = lineage.ended(now.date())
    if not ended:
        return LifecycleCounts()
    orphans = store.findings(units=ended, statuses=["open", "muted"])
    return store.hand_over(run_id, [(f["id"], lineage.taker(f, now.date())) for f in orphans], now)


def _context(config: Config, store: Store, units: list[str], judged: Judged, now: datetime) -> CheckContext:
    context = CheckContext(db=store.db, config=config, units=tuple(units), period=judged.period, now=now,
                           judged=judged)
    if judged.frozen:  # a final period's figures are what was frozen, whatever arrived later
        context.memo["unit_figures"] = store.final_figures(judged.period.label)
    return context


def figure_rows(config: Config, period: Period, figures: dict[str, Figures],
                units: Iterable[str]) -> list[dict[str, Any]]:
    """Figures per unit with the thresholds they were held to: the history Datasette charts."""
    rows = []
    for code in units:
        unit = config.unit(code)
        thresholds = config.thresholds_for(unit.kind)
        row = (figures.get(code) or Figures(group=code)).as_row(config.rounding)
        rows.append({
            "unit": row.pop("group"), "kind": unit.kind, "period": period.label,
            "period_start": period.start.isoformat(), "period_end": period.end.isoformat(), **row,
            "digitisation_min": thresholds.digitisation_min, "online_min": thresholds.online_min,
            "online_payment_min": thresholds.online_payment_min, "overdue_max": thresholds.overdue_max,
        })
    return rows


def _with_policy(config: Config, check: Check, finding: Finding) -> Finding:
    severity = config.severities.get(check.id, finding.severity or check.severity)
    if severity == finding.severity:
        return finding
    return Finding(**{**finding.__dict__, "severity": severity})
