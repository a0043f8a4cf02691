"""Vietnamese text folding: compare what people wrote, whatever the accent form, case or spacing."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]")


def nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


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
