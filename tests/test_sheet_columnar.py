"""The columnar path for workbook exports (sources/sheet_columnar.py) against the row-at-a-time path: on
workbooks with hostile texts and every kind of cell (numbers, booleans, dates, times, datetimes with
milliseconds) both give the same records, rejections, skips, counts, preview and report, and a whole import
through either stores the same rows. The row path (calamine's rows, shaped and parsed one by one) is the
reference."""

from __future__ import annotations

import multiprocessing
import os
import re
import zipfile
from datetime import date, datetime, time
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from conftest import Province
from dossier_values import HEADER, UNITS, VALUES, summary_of, unstaged
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from auditbot.config.rules import load_config
from auditbot.errors import InputError
from auditbot.sources.dossiers.exports import DossierSpec
from auditbot.sources.tabular import formats, pipeline
from auditbot.store.dossiers import COLUMNS

CASES = int(os.environ.get("AUDITBOT_FUZZ_CASES", "120")) // 4  # a workbook is slower to write than a CSV
FUZZ = settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck))

# cells an XLSX holds as what they are, not as text: the ones the parser reads as it reads their text (a
# datetime of whole seconds or a date in a moment column, a whole fee) and every other kind
TYPED: dict[str, list[Any]] = {
    "code": [12345, 12345.5, True, datetime(2026, 8, 2, 12, 3)],
    "procedure_code": [1.009972, 1009972],
    "procedure_name": [42, 'tên "kép", dòng 1\ndòng 2', '"', ","],
    "citizen": [912345678, datetime(1990, 1, 1)],
    "unit": [123, False],
    "channel": [1, True],
    "received_at": [datetime(2026, 8, 2, 12, 3), datetime(2026, 8, 2, 12, 3, 4, 500000), date(2026, 8, 2),
                    time(12, 3), 46236.5, datetime(1900, 3, 1, 6, 0), True, datetime(2026, 8, 2, 23, 59, 59, 999000)],
    "due_at": [date(2026, 8, 7), datetime(2026, 8, 7, 17, 0), time(0, 0), 46241],
    "finished_at": [datetime(2026, 8, 3, 3, 0), date(2026, 8, 3), datetime(2026, 8, 3, 3, 0, 0, 1000)],
    "status": [9, True],
    "fee": [50000, 0, 1.5, -5, 1e16, 12345678901234, True, -0.0],
    "paid_online": [True, False, 1, 0],
    "digitised": [True, False, 1],
    "result_ref": [12345, 1.5, True, datetime(2026, 8, 3)],
    "heir": [7],
}
ORDINARY = {name: values[0] for name, values in VALUES.items()} | {
    "received_at": datetime(2026, 8, 2, 12, 3), "due_at": datetime(2026, 8, 7, 17, 0),
    "finished_at": datetime(2026, 8, 3, 3, 0), "fee": 50000}
# rows that are not an ordinary dossier: layout, a footer, blank-looking cells, short rows, a citizen alone
ODD_ROWS: list[list[Any]] = [[], ["Tổng cộng: 3 hồ sơ"], [None, None, None, None, "Nguyễn Văn An"], [0, 0, 0],
                             [False], ["", ""], [1, "H-{n}"], [None] * 20 + ["ngoài bảng"], [" "]]


@st.composite
def ROW(draw: st.DrawFn) -> dict[str, Any]:
    """An ordinary row with up to two of its cells hostile, as text or as a typed cell."""
    line = dict(ORDINARY)
    for name in draw(st.lists(st.sampled_from(list(VALUES)), min_size=1, max_size=2)):
        line[name] = draw(st.sampled_from([*VALUES[name], *TYPED.get(name, [])]))
    return line


LINE = st.one_of(ROW(), ROW(), ROW(), st.sampled_from(ODD_ROWS))


