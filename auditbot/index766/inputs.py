"""What the 766 index counts for each unit, from auditbot's observations: the period's dossier figures, and
how many procedures each unit posted on time after their publication decision.

"On time" needs positive evidence either way: a procedure first seen on a complete reading by its
deadline is on time; one still missing from a complete reading after the deadline is late; one whose
first sighting came after the deadline with no complete reading in between is neither (auditbot was not
looking), and is left out rather than guessed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from fractions import Fraction
from typing import Any

from auditbot.checking.listing_matches import catalogue_index
from auditbot.checking.types import CheckContext
from auditbot.domain.calendar import Calendar
from auditbot.domain.rates import Figures
from auditbot.index766.formula import (
    FormulaTable,
    IndexResult,
    figure_measures,
    gain_sentence,
    score_index,
    two_decimals,
)
from auditbot.store import observations


def publication_counts(context: CheckContext, table: FormulaTable) -> dict[str, tuple[int, int]]:
    """Per unit read in full at least once: (posted on time, procedures judged) among those whose
    publication decision falls in the period."""
    units = list(context.units)
    readings = observations.complete_readings(context.db, units)
    decided = observations.decided_procedures(context.db, context.period.start_at, context.period.end_at)
    index = catalogue_index(context)
    calendar = Calendar.of(context.config)
    first_seen: dict[tuple[str, str], str] = {}
    for row in observations.first_listings(context.db, readings):
        code = index.identify(row["code"] or None, row["name_key"]).code
        if code is not None:
            key = (row["unit"], code)
            first_seen[key] = min(first_seen.get(key, row["seen_at"]), row["seen_at"])

    def deadline(decided_at: str) -> str:  # the end of the last working day allowed
        day = datetime.fromisoformat(decided_at).date()
        return f"{calendar.add_working_days(day, table.publication_working_days)} 23:59:59"

    due = [(set(json.loads(p["units"])), p["code"], deadline(p["decided_at"])) for p in decided]
    counts: dict[str, tuple[int, int]] = {}
    for unit, times in readings.items():
        on_time = judged = 0
        for owners, code, last in due:
            if unit not in owners:
                continue
            seen = first_seen.get((unit, code))
            if seen is not None and seen <= last:
                on_time += 1
                judged += 1
            elif any(last < at and (seen is None or at < seen) for at in times):
                judged += 1  # a complete reading after the deadline did not show it
        counts[unit] = (on_time, judged)
    return counts


def unit_measures(context: CheckContext, table: FormulaTable) -> dict[str, dict[str, int | None]]:
    """Every count the formula table can ask for, per unit in scope (None: the data has no such count);
    computed once a run (the history and the minimum_points check share them)."""
    if "index_measures" in context.memo:
        cached: dict[str, dict[str, int | None]] = context.memo["index_measures"]
        return cached
    figures = context.figures()
    publication = publication_counts(context, table)
    measures: dict[str, dict[str, int | None]] = {}
    for unit in context.units:
        found = figure_measures(figures.get(unit) or Figures(group=unit))
        on_time, judged = publication.get(unit, (None, None))
        measures[unit] = {**found, "listed_on_time": on_time, "listing_due": judged}
    context.memo["index_measures"] = measures
    return measures


def summed(measures: Iterable[Mapping[str, int | None]]) -> dict[str, int | None]:
    """A group's counts: the sum of its units' known ones; unknown only when no unit's is known."""
    total: dict[str, int | None] = {}
    for each in measures:
        for name, value in each.items():
            if value is not None:
                total[name] = (total.get(name) or 0) + value
            else:
                total.setdefault(name, None)
    return total


def index_results(context: CheckContext, table: FormulaTable, by: str = "unit") -> list[IndexResult]:
    """The index per unit, per unit kind or for the province, over the context's period."""
    per_unit = unit_measures(context, table)
    if by == "unit":
        return [score_index(table, unit, per_unit[unit]) for unit in context.units]
    groups: dict[str, list[dict[str, int | None]]] = {}
    for unit in context.config.units:
        if unit.code in per_unit:
            key = unit.kind if by == "kind" else context.config.province
            groups.setdefault(key, []).append(per_unit[unit.code])
    return [score_index(table, key, summed(members)) for key, members in groups.items()]


def index_rows(context: CheckContext, results: Iterable[IndexResult]) -> list[dict[str, Any]]:
    """Per unit and indicator: the rows of the unit_index history."""
    rows = []
    for result in results:
        kind = context.config.unit(result.group).kind
        for score in result.scores:
            item = score.indicator
            rows.append({
                "period": context.period.label, "unit": result.group, "kind": kind, "indicator": item.id,
                "name": item.name, "group_key": item.group, "group_name": result.table.group(item.group).name,
                "numerator": score.numerator, "denominator": score.denominator,
                "rate": _decimal(score.rate), "points": _decimal(score.points), "max_points": _decimal(item.points),
                "state": score.state, "advice": gain_sentence(score) if score.gain else None})
    return rows


def _decimal(value: Fraction | None) -> float | None:
    return None if value is None else two_decimals(value)
