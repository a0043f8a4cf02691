"""What every importer shares: file digests, cell text, unit names, and rejected rows kept with their reason."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..config import Config
from ..errors import InputError
from ..text import fold
from .tables import Cell


@dataclass
class Rejection:
    row: int
    column: str                  # the header text as written ("" until the pipeline fills it from `field`)
    reason: str
    fields: dict[str, str]       # the row's mapped fields; empty when which value is where is in doubt
    field: str = ""              # the canonical field at fault
    unknown_unit: str | None = None


class UnitResolver:
    """Export unit names ("UBND xã Quảng Phú") -> unit codes, by code, name or alias; never a guess."""

    PREFIXES = ("ubnd ", "uy ban nhan dan ", "ủy ban nhân dân ", "uỷ ban nhân dân ")

    def __init__(self, config: Config) -> None:
        self.suffix = f" tỉnh {fold(config.province)}"
        self.names: dict[str, str] = {}
        for unit in config.units:
            for written in (unit.code, unit.name, *unit.aliases):
                for key in self._keys(written):
                    self.names.setdefault(key, unit.code)
        self.cache: dict[str, str | None] = {}

    def _keys(self, written: str) -> Iterator[str]:
        key = fold(written)
        yield key
        for prefix in self.PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
                yield key
        if key.endswith(self.suffix):
            yield key[: -len(self.suffix)]

    def __call__(self, written: str) -> str | None:
        if written not in self.cache:
            self.cache[written] = next((self.names[k] for k in self._keys(written) if k in self.names), None)
        return self.cache[written]


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
