"""auditbot: audits a province's administrative procedures and dossiers, and alerts each unit.

The public API is what a check needs (the built-in checks in checks/ use nothing else; a third-party check
registers through the `auditbot` entry point the same way):

    from auditbot import hookimpl, Check, CheckContext, Finding

Names load on first use, so `import auditbot` (every command start) costs nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditbot.checking.listing_matches import Match, catalogue, matches, read_units
    from auditbot.checking.plugins import hookimpl
    from auditbot.checking.types import CENTRE_AUDIENCE, SYNC_AUDIENCE, Check, CheckContext, Finding
    from auditbot.config.rules import Thresholds
    from auditbot.domain.calendar import Calendar
    from auditbot.domain.portal_urls import (
        REASONS,
        PortalLink,
        PortalUrls,
        link_targets,
        portal_ids,
        procedure_url,
        reason_words,
    )
    from auditbot.domain.rates import Figures, exemption_text, share
    from auditbot.domain.supplements import SECOND_REQUEST, supplement_clock
    from auditbot.index766.formula import formula_path, gain_sentence, load_formulas, points_text, two_decimals
    from auditbot.index766.inputs import index_results
    from auditbot.store import CENTRE, observations, unit_label
    from auditbot.words.periods import FINAL, RUNNING, SETTLING, Judged
    from auditbot.words.vietnamese import day, moment, number, percent

# name -> the module that defines it
_PUBLIC = {
    # a check and how it registers
    "hookimpl": "auditbot.checking.plugins",
    "Check": "auditbot.checking.types", "CheckContext": "auditbot.checking.types",
    "Finding": "auditbot.checking.types", "CENTRE_AUDIENCE": "auditbot.checking.types",
    "SYNC_AUDIENCE": "auditbot.checking.types",
    # what it reads: the store's named queries, the units, the rules
    "observations": "auditbot.store", "unit_label": "auditbot.store", "CENTRE": "auditbot.store",
    "Thresholds": "auditbot.config.rules",
    # the domain's rules it judges by
    "Figures": "auditbot.domain.rates", "exemption_text": "auditbot.domain.rates", "share": "auditbot.domain.rates",
    "FINAL": "auditbot.words.periods", "RUNNING": "auditbot.words.periods", "SETTLING": "auditbot.words.periods",
    "Judged": "auditbot.words.periods",
    "Calendar": "auditbot.domain.calendar",
    "SECOND_REQUEST": "auditbot.domain.supplements", "supplement_clock": "auditbot.domain.supplements",
    "Match": "auditbot.checking.listing_matches", "catalogue": "auditbot.checking.listing_matches",
    "matches": "auditbot.checking.listing_matches", "read_units": "auditbot.checking.listing_matches",
    "PortalLink": "auditbot.domain.portal_urls", "PortalUrls": "auditbot.domain.portal_urls",
    "link_targets": "auditbot.domain.portal_urls", "portal_ids": "auditbot.domain.portal_urls",
    "REASONS": "auditbot.domain.portal_urls",
    "procedure_url": "auditbot.domain.portal_urls", "reason_words": "auditbot.domain.portal_urls",
    "formula_path": "auditbot.index766.formula", "gain_sentence": "auditbot.index766.formula",
    "load_formulas": "auditbot.index766.formula", "points_text": "auditbot.index766.formula",
    "two_decimals": "auditbot.index766.formula", "index_results": "auditbot.index766.inputs",
    # how people read what it says
    "day": "auditbot.words.vietnamese", "number": "auditbot.words.vietnamese", "percent": "auditbot.words.vietnamese",
    "moment": "auditbot.words.vietnamese",
}

__all__ = [
    "CENTRE",
    "CENTRE_AUDIENCE",
    "FINAL",
    "REASONS",
    "RUNNING",
    "SECOND_REQUEST",
    "SETTLING",
    "SYNC_AUDIENCE",
    "Calendar",
    "Check",
    "CheckContext",
    "Figures",
    "Finding",
    "Judged",
    "Match",
    "PortalLink",
    "PortalUrls",
    "Thresholds",
    "catalogue",
    "day",
    "exemption_text",
    "formula_path",
    "gain_sentence",
    "hookimpl",
    "index_results",
    "link_targets",
    "load_formulas",
    "matches",
    "moment",
    "number",
    "observations",
    "percent",
    "points_text",
    "portal_ids",
    "procedure_url",
    "read_units",
    "reason_words",
    "share",
    "supplement_clock",
    "two_decimals",
    "unit_label",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'auditbot' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
