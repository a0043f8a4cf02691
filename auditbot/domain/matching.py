"""Which catalogue procedure a listed item is: by code, else by name, never a guess between two.

Names are compared folded (NFC, case, punctuation, spacing). Beyond that only spelling slips are
forgiven: the same words in the same order, at most two of them off by diacritics or one letter.
"Cấp lại giấy phép" is never "Cấp giấy phép": an extra word is another procedure.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from auditbot.words.text import fold_ascii

MAX_SLIPS = 2        # words allowed to differ by a slip
MIN_SLIP_LENGTH = 4  # shorter words must match exactly (one letter turns "tư" into "tử")


@dataclass(frozen=True)
class Identified:
    code: str | None                      # the catalogue code, or None
    nearest: tuple[str, ...] = ()         # when None: the closest catalogue codes, for a person to judge
    via: str | None = None                # how: code | name | spelling | former_name


def _words(key: str) -> list[str]:
    words = key.split()
    return words[2:] if words[:2] == ["thủ", "tục"] else words  # "Thủ tục đăng ký ..." is "Đăng ký ..."


def _one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or min(len(a), len(b)) < MIN_SLIP_LENGTH:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), len(a))
    return a[i + (len(a) == len(b)):] == b[i + 1:]


def same_name(listed: str, official: str) -> bool:
    """Two folded names that differ by spelling slips only."""
    a, b = _words(listed), _words(official)
    if len(a) != len(b):
        return False
    off = [(x, y) for x, y in zip(a, b) if x != y]
    return len(off) <= MAX_SLIPS and all(fold_ascii(x) == fold_ascii(y) or _one_edit(x, y) for x, y in off)


class Catalogue:
    """The catalogue's codes and folded names (and the names procedures had before), indexed once per run."""

    def __init__(self, procedures: Iterable[tuple[str, str]],
                 former_names: Iterable[tuple[str, str]] = ()) -> None:  # (code, folded name)
        former = list(former_names)
        self.former = Catalogue(former) if former else None
        self.codes: set[str] = set()
        self.by_name: dict[str, list[str]] = {}
        self.by_length: dict[int, list[str]] = {}
        for code, key in procedures:
            self.codes.add(code)
            if key not in self.by_name:
                self.by_length.setdefault(len(_words(key)), []).append(key)
            self.by_name.setdefault(key, []).append(code)

    def identify(self, code: str | None, name_key: str) -> Identified:
        if code:
            return Identified(code, via="code") if code in self.codes else Identified(None, self.nearest(name_key))
        exact = self.by_name.get(name_key, [])
        if len(exact) == 1:
            return Identified(exact[0], via="name")
        if not exact:
            slips = [key for key in self.by_length.get(len(_words(name_key)), []) if same_name(name_key, key)]
            exact = [code for key in slips for code in self.by_name[key]]
            if len(exact) == 1:
                return Identified(exact[0], via="spelling")
            former = self.former.identify(None, name_key) if self.former and not exact else None
            if former and former.code and former.code in self.codes:
                return Identified(former.code, via="former_name")
        return Identified(None, tuple(exact) or self.nearest(name_key))

    def nearest(self, name_key: str, count: int = 3) -> tuple[str, ...]:
        keys = difflib.get_close_matches(name_key, self.by_name, n=count, cutoff=0.5)
        return tuple(code for key in keys for code in self.by_name[key])[:count]
