"""The Decision 766 index, computed from the province's own counts: the formula table (templates/index766.toml)
read and checked, and each indicator's rate and points for one unit, unit kind or the province.

The table says what counts make each rate and how a rate becomes points; this module only does the
arithmetic, in exact fractions (80% of the threshold is full points, 79,99% is not). A count the
province's data lacks makes the indicator "no data"; a maximum or a conversion the sources do not give
leaves the points unknown. Neither is ever 0.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from auditbot.config import bundled
from auditbot.domain.rates import Figures
from auditbot.errors import ConfigError
from auditbot.words.vietnamese import number, percent

FILE = "index766.toml"

# what auditbot counts, by the names the formula table uses
MEASURES = ("listed_on_time", "listing_due", "on_time_or_within", "progress_base", "online_full", "full_eligible",
            "online", "channel_base", "paid_online", "fee_dossiers", "e_results", "e_results_base",
            "digitised_both", "digitised_both_base", "reused", "reuse_base")

SCORED, RATE_ONLY, NO_DOSSIERS, NO_DATA = "scored", "rate_only", "no_dossiers", "no_data"
STATE_WORDS = {RATE_ONLY: "chưa xác định cách tính điểm", NO_DOSSIERS: "mẫu số bằng 0 trong kỳ (không có đối tượng để tính)",
               NO_DATA: "chưa có dữ liệu"}


@dataclass(frozen=True)
class Group:
    key: str
    name: str
    points: Fraction


@dataclass(frozen=True)
class Indicator:
    id: str
    group: str
    name: str
    short: str
    basis: str
    points: Fraction | None = None
    full_at: Fraction | None = None     # percent
    numerator: str | None = None
    denominator: str | None = None
    factor: str | None = None
    needs: str | None = None
    portal_code: str | None = None


@dataclass(frozen=True)
class FormulaTable:
    path: Path
    groups: tuple[Group, ...]
    indicators: tuple[Indicator, ...]
    sources: dict[str, str]
    publication_working_days: int = 5

    @property
    def points(self) -> Fraction:
        return sum((g.points for g in self.groups), Fraction(0))

    def group(self, key: str) -> Group:
        return next(g for g in self.groups if g.key == key)


def formula_path(templates: Path) -> Path:
    """The province's own table when its templates folder has one, the shipped one otherwise."""
    own = templates / FILE
    return own if own.is_file() else bundled.templates() / FILE


