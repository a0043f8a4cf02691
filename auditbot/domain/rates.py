"""The province's figures per unit, unit kind and province, exactly as DESIGN.md defines them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from auditbot.config.rules import DEFAULT_ROUNDING, Config
from auditbot.words import vietnamese
from auditbot.words.periods import FINAL, RUNNING, Period
from auditbot.words.vietnamese import percent

COUNTS = ("received", "online", "finished", "on_time", "late", "digitised", "fee_paid", "paid_online",
          "unfinished", "overdue_open", "online_full", "online_partial", "digitised_both", "reused")
# how many dossiers of each figure's base had its input at all (an export without a channel column has
# none): a figure is computed over those, and is unknown (null) when there are none. A procedure exempted
# from a rate in rules.toml counts as not having that rate's input. full_known / partial_known: dossiers
# with a channel whose procedure the catalogue lists as a full / partial online service. both_known: finished
# dossiers whose record says whether both inputs and result were digitised; reuse_known: dossiers whose record
# lists its documents (only the portal's sync records do): the 766 index's digitisation counts.
KNOWN = ("channel_known", "due_known", "digitised_known", "payment_known", "unfinished_due_known",
         "full_known", "partial_known", "both_known", "reuse_known")
RATES = ("online_rate", "on_time_rate", "digitisation_rate", "online_payment_rate", "overdue_rate",
         "online_full_rate", "online_partial_rate")
GROUPINGS = ("unit", "kind", "province")
UNKNOWN_TEXT = "không có dữ liệu"

def cut(numerator: int, denominator: int) -> float | None:
    """A percentage cut (not rounded) to two decimals: 238.144 of 238.146 is 99,99, never 100."""
    if not denominator:
        return None
    return (numerator * 10000 // denominator) / 100


def rounded(numerator: int, denominator: int) -> float | None:
    """A percentage rounded half up to two decimals, in integers (no float ties): 291 of 320 is 90,94."""
    if not denominator:
        return None
    return ((numerator * 20000 + denominator) // (2 * denominator)) / 100


def share(numerator: int, denominator: int, rule: str = "cut") -> float | None:
    return rounded(numerator, denominator) if rule == "round" else cut(numerator, denominator)


def exemption_text(config: Config, rate: str) -> str | None:
    """The annex's footnote for a rate that leaves procedures out: which, and why."""
    exemption = config.exemptions.get(rate)
    if exemption is None:
        return None
    named = [*(f"thủ tục {code}" for code in exemption.procedures), *(f"lĩnh vực {f}" for f in exemption.fields)]
    return f"Không tính {', '.join(named)}: {exemption.reason}"


@dataclass
class Figures:
    group: str
    received: int = 0
    online: int = 0
    finished: int = 0
    on_time: int = 0
    late: int = 0
    digitised: int = 0
    fee_paid: int = 0
    paid_online: int = 0
    unfinished: int = 0
    overdue_open: int = 0
    channel_known: int = 0
    due_known: int = 0
    digitised_known: int = 0
    payment_known: int = 0
    unfinished_due_known: int = 0
    online_full: int = 0
    online_partial: int = 0
    full_known: int = 0
    partial_known: int = 0
    digitised_both: int = 0
    reused: int = 0
    both_known: int = 0
    reuse_known: int = 0

    @classmethod
    def from_row(cls, group: str, row: dict[str, Any]) -> Figures:
        """Counts as stored (an unknown one is NULL there: its base's known count says so again)."""
        return cls(group=group, **{name: int(row.get(name) or 0) for name in (*COUNTS, *KNOWN)})

    def add(self, other: Figures) -> None:
        for name in (*COUNTS, *KNOWN):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def overdue(self) -> int:
        return self.late + self.overdue_open

    @property
    def overdue_base(self) -> int:
        return self.due_known + self.unfinished_due_known

    def rates(self, rounding: Mapping[str, str] = DEFAULT_ROUNDING) -> dict[str, float | None]:
        """Each rate cut or rounded as [rounding] says (the province's own way by default)."""
        counts = {
            "online_rate": (self.online, self.channel_known),
            "on_time_rate": (self.on_time, self.due_known),
            "digitisation_rate": (self.digitised, self.digitised_known),
            "online_payment_rate": (self.paid_online, self.fee_paid if self.payment_known else 0),
            "overdue_rate": (self.overdue, self.overdue_base),
            "online_full_rate": (self.online_full, self.full_known),
            "online_partial_rate": (self.online_partial, self.partial_known),
        }
        return {rate: share(numerator, denominator, rounding.get(rate, "cut"))
                for rate, (numerator, denominator) in counts.items()}

    def unknown(self) -> set[str]:
        """The counts whose base has dossiers, none of which had the input: not 0, unknown."""
        absent = {
            ("online",): self.received and not self.channel_known,
            ("on_time", "late"): self.finished and not self.due_known,
            ("digitised",): self.finished and not self.digitised_known,
            ("fee_paid", "paid_online"): self.received and not self.payment_known,
            ("overdue_open",): self.unfinished and not self.unfinished_due_known,
            ("digitised_both",): self.finished and not self.both_known,
            ("reused",): self.received and not self.reuse_known,
        }
        return {name for names, missing in absent.items() if missing for name in names}

    def as_row(self, rounding: Mapping[str, str] = DEFAULT_ROUNDING) -> dict[str, Any]:
        row: dict[str, Any] = {**asdict(self), **self.rates(rounding)}
        for name in self.unknown():
            row[name] = None
        return row


def group_figures(config: Config, per_unit: dict[str, Figures], by: str, codes: list[str]) -> list[Figures]:
    if by == "unit":
        return [per_unit.get(code) or Figures(group=code) for code in codes]
    groups: dict[str, Figures] = {}
    for unit in config.units:
        if unit.code not in codes:
            continue
        key = unit.kind if by == "kind" else config.province
        groups.setdefault(key, Figures(group=key)).add(per_unit.get(unit.code) or Figures(group=unit.code))
    return list(groups.values())


FIELD_ORDER = ("group", *COUNTS, *RATES, *KNOWN)
RATE_INPUT = {"online_rate": "online", "on_time_rate": "on_time", "digitisation_rate": "digitised",
              "online_payment_rate": "paid_online", "overdue_rate": "overdue_open",
              "online_full_rate": "online_full", "online_partial_rate": "online_partial"}
assert {f.name for f in fields(Figures)} == {"group", *COUNTS, *KNOWN}


def rate_text(row: dict[str, Any], rate: str) -> str:
    """A rate as people read it: 99,65%; "—" with no dossiers; "không có dữ liệu" when the exports lack its input."""
    if row[rate] is None and row[RATE_INPUT[rate]] is None:
        return UNKNOWN_TEXT
    return percent(row[rate])


@dataclass
class RatesOutcome:
    period: Period
    per_unit: dict[str, Figures]
    state: str                  # running | settling | final: how far the figures are from final
    frozen_at: str | None = None
    units: list[str] = field(default_factory=list)  # the units reported (those of the period unless asked)

    def grouped(self, config: Config, by: str) -> list[Figures]:
        return group_figures(config, self.per_unit, by, self.units)

    @property
    def state_words(self) -> str:
        """How final the figures are, in a report's words."""
        if self.state == FINAL:
            return f"số liệu chính thức, chốt ngày {vietnamese.day(self.frozen_at)}" if self.frozen_at else "số liệu chính thức"
        return "số liệu tạm tính" if self.state == RUNNING else "số liệu đang chốt"
