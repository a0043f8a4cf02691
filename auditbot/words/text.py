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


# C0 and C1 controls (a terminal obeys them), and the marks that reorder or hide text ("\u202egnp.exe")
_DECEPTIVE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def as_typed(text: str) -> str:
    """What a person typed (a unit's reason), safe for others to read anywhere: NFC, without controls or
    marks that reorder or hide text; line breaks and tabs kept."""
    return _DECEPTIVE.sub("", nfc(text)).strip()


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

