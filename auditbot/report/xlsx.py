"""The XLSX attachment: one sheet per annex, laid out like the official annex.

Text scraped from websites is untrusted: every text cell is written as a string, so a value starting
with = + - @ stays text and never becomes a formula.
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from .annex_table import Table

NUMBER_FORMATS = {"date": "dd/mm/yyyy", "number": "#,##0", "percent": '0.00"%"'}
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEADER_ROW = 5


def workbook_bytes(tables: list[Table], issuer: str, subtitle: str) -> bytes:
    book = Workbook()
    book.remove(book.active)
    if not tables:  # a period with nobody below a bar still gets its file, saying so
        sheet = book.create_sheet("Phụ lục")
        for row, text in enumerate((issuer, subtitle, "Không có đơn vị nào dưới ngưỡng trong kỳ."), 1):
            _text(sheet.cell(row, 1), text)
    for table in tables:
        sheet = book.create_sheet(table.section.sheet)
        last = get_column_letter(len(table.headings))
        for row, text, font in ((1, issuer, Font(bold=True)), (2, table.section.title, Font(bold=True, size=13)),
                                (3, subtitle, Font(italic=True))):
            sheet.merge_cells(f"A{row}:{last}{row}")
            _text(sheet.cell(row, 1), text)
            sheet.cell(row, 1).font = font
            sheet.cell(row, 1).alignment = Alignment(horizontal="center")
        for col, (heading, width) in enumerate(zip(table.headings, table.widths), 1):
            cell = sheet.cell(HEADER_ROW, col)
            _text(cell, heading)
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = BOX
            sheet.column_dimensions[get_column_letter(col)].width = width
        for offset, row_data in enumerate(table.rows, 1):
            if row_data.heading is not None:  # a group's heading across the whole row
                at = HEADER_ROW + offset
                sheet.merge_cells(f"A{at}:{last}{at}")
                _text(sheet.cell(at, 1), row_data.heading)
                sheet.cell(at, 1).font = Font(bold=True)
                continue
            for col, (value, kind) in enumerate(zip(row_data.values, table.formats), 1):
                cell = sheet.cell(HEADER_ROW + offset, col)
                _put(cell, value, kind)
                cell.border = BOX
                cell.alignment = Alignment(vertical="top", wrap_text=kind in ("text", "list"))
        below = HEADER_ROW + len(table.rows) + 2
        for offset, note in enumerate(table.footnotes):
            sheet.merge_cells(f"A{below + offset}:{last}{below + offset}")
            _text(sheet.cell(below + offset, 1), f"Ghi chú: {note}")
            sheet.cell(below + offset, 1).font = Font(italic=True)
        sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 1)
        sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
        sheet.page_setup.orientation = "landscape"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _put(cell: Any, value: Any, kind: str) -> None:
    if isinstance(value, (int, float, date)) and not isinstance(value, bool):
        cell.value = value
        cell.number_format = NUMBER_FORMATS.get(kind, "General")
    elif value is not None:
        _text(cell, str(value))


def _text(cell: Any, text: str) -> None:
    cell.value = excel_escaped(text)
    cell.data_type = "s"  # openpyxl would read a leading "=" as a formula; this is data, never code


# XML cannot carry most control characters; Excel writes them as _xHHHH_ (and a literal "_x0041_" as
# "_x005F_x0041_", so it reads back as written). Without this one \x02 in one dossier code stops the week.
_EXCEL_ESCAPES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


def excel_escaped(text: str) -> str:
    if text.isprintable() and "_x" not in text:  # nearly every value: nothing to look for
        return text
    return _EXCEL_ESCAPES.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    return f"_x{ord(match.group()):04X}_"
