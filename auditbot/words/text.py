"""Vietnamese text folding: compare what people wrote, whatever the accent form, case or spacing."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_PUNCT = re.compile(r"[^\w\s]")


def nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def without_controls(text: str) -> str:
    """Control characters mean nothing to a reader and break XML (the XLSX annexes): each becomes a space."""
    if text.isprintable():  # the common case, checked in C
        return text
    return " ".join(CONTROL.sub(" ", text).split())


# letters that show as nothing (Hangul fillers, the combining grapheme joiner): a name or a link hides in them
_INVISIBLE = frozenset("\u034f\u115f\u1160\u3164\uffa0")


def as_typed(text: str) -> str:
    """What a person typed (a unit's reason), safe for others to read anywhere: NFC, without control
    characters (a terminal obeys them), format characters (the marks that reorder or hide text,
    "\u202egnp.exe", soft hyphens, tags) or invisible letters; line breaks and tabs kept."""
    kept = (("\n" if char in "\u2028\u2029" else char) for char in nfc(text)
            if char in "\n\t" or (unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn")
                                   and char not in _INVISIBLE))
    return "".join(kept).strip()


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """NFC, lower case, punctuation to spaces, single spaces: the key two spellings share."""
    text = _PUNCT.sub(" ", nfc(text).casefold())
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=65536)
def fold_ascii(text: str) -> str:
    """fold() without diacritics, for matching text typed without accents ("Trang thai")."""
    decomposed = unicodedata.normalize("NFD", fold(text).replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))

