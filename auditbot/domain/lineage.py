"""Units that change: which units existed on a day, who came after whom, and who answers for an ended
unit's dossiers, figures and findings.

A unit's life is [valid_from, valid_to] (rules.toml); on the day after it ends its `successors` take over.
The one rule every part follows: on a given day, an ended unit's business belongs to its *heir* on that
day: the successor the export names (when the province counts that way and it is one), else the first,
followed down the chain to a unit alive that day. A unit abolished with no successor keeps its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from auditbot.config.rules import Config, Unit

# the reason given when an ended unit's finding cannot pass to anyone (its site or its period went with it)
DISSOLVED = "đơn vị đã giải thể/sáp nhập"
SITE_FAMILIES = ("listing", "link", "source")  # findings about what a unit's website shows
DOSSIER_FAMILIES = ("dossier",)                # findings about one dossier or one result


@dataclass(frozen=True)
class Lineage:
    units: dict[str, Unit]
    named_rollup: bool = False  # [dossiers] rollup = "named": a dossier's own successor column counts
    preceded_by: dict[str, list[str]] = field(default_factory=dict)  # code -> the units it directly succeeded

    @classmethod
    def of(cls, config: Config) -> Lineage:
        preceded_by: dict[str, list[str]] = {}
        for unit in config.units:
            for successor in unit.successors:
                preceded_by.setdefault(successor, []).append(unit.code)
        return cls({unit.code: unit for unit in config.units}, config.dossiers.rollup == "named", preceded_by)

    def in_force(self, day: date) -> list[str]:
        return [code for code, unit in self.units.items() if unit.alive(day)]

    def ended(self, day: date) -> list[str]:
        """Units whose last day is before this one."""
        return [code for code, unit in self.units.items() if unit.valid_to is not None and unit.valid_to < day]

    def predecessors(self, code: str) -> list[str]:
        return list(self.preceded_by.get(code, ()))

    def ancestors(self, code: str) -> list[str]:
        """Every unit whose business came to this one, directly or through others, nearest first."""
        found: list[str] = []
        frontier = [code]
        while frontier:
            frontier = [p for each in frontier for p in self.predecessors(each) if p not in found and p != code]
            found += list(dict.fromkeys(frontier))
        return found

    def descendants(self, code: str) -> set[str]:
        found: set[str] = set()
        frontier = list(self.units[code].successors) if code in self.units else []
        while frontier:
            each = frontier.pop()
            if each not in found and each in self.units:
                found.add(each)
                frontier += self.units[each].successors
        return found

    def heir(self, code: str, day: date, named: str | None = None) -> str:
        """Who answers on `day` for what was `code`'s: itself while it exists (or if nobody followed it)."""
        if named and self.named_rollup and named in self.descendants(code):
            code = named
        seen = {code}
        while True:
            unit = self.units.get(code)
            if unit is None or unit.valid_to is None or day <= unit.valid_to or not unit.successors:
                return code
            code = unit.successors[0]
            if code in seen:  # validate refuses loops; a database made under other rules must not hang
                return code
            seen.add(code)

    def with_ancestors(self, units: Iterable[str]) -> list[str]:
        """These units and every unit whose business may have come to them: whose dossiers to read."""
        wanted = list(dict.fromkeys(units))
        return list(dict.fromkeys([*wanted, *(a for u in wanted for a in self.ancestors(u))]))

    def figure_units(self, start: date, end: date) -> list[str]:
        """The units a period's figures are reported for: those that existed in it and were not followed
        by someone before its end (an ended unit's dossiers then count for its heir)."""
        return [code for code, unit in self.units.items()
                if (unit.valid_from is None or unit.valid_from <= end)
                and (unit.valid_to is None or unit.valid_to >= start) and self.heir(code, end) == code]

    def life(self, code: str) -> str:
        unit = self.units[code]
        start = f"từ {unit.valid_from.strftime('%d/%m/%Y')}" if unit.valid_from else ""
        end = f"đến {unit.valid_to.strftime('%d/%m/%Y')}" if unit.valid_to else ""
        return " ".join(part for part in (start, end) if part)

    def taker(self, finding: dict[str, Any], day: date) -> str | None:
        """Who takes over an ended unit's open finding on `day`, or None when its subject ended with the
        unit. A listing's or link's subject lives on a site: it passes to a successor that kept the site.
        A dossier's passes with the dossier, to its heir. A period's figures (rates, the index) went into
        the heir's own figures, which its own checks judge: nothing passes."""
        unit = self.units.get(finding["unit"])
        if unit is None:
            return None
        family = finding["check"].split(".", 1)[0]
        if family in SITE_FAMILIES:
            sites = set(unit.listing_urls)
            kept = [code for code in self.descendants(unit.code)
                    if self.units[code].alive(day) and sites & set(self.units[code].listing_urls)]
            return min(kept) if kept else None
        if family in DOSSIER_FAMILIES:
            heir = self.heir(unit.code, day)
            return heir if heir != unit.code else None
        return None
