"""The units' listed items as last read in full, each matched to the catalogue: what listing and
link checks share, computed once per run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from auditbot.checking.types import CheckContext
from auditbot.domain.matching import Catalogue
from auditbot.store import observations


@dataclass
class Match:
    item: dict[str, Any]
    code: str | None
    candidates: tuple[str, ...]
    via: str | None = None  # code | name | spelling | former_name


def read_units(context: CheckContext) -> list[str]:
    """Units whose latest listing fetch read every one of their sites: only they have evidence."""
    return observations.fully_read_units(context.db)


def catalogue(context: CheckContext) -> dict[str, dict[str, Any]]:
    if "procedures" not in context.memo:
        context.memo["procedures"] = {row["code"]: {**row, "units": set(json.loads(row["units"]))}
                                      for row in observations.procedures(context.db)}
    procedures: dict[str, dict[str, Any]] = context.memo["procedures"]
    return procedures


def catalogue_index(context: CheckContext) -> Catalogue:
    """The catalogue's codes and names (and former names), indexed once per run."""
    if "catalogue_index" not in context.memo:
        former = observations.former_names(context.db)
        context.memo["catalogue_index"] = Catalogue(
            ((code, row["name_key"]) for code, row in catalogue(context).items()), former)
    index: Catalogue = context.memo["catalogue_index"]
    return index


def matches(context: CheckContext) -> dict[str, list[Match]]:
    """Each read unit's listed items matched to the catalogue, once per run."""
    if "listing_matches" not in context.memo:
        index = catalogue_index(context)
        result: dict[str, list[Match]] = {}
        for unit in set(read_units(context)) & set(context.units):
            result[unit] = []
            for item in observations.listing_items(context.db, unit):
                identified = index.identify(item["code"], item["name_key"])
                result[unit].append(Match(item, identified.code, identified.nearest, identified.via))
        context.memo["listing_matches"] = result
    found: dict[str, list[Match]] = context.memo["listing_matches"]
    return found