def load_formulas(path: Path) -> FormulaTable:
    """The formula table, checked: every number a number, every measure one auditbot counts, every group's
    indicators within its points."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        groups = tuple(Group(str(g["key"]), str(g["name"]), _fraction(g["points"])) for g in raw["groups"])
        indicators = tuple(_indicator(item) for item in raw["indicators"])
        sources = {str(k): str(v) for k, v in raw.get("sources", {}).items()}
        publication_days = raw["deadlines"]["publication_working_days"]
        if not isinstance(publication_days, int) or isinstance(publication_days, bool) or publication_days < 0:
            raise ValueError(f"deadlines.publication_working_days: expected a whole number ≥ 0, got {publication_days!r}")
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: not a valid index formula table ({type(exc).__name__}: {exc})") from None
    problems = []
    keys, ids = {g.key for g in groups}, [i.id for i in indicators]
    if len(set(ids)) != len(ids):
        problems.append("an indicator id is repeated")
    for item in indicators:
        where = f"indicator {item.id}"
        if item.group not in keys:
            problems.append(f"{where}: unknown group {item.group!r}")
        for measure in (item.numerator, item.denominator):
            if measure is not None and measure not in MEASURES:
                problems.append(f"{where}: auditbot does not count {measure!r} (it counts {', '.join(MEASURES)})")
        if (item.numerator is None) != (item.denominator is None):
            problems.append(f"{where}: give both numerator and denominator, or neither (and say what it needs)")
        if item.numerator is None and not item.needs:
            problems.append(f"{where}: without a numerator, `needs` says what data it would take")
        if item.factor is not None and item.factor not in ids:
            problems.append(f"{where}: factor {item.factor!r} is not an indicator")
        if item.full_at is not None and not 0 < item.full_at <= 100:
            problems.append(f"{where}: full_at is a percentage in (0, 100]")
    for group in groups:
        given = sum((i.points or 0 for i in indicators if i.group == group.key), Fraction(0))
        if given > group.points:
            problems.append(f"group {group.key}: its indicators' points ({given}) exceed the group's ({group.points})")
    if problems:
        raise ConfigError(f"{path}: {len(problems)} problem(s) in the index formula table", problems)
    return FormulaTable(path, groups, indicators, sources, publication_days)


def _fraction(value: Any) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return Fraction(str(value))


def _indicator(raw: dict[str, Any]) -> Indicator:
    optional = {key: raw.get(key) for key in ("numerator", "denominator", "factor", "needs", "portal_code")}
    return Indicator(
        id=str(raw["id"]), group=str(raw["group"]), name=str(raw["name"]), short=str(raw["short"]),
        basis=str(raw["basis"]),
        points=_fraction(raw["points"]) if "points" in raw else None,
        full_at=_fraction(raw["full_at"]) if "full_at" in raw else None,
        **{k: str(v) if v is not None else None for k, v in optional.items()})


def figure_measures(figures: Figures) -> dict[str, int | None]:
    """The dossier counts the index uses, from one unit's (or group's) figures; None where no dossier had
    the input (the exports lack the column), as the rates have it."""
    known = {"channel": figures.channel_known, "due": figures.overdue_base, "digitised": figures.digitised_known,
             "payment": figures.payment_known, "both": figures.both_known, "reuse": figures.reuse_known,
             "full": figures.full_known}

    def pair(numerator: int, denominator: int, base: str) -> tuple[int | None, int | None]:
        return (numerator, denominator) if known[base] else (None, None)

    within = figures.unfinished_due_known - figures.overdue_open
    pairs = {
        ("on_time_or_within", "progress_base"): pair(figures.on_time + within, figures.overdue_base, "due"),
        ("online_full", "full_eligible"): pair(figures.online_full, figures.full_known, "full"),
        ("online", "channel_base"): pair(figures.online, figures.channel_known, "channel"),
        ("paid_online", "fee_dossiers"): pair(figures.paid_online, figures.fee_paid, "payment"),
        ("e_results", "e_results_base"): pair(figures.digitised, figures.digitised_known, "digitised"),
        ("digitised_both", "digitised_both_base"): pair(figures.digitised_both, figures.both_known, "both"),
        ("reused", "reuse_base"): pair(figures.reused, figures.reuse_known, "reuse"),
    }
    return {name: value for names, values in pairs.items() for name, value in zip(names, values, strict=True)}


@dataclass
class Score:
    indicator: Indicator
    numerator: int | None = None
    denominator: int | None = None
    rate: Fraction | None = None        # percent, exact
    points: Fraction | None = None
    state: str = NO_DATA

    @property
    def gain(self) -> Fraction | None:
        """What reaching the indicator's full-points rate would add."""
        if self.points is None or self.indicator.points is None:
            return None
        return self.indicator.points - self.points


@dataclass
class IndexResult:
    group: str                      # a unit's code, a unit kind, or the province
    scores: list[Score]
    table: FormulaTable = field(repr=False)

    @property
    def total(self) -> Fraction | None:
        scored = [s.points for s in self.scores if s.points is not None]
        return sum(scored, Fraction(0)) if scored else None

    @property
    def scored_max(self) -> Fraction:
        """The points the computed indicators can give: the total is out of these, not out of 100."""
        return sum((s.indicator.points or Fraction(0) for s in self.scores if s.points is not None), Fraction(0))

    def group_points(self, key: str) -> tuple[Fraction | None, Fraction]:
        scores = [s for s in self.scores if s.indicator.group == key and s.points is not None]
        if not scores:
            return None, Fraction(0)
        return (sum((s.points for s in scores if s.points is not None), Fraction(0)),
                sum((s.indicator.points or Fraction(0) for s in scores), Fraction(0)))

    def gains(self) -> list[Score]:
        """The indicators that would add points, most first: what an officer can act on."""
        found = [s for s in self.scores if s.gain]
        return sorted(found, key=lambda s: (-(s.gain or 0), s.indicator.id))


