"""The annex layout from templates/annexes.toml: which findings go in which table, and its columns.

Cells keep their type (dates, numbers, rates) so the XLSX gets real values, and each cell also has the
Vietnamese display text the emails show (31/10/2026, 1.234, 99,65%).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from auditbot.errors import ConfigError
from auditbot.words import vietnamese

FORMATS = ("text", "date", "number", "percent", "list")


@dataclass(frozen=True)
class Column:
    heading: str
    field: str
    format: str = "text"
    width: float = 20


@dataclass(frozen=True)
class Section:
    key: str
    sheet: str
    title: str
    checks: tuple[str, ...]
    columns: tuple[Column, ...]


@dataclass(frozen=True)
class Layout:
    sections: tuple[Section, ...]
    labels: dict[str, str]
    kinds: dict[str, str]
    families: dict[str, str]
    unit_annexes: tuple[Section, ...] = ()  # the summary's Phụ lục I–IV: one row per unit (unit_annexes.py)

    def section_of(self, check_id: str) -> Section:
        for section in self.sections:
            if check_id in section.checks:
                return section
        return self.sections[-1]  # the catch-all: a new check's findings are never left out


def load_layout(folder: Path) -> Layout:
    path = folder / "annexes.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        sections = tuple(_section(s) for s in raw["sections"])
        unit_annexes = tuple(_section(s) for s in raw.get("unit_annexes", ()))
        labels = {str(k): str(v) for k, v in raw["labels"].items()}
        kinds = {str(k): str(v) for k, v in raw.get("kinds", {}).items()}
        families = {str(k): str(v) for k, v in raw.get("families", {}).items()}
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a valid annex layout ({type(exc).__name__}: {exc})") from None
    for section in (*sections, *unit_annexes):
        if section in unit_annexes and len(section.checks) != 1:
            raise ConfigError(f"{path}: unit annex {section.key!r} must name exactly one check")
        for column in section.columns:
            if column.format not in FORMATS:
                raise ConfigError(f"{path}: section {section.key!r}, column {column.heading!r}:"
                                  f" format must be one of {', '.join(FORMATS)}")
    if not sections:
        raise ConfigError(f"{path}: no [[sections]]")
    return Layout(sections, labels, kinds, families, unit_annexes)


def _section(raw: dict[str, Any]) -> Section:
    return Section(key=raw["key"], sheet=raw["sheet"][:31], title=raw["title"], checks=tuple(raw.get("checks", ())),
                   columns=tuple(Column(**c) for c in raw["columns"]))


def value_of(finding: dict[str, Any], column: Column) -> Any:
    """The typed value of one cell: date for dates, int/float for numbers, str otherwise."""
    if column.field.startswith("details."):
        raw = finding["details"].get(column.field.removeprefix("details."))
    else:
        raw = finding.get(column.field)
    if raw is None or raw == "":
        return None
    if column.format == "date":
        try:
            return datetime.fromisoformat(str(raw)).date()
        except ValueError:
            return str(raw)
    if column.format in ("number", "percent"):
        return raw if isinstance(raw, (int, float)) else str(raw)
    if column.format == "list":
        return ", ".join(str(item) for item in raw) if isinstance(raw, list) else str(raw)
    return str(raw)


def display(value: Any, format: str) -> str:
    if value is None:
        return ""
    if isinstance(value, date) and format == "date":
        return vietnamese.day(value)
    if isinstance(value, (int, float)) and format == "number":
        return vietnamese.number(value)
    if isinstance(value, (int, float)) and format == "percent":
        return vietnamese.percent(float(value))
    return str(value)
