"""The levels of local government a unit belongs to (tỉnh, huyện, xã), and when a level ceased to exist.

The half-year report counts per level (Biểu mẫu 3: departments, districts, communes), while units carry a
free-word kind: `[kinds.<kind>] level` in rules.toml says which level a kind is, and the usual kind
words need no saying. No I/O; no imports from the rest of auditbot but text folding.
"""

from __future__ import annotations

from datetime import date

from auditbot.words.text import fold_ascii

LEVELS = ("tinh", "huyen", "xa")
# the two-level local government (Luật Tổ chức chính quyền địa phương 2025): no district level from this day
LEVEL_ENDS = {"huyen": date(2025, 7, 1)}
# a kind's usual words (folded, without accents or separators) -> its level, when rules.toml says nothing
_USUAL = {
    "tinh": ("so", "ban", "nganh", "sobannganh", "tinh", "captinh"),
    "huyen": ("huyen", "quan", "thixa", "thanhpho", "caphuyen"),
    "xa": ("xa", "phuong", "thitran", "dackhu", "capxa", "xaphuong"),
}


def usual_level(kind: str) -> str | None:
    """The level a kind's own word names (so/ban/nganh -> tinh, huyen -> huyen, xa/phuong -> xa), else None."""
    word = "".join(ch for ch in fold_ascii(kind) if ch.isalnum())
    return next((level for level, words in _USUAL.items() if word in words), None)


def level_exists(level: str, start: date) -> bool:
    """Whether a level still existed on a period's first day (a period starting later has no such level)."""
    ends = LEVEL_ENDS.get(level)
    return ends is None or start < ends
