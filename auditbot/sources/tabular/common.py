"""What every importer shares: file digests, cell text, unit names, and rejected rows kept with their reason."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from auditbot.config.rules import Config
from auditbot.errors import InputError
from auditbot.sources.tabular.header import Cell
from auditbot.words.text import fold


class Reason(ValueError):
    """Why a value or a row cannot be read: a stable code (its words are in templates/reasons.toml) and the
    values those words name. A parameter never holds a cell of a column that can hold personal data."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass
class Rejection:
    row: int
    column: str                  # the header text as written ("" until the pipeline fills it from `field`)
    reason: str                  # a code of templates/reasons.toml ("cells_count")
    fields: dict[str, str]       # the row's mapped fields; empty when which value is where is in doubt
    field: str = ""              # the canonical field at fault
    unknown_unit: str | None = None
    params: dict[str, Any] = dataclasses.field(default_factory=dict)  # what the reason's words name

    @classmethod
    def of(cls, row: int, error: ValueError, fields: dict[str, str], at: str) -> Rejection:
        """A row rejected for the reason a value gave, at the canonical field `at`; a library's own error
        (its wording English, its text maybe the cell's) is only "unreadable"."""
        reason = error if isinstance(error, Reason) else Reason("unreadable")
        return cls(row, "", reason.code, fields, field=at, params=reason.params)


class UnitResolver:
    """Export unit names ("UBND xã Quảng Phú") -> unit codes, by code, name or alias; never a guess. An old
    and a new unit may share a name (a merged commune keeping one of its names): the row's date decides."""

    PREFIXES = ("ubnd ", "uy ban nhan dan ", "ủy ban nhân dân ", "uỷ ban nhân dân ")

    def __init__(self, config: Config) -> None:
        self.suffix = f" tỉnh {fold(config.province)}"
        self.units = {unit.code: unit for unit in config.units}
        self.names: dict[str, list[str]] = {}
        for unit in config.units:
            for written in (unit.code, unit.name, *unit.aliases):
                for key in self._keys(written):
                    if unit.code not in self.names.setdefault(key, []):
                        self.names[key].append(unit.code)
        self.cache: dict[str, tuple[str, ...]] = {}

    def _keys(self, written: str) -> Iterator[str]:
        key = fold(written)
        yield key
        for prefix in self.PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
                yield key
        if key.endswith(self.suffix):
            yield key[: -len(self.suffix)]

    def named(self, written: str) -> tuple[str, ...]:
        """Every unit, past or present, this text names (the first key that names any decides)."""
        if written not in self.cache:
            self.cache[written] = next((tuple(self.names[k]) for k in self._keys(written) if k in self.names), ())
        return self.cache[written]

    def __call__(self, written: str, day: date) -> str | None:
        """The unit so named that existed on that day."""
        return self.on(written, day)[0]

    def on(self, written: str, day: date) -> tuple[str | None, Reason | None]:
        """(the unit so named that existed on `day`, or None and why not). A unit named for a day before it
        began is taken (systems re-label old dossiers with the new unit's name); one that had ended is not."""
        codes = self.named(written)
        if not codes:
            return None, Reason("unknown_unit", unit=written)
        alive = [code for code in codes if self.units[code].alive(day)]
        if alive:
            return alive[0], None
        later = sorted((code for code in codes if (self.units[code].valid_from or day) > day),
                       key=lambda code: self.units[code].valid_from or day)
        if later:
            return later[0], None
        ended = max(codes, key=lambda code: self.units[code].valid_to or day)
        unit = self.units[ended]
        return None, Reason("unit_ended_with_successors" if unit.successors else "unit_ended", unit=written,
                            unit_code=ended, ended=_day(unit.valid_to), successors=", ".join(unit.successors),
                            day=_day(day))


def _day(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "?"


def cell_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def within_limit(path: Path, limit_mb: float) -> Path:
    """The file, if it exists and is no bigger than the limit; else a clear InputError (nothing read)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if size > limit_mb * (1 << 20):
        raise InputError(f"{path}: {size / (1 << 20):,.0f} MB is more than [sources] max_file_mb = {limit_mb:g} MB;"
                         " not read (split the export, or raise the limit)")
    return path


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    return digest.hexdigest()