def _written(value: Any, n: int) -> Any:
    """A value as a workbook can hold it (no control characters: XML has none to write)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value.format(n=n)) if isinstance(value, str) else value


def render(path: Path, lines: list[dict[str, Any] | list[Any]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["ỦY BAN NHÂN DÂN TỈNH THỬ NGHIỆM"])
    sheet.append([])
    sheet.append(HEADER)
    for n, line in enumerate(lines, start=1):
        if isinstance(line, list):
            sheet.append([_written(cell, n) for cell in line])
            continue
        cells = {name: _written(value, n) for name, value in line.items()}
        sheet.append([n, cells["code"], cells["procedure_code"], cells["procedure_name"], cells["citizen"],
                      cells["unit"], cells["channel"], cells["received_at"], cells["due_at"], cells["finished_at"],
                      cells["status"], cells["fee"], cells["paid_online"], cells["digitised"], cells["result_ref"],
                      cells["heir"]])
    workbook.save(path)
    return path


def row_path(path: Path, config: Any) -> tuple[tuple, list[tuple]]:
    records: list[tuple] = []
    counts = pipeline._parse(path, formats.WORKBOOK, DossierSpec(), config, 7, lambda *header: None, records.extend)
    return summary_of(counts), records


_ENGINE: list[Pool] = []


@pytest.fixture(scope="module", autouse=True)
def engine(engine_child: Pool) -> None:
    _ENGINE[:] = [engine_child]


def sheet_path(path: Path, config: Any) -> tuple[tuple, list[tuple]]:
    """What the columnar path reads, in a forked child as imports do (see pipeline._columnar)."""
    return _ENGINE[0].apply(_sheet_path, (path, config))


def _sheet_path(path: Path, config: Any, parsed: list[int] | None = None) -> tuple[tuple, list[tuple]]:
    # here, in the child, not at the top: a test process that has started the engine forks no reader with it
    from auditbot.sources.tabular import sheet_columnar

    sheet_columnar.BATCH_ROWS = 7  # a few rows typed at a time: every batch boundary is met
    if parsed is not None:
        from auditbot.sources.dossiers.rows import DossierParser

        parse = DossierParser.parse
        DossierParser.parse = lambda self, cells, row: (parsed.append(row), parse(self, cells, row))[1]  # type: ignore
    records: list[tuple] = []
    counts = sheet_columnar.read_sheet(path, DossierSpec(), config, 7, lambda *header: None, records.extend,
                                       lambda image: records.extend(unstaged(image)), path.parent)
    assert counts is not None
    return summary_of(counts), sorted(records, key=lambda record: record[COLUMNS.index("source_row")])


@pytest.fixture
def config(tmp_path: Path) -> Any:
    return load_config(Province(tmp_path, extra=UNITS).rules)


def test_each_hostile_value_and_typed_cell_is_read_the_same_either_way(tmp_path: Path, config: Any) -> None:
    lines: list[dict[str, Any] | list[Any]] = [
        dict(ORDINARY, **{name: value}) for name in VALUES for value in [*VALUES[name], *TYPED.get(name, [])]]
    path = render(tmp_path / "export.xlsx", [*lines, *ODD_ROWS, *lines])
    expected = row_path(path, config)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        read, parsed = pool.apply(_parsed_rows, (path, config))
    assert read == expected
    assert len(expected[1]) > 200 and len(expected[0][4]) > 40  # records and rejections both
    last_rows = range(3 + len(lines) + len(ODD_ROWS) + 1, 3 + 2 * len(lines) + len(ODD_ROWS) + 1)
    assert len(set(last_rows) - set(parsed)) > 50  # to the end, the engine typed rows


@FUZZ
@given(lines=st.lists(LINE, max_size=40))
def test_hostile_workbooks_read_the_same_either_way(tmp_path: Path, config: Any, lines: list[Any]) -> None:
    path = render(tmp_path / "export.xlsx", lines)
    assert sheet_path(path, config) == row_path(path, config)


def test_the_ordinary_rows_are_typed_by_the_engine_not_the_parser(tmp_path: Path, config: Any) -> None:
    """The speed is real: datetimes, whole fees and texts reach the row parser for none of the rows."""
    path = render(tmp_path / "export.xlsx", [ORDINARY] * 50)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        (_, records), parsed = pool.apply(_parsed_rows, (path, config))
    assert len(records) == 50 and parsed == []
    assert records[0][COLUMNS.index("received_at")] == "2026-08-02 12:03:00"
    assert records[0][COLUMNS.index("fee")] == 50000.0


def _parsed_rows(path: Path, config: Any) -> tuple[tuple[tuple, list[tuple]], list[int]]:
    """What the columnar path reads, and the rows that reached the row parser."""
    parsed: list[int] = []
    return _sheet_path(path, config, parsed), parsed


def test_an_xlsx_import_stores_what_the_row_path_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """End to end through `auditbot import`, twice (the second export updates rows): the same dossiers, the
    same summary and the same kept rejections either way."""
    lines = [dict(ORDINARY, **{name: [*VALUES[name], *TYPED.get(name, [])][i % 5]}) if i % 6 == 0 else
             dict(ORDINARY, code=f"HS-{i}") for i in range(400) for name in [list(VALUES)[i % len(VALUES)]]]
    later = [dict(line, status="Đã trả kết quả") if i % 3 else line for i, line in enumerate(lines)]
    results = {}
    for way in ("columnar", "rows"):
        if way == "rows":
            monkeypatch.setattr(pipeline, "_columnar", lambda kind, spec: False)
        (tmp_path / way).mkdir()
        province = Province(tmp_path / way, extra=UNITS)
        runs = [province.run("import", "dossiers", str(render(province.root / "exports" / f"{name}.xlsx", rows)))
                for name, rows in (("first", [*lines, *ODD_ROWS]), ("later", later))]
        outputs = [run.output.replace(str(tmp_path / way), "") for run in runs]
        assert all(run.exit_code == 0 for run in runs), outputs
        db = sqlite_utils.Database(province.db_path)
        results[way] = (outputs, list(db.query("SELECT * FROM dossiers ORDER BY code")),
                        list(db.query("SELECT row, column_name, reason, fields FROM rejected_rows ORDER BY id")))
    assert results["columnar"] == results["rows"]
    assert len(results["rows"][1]) > 300 and results["rows"][2]


@pytest.mark.parametrize("damage", [b"\xff", b"\xed\xa0\x80", b"\xc3"])
def test_a_text_that_is_not_utf8_is_read_the_same_either_way(tmp_path: Path, config: Any, damage: bytes) -> None:
    """Bytes that are no UTF-8 (a stray byte, an encoded surrogate, a cut sequence) in a mapped text: the
    same outcome as the row path, refusal or rows, word for word."""
    whole = render(tmp_path / "whole.xlsx", [*[ORDINARY] * 20, dict(ORDINARY, procedure_name="MARK"), *[ORDINARY] * 20])
    path = tmp_path / "export.xlsx"
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, data.replace(b"MARK", b"MA" + damage + b"RK") if "worksheets" in info.filename else data)
    try:
        expected: object = row_path(path, config)
    except InputError as refused:
        expected = str(refused)
    try:
        read: object = sheet_path(path, config)
    except InputError as refused:
        read = str(refused)
    assert read == expected
    assert "is not readable" in str(expected)  # calamine's refusal: the XML itself is broken


def _rewritten(path: Path, change: Any) -> Path:
    """The workbook at `path` with its sheet's XML changed by `change` (bytes -> bytes)."""
    changed = path.with_name(f"changed-{path.name}")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(changed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, change(data) if "worksheets" in info.filename else data)
    return changed


