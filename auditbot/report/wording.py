"""The words the command line shows people, from templates/cli.toml, in the province's language.

The code names a word by its English id (`words("headers.unit")`); what people read lives in the
template, so an officer's screen is one language and a province can reword it without code.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from auditbot.config import bundled, schedules
from auditbot.config.rules import Config
from auditbot.errors import ConfigError
from auditbot.words.text import nfc

FILE = "cli.toml"
REASONS = "reasons.toml"  # why an import or a reading left something out, keyed by the codes sources raise


@dataclass(frozen=True)
class Words:
    entries: dict[str, dict[str, str]]  # "section.id" -> {language: text}
    language: str
    kind_names: dict[str, str]
    file: str = FILE

    def __call__(self, key: str, /, **fields: Any) -> str:
        """The word or line `key`, its {fields} filled in."""
        entry = self.entries.get(key)
        if entry is None:
            raise KeyError(f"{self.file} has no {key!r}")
        text = entry.get(self.language) or entry["vi"]
        return nfc(text.format(**fields) if fields else text)

    def known(self, section: str, value: str) -> str:
        """A value's word where the template has one ("open" -> "đang mở"); else the value as written."""
        return self(f"{section}.{value}") if f"{section}.{value}" in self.entries else value

    def kind(self, kind: str) -> str:
        """A unit kind as people call it: rules.toml's [kinds.<kind>] name, else the template's, else the code."""
        return self.kind_names.get(kind) or self.known("kinds", kind)

    def schedule(self, phrase: str) -> str:
        """A rules.toml [schedule] phrase as people say it ("every monday at 07:30" -> "thứ Hai hằng tuần
        lúc 07:30"); a phrase the daemon would refuse is shown as written, for the operator to see."""
        try:
            when = schedules.parse(phrase)
        except ValueError:
            return phrase
        if when.unit in schedules.WEEKDAYS:
            day = self(f"schedule.{when.unit}")
            return self("schedule.weekday_at", day=day, at=when.at) if when.at else self("schedule.weekday", day=day)
        if when.at:
            return self("schedule.daily_at", at=when.at)
        return self("schedule.every", count=when.count, unit=self(f"schedule.{when.unit}"))


def words_for(config: Config, file: str = FILE) -> Words:
    """The words of one list in templates/ (cli.toml, reasons.toml), the province's own over the shipped."""
    own = config.report.templates / file
    return Words(_entries(bundled.templates() / file, own if own.is_file() else None), config.language,
                 config.kind_names, file)


def shipped_words(language: str = "vi") -> Words:
    """The shipped words alone, for what is said before a province has a rules.toml (`auditbot init`)."""
    return Words(_entries(bundled.templates() / FILE, None), language, {})


@lru_cache(maxsize=8)
def _entries(shipped: Path, own: Path | None) -> dict[str, dict[str, str]]:
    """The shipped words, each replaced by the province's own where its templates folder has its own list."""
    entries = _read(shipped)
    if own is not None:
        entries.update(_read(own))
    return entries


def _read(path: Path) -> dict[str, dict[str, str]]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid word list ({type(exc).__name__}: {exc})") from None
    entries = {}
    for section, table in raw.items():
        for key, entry in (table.items() if isinstance(table, dict) else ()):
            if not isinstance(entry, dict) or not isinstance(entry.get("vi"), str) or not all(
                    isinstance(text, str) for text in entry.values()):
                raise ConfigError(f"{path}: {section}.{key}: expected {{ vi = \"…\", en = \"…\" }}")
            entries[f"{section}.{key}"] = entry
    return entries
