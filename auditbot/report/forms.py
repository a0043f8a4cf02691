"""The half-year report's tables (Biểu mẫu 3, 7) as XLSX, laid out as the province prints them, from
templates/forms.toml.

Biểu mẫu N and its name above, then STT | Chỉ tiêu thống kê | Đơn vị tính | Báo cáo cải cách hành chính
(Số liệu, Ghi chú), the form's section row (III.) and its rows in the province's numbering (3.1., 3.1.1.,
…). The rows auditbot can compute are filled for the period asked (form_figures.py); a level of government
gone before the period says "không áp dụng"; the others are present and empty with why, so the officer
fills only what auditbot cannot know.
"""

from __future__ import annotations

import io
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from auditbot.config import bundled
from auditbot.config.rules import Config
from auditbot.domain.rates import RATES, RatesOutcome, exemption_text
from auditbot.errors import ConfigError, UserError
from auditbot.report.form_figures import FIGURES, FormFigures
from auditbot.report.xlsx import excel_escaped
from auditbot.words import vietnamese
from auditbot.words.levels import LEVEL_ENDS, LEVELS

FILE = "forms.toml"
HEADINGS = ("STT", "Chỉ tiêu thống kê", "Đơn vị tính")
REPORTED = ("Báo cáo cải cách hành chính", "Số liệu", "Ghi chú")  # the two columns under one heading
WIDTHS = (9, 62, 14, 16, 48)
HEADER_ROW = 5  # the headings take rows 5 and 6, under the form's name, its title and the period
COUNT_FORMAT = "#,##0"  # Excel shows 238.146 and 99,99 in the Vietnamese regional settings
RATE_FORMAT = "0.00"
BOX = Border(*(Side(style="thin"),) * 4)
WORDS = ("period", "no_data", "not_applicable", "level_gone", "level_tinh", "level_huyen", "level_xa", "no_units",
         "no_dossiers", "absent_level_dossiers", "unlevelled", "no_catalogue", "no_decision_dates",
         "published_unsplit", "abolished_undated", "in_force_unplaced", "no_online_levels", "no_status")
# the rate a figure belongs to, whose exemption the row's note repeats
EXEMPTION_OF = {"digitisation_rate": "digitisation", "online_rate": "online", "online_payment_rate": "online_payment",
                "on_time_rate": "overdue"}


@dataclass(frozen=True)
class FormRow:
    number: str
    label: str
    unit: str = ""            # none: a heading
    figure: str | None = None
    level: str | None = None  # tinh | huyen | xa: the row counts one level of government
    why: str | None = None    # why a row without a figure is empty

    @property
    def heading(self) -> bool:
        return not self.unit

    @property
    def depth(self) -> int:
        """1 for "3", 2 for "3.1.", 3 for "3.1.1." or "6.2.1" (the province ends some numbers with a dot)."""
        return len([part for part in self.number.split(".") if part])


@dataclass(frozen=True)
class Form:
    key: str
    heading: tuple[str, str]   # "Biểu mẫu 3", "Cải cách thủ tục hành chính"
    section: tuple[str, str]   # "III.", "Cải cách thủ tục hành chính"
    rows: tuple[FormRow, ...]
    words: dict[str, str]


def form_path(templates: Path) -> Path:
    """The province's own forms when its templates folder has them, the shipped ones otherwise."""
    own = templates / FILE
    return own if own.is_file() else bundled.templates() / FILE


