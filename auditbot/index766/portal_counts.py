"""The portal's published dossier counts per unit and month (received, finished, on time, overdue), from the
files an officer saves into `[sync] portal_figures`: the JSON its statistics page loads, or a CSV with one
row per unit and month. Read to reconcile them with auditbot's own counts (sync.counts_differ).

A count is bounded as the 766 figures are (no exponent, fraction or thousands of digits); a blank is no count
(unknown, never 0). A row naming no unit auditbot knows, or no month, is rejected with its row; a file in no
shape we know is refused in one line naming it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditbot.errors import InputError
from auditbot.index766.portal_scores import (
    Implausible,
    _count,
    _json_constant,
    _json_number,
    _objects,
    read_saved_page,
)
from auditbot.words.text import fold_ascii

COUNTS = ("received", "finished", "on_time", "overdue")
# a count's names in the portal's JSON and in a CSV header (folded: no accents, lower case)
NAMES: dict[str, tuple[str, ...]] = {
    "unit": ("agencycode", "madonvi", "ma don vi", "unit", "don vi", "agencyname", "tendonvi", "ten don vi",
             "co quan"),
    "month": ("month", "thang", "period", "ky"),
    "year": ("year", "nam"),
    "received": ("totalreceived", "tiep nhan", "so tiep nhan", "da tiep nhan", "received"),
    "finished": ("totalcompleted", "totalfinished", "da giai quyet", "da xu ly", "giai quyet", "finished"),
    "on_time": ("totalontime", "dung han", "dung han truoc han", "on_time"),
    "overdue": ("totaloverdue", "totaloutofdate", "qua han", "tre han", "overdue"),
}
_MONTH = re.compile(r"(\d{1,2})[/-](\d{4})|(\d{4})-(\d{1,2})")


@dataclass(frozen=True)
class PortalCount:
    unit: str              # as the file writes it (a code or a name): the caller resolves it
    month: str             # mm/yyyy, the period label auditbot stores a month under
    counts: dict[str, int | None]


@dataclass
class PortalCounts:
    rows: list[PortalCount]
    rejected: list[str]    # "row 3: no month" (never a cell's content beyond a unit's name)


def read_portal_counts(path: Path, max_mb: float) -> PortalCounts:
    text = read_saved_page(path, max_mb, "statistics page")
    records = _json_records(path, text) if text.lstrip()[:1] in "{[" else _csv_records(text)
    read = PortalCounts([], [])
    for number, record in records:
        try:
            row = _row(record)
        except Implausible as exc:
            raise InputError(f"{path}: row {number}: {exc}") from None
        if isinstance(row, str):
            read.rejected.append(f"row {number}: {row}")
        else:
            read.rows.append(row)
    if not read.rows:
        raise InputError(f"{path}: no unit's monthly counts found; expected the portal's JSON (agencyCode, month,"
                         " totalReceived, totalCompleted, totalOnTime, totalOverdue) or a CSV with columns Đơn vị,"
                         " Tháng, Tiếp nhận, Đã giải quyết, Đúng hạn, Quá hạn")
    return read


def _json_records(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    try:  # numbers are only matched against a bounded shape here; they become counts where one is read
        data = json.loads(text, parse_int=_json_number, parse_float=_json_number, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise InputError(f"{path}: not valid JSON (nested too deeply to be a statistics page)") from None
    folded = [{fold_ascii(str(key)).strip(): value for key, value in node.items()} for node in _objects(data)]
    objects = [node for node in folded if _field(node, "received") is not None or _field(node, "finished") is not None]
    return list(enumerate(objects, start=1))


def _csv_records(text: str) -> list[tuple[int, dict[str, Any]]]:
    lines = list(csv.reader(io.StringIO(text), csv.Sniffer().sniff(text[:4096], ",;\t")
                            if text.strip() else csv.excel))
    if not lines:
        return []
    header = [fold_ascii(cell).strip() for cell in lines[0]]
    return [(number, dict(zip(header, line))) for number, line in enumerate(lines[1:], start=2)]


def _field(record: dict[str, Any], name: str) -> Any:
    for key in NAMES[name]:
        folded = fold_ascii(key)
        if folded in record or key in record:
            return record.get(folded, record.get(key))
    return None


def _row(record: dict[str, Any]) -> PortalCount | str:
    unit = _field(record, "unit")
    if not isinstance(unit, str) or not unit.strip():
        return "no unit"
    month = _month(_field(record, "month"), _field(record, "year"))
    if month is None:
        return "no month (expected mm/yyyy)"
    counts = {}
    for name in COUNTS:
        value = _count(_field(record, name), name)
        counts[name] = None if value is None else int(value)
    return PortalCount(unit.strip(), month, counts)


def _month(month: Any, year: Any) -> str | None:
    if year is not None and month is not None:
        month, year = str(getattr(month, "numerator", month)).strip(), str(getattr(year, "numerator", year)).strip()
        if month.isdigit() and year.isdigit() and 1 <= int(month) <= 12 and len(year) == 4:
            return f"{int(month):02d}/{year}"
        return None
    match = _MONTH.fullmatch(str(month or "").strip())
    if not match:
        return None
    number, year = (match[1], match[2]) if match[1] else (match[4], match[3])
    return f"{int(number):02d}/{year}" if 1 <= int(number) <= 12 else None
