"""The portal's own published 766 figures, from a file the officer saved from its reporting pages: the JSON
the page loads (metrics with code, numerator, denominator, ratio, score), or a CSV with one row per
indicator. Read for `auditbot index --compare`; nothing is fetched.

A figure's rate comes from its numerator and denominator when both are there (exact), else from its
ratio, a percentage. A blank or a word ("—") is no figure: the file's other indicators still count. A cell
with digits that is no plausible figure (an exponent, a fraction, underscores, thousands of digits, a rate
above 100%) makes the file unbelievable: refused, naming where it is.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from auditbot.errors import InputError
from auditbot.index766.formula import FormulaTable
from auditbot.words import vietnamese
from auditbot.words.text import fold_ascii

# the progress tree has no metric code: its parent's counts are indicator 2.1's
TREE_COUNTS = {"2.1": ("totalOnTime", "totalReceived"),
               "6.1": ("totalDossierOnlinePaymentSuccess", "totalDossierFinancialObligation")}
# the shapes a figure may be written in: no exponent, no fraction, no underscores, no more digits than any
# count or percentage has (converting 1e99999999 or a 5.000-digit integer is what hangs a reader)
MAX_DIGITS = 15
MAX_COUNT = 10**12    # dossiers in a count: far beyond any province's
MAX_CELL = 1_000      # characters in a score file's cell: longer is no score page
_JSON_NUMBER = re.compile(r"-?\d{1,15}(?:\.\d{1,17})?")
_WRITTEN_NUMBER = re.compile(r"[+-]?\d{1,15}(?:\.\d{1,17})?")
_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3}){2,}")
CSV_HEADERS = {"indicator": ("chi tieu", "ma chi tieu", "ma", "code", "indicator"),
               "rate": ("ty le", "ty le (%)", "ratio", "rate"), "points": ("diem", "score", "points")}


@dataclass(frozen=True)
class PortalFigure:
    rate: Fraction | None     # percent
    points: Fraction | None


def read_portal_scores(path: Path, table: FormulaTable, max_mb: float) -> dict[str, PortalFigure]:
    """Indicator id -> the portal's figure. Raises InputError for a file that holds none, or a figure that is
    not a plausible number (naming where it is)."""
    text = read_saved_page(path, max_mb, "score page")
    by_code = {item.portal_code: item.id for item in table.indicators if item.portal_code}
    ids = {item.id for item in table.indicators}
    found = _from_json(path, text, by_code) if text.lstrip()[:1] in "{[" else _from_csv(path, text, by_code, ids)
    if not found:
        raise InputError(f"{path}: no indicator figures found; expected the portal's JSON (metrics with"
                         f" code and score or ratio) or a CSV with columns Chỉ tiêu, Tỷ lệ, Điểm")
    return found


def read_saved_page(path: Path, max_mb: float, what: str) -> str:
    """A page saved from the portal, as text; InputError for one too big or not UTF-8."""
    try:
        if path.stat().st_size > max_mb * 1024 * 1024:
            raise InputError(f"{path}: larger than [sources].max_file_mb ({max_mb:g} MB); not a saved {what}")
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as UTF-8 text ({type(exc).__name__})") from None


class Implausible(ValueError):
    """A figure that is no plausible number: said where it is by the reader that met it."""


@dataclass(frozen=True)
class _Unread:
    """A JSON number left unconverted: converting 1e99999999 or a 5.000-digit integer is the attack."""

    why: str


def _json_number(text: str) -> Fraction | _Unread:
    if not _JSON_NUMBER.fullmatch(text):
        return _Unread(_why(text))
    return Fraction(text)


def _json_constant(text: str) -> _Unread:
    return _Unread(f"{text} is no number")


def _from_json(path: Path, text: str, by_code: dict[str, str]) -> dict[str, PortalFigure]:
    try:  # numbers are only matched against a bounded shape here; they become figures where one is read
        data = json.loads(text, parse_int=_json_number, parse_float=_json_number, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise InputError(f"{path}: not valid JSON (nested too deeply to be a score page)") from None
    found: dict[str, PortalFigure] = {}
    for node in _objects(data):
        code = node.get("code") or node.get("metricCode")
        where = f"metric {code}" if isinstance(code, str) else "the progress counts"
        try:
            if isinstance(code, str) and code in by_code and by_code[code] not in found:
                figure = PortalFigure(_rate(node, "numerator", "denominator"), _points(node.get("score")))
                if figure.rate is not None or figure.points is not None:
                    found[by_code[code]] = figure
            for indicator, (numerator, denominator) in TREE_COUNTS.items():
                if indicator not in found and numerator in node and denominator in node:
                    found[indicator] = PortalFigure(_rate(node, numerator, denominator),
                                                    _points(node.get("score")) if indicator == "2.1" else None)
        except Implausible as exc:
            raise InputError(f"{path}: {where}: {exc}") from None
    return found


def _objects(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every JSON object, outermost first (a tree's parent before its children); nesting is bounded."""
    if depth > 64:
        return
    if isinstance(data, dict):
        yield data
        for value in data.values():
            yield from _objects(value, depth + 1)
    elif isinstance(data, list):
        for value in data:
            yield from _objects(value, depth + 1)


