"""A Datasette plugin, registered by `auditbot serve`: cells as people here read them, and province time.

Only the HTML changes: the JSON API keeps ISO dates and raw numbers for machines.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from datasette import hookimpl as untyped_hookimpl

from auditbot.words import vietnamese

T = TypeVar("T")


def hookimpl(function: T) -> T:
    """Datasette's marker, typed: it only tags the function."""
    marked: T = untyped_hookimpl(function)
    return marked

ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?")
RATE_PREFIXES = ("Tỷ lệ", "Ngưỡng")
RATE_SUFFIXES = ("_rate", "_min", "_max")
KEY_COLUMNS = frozenset({"id", "rowid", "row", "source_row", "batch", "pid", "port"})


UNITS_LINKS = frozenset({"link", "Liên kết kèm theo"})  # typed by a unit in its answer: shown, never made a link


def cell_text(value: Any, column: str) -> str | None:
    """The Vietnamese display of one cell, or None to leave it to Datasette."""
    if isinstance(value, bool) or value is None:
        return None
    if column in UNITS_LINKS and isinstance(value, str):
        return value  # text, escaped: a click on a unit's link is the reviewer's choice, made by copying it
    if isinstance(value, (int, float)):
        if column.startswith(RATE_PREFIXES) or column.endswith(RATE_SUFFIXES):
            return vietnamese.percent(float(value))
        if column in KEY_COLUMNS or column.endswith("id") or column.startswith("Mã"):
            return None
        return vietnamese.number(value)
    if isinstance(value, str) and ISO_MOMENT.fullmatch(value):
        try:
            return vietnamese.moment(value) if " " in value else vietnamese.day(value)
        except ValueError:
            return None
    return None


class CellsPlugin:
    """Holds the province's zone, so SQL can ask `auditbot_now()` for the province's clock."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.__name__ = __name__  # Datasette lists plugins by module name

    def now(self) -> str:
        return datetime.now(self.zone).strftime("%Y-%m-%d %H:%M:%S")

    @hookimpl
    def render_cell(self, value: Any, column: str) -> str | None:
        return cell_text(value, column)

    @hookimpl
    def prepare_connection(self, conn: Any) -> None:
        function: Callable[[], str] = self.now
        conn.create_function("auditbot_now", 0, function)
