"""A listing command's rows as an XLSX workbook (`--format xlsx --output FILE`): what an officer opens in Excel.

One sheet: headings in the people's words on a frozen first row with a filter, columns as wide as their
content, dates as real dates shown dd/mm/yyyy, counts as numbers, rates as numbers with a % format. Every
text cell is written as a string (never a formula, a number or a link), as the annexes are.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

KINDS = ("text", "date", "number", "decimal", "percent")
NUMBER_FORMATS = {"date": "dd/mm/yyyy", "number": "#,##0", "decimal": "#,##0.00", "percent": "0.00%"}
MAX_WIDTH = 60  # a long title wraps rather than pushing every other column off the screen


@dataclass(frozen=True)
class Column:
    heading: str
    kind: str = "text"  # text | date | number | decimal | percent (a rate in percent: 99.65 shows 99,65%)


def workbook_bytes(sheet_name: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> bytes:
    import xlsxwriter  # only the commands asked for a workbook pay for it

    from auditbot.report.xlsx import excel_text

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    sheet = book.add_worksheet(excel_text(sheet_name)[:31])
    heading = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bottom": 1})
    styles = {kind: book.add_format({"num_format": NUMBER_FORMATS[kind], "valign": "top"}) for kind in NUMBER_FORMATS}
    text = book.add_format({"valign": "top"})
    widths = [len(column.heading) for column in columns]
    count = 0
    for count, row in enumerate(rows, start=1):
        for col, (column, value) in enumerate(zip(columns, row)):
            widths[col] = max(widths[col], _put(sheet, count, col, column.kind, value, styles, text))
    for col, column in enumerate(columns):
        sheet.write_string(0, col, excel_text(column.heading), heading)
        sheet.set_column(col, col, min(MAX_WIDTH, widths[col] + 2))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, count, max(0, len(columns) - 1))
    book.close()
    return buffer.getvalue()


def _put(sheet: Any, row: int, col: int, kind: str, value: Any, styles: dict[str, Any], text: Any) -> int:
    """Write one cell as its column's type; the width it needs."""
    from auditbot.report.xlsx import excel_text

    if value is None or value == "":
        sheet.write_blank(row, col, None)
        return 0
    if kind == "date":
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if isinstance(moment, date) and not isinstance(moment, datetime):
            moment = datetime(moment.year, moment.month, moment.day)
        sheet.write_datetime(row, col, moment, styles["date"])
        return 10
    if kind in ("number", "decimal", "percent") and isinstance(value, int | float) and not isinstance(value, bool):
        shown = round(value / 100, 6) if kind == "percent" else value  # 58.7 -> 0.587, not 0.5870000000000001
        sheet.write_number(row, col, shown, styles[kind])
        return len(f"{value:,.2f}")
    written = excel_text(str(value))
    sheet.write_string(row, col, written, text)
    return len(written)