def _from_csv(path: Path, text: str, by_code: dict[str, str], ids: set[str]) -> dict[str, PortalFigure]:
    reader = csv.reader(io.StringIO(text))
    try:
        rows = list(reader)
    except csv.Error as exc:  # the field size limit among others: a 200 KB cell is no score
        raise InputError(f"{path}: row {reader.line_num}: not readable as CSV ({exc})") from None
    if not rows:
        return {}
    for number, row in enumerate(rows, start=1):
        for column, cell in enumerate(row, start=1):
            if len(cell) > MAX_CELL:
                raise InputError(f"{path}: row {number}, column {column}: a cell of {vietnamese.number(len(cell))}"
                                 f" characters; a score file's cells are short (at most {vietnamese.number(MAX_CELL)})")
    header = [fold_ascii(cell) for cell in rows[0]]
    columns = {field: next((i for i, cell in enumerate(header) if cell in names), None)
               for field, names in CSV_HEADERS.items()}
    if columns["indicator"] is None:
        raise InputError(f"{path}: row 1: no indicator column (expected one of: Chỉ tiêu, Mã chỉ tiêu)")
    found: dict[str, PortalFigure] = {}
    for number, row in enumerate(rows[1:], start=2):
        cell = row[columns["indicator"]].strip() if columns["indicator"] < len(row) else ""
        indicator = cell if cell in ids else by_code.get(cell)
        if indicator is None:
            continue
        values: dict[str, Fraction | None] = {"rate": None, "points": None}
        for field, read in (("rate", _percent), ("points", _points)):
            i = columns[field]
            if i is None or i >= len(row):
                continue
            try:
                values[field] = read(row[i], "")
            except Implausible as exc:
                raise InputError(f"{path}: row {number}, column {rows[0][i]!r}: {exc}") from None
        found[indicator] = PortalFigure(values["rate"], values["points"])
    return found


def _rate(node: dict[str, Any], numerator: str, denominator: str) -> Fraction | None:
    top, bottom = _count(node.get(numerator), numerator), _count(node.get(denominator), denominator)
    if top is not None and bottom:
        return _within(100 * top / bottom, 100, f"{numerator}/{denominator}")
    return _percent(node.get("ratio"), "ratio")


def _percent(value: Any, key: str = "") -> Fraction | None:
    return _within(_number(value, key), 100, key)


def _points(value: Any, key: str = "score") -> Fraction | None:
    return _within(_number(value, key), 100, key)  # the whole index is out of 100


def _count(value: Any, key: str) -> Fraction | None:
    number = _number(value, key)
    if number is not None and number.denominator != 1:
        raise Implausible(f"{key}: a count with a fraction")
    return _within(number, MAX_COUNT, key)


def _within(value: Fraction | None, top: int, key: str) -> Fraction | None:
    if value is not None and not 0 <= value <= top:
        label = f"{key}: " if key else ""
        raise Implausible(f"{label}{float(value):g} is outside 0 – {vietnamese.number(top)}")
    return value


def _number(value: Any, key: str = "") -> Fraction | None:
    """A number as the portal or a spreadsheet writes it (85.5, "85,5", "85,5%", "1.234.567"); None for a
    blank or a word ("—", "N/A"). Anything else with digits in it is Implausible: an exponent, a fraction,
    underscores, more digits than any figure has."""
    label = f"{key}: " if key else ""
    if isinstance(value, _Unread):
        raise Implausible(f"{label}{value.why}")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Fraction):  # a JSON number, already bounded by its shape
        return value
    if not isinstance(value, str):
        return None
    text = value.strip().rstrip("%").strip().replace(" ", "").replace("\u00a0", "")
    if not any(character.isdigit() for character in text):
        return None
    if "," in text:
        text = text.replace(".", "").replace(",", ".")
    elif _GROUPED.fullmatch(text):  # two dots or more: thousands, the Vietnamese way
        text = text.replace(".", "")
    if not _WRITTEN_NUMBER.fullmatch(text):
        raise Implausible(f"{label}{_why(text)}")
    return Fraction(text)


def _why(text: str) -> str:
    """What makes a written number implausible, without repeating it (it may be 200 KB long)."""
    if "e" in text.lower():
        return "a number with an exponent is not a figure the portal publishes"
    if "_" in text:
        return "a number with underscores is not a figure the portal publishes"
    if "/" in text:
        return "a fraction is not a figure the portal publishes"
    digits = sum(character.isdigit() for character in text)
    if digits > MAX_DIGITS:
        return f"a number of {vietnamese.number(digits)} digits is not a figure the portal publishes"
    return f"expected a number such as 85,5 or 85.5% ({len(text)} characters that are not one)"