def load_forms(path: Path) -> dict[str, Form]:
    """Every form of a forms.toml, checked: each row's figure one auditbot computes, each level a level."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid forms file ({type(exc).__name__}: {exc})") from None
    if not isinstance(raw.get("forms"), dict) or not isinstance(raw.get("words"), dict):
        raise ConfigError(f"{path}: expected [words] and [forms.<key>] tables (a forms.toml older than the"
                          f" official layout? start again from {bundled.templates() / FILE})")
    missing = [name for name in WORDS if name not in raw["words"]]
    if missing:
        raise ConfigError(f"{path}: [words] lacks {', '.join(missing)}")
    words = {name: str(raw["words"][name]) for name in WORDS}
    forms = {}
    for key, spec in raw["forms"].items():
        try:
            rows = tuple(FormRow(**row) for row in spec["rows"])
            heading, section = spec["heading"], spec["section"]
            forms[key] = Form(key, (str(heading[0]), str(heading[1])), (str(section[0]), str(section[1])), rows,
                              words)
        except (KeyError, TypeError, IndexError) as exc:
            raise ConfigError(f"{path}: form {key!r} is not laid out as expected ({type(exc).__name__}: {exc})") from None
        for row in forms[key].rows:
            if row.figure is not None and row.figure not in FIGURES:
                raise ConfigError(f"{path}: form {key!r}, row {row.number}: unknown figure {row.figure!r}")
            if row.level is not None and row.level not in LEVELS:
                raise ConfigError(f"{path}: form {key!r}, row {row.number}: level must be one of {', '.join(LEVELS)}")
    return forms


def load_form(templates: Path, key: str) -> Form:
    path = form_path(templates)
    forms = load_forms(path)
    if key not in forms:
        raise UserError(f"--form {key!r}: no such form in {path} (known: {', '.join(forms)})")
    return forms[key]


def form_workbook(config: Config, form: Form, outcome: RatesOutcome, figures: FormFigures) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = form.heading[0][:31]
    period = outcome.period
    subtitle = form.words["period"].format(period=period.name, start=vietnamese.day(period.start),
                                           end=vietnamese.day(period.end), state=outcome.state_words)
    for line, (text, font) in enumerate(((form.heading[0], Font(bold=True)), (form.heading[1], Font(bold=True, size=13)),
                                         (subtitle, Font(italic=True))), 1):
        _across(sheet, line, text, font)
    _headings(sheet)
    at = HEADER_ROW + 2
    _row(sheet, at, (*form.section, None, None, None), Font(bold=True))
    for item in form.rows:
        at += 1
        value, note = _cell(config, form, item, figures)
        _row(sheet, at, (item.number, item.label, item.unit or None, value, note),
             Font(bold=True) if item.heading or item.depth == 1 else None)
        if isinstance(value, (int, float)):
            sheet.cell(at, 4).number_format = RATE_FORMAT if item.unit == "%" else COUNT_FORMAT
    if figures.unlevelled and any(item.level and item.figure for item in form.rows):
        footnote = form.words["unlevelled"].format(kinds=", ".join(sorted(figures.unlevelled)))
        _across(sheet, at + 2, f"Ghi chú: {footnote}", Font(italic=True), Alignment(wrap_text=True))
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 2, 1)
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW + 1}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(config: Config, form: Form, item: FormRow, figures: FormFigures) -> tuple[Any, str | None]:
    """A row's Số liệu and Ghi chú."""
    if item.heading:
        return None, None
    if item.level in figures.absent_levels:
        gone = form.words["level_gone"].format(day=vietnamese.day(LEVEL_ENDS[item.level]),
                                               level=form.words[f"level_{item.level}"])
        key = f"{item.figure}@{item.level}"
        return form.words["not_applicable"], "; ".join(filter(None, (gone, figures.uncounted.get(key))))
    if item.figure is None:
        return None, item.why or form.words["no_data"]
    key = f"{item.figure}@{item.level}" if item.level else item.figure
    value = figures.values.get(key)
    note = figures.notes.get(key)
    rate = EXEMPTION_OF.get(item.figure)
    if value is not None and rate is not None and item.figure in RATES:
        note = "; ".join(filter(None, (note, exemption_text(config, rate))))
    return value, note or None


def _headings(sheet: Worksheet) -> None:
    """STT, Chỉ tiêu thống kê, Đơn vị tính over two rows; Số liệu and Ghi chú under one heading."""
    top, below = HEADER_ROW, HEADER_ROW + 1
    for column, heading in enumerate(HEADINGS, 1):
        sheet.merge_cells(start_row=top, start_column=column, end_row=below, end_column=column)
        sheet.cell(top, column, heading)
    sheet.merge_cells(start_row=top, start_column=4, end_row=top, end_column=5)
    sheet.cell(top, 4, REPORTED[0])
    sheet.cell(below, 4, REPORTED[1])
    sheet.cell(below, 5, REPORTED[2])
    for row in (top, below):
        for column, width in enumerate(WIDTHS, 1):
            cell = sheet.cell(row, column)
            cell.font, cell.border = Font(bold=True), BOX
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            sheet.column_dimensions[get_column_letter(column)].width = width


def _row(sheet: Worksheet, at: int, contents: tuple[Any, ...], font: Font | None) -> None:
    for column, content in enumerate(contents, 1):
        cell = sheet.cell(at, column, excel_escaped(content) if isinstance(content, str) else content)
        cell.border = BOX
        cell.alignment = Alignment(vertical="top", wrap_text=column in (2, 3, 5),
                                   horizontal="center" if column == 3 else None)
        if font is not None and column in (1, 2):
            cell.font = font


def _across(sheet: Worksheet, line: int, text: str, font: Font, alignment: Alignment | None = None) -> None:
    sheet.merge_cells(start_row=line, start_column=1, end_row=line, end_column=len(WIDTHS))
    cell = sheet.cell(line, 1, excel_escaped(text))
    cell.font = font
    cell.alignment = alignment or Alignment(horizontal="center")
