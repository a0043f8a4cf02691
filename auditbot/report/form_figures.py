"""Every figure a form's row may name, for one period: the dossier figures per level of government
(Biểu mẫu 3, 3.1–3.3) and for the province (Biểu mẫu 7, 6.3–6.4), the catalogue's procedures published,
abolished and in force per level (Biểu mẫu 3, section 1), and the online services in use (Biểu mẫu 7, 6.1–6.2).

A figure is keyed by its name, and `name@level` for one level's. A figure whose inputs are absent is None,
with a note saying why; a level that no longer existed in the period is listed in `absent_levels`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlite_utils

from auditbot.config.rules import Config
from auditbot.domain.lineage import Lineage
from auditbot.domain.rates import RATE_INPUT, UNKNOWN_TEXT, Figures, RatesOutcome, rounded
from auditbot.sources.catalogue import decision_day
from auditbot.store import observations
from auditbot.words.levels import LEVELS, level_exists
from auditbot.words.text import fold_ascii

ABOLISHED = ("abolished", "replaced")
# the count each rate is taken over: unknown with the rate's input, never the 0 it would otherwise show
BASE_OF = {"on_time": "due_known", "online": "channel_known", "online_full": "full_known",
           "online_partial": "partial_known", "digitised": "digitised_known"}
DOSSIER_FIGURES = ("received", "finished", "on_time", "due_known", "on_time_rate", "online", "channel_known",
                   "online_rate", "online_full", "full_known", "online_full_rate", "online_partial", "partial_known",
                   "online_partial_rate", "digitised", "digitised_known", "digitisation_rate", "paid_online",
                   "fee_paid", "online_payment_rate")
CATALOGUE_FIGURES = ("published", "abolished", "in_force", "online_full_services")
SERVICE_FIGURES = ("services_used", "services_used_online", "services_used_rate")
ONLINE_LEVEL_FIGURES = ("online_full", "full_known", "online_full_rate", "online_partial", "partial_known",
                        "online_partial_rate")
FIGURES = (*DOSSIER_FIGURES, *CATALOGUE_FIGURES, *SERVICE_FIGURES)
_LEVEL_WORD = {level: re.compile(rf"\b{level}\b") for level in LEVELS}


@dataclass
class FormFigures:
    values: dict[str, Any] = field(default_factory=dict)   # "figure" / "figure@level" -> a number or None
    notes: dict[str, str] = field(default_factory=dict)    # the same keys -> why empty, or what it leaves out
    absent_levels: set[str] = field(default_factory=set)   # levels of government gone before the period began
    unlevelled: set[str] = field(default_factory=set)      # unit kinds of no level: left out of per-level rows
    uncounted: dict[str, str] = field(default_factory=dict)  # a gone level's row -> what it leaves uncounted

    def put(self, key: str, value: Any, note: str | None = None) -> None:
        self.values[key] = value
        if note:
            self.notes[key] = note


def form_figures(config: Config, db: sqlite_utils.Database, outcome: RatesOutcome, words: dict[str, str]) -> FormFigures:
    figures = FormFigures()
    period = outcome.period
    figures.absent_levels = {level for level in LEVELS if not level_exists(level, period.start)}
    _dossier_figures(config, outcome, words, figures)
    _catalogue_figures(config, observations.procedures(db), observations.catalogue_columns(db), period.start,
                       period.end, words, figures)
    _service_figures(config, db, outcome, words, figures)
    return figures


def level_figures(config: Config, outcome: RatesOutcome) -> tuple[dict[str, Figures], set[str]]:
    """The period's figures summed per level of government, and the kinds of unit that have no level."""
    per_level: dict[str, Figures] = {}
    unlevelled: set[str] = set()
    for unit in config.units:
        if unit.code not in outcome.units:
            continue
        level = config.kind_levels.get(unit.kind)
        if level is None:
            unlevelled.add(unit.kind)
            continue
        per_level.setdefault(level, Figures(group=level)).add(outcome.per_unit.get(unit.code) or Figures(group=unit.code))
    return per_level, unlevelled


def _dossier_figures(config: Config, outcome: RatesOutcome, words: dict[str, str], figures: FormFigures) -> None:
    per_level, unlevelled = level_figures(config, outcome)
    province = Figures(group=config.province)
    for unit_code in outcome.units:
        province.add(outcome.per_unit.get(unit_code) or Figures(group=unit_code))
    _put_dossiers(config, province, "", words, figures)
    for level in LEVELS:
        if level in per_level:
            _put_dossiers(config, per_level[level], f"@{level}", words, figures)
        else:  # no unit of this level in rules.toml: nothing is known of it, not 0 (a level gone needs no reason more)
            note = None if level in figures.absent_levels else words["no_units"].format(level=words[f"level_{level}"])
            for name in DOSSIER_FIGURES:
                figures.put(f"{name}@{level}", None, note)
    figures.unlevelled = unlevelled
    for level in figures.absent_levels & set(per_level):
        if per_level[level].finished:  # the form has no row for them: say they exist rather than drop them
            figures.uncounted[f"on_time_rate@{level}"] = words["absent_level_dossiers"].format(
                count=per_level[level].finished, level=words[f"level_{level}"])


