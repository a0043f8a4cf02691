"""The portal's own published 766 figures, from a file the officer saved from its reporting pages: the JSON
the page loads (metrics with code, numerator, denominator, ratio, score), or a CSV with one row per
indicator. Read for `auditbot index --compare`; nothing is fetched.

A figure's rate comes from its numerator and denominator when both are there (exact), else from its
ratio, a percentage. Anything that is not a number is no figure: the file's other indicators still count.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from auditbot.errors import InputError
from auditbot.index766.formula import FormulaTable
from auditbot.words.text import fold_ascii

# the progress tree has no metric code: its parent's counts are indicator 2.1's
TREE_COUNTS = {"2.1": ("totalOnTime", "totalReceived"),
               "6.1": ("totalDossierOnlinePaymentSuccess", "totalDossierFinancialObligation")}
CSV_HEADERS = {"indicator": ("chi tieu", "ma chi tieu", "ma", "code", "indicator"),
               "rate": ("ty le", "ty le (%)", "ratio", "rate"), "points": ("diem", "score", "points")}


@dataclass(frozen=True)
class PortalFigure:
    rate: Fraction | None     # percent
    points: Fraction | None


def read_portal_scores(path: Path, table: FormulaTable, max_mb: float) -> dict[str, PortalFigure]:
    """Indicator id -> the portal's figure. Raises InputError for a file that holds none."""
    try:
        if path.stat().st_size > max_mb * 1024 * 1024:
            raise InputError(f"{path}: larger than [sources].max_file_mb ({max_mb:g} MB); not a saved score page")
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as UTF-8 text ({type(exc).__name__})") from None
    by_code = {item.portal_code: item.id for item in table.indicators if item.portal_code}
    ids = {item.id for item in table.indicators}
    found = _from_json(path, text, by_code) if text.lstrip()[:1] in "{[" else _from_csv(path, text, by_code, ids)
    if not found:
        raise InputError(f"{path}: no indicator figures found; expected the portal's JSON (metrics with"
                         f" code and score or ratio) or a CSV with columns Chỉ tiêu, Tỷ lệ, Điểm")
    return found


def _from_json(path: Path, text: str, by_code: dict[str, str]) -> dict[str, PortalFigure]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise InputError(f"{path}: not valid JSON (nested too deeply to be a score page)") from None
    found: dict[str, PortalFigure] = {}
    for node in _objects(data):
        code = node.get("code") or node.get("metricCode")
        if isinstance(code, str) and code in by_code and by_code[code] not in found:
            figure = PortalFigure(_rate(node, "numerator", "denominator"), _number(node.get("score")))
            if figure.rate is not None or figure.points is not None:
                found[by_code[code]] = figure
        for indicator, (numerator, denominator) in TREE_COUNTS.items():
            if indicator not in found and numerator in node and denominator in node:
                found[indicator] = PortalFigure(_rate(node, numerator, denominator),
                                                _number(node.get("score")) if indicator == "2.1" else None)
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
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return {}
    header = [fold_ascii(cell) for cell in rows[0]]
    columns = {field: next((i for i, cell in enumerate(header) if cell in names), None)
               for field, names in CSV_HEADERS.items()}
    if columns["indicator"] is None:
        raise InputError(f"{path}: row 1: no indicator column (expected one of: Chỉ tiêu, Mã chỉ tiêu)")
    found: dict[str, PortalFigure] = {}
    for row in rows[1:]:
        cell = row[columns["indicator"]].strip() if columns["indicator"] < len(row) else ""
        indicator = cell if cell in ids else by_code.get(cell)
        if indicator is None:
            continue
        values = {field: _number(row[i]) if i is not None and i < len(row) else None
                  for field, i in columns.items() if field != "indicator"}
        found[indicator] = PortalFigure(values["rate"], values["points"])
    return found


def _rate(node: dict[str, Any], numerator: str, denominator: str) -> Fraction | None:
    top, bottom = _number(node.get(numerator)), _number(node.get(denominator))
    if top is not None and bottom:
        return 100 * top / bottom
    return _number(node.get("ratio"))


def _number(value: Any) -> Fraction | None:
    """A number as the portal or a spreadsheet writes it (85.5, "85,5", "85,5%"); None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return Fraction(str(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str):
        text = value.strip().rstrip("%").strip().replace(" ", "")
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        try:
            return Fraction(text) if text and len(text) < 32 else None
        except ValueError:
            return None
    return None
