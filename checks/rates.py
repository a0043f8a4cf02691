"""Rate checks: digitisation (Phụ lục II), online submission (III), online payment (IV), overdue share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from auditbot import (
    FINAL,
    RUNNING,
    SETTLING,
    Check,
    CheckContext,
    Figures,
    Finding,
    Judged,
    Thresholds,
    day,
    exemption_text,
    hookimpl,
    number,
    percent,
    share,
)


@dataclass(frozen=True)
class RateRule:
    check: str
    title: str
    numerator: Callable[[Figures], int]
    denominator: Callable[[Figures], int]
    threshold: Callable[[Thresholds], float]
    minimum: bool  # True: the rate must reach the threshold; False: it must not exceed it

    @property
    def name(self) -> str:
        """digitisation, online, ...: the rate's key under [exemptions]."""
        return self.check.split(".", 1)[1]

    @property
    def figure(self) -> str:
        """digitisation_rate, online_rate, ...: the figure's key under [rounding] and in `rates`."""
        return f"{self.name}_rate"


RULES = (
    RateRule("rate.digitisation", "Tỷ lệ số hóa kết quả", lambda f: f.digitised, lambda f: f.digitised_known,
             lambda t: t.digitisation_min, True),
    RateRule("rate.online", "Tỷ lệ hồ sơ trực tuyến", lambda f: f.online, lambda f: f.channel_known,
             lambda t: t.online_min, True),
    RateRule("rate.online_payment", "Tỷ lệ thanh toán trực tuyến", lambda f: f.paid_online,
             lambda f: f.fee_paid if f.payment_known else 0,
             lambda t: t.online_payment_min, True),
    RateRule("rate.overdue", "Tỷ lệ hồ sơ quá hạn", lambda f: f.overdue, lambda f: f.overdue_base,
             lambda t: t.overdue_max, False),
)


def breaches(rule: RateRule, numerator: int, denominator: int, threshold: float) -> bool:
    """Exact comparison (no rounding): 8.999 of 10.000 is below 90%, 9.000 of 10.000 is not."""
    if rule.minimum:
        return numerator * 100 < threshold * denominator
    return numerator * 100 > threshold * denominator


RATE_DETAILS = ("numerator", "denominator", "rate", "threshold", "period", "period_name", "from", "to",
                "provisional", "state", "footnote")


def exemption_note(context: CheckContext, rule: RateRule) -> dict[str, str]:
    text = exemption_text(context.config, rule.name)
    return {"footnote": text} if text else {}


def period_words(judged: Judged, today: date) -> str:
    """How a letter names the period its figures cover, and how final they are."""
    if judged.state == RUNNING:
        return f"{judged.period.name}, tạm tính đến {day(today)}"
    if judged.state == SETTLING:
        return f"{judged.period.name}, đang chốt số liệu đến {day(judged.settles_on)}"
    return judged.period.name


def rate_check(rule: RateRule) -> Callable[[CheckContext], Iterator[Finding]]:
    def find(context: CheckContext) -> Iterator[Finding]:
        figures = context.figures()
        today = context.now.date()
        judged = context.judged or Judged(context.period, FINAL, context.period.end, context.period.end, False)
        elapsed = judged.elapsed_percent(today)
        for code in context.units:
            unit = context.config.unit(code)
            thresholds = context.config.thresholds_for(unit.kind)
            item = figures.get(code)
            if item is None or elapsed < thresholds.min_period_elapsed:
                continue  # the first days of a period judge a handful of dossiers, not the unit
            numerator, denominator = rule.numerator(item), rule.denominator(item)
            limit = rule.threshold(thresholds)
            if denominator < thresholds.min_dossiers or not breaches(rule, numerator, denominator, limit):
                continue
            rate = share(numerator, denominator, context.config.rounding.get(rule.figure, "cut"))
            relation = "dưới" if rule.minimum else "vượt"
            when = period_words(judged, today)
            yield Finding(
                check=rule.check, unit=code, subject=context.period.label, period=context.period.label,
                title=(f"{rule.title} {percent(rate)} {relation} ngưỡng {percent(limit)}"
                       f" ({number(numerator)}/{number(denominator)} hồ sơ, {when})"),
                details={"numerator": numerator, "denominator": denominator, "rate": rate, "threshold": limit,
                         "period": context.period.label, "period_name": when,
                         "from": context.period.start.isoformat(), "to": context.period.end.isoformat(),
                         "provisional": judged.state != FINAL, "state": judged.state,
                         **exemption_note(context, rule)})

    find.__name__ = rule.check.replace(".", "_")
    return find


@hookimpl
def auditbot_checks() -> list[Check]:
    return [Check(rule.check, rule.title, rate_check(rule), per_period=True, details=RATE_DETAILS) for rule in RULES]
