"""The 766 index as people read it: a row per unit (or kind, or the province), an indicator's line, the
sentences of what reaching each threshold would add, and auditbot's figure beside the portal's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from auditbot.index766.formula import IndexResult, Score, gain_sentence, headline, points_text, rate_words, two_decimals
from auditbot.index766.portal_scores import PortalFigure
from auditbot.words.vietnamese import percent

ROW_FIELDS = ("group", "indicator", "name", "group_key", "numerator", "denominator", "rate", "points", "max_points",
              "state", "gain")
COMPARE_FIELDS = ("indicator", "name", "rate", "portal_rate", "rate_difference", "points", "portal_points",
                  "points_difference")
COMPARE_HEADERS = ("Chỉ tiêu", "Tên", "Tỷ lệ auditbot", "Tỷ lệ Cổng", "Chênh lệch", "Điểm auditbot", "Điểm Cổng",
                   "Chênh lệch điểm")


def _plain(value: Fraction | None) -> float | None:
    return None if value is None else two_decimals(value)


def indicator_rows(results: list[IndexResult]) -> list[dict[str, Any]]:
    """One plain row per group and indicator: what --format json and csv carry."""
    return [{"group": result.group, "indicator": s.indicator.id, "name": s.indicator.name,
             "group_key": s.indicator.group, "numerator": s.numerator, "denominator": s.denominator,
             "rate": _plain(s.rate), "points": _plain(s.points), "max_points": _plain(s.indicator.points),
             "state": s.state, "gain": _plain(s.gain)}
            for result in results for s in result.scores]


def summary_headers(result: IndexResult) -> list[str]:
    return ["Đơn vị", "Điểm", "Tính được", *(g.name for g in result.table.groups), "Mất nhiều điểm nhất"]


def summary_cells(result: IndexResult, label: Callable[[str], str]) -> list[str]:
    """A unit's line: its total out of the computable points, each group's points, its biggest loss."""
    groups = []
    for group in result.table.groups:
        points, scored_max = result.group_points(group.key)
        groups.append("—" if points is None else f"{points_text(points)}/{points_text(scored_max)}")
    gains = result.gains()
    return [label(result.group), points_text(result.total), points_text(result.scored_max), *groups,
            gain_sentence(gains[0]) if gains else "—"]


def detail_lines(result: IndexResult) -> list[str]:
    """Every indicator of one unit (or group): its rate, points, and why it has none."""
    lines = [headline(result)]
    for group in result.table.groups:
        points, scored_max = result.group_points(group.key)
        lines.append(f"{group.name} (tối đa {points_text(group.points)}): "
                     + ("chưa tính được" if points is None else f"{points_text(points)}/{points_text(scored_max)}"))
        for score in (s for s in result.scores if s.indicator.group == group.key):
            lines.append(f"  {score.indicator.id} {score.indicator.name}: {_score_words(score)}")
    gains = result.gains()
    if gains:
        lines.append("Điểm có thể tăng: " + "; ".join(gain_sentence(s) for s in gains))
    return lines


def _score_words(score: Score) -> str:
    item = score.indicator
    counts = f" ({score.numerator}/{score.denominator})" if score.denominator else ""
    if score.points is not None:
        return f"{rate_words(score)}{counts} → {points_text(score.points)}/{points_text(item.points)} điểm"
    if score.rate is not None:
        return f"{rate_words(score)}{counts}; điểm chưa xác định"
    if item.needs and item.numerator is None:
        return f"chưa có dữ liệu (cần {item.needs})"
    return rate_words(score)


def compare_rows(result: IndexResult, portal: Mapping[str, PortalFigure]) -> list[dict[str, Any]]:
    """Indicator by indicator, auditbot's province figure beside the portal's and the difference."""
    rows = []
    for score in result.scores:
        theirs = portal.get(score.indicator.id)
        if theirs is None:
            continue
        rows.append({"indicator": score.indicator.id, "name": score.indicator.name,
                     "rate": _plain(score.rate), "portal_rate": _plain(theirs.rate),
                     "rate_difference": _difference(score.rate, theirs.rate),
                     "points": _plain(score.points), "portal_points": _plain(theirs.points),
                     "points_difference": _difference(score.points, theirs.points)})
    return rows


def _difference(ours: Fraction | None, theirs: Fraction | None) -> float | None:
    return None if ours is None or theirs is None else two_decimals(ours - theirs)


def compare_cells(row: dict[str, Any]) -> list[str]:
    def signed(value: float | None, unit: str) -> str:
        if value is None:
            return "—"
        text = percent(abs(value)).rstrip("%") + unit
        return ("+" if value > 0 else "−" if value < 0 else "") + text

    def pts(value: float | None) -> str:
        return "—" if value is None else points_text(Fraction(str(value)))

    return [row["indicator"], row["name"], percent(row["rate"]), percent(row["portal_rate"]),
            signed(row["rate_difference"], " điểm %"), pts(row["points"]), pts(row["portal_points"]),
            signed(row["points_difference"], "")]
