"""One grammar for choosing units and checks, in every command.

Units: codes in any case ("stp" is STP), several at once separated by commas or given again; `_centre`
names the centre's own findings where a command shows findings. Checks: ids ("dossier.overdue") or
families ("rate"), in any case. Anything unknown is refused with the nearest known names ("did you
mean"), never with the whole list of 200 codes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from auditbot.config.rules import Config
from auditbot.domain.clock import local_now
from auditbot.domain.lineage import Lineage
from auditbot.errors import UserError
from auditbot.store import CENTRE
from auditbot.words.text import fold


def words(values: Iterable[str] | None) -> list[str]:
    """'STP,sxd' and ('STP', 'sxd') alike -> ['STP', 'sxd']."""
    return [part.strip() for value in values or () for part in value.split(",") if part.strip()]


def units(config: Config, requested: Iterable[str] | None, with_centre: bool = False) -> list[str]:
    """The unit codes asked for, spelled as configured (an ended unit too: its history is there); every
    unit in force today when nothing is asked."""
    known = [unit.code for unit in config.units] + ([CENTRE] if with_centre else [])
    asked = words(requested)
    if not asked:
        return Lineage.of(config).in_force(local_now(config).date())
    by_key = {code.casefold(): code for code in known}
    chosen, unknown = [], []
    for word in asked:
        code = by_key.get(word.casefold())
        if code is None:
            unknown.append(word)
        elif code not in chosen:
            chosen.append(code)
    if unknown:
        names = {unit.code: fold(unit.name) for unit in config.units}
        hints = [_nearest(word, known, {fold(word): [c for c, n in names.items() if fold(word) in n]})
                 for word in unknown]
        in_force = len(Lineage.of(config).in_force(local_now(config).date()))
        raise UserError(f"unknown unit code(s): {', '.join(unknown)}",
                        [*(h for h in hints if h), f"{len(config.units)} units are configured in {config.path.name}"
                         f" ({in_force} in force today; `auditbot units --all` lists them)"])
    return chosen


def checks(requested: Iterable[str] | None, available: Iterable[str]) -> list[str] | None:
    """The check ids asked for (a family selects its checks); None when nothing is asked."""
    asked = words(requested)
    if not asked:
        return None
    ids = sorted(available)
    families = sorted({check_id.split(".")[0] for check_id in ids})
    chosen, unknown = [], []
    for word in asked:
        key = word.casefold()
        matched = [c for c in ids if c.casefold() == key or c.split(".")[0].casefold() == key]
        if not matched:
            unknown.append(word)
        chosen += [c for c in matched if c not in chosen]
    if unknown:
        hints = [_nearest(word, ids + families) for word in unknown]
        raise UserError(f"unknown check id(s): {', '.join(unknown)}",
                        [*(h for h in hints if h), f"families: {', '.join(families)}"])
    return chosen


def _nearest(word: str, known: list[str], by_name: dict[str, list[str]] | None = None) -> str:
    keys = {k.casefold(): k for k in known}
    close = [keys[k] for k in difflib.get_close_matches(word.casefold(), list(keys), n=3, cutoff=0.6)]
    for named in (by_name or {}).values():
        close += [code for code in named[:3] if code not in close]
    return f"{word}: did you mean {' or '.join(close[:3])}?" if close else ""
