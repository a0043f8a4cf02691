"""The half-year report's tables (Biểu mẫu 3, 7, …) as XLSX in their own layout, from templates/forms.toml.

STT | Chỉ tiêu | Đơn vị tính | Số liệu | Ghi chú, numbered 3.1, 3.1.1, …: the rows auditbot can compute
are filled for the period asked, the others are present and empty, so the officer fills only what
auditbot cannot know.
"""

from __future__ import annotations

import io
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

from auditbot.config.rules import Config
from auditbot.domain.rates import RATE_INPUT, RATES, UNKNOWN_TEXT, Figures, RatesOutcome, exemption_text
from auditbot.errors import ConfigError, UserError
from auditbot.report.xlsx import excel_escaped
from auditbot.words import vietnamese

HEADINGS = ("STT", "Chỉ tiêu", "Đơn vị tính", "Số liệu", "Ghi chú")
WIDTHS = (8, 70, 12, 16, 48)
HEADER_ROW = 5
BOX = Border(*(Side(style="thin"),) * 4)
DERIVED = {"overdue": ("late", "overdue_open"), "overdue_base": ("due_known", "unfinished_due_known")}
# the rate a figure belongs to, whose exemption the row's note repeats
EXEMPTION_OF = {"digitisation_rate": "digitisation", "digitised_known": "digitisation",
                "online_rate": "online", "online_payment_rate": "online_payment", "on_time_rate": "overdue",
                "overdue_rate": "overdue"}


@dataclass(frozen=True)
class FormRow:
    number: str
    label: str
    unit: str
    figure: str | None


@dataclass(frozen=True)
class Form:
    key: str
    title: str
    rows: tuple[FormRow, ...]


def load_form(folder: Path, key: str) -> Form:
    path = folder / "forms.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid forms file ({type(exc).__name__}: {exc})") from None
    if key not in raw:
        raise UserError(f"--form {key!r}: no such form in {path} (known: {', '.join(raw)})")
    try:
        rows = tuple(FormRow(str(r["number"]), str(r["label"]), str(r.get("unit", "")), r.get("figure"))
                     for r in raw[key]["rows"])
        form = Form(key, str(raw[key]["title"]), rows)
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: form {key!r} is not laid out as expected ({type(exc).__name__}: {exc})") from None
    known = {*Figures.__dataclass_fields__, *RATES, *DERIVED} - {"group"}
    for row in form.rows:
        if row.figure is not None and row.figure not in known:
            raise ConfigError(f"{path}: form {key!r}, row {row.number}: unknown figure {row.figure!r}")
    return form


def form_values(config: Config, province: Figures) -> dict[str, Any]:
    """Every figure a form row may name, for the province: counts, bases, rates (None when unknown)."""
    row = province.as_row(config.rounding)
    for name, (first, second) in DERIVED.items():
        row[name] = None if row[first] is None or row[second] is None else row[first] + row[second]
    return row


def form_workbook(config: Config, form: Form, outcome: RatesOutcome, province: Figures) -> bytes:
    values = form_values(config, province)
    book = Workbook()
    sheet = book.active
    sheet.title = form.key[:31]
    period = outcome.period
    for line, (text, font) in enumerate((
            (f"UBND TỈNH {config.province.upper()}", Font(bold=True)),
            (form.title, Font(bold=True, size=13)),
            (f"Kỳ báo cáo: {period.name} ({vietnamese.day(period.start)} – {vietnamese.day(period.end)}), {outcome.state_words}",
             Font(italic=True))), 1):
        sheet.merge_cells(start_row=line, start_column=1, end_row=line, end_column=len(HEADINGS))
        sheet.cell(line, 1, excel_escaped(text)).font = font
        sheet.cell(line, 1).alignment = Alignment(horizontal="center")
    for column, (heading, width) in enumerate(zip(HEADINGS, WIDTHS), 1):
        cell = sheet.cell(HEADER_ROW, column, heading)
        cell.font, cell.border = Font(bold=True), BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[cell.column_letter].width = width
    for offset, item in enumerate(form.rows, 1):
        value = values.get(item.figure) if item.figure else None
        note = _note(config, item, value, values)
        cells = (item.number, item.label, item.unit, value, note)
        for column, content in enumerate(cells, 1):
            cell = sheet.cell(HEADER_ROW + offset, column, content)
            cell.border = BOX
            cell.alignment = Alignment(vertical="top", wrap_text=column in (2, 5))
            if column == 4 and isinstance(content, (int, float)):
                cell.number_format = "0.00" if item.figure in RATES else "#,##0"
        if item.number.count(".") <= 1:  # 3.1, 3.2: the indicator; 3.1.1: its counts
            sheet.cell(HEADER_ROW + offset, 2).font = Font(bold=True)
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 1)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _note(config: Config, item: FormRow, value: Any, values: dict[str, Any]) -> str | None:
    if item.figure is None:
        return None  # auditbot has no data for it: the officer's to fill
    if value is None:
        if item.figure in RATE_INPUT and values.get(RATE_INPUT[item.figure]) is not None:
            return "không có hồ sơ trong kỳ"
        return UNKNOWN_TEXT
    rate = EXEMPTION_OF.get(item.figure)
    return exemption_text(config, rate) if rate else None