def _put_dossiers(config: Config, group: Figures, suffix: str, words: dict[str, str], figures: FormFigures) -> None:
    row = group.as_row(config.rounding)
    for count, base in BASE_OF.items():
        if row[count] is None:
            row[base] = None
    for name in DOSSIER_FIGURES:
        value = row[name]
        note = None
        if value is None:
            known_input = name in RATE_INPUT and row.get(RATE_INPUT[name]) is not None
            note = words["no_dossiers"] if known_input else UNKNOWN_TEXT
        figures.put(name + suffix, value, note)


def procedure_levels(config: Config, procedure: dict[str, Any]) -> set[str]:
    """The levels a procedure is carried out at: its catalogue level ("Cấp tỉnh, Cấp xã"), else the levels
    of the units it applies to."""
    written = fold_ascii(procedure.get("level") or "")
    levels = {level for level, word in _LEVEL_WORD.items() if word.search(written)}
    if levels or written:
        return levels
    kinds = {unit.kind for unit in config.units if unit.code in set(json.loads(procedure.get("units") or "[]"))}
    return {level for kind in kinds if (level := config.kind_levels.get(kind)) is not None}


def in_force_on(procedure: dict[str, Any], day: date) -> bool:
    """In force on that day, as far as the catalogue says: begun (or no start date), and not yet ended
    (an abolished procedure without an end date is taken as ended; a pending one without a start, as not begun)."""
    at = f"{day.isoformat()} 23:59:59"
    if procedure["effective_from"] and procedure["effective_from"] > at:
        return False
    if procedure["status"] == "pending":  # still pending after import: no start date to be in force from
        return False
    if procedure["status"] == "in_force":
        return not procedure["effective_to"] or procedure["effective_to"] >= at
    return bool(procedure["effective_to"]) and procedure["effective_to"] >= at


def abolished_on(procedure: dict[str, Any]) -> str | None:
    """The day an abolished or replaced procedure ended: its end date, else its abolishing decision's."""
    if procedure["status"] not in ABOLISHED:
        return None
    return procedure["effective_to"] or decision_day(procedure["abolished_by"] or "")


def _catalogue_figures(config: Config, procedures: list[dict[str, Any]], columns: set[str], start: date, end: date,
                       words: dict[str, str], figures: FormFigures) -> None:
    if not procedures:
        for name in CATALOGUE_FIGURES:
            figures.put(name, None, words["no_catalogue"])
            for level in LEVELS:
                figures.put(f"{name}@{level}", None, words["no_catalogue"])
        return
    first, last = f"{start.isoformat()} 00:00:00", f"{end.isoformat()} 23:59:59"
    if any(p["decided_at"] for p in procedures):
        published = sum(1 for p in procedures if p["decided_at"] and first <= p["decided_at"] <= last)
        figures.put("published", published, words["published_unsplit"])
    else:
        figures.put("published", None, words["no_decision_dates"])
    ended = [(p, abolished_on(p)) for p in procedures if p["status"] in ABOLISHED]
    undated = sum(1 for _, day in ended if day is None)
    if "status" in columns or ended:
        figures.put("abolished", sum(1 for _, day in ended if day and first <= day <= last),
                    words["abolished_undated"].format(count=undated) if undated else None)
    else:  # a catalogue without a status column lists what is in force: what was abolished, it does not say
        figures.put("abolished", None, words["no_status"])
    per_level: Counter[str] = Counter()
    unplaced = 0
    in_force = [p for p in procedures if in_force_on(p, end)]
    for procedure in in_force:
        levels = procedure_levels(config, procedure)
        per_level.update(levels)
        unplaced += not levels
    for level in LEVELS:
        figures.put(f"in_force@{level}", per_level[level])
    figures.put("in_force", sum(per_level[level] for level in LEVELS if level not in figures.absent_levels),
                words["in_force_unplaced"].format(count=unplaced) if unplaced else None)
    if any(p["online_level"] for p in procedures):
        figures.put("online_full_services", sum(1 for p in in_force if p["online_level"] == "full"))
    else:
        figures.put("online_full_services", None, words["no_online_levels"])


def _service_figures(config: Config, db: sqlite_utils.Database, outcome: RatesOutcome, words: dict[str, str],
                     figures: FormFigures) -> None:
    if db.execute("SELECT 1 FROM procedures WHERE online_level IN ('full', 'partial') LIMIT 1").fetchone() is None:
        for name in (*SERVICE_FIGURES, *ONLINE_LEVEL_FIGURES):  # no service level known: no dossier is of one
            figures.put(name, None, words["no_online_levels"])
        return
    period = outcome.period
    codes = Lineage.of(config).with_ancestors(outcome.units)  # an ended unit's dossiers are its heir's
    used = observations.online_services_used(db, period.start_at, period.end_at, codes)
    figures.put("services_used", used["used"])
    if used["used"] and not used["channel_known"]:
        figures.put("services_used_online", None, UNKNOWN_TEXT)
        figures.put("services_used_rate", None, UNKNOWN_TEXT)
        return
    figures.put("services_used_online", used["used_online"])
    # the province rounds its online-service shares (Biểu mẫu 7: 133.237 of 140.686 is 94,71)
    rate = rounded(used["used_online"], used["used"])
    figures.put("services_used_rate", rate, None if rate is not None else words["no_dossiers"])