def score_index(table: FormulaTable, group: str, measures: Mapping[str, int | None]) -> IndexResult:
    scores: dict[str, Score] = {}
    for item in table.indicators:  # a factor comes before what it multiplies in the table, or is looked up after
        scores[item.id] = _score(item, measures)
    for item in table.indicators:
        if item.factor is not None:
            _apply_factor(scores[item.id], scores[item.factor])
    return IndexResult(group, list(scores.values()), table)


def _score(item: Indicator, measures: Mapping[str, int | None]) -> Score:
    if item.numerator is None or item.denominator is None:
        return Score(item)
    numerator, denominator = measures.get(item.numerator), measures.get(item.denominator)
    if numerator is None or denominator is None:
        return Score(item)
    if denominator == 0:
        return Score(item, numerator, denominator, state=NO_DOSSIERS)
    score = Score(item, numerator, denominator, Fraction(100 * numerator, denominator), state=RATE_ONLY)
    _convert(score)
    return score


def _apply_factor(score: Score, factor: Score) -> None:
    if score.rate is None:
        return
    if factor.rate is None:  # the guide multiplies by a rate the data does not give: unknown, not the bare share
        score.rate, score.points, score.state = None, None, NO_DATA
        return
    score.rate = score.rate * factor.rate / 100
    _convert(score)


def _convert(score: Score) -> None:
    item = score.indicator
    if score.rate is None or item.points is None or item.full_at is None:
        score.points, score.state = None, RATE_ONLY
        return
    score.points = min(item.points, item.points * score.rate / item.full_at)
    score.state = SCORED


def two_decimals(value: Fraction) -> float:
    """Half up to two decimals, from the exact value (no float ties)."""
    return float(Fraction(int(value * 100 + Fraction(1, 2)), 100))


def points_text(value: Fraction | None) -> str:
    """35,20 — always two decimals, so 6 and 6,00 never read differently."""
    if value is None:
        return "—"
    whole, _, cents = f"{two_decimals(value):,.2f}".partition(".")
    return f"{whole.replace(',', '.')},{cents}"


def rate_words(score: Score) -> str:
    if score.rate is None:
        return STATE_WORDS.get(score.state, "chưa có dữ liệu")
    return percent(two_decimals(score.rate))


def gain_sentence(score: Score) -> str:
    """"đạt 80% số hóa hồ sơ: +1,50 điểm" — the sentence an officer can act on."""
    item = score.indicator
    return f"đạt {number(two_decimals(item.full_at or Fraction(100)))}% {item.short}: +{points_text(score.gain)} điểm"


def headline(result: IndexResult) -> str:
    """"Chỉ số 766 tạm tính: 35,20/42,00 điểm tính được (tối đa 100,00; …)": never out of 100 when part is unknown."""
    return headline_of(result.total, result.scored_max, result.table.points)


def headline_of(total: Fraction | None, scored_max: Fraction, full: Fraction) -> str:
    if total is None:
        return "Chỉ số 766 tạm tính: chưa tính được chỉ tiêu nào từ dữ liệu hiện có"
    unknown = full - scored_max
    tail = f"; {points_text(unknown)} điểm chưa có dữ liệu hoặc chưa xác định" if unknown else ""
    return (f"Chỉ số 766 tạm tính: {points_text(total)}/{points_text(scored_max)} điểm tính được"
            f" (tối đa {points_text(full)}{tail})")
