"""The province's Phụ lục I–IV as it sends them to all sở and xã: lists of units, not of dossiers.

I: units with overdue dossiers in process (how many each); II: result digitisation below the bar;
III: online share below the bar; IV: online payment below the bar. Grouped by unit kind in the order
annexes.toml names the kinds (sở, ban, ngành, then xã, phường), worst first, with counts, rate and
threshold. The weekly summary builds them from the open findings, so they agree with what each unit
was told; `report --period` builds them from a period's figures (final once frozen).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from auditbot.config.rules import Config
from auditbot.domain.rates import Figures, share
from auditbot.report.annex_table import Row, Table
from auditbot.report.layout import Column, Layout, Section, display, value_of

ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII")


@dataclass(frozen=True)
class Measure:
    """How one annex judges a unit from its figures: numerator, denominator, threshold, and direction."""

    check: str
    figure: str
    numerator: str
    denominator: str
    threshold: str
    minimum: bool


MEASURES = {
    "rate.digitisation": Measure("rate.digitisation", "digitisation_rate", "digitised", "digitised_known",
                                 "digitisation_min", True),
    "rate.online": Measure("rate.online", "online_rate", "online", "channel_known", "online_min", True),
    "rate.online_payment": Measure("rate.online_payment", "online_payment_rate", "paid_online", "fee_paid",
                                   "online_payment_min", True),
}
OVERDUE = "dossier.overdue"


def rows_from_findings(findings: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """check id -> one row per unit: overdue dossiers counted, rate findings as they are (one per period)."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    overdue: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in findings:
        if finding["check"] == OVERDUE:
            overdue[finding["unit"]].append(finding)
        elif finding["check"] in MEASURES:
            rows[finding["check"]].append({"unit": finding["unit"], "first_seen": finding["first_seen"],
                                           **finding["details"]})
    for unit, items in overdue.items():
        rows[OVERDUE].append({"unit": unit, "count": len(items), "first_seen": min(f["first_seen"] for f in items)})
    return rows


def rows_from_figures(config: Config, figures: dict[str, Figures], period_name: str) -> dict[str, list[dict[str, Any]]]:
    """check id -> one row per unit whose period figures miss the bar (min_dossiers applies as in checks)."""
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for unit in config.units:
        item = figures.get(unit.code)
        if item is None:
            continue
        if item.overdue_open and item.unfinished_due_known:
            rows[OVERDUE].append({"unit": unit.code, "count": item.overdue_open})
        thresholds = config.thresholds_for(unit.kind)
        for check, measure in MEASURES.items():
            numerator, denominator = getattr(item, measure.numerator), getattr(item, measure.denominator)
            if measure.check == "rate.online_payment" and not item.payment_known:
                continue
            limit = getattr(thresholds, measure.threshold)
            if denominator < thresholds.min_dossiers or numerator * 100 >= limit * denominator:
                continue
            rows[check].append({"unit": unit.code, "numerator": numerator, "denominator": denominator,
                                "rate": share(numerator, denominator, config.rounding.get(measure.figure, "cut")),
                                "threshold": limit, "period_name": period_name})
    return rows


def unit_annex_tables(config: Config, layout: Layout, rows: dict[str, list[dict[str, Any]]],
                      footnotes: dict[str, list[str]] | None = None, status: Any = None) -> list[Table]:
    """One table per annex of [[unit_annexes]] that has rows: kinds in order, worst unit first.
    `status(row) -> (text, fresh)` fills the Tình trạng column (the weekly summary); None leaves it out."""
    tables = []
    kind_order = {kind: i for i, kind in enumerate(layout.kinds)}
    for section in layout.unit_annexes:
        check = section.checks[0]
        found = rows.get(check, [])
        if not found:
            continue
        measure = MEASURES.get(check)
        for row in found:
            row["unit_name"] = _unit_name(config, row["unit"])
            row["kind"] = _unit_kind(config, row["unit"])

        def worst(row: dict[str, Any], measure: Any = measure) -> tuple[Any, ...]:
            if measure is None:
                badness = -row["count"]
            else:
                badness = (row.get("rate") or 0.0) if measure.minimum else -(row.get("rate") or 0.0)
            return kind_order.get(row["kind"], len(kind_order)), badness, row["unit_name"]

        tables.append(_table(layout, section, sorted(found, key=worst), (footnotes or {}).get(check, []), status))
    return tables


def _table(layout: Layout, section: Section, rows: list[dict[str, Any]], footnotes: list[str],
           status: Any) -> Table:
    labels = layout.labels
    columns = [Column(labels["unit"], "unit_name", "text", 36), *section.columns]
    out: list[Row] = []
    group, groups, number = None, 0, 0
    for row in rows:
        if row["kind"] != group:  # a heading row per kind: "I. Sở, ban, ngành"; numbering restarts under it
            group, number = row["kind"], 0
            out.append(Row([], [], "", False, "", heading=f"{ROMAN[min(groups, len(ROMAN) - 1)]}."
                                                           f" {layout.kinds.get(group, group)}"))
            groups += 1
        number += 1
        values = [value_of({"details": {}, **row}, column) for column in columns]
        text, fresh = status(row) if status else ("", False)
        out.append(Row([number, *values, text] if status else [number, *values],
                       [str(number), *(display(v, c.format) for v, c in zip(values, columns))], text, fresh,
                       row["unit"]))
    headings = [labels["stt"], *(c.heading for c in columns)]
    widths = [6, *(c.width for c in columns)]
    formats = ["number", *(c.format for c in columns)]
    if status:
        headings, widths, formats = [*headings, labels["status"]], [*widths, 18], [*formats, "text"]
    return Table(section, headings, widths, formats, out, footnotes, has_status=bool(status))


def _unit_name(config: Config, code: str) -> str:
    try:
        return config.unit(code).name
    except KeyError:
        return code


def _unit_kind(config: Config, code: str) -> str:
    try:
        return config.unit(code).kind
    except KeyError:
        return ""
