"""The XLSX attachment: one sheet per annex, laid out like the official annex.

Written with XlsxWriter, which streams cells straight to the sheet's XML with formats made once per
workbook: a province's 200 letters take a second, where a cell-object model took a quarter of a minute.
Text scraped from websites is untrusted: every text cell is written as a string, so a value starting
with = + - @ stays text and never becomes a formula.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from typing import Any

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from auditbot.report.annex_table import Table

NUMBER_FORMATS = {"date": "dd/mm/yyyy", "number": "#,##0", "percent": '0.00"%"'}
HEADER_ROW = 4  # zero-based: the headings are on the fifth row, under the issuer, title and subtitle


class _Formats:
    """The workbook's few formats, made once (XlsxWriter shares one format among any number of cells)."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.issuer = book.add_format({"bold": True, "align": "center"})
        self.title = book.add_format({"bold": True, "font_size": 13, "align": "center"})
        self.subtitle = book.add_format({"italic": True, "align": "center"})
        self.heading = book.add_format({"bold": True, "align": "center", "valign": "vcenter", "text_wrap": True,
                                        "border": 1})
        self.group = book.add_format({"bold": True})
        self.note = book.add_format({"italic": True})
        self.cells: dict[str, Format] = {}
        for kind in ("text", "list", *NUMBER_FORMATS):
            spec: dict[str, Any] = {"border": 1, "valign": "top", "text_wrap": kind in ("text", "list")}
            if kind in NUMBER_FORMATS:
                spec["num_format"] = NUMBER_FORMATS[kind]
            self.cells[kind] = book.add_format(spec)
        self.plain_cell = book.add_format({"border": 1, "valign": "top"})

    def cell(self, kind: str) -> Format:
        return self.cells.get(kind, self.plain_cell)


def workbook_bytes(tables: list[Table], issuer: str, subtitle: str) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False,
                                        "strings_to_numbers": False, "strings_to_urls": False})
    formats = _Formats(book)
    if not tables:  # a period with nobody below a bar still gets its file, saying so
        sheet = book.add_worksheet("Phụ lục")
        for row, text in enumerate((issuer, subtitle, "Không có đơn vị nào dưới ngưỡng trong kỳ.")):
            _text(sheet, row, 0, text)
    for table in tables:
        _annex(book.add_worksheet(table.section.sheet), table, issuer, subtitle, formats)
    book.close()
    return buffer.getvalue()


def _annex(sheet: Worksheet, table: Table, issuer: str, subtitle: str, formats: _Formats) -> None:
    last = len(table.headings) - 1
    for row, text, style in ((0, issuer, formats.issuer), (1, table.section.title, formats.title),
                             (2, subtitle, formats.subtitle)):
        _across(sheet, row, last, text, style)
    for col, (heading, width) in enumerate(zip(table.headings, table.widths)):
        _text(sheet, HEADER_ROW, col, heading, formats.heading)
        sheet.set_column(col, col, width)
    for offset, row_data in enumerate(table.rows, 1):
        at = HEADER_ROW + offset
        if row_data.heading is not None:  # a group's heading across the whole row
            _across(sheet, at, last, row_data.heading, formats.group)
            continue
        for col, (value, kind) in enumerate(zip(row_data.values, table.formats)):
            _put(sheet, at, col, value, formats.cell(kind))
    below = HEADER_ROW + len(table.rows) + 2
    for offset, note in enumerate(table.footnotes):
        _across(sheet, below + offset, last, f"Ghi chú: {note}", formats.note)
    sheet.freeze_panes(HEADER_ROW + 1, 0)
    sheet.repeat_rows(HEADER_ROW)
    sheet.set_landscape()


def _across(sheet: Worksheet, row: int, last: int, text: str, style: Format) -> None:
    if last > 0:
        sheet.merge_range(row, 0, row, last, excel_text(text), style)
    else:
        _text(sheet, row, 0, text, style)


def _put(sheet: Worksheet, row: int, col: int, value: Any, style: Format) -> None:
    if isinstance(value, datetime | date):
        sheet.write_datetime(row, col, value, style)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        sheet.write_number(row, col, value, style)
    elif value is not None:
        _text(sheet, row, col, str(value), style)
    else:
        sheet.write_blank(row, col, None, style)


def _text(sheet: Worksheet, row: int, col: int, text: str, style: Format | None = None) -> None:
    # write_string, never write: this is data, never a formula, a number or a link
    sheet.write_string(row, col, excel_text(text), style)


# XlsxWriter writes control characters as Excel does (_xHHHH_, and a literal "_x0041_" as "_x005F_x0041_",
# so it reads back as written); the two noncharacters XML cannot carry at all are left to us. Without this
# one \uffff in one dossier code stops the week.
_NONCHARACTERS = re.compile("[\ufffe\uffff]")


def excel_text(text: str) -> str:
    return _NONCHARACTERS.sub("\ufffd", text) if "\ufffe" in text or "\uffff" in text else text


# For openpyxl's cells (the official forms are filled in their own templates): Excel's escapes, done here.
_EXCEL_ESCAPES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


def excel_escaped(text: str) -> str:
    if text.isprintable() and "_x" not in text:  # nearly every value: nothing to look for
        return text
    return _EXCEL_ESCAPES.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    return f"_x{ord(match.group()):04X}_"
