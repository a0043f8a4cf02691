"""The 766 index judges nothing by itself; only where rules.toml sets [index].minimum_points does a unit
scoring below that share of its computable points get a finding (with what would raise it most)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

from auditbot import (
    Check,
    CheckContext,
    Finding,
    formula_path,
    gain_sentence,
    hookimpl,
    index_results,
    load_formulas,
    percent,
    points_text,
    two_decimals,
)


def below_minimum(context: CheckContext) -> Iterator[Finding]:
    minimum = context.config.index.minimum_points
    if minimum is None:
        return
    table = load_formulas(formula_path(context.config.report.templates))
    period = context.period
    for result in index_results(context, table):
        if result.total is None or not result.scored_max:
            continue
        share = result.total * 100 / result.scored_max
        if share >= Fraction(str(minimum)):
            continue
        yield Finding(
            check="index.below_minimum", unit=result.group, subject=period.label, period=period.label,
            title=(f"Chỉ số 766 tạm tính {period.name}: {points_text(result.total)}/{points_text(result.scored_max)}"
                   f" điểm tính được ({percent(two_decimals(share))}), dưới mức {percent(minimum)} của tỉnh"),
            details={"points": two_decimals(result.total), "scored_max": two_decimals(result.scored_max),
                     "share": two_decimals(share), "minimum": minimum, "period": period.label,
                     "gains": [gain_sentence(s) for s in result.gains()[:3]]})


@hookimpl
def auditbot_checks() -> list[Check]:
    return [Check("index.below_minimum", "Chỉ số 766 tạm tính dưới mức tỉnh đặt ra", below_minimum, per_period=True,
                  details=("points", "scored_max", "share", "minimum", "period", "gains"))]