def _import(tmp_path: Path, path: Path) -> tuple[Any, int]:
    """`auditbot import dossiers` of one workbook: the result, and how many dossiers are stored."""
    (tmp_path / "province").mkdir()
    province = Province(tmp_path / "province", extra=UNITS)
    result = province.run("import", "dossiers", str(path))
    stored = sqlite_utils.Database(province.db_path).execute("SELECT count(*) FROM dossiers").fetchone()[0]
    return result, stored


def test_a_far_cell_deep_in_the_sheet_is_refused(tmp_path: Path) -> None:
    """The sparse-bomb refusal holds past where the header is looked for: a cell at Excel's last column and
    row after hundreds of ordinary rows is one refusal (the grid it asks for is past what the file may
    take), and none of the rows before it is kept."""
    plain = render(tmp_path / "export.xlsx", [dict(ORDINARY, code=f"HS-{n}") for n in range(400)])
    bomb = _rewritten(plain, lambda xml: re.sub(rb"<dimension[^>]*/>", b"", xml).replace(
        b"</sheetData>", b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>'))
    result, stored = _import(tmp_path, bomb)
    assert result.exit_code == 2
    assert "export.xlsx: the reader stopped" in result.output and "not imported" in result.output
    assert stored == 0


def test_these_tests_leave_the_engine_unstarted() -> None:
    """Imports later in this process must still be able to read with the engine (see pipeline._columnar)."""
    import sys

    assert "polars" not in sys.modules
