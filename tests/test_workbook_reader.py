"""Workbooks read by calamine (sources/workbook.py), one test per case the hand-written reader it replaced
handled: every value as Excel shows it, at its row and column, and every file it refused still refused in
one line that quotes no cell. What a comment, a processing instruction or a CDATA section holds is never a
row (#39)."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlite_utils
import xlwt
from conftest import Province
from openpyxl import Workbook

from auditbot.errors import InputError
from auditbot.sources.tabular import reading_process as children
from auditbot.sources.tabular.reading_process import start_reader
from auditbot.sources.tabular.workbook import workbook_rows

CCCD = "079305001234"


def rows(path: Path) -> list[tuple[int, list[object]]]:
    """The sheet's rows as the import sees them, trailing empty cells and blank rows aside."""
    out = []
    for number, cells in workbook_rows(path):
        cells = list(cells)
        while cells and cells[-1] in ("", None):
            cells.pop()
        if cells:
            out.append((number, cells))
    return out


def _handmade(path: Path, sheet_data: str, shared: str | None = None, styles: str | None = None,
              prefix: str = "") -> Path:
    """A workbook whose sheet XML is written out by hand, as other systems' writers lay it out."""
    ns = 'xmlns{}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'.format(
        f":{prefix[:-1]}" if prefix else "")
    rel = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
            '"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
            'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxml'
            'formats-officedocument.spreadsheetml.worksheet+xml"/>'
            + ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
               'officedocument.spreadsheetml.sharedStrings+xml"/>' if shared is not None else "")
            + ('<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
               'officedocument.spreadsheetml.styles+xml"/>' if styles is not None else "") + "</Types>"),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><{prefix}workbook {ns} {rel}><{prefix}sheets>'
            f'<{prefix}sheet name="Hồ sơ" sheetId="1" r:id="rId1"/></{prefix}sheets></{prefix}workbook>'),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            + ('<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
               'relationships/sharedStrings" Target="sharedStrings.xml"/>' if shared is not None else "")
            + ('<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
               'relationships/styles" Target="styles.xml"/>' if styles is not None else "")
            + "</Relationships>"),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><{prefix}worksheet {ns}><{prefix}sheetData>{sheet_data}'
            f'</{prefix}sheetData></{prefix}worksheet>'),
    }
    if shared is not None:
        parts["xl/sharedStrings.xml"] = f'<?xml version="1.0" encoding="UTF-8"?><{prefix}sst {ns}>{shared}</{prefix}sst>'
    if styles is not None:
        parts["xl/styles.xml"] = f'<?xml version="1.0" encoding="UTF-8"?><{prefix}styleSheet {ns}>{styles}</{prefix}styleSheet>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text.encode())
    return path


def _with_workbook_part(path: Path, name: str, xml: str) -> Path:
    """The workbook at `path` with one more part, or one part replaced."""
    changed = path.with_name(f"changed-{path.name}")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(changed, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info, source.read(info))
        target.writestr(name, xml.encode())
    return changed


HEADER = ('<row r="1"><c r="A1" t="inlineStr"><is><t>Mã hồ sơ</t></is></c>'
          '<c r="B1" t="inlineStr"><is><t>Đơn vị</t></is></c>'
          '<c r="C1" t="inlineStr"><is><t>Ngày tiếp nhận</t></is></c>'
          '<c r="D1" t="inlineStr"><is><t>Trạng thái</t></is></c></row>')


def _dossier(row: int, code: str) -> str:
    return (f'<row r="{row}"><c r="A{row}" t="inlineStr"><is><t>{code}</t></is></c>'
            f'<c r="B{row}" t="inlineStr"><is><t>Sở Tư pháp</t></is></c>'
            f'<c r="C{row}" t="inlineStr"><is><t>01/11/2026 08:00</t></is></c>'
            f'<c r="D{row}" t="inlineStr"><is><t>Đang xử lý</t></is></c></row>')
STYLES = ('<numFmts count="3"><numFmt numFmtId="164" formatCode="dd/mm/yyyy hh:mm"/><numFmt numFmtId="165" '
          'formatCode="#,##0 &quot;đ&quot;"/><numFmt numFmtId="166" formatCode="[$-42A]dd/mm/yyyy"/></numFmts>'
          '<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="14"/><xf numFmtId="165"/>'
          '<xf numFmtId="166"/></cellXfs>')
SHARED = ('<si><t>Mã hồ sơ</t></si><si><r><rPr><b/><sz val="11"/></rPr><t xml:space="preserve">Sở </t></r>'
          '<r><t>Y tế</t></r></si><si><t/></si><si/><si><t>a &amp; b &#7910; &#x1EA0;</t></si>')
REGULAR = ('<row r="1" spans="1:5"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>1</v></c>'
           '<c r="D1" t="inlineStr"><is><t>Ngày</t></is></c></row>'
           '<row r="3"><c r="B3" s="1"><v>46204.66666666666</v></c><c s="2"><v>46204</v></c>'
           '<c r="D3" t="str"><f>A1&amp;""</f><v>công thức</v></c><c r="E3" t="b"><v>1</v></c>'
           '<c r="F3" t="e"><v>#DIV/0!</v></c><c r="G3" s="3"><v>12500.5</v></c><c r="H3" t="s"><v>4</v></c>'
           '<c r="I3"/><c r="J3" t="s"><v>2</v></c><c r="K3" t="n"><v>-1.5E-3</v></c></row>'
           '<row r="4"/><row r="5"><c r="A5" t="inlineStr"><is><r><t>a</t></r><r><t>b</t></r></is></c></row>')


@pytest.mark.parametrize("prefix", ["", "x:"])
def test_shared_and_inline_texts_numbers_dates_and_formulas_read_as_excel_shows_them(tmp_path: Path,
                                                                                     prefix: str) -> None:
    """Shared texts (rich runs joined, empty ones), inline texts, references decoded, a datetime and a date by
    their number format, a formula's cached text, a boolean, an error cell as empty, an amount's number,
    and a cell without its reference in its place; the same with the namespace under a prefix, as other
    systems' writers lay it out."""
    def prefixed(xml: str) -> str:
        return xml.replace("<", f"<{prefix}").replace(f"<{prefix}/", f"</{prefix}")

    path = _handmade(tmp_path / "other.xlsx", prefixed(REGULAR), prefixed(SHARED), prefixed(STYLES), prefix)
    assert rows(path) == [
        (1, ["Mã hồ sơ", "", "Sở Y tế", "Ngày"]),
        (3, ["", datetime(2026, 7, 1, 16, 0), date(2026, 7, 1), "công thức", True, "", 12500.5, "a & b Ủ Ạ", "",
             "", -0.0015]),
        (5, ["ab"]),
    ]


def test_a_1904_workbook_counts_its_days_from_1904(tmp_path: Path) -> None:
    path = _handmade(tmp_path / "mac.xlsx", REGULAR, SHARED, STYLES)
    mac = _with_workbook_part(path, "xl/workbook.xml", (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><workbookPr '
        'date1904="1"/><sheets><sheet name="Hồ sơ" sheetId="1" r:id="rId1"/></sheets></workbook>'))
    assert rows(mac)[1][1][1:3] == [datetime(2030, 7, 2, 16, 0), date(2030, 7, 2)]  # 1.462 days later


@pytest.mark.parametrize("cell,value", [
    ('<c r="A9" t="inlineStr"><is><t><![CDATA[a<b]]></t></is></c>', "a<b"),
    ('<c r="A9" t="inlineStr"><is><t>a</t><rPh sb="0" eb="1"><t>ア</t></rPh></is></c>', "a"),  # no phonetic run
    ('<c r="A9" t="inlineStr"><is><t>a&#13;b</t></is></c>', "a\rb"),
    ('<c r="A9" s="4"><v>46204</v></c>', date(2026, 7, 1)),  # a locale-bracketed date format
    ('<c r="A9" t="d"><v>2026-07-01T10:00:00</v></c>', datetime(2026, 7, 1, 10, 0)),
    ('<c r="A9" t="inlineStr"><is><t>_x000D_ dòng</t></is></c>', "\r dòng"),
])
def test_each_odd_cell_reads_as_excel_shows_it(tmp_path: Path, cell: str, value: object) -> None:
    path = _handmade(tmp_path / "odd.xlsx", f'<row r="9">{cell}</row>', SHARED, STYLES)
    assert rows(path) == [(9, [value])]


def test_cells_out_of_order_keep_their_columns(tmp_path: Path) -> None:
    path = _handmade(tmp_path / "odd.xlsx", '<row r="9"><c r="B9"><v>1</v></c><c r="A9"><v>2</v></c></row>')
    assert rows(path) == [(9, [2.0, 1.0])]


def test_cells_keep_their_row_and_column_wherever_the_data_starts(tmp_path: Path) -> None:
    path = tmp_path / "late.xlsx"
    book = Workbook()
    book.active["C4"], book.active["D5"] = "Mã hồ sơ", "H56-1"
    book.save(path)
    assert rows(path) == [(4, ["", "", "Mã hồ sơ"]), (5, ["", "", "", "H56-1"])]


def test_merged_header_cells_read_in_their_first_cell_and_blank_after(tmp_path: Path) -> None:
    path = tmp_path / "merged.xlsx"
    book = Workbook()
    book.active.append(["Mã hồ sơ", "Người nộp / Đơn vị", None, "Ngày tiếp nhận"])
    book.active.append([None, "Họ tên", "Đơn vị", None])
    book.active.merge_cells("B1:C1")
    book.active.merge_cells("A1:A2")
    book.save(path)
    assert rows(path) == [(1, ["Mã hồ sơ", "Người nộp / Đơn vị", "", "Ngày tiếp nhận"]), (2, ["", "Họ tên", "Đơn vị"])]


def test_the_data_is_read_from_the_first_sheet_that_has_any(tmp_path: Path) -> None:
    path = tmp_path / "second.xlsx"
    book = Workbook()
    book.create_sheet("Hồ sơ")["A1"] = "Mã hồ sơ"
    book.save(path)
    assert rows(path) == [(1, ["Mã hồ sơ"])]
    empty = tmp_path / "empty.xlsx"
    Workbook().save(empty)
    with pytest.raises(InputError, match="the workbook has no data"):
        rows(empty)


def test_old_xls_and_ods_workbooks_are_read(tmp_path: Path) -> None:
    xls = tmp_path / "old.xls"
    book = xlwt.Workbook()
    sheet = book.add_sheet("Hồ sơ")
    for column, text in enumerate(["Mã hồ sơ", "Ngày tiếp nhận"]):
        sheet.write(0, column, text)
    sheet.write(1, 0, "HS-1")
    sheet.write(1, 1, datetime(2026, 11, 1, 8, 0), xlwt.easyxf(num_format_str="dd/mm/yyyy hh:mm"))
    book.save(str(xls))
    assert rows(xls) == [(1, ["Mã hồ sơ", "Ngày tiếp nhận"]), (2, ["HS-1", datetime(2026, 11, 1, 8, 0)])]
    ods = tmp_path / "calc.ods"
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:'
               'opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body>'
               '<office:spreadsheet><table:table table:name="Hồ sơ"><table:table-row><table:table-cell '
               'office:value-type="string"><text:p>Mã hồ sơ</text:p></table:table-cell></table:table-row>'
               '<table:table-row><table:table-cell office:value-type="string"><text:p>HS-1</text:p>'
               '</table:table-cell></table:table-row></table:table></office:spreadsheet></office:body>'
               '</office:document-content>')
    with zipfile.ZipFile(ods, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content)
        archive.writestr("META-INF/manifest.xml", (
            '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
            'opendocument:xmlns:manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-type='
            '"application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path='
            '"content.xml" manifest:media-type="text/xml"/></manifest:manifest>'))
    assert rows(ods) == [(1, ["Mã hồ sơ"]), (2, ["HS-1"])]


def test_a_shared_text_that_is_not_there_is_refused(tmp_path: Path) -> None:
    path = _handmade(tmp_path / "odd.xlsx", REGULAR + '<row r="9"><c r="A9" t="s"><v>99</v></c></row>', SHARED,
                     STYLES)
    with pytest.raises(InputError, match=r"odd\.xlsx: sheet 'Hồ sơ' is not readable"):
        rows(path)


@pytest.mark.parametrize("damage", ["truncated", "not xml", "not utf-8"])
def test_a_damaged_sheet_is_refused_naming_the_file_and_no_cell(tmp_path: Path, damage: str) -> None:
    good = tmp_path / "good.xlsx"
    book = Workbook()
    for n in range(50):
        book.active.append([f"H56-{n}", CCCD])
    book.save(good)
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bad, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = {"truncated": data[: len(data) // 2], "not xml": b"\x00\xff" * 100,
                        "not utf-8": data.replace(b"H56-7<", b"H56-\xff7<")}[damage]
            target.writestr(info, data)
    with pytest.raises(InputError) as refused:
        rows(bad)
    assert str(refused.value).startswith(f"{bad}: ") and "H56" not in str(refused.value)
    assert CCCD not in str(refused.value)


NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _decoy(row: int) -> str:
    return _dossier(row, f"DECOY-{row}")


def test_rows_and_texts_in_comments_instructions_and_cdata_are_not_counted(tmp_path: Path) -> None:
    """A sheet whose XML carries a decoy <sheetData> or <sst> inside a comment, a processing instruction or a
    CDATA section: counted as Excel shows it, the real rows only (#39)."""
    province = Province(tmp_path)
    shared = "<si><t>HS-SHARED</t></si><si><t>Sở Xây dựng</t></si>"
    path = _handmade(tmp_path / "plain.xlsx", "", shared)
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><!-- <sheetData>{_decoy(2)}</sheetData> -->'
             f'<?decoy <sheetData>{_decoy(3)}</sheetData> ?><worksheet {NS}>'
             f'<!-- <sheetData>{_decoy(4)}</sheetData> --><?decoy <sheetData>{_decoy(5)}</sheetData>?>'
             f'<sheetData>{HEADER}{_dossier(6, "HS-1")}<!-- {_decoy(7)} --><?decoy {_decoy(8)}?>'
             f'{_dossier(9, "HS-2")}<![CDATA[{_decoy(10)}]]>'
             '<row r="11"><c r="A11" t="s"><v>0</v></c><c r="B11" t="s"><v>1</v></c>'
             '<c r="C11" t="inlineStr"><is><t>01/11/2026 08:00</t></is></c>'
             '<c r="D11" t="inlineStr"><is><t>Đang xử lý</t></is></c></row></sheetData></worksheet>')
    strings = (f'<?xml version="1.0" encoding="UTF-8"?><!-- <sst {NS}><si><t>DECOY-SST</t></si></sst> -->'
               f'<?decoy <sst><si><t>DECOY-PI</t></si></sst>?><sst {NS}><!-- <si><t>DECOY-IN</t></si> -->'
               f'{shared}</sst>')
    path = _with_workbook_part(_with_workbook_part(path, "xl/worksheets/sheet1.xml", sheet),
                               "xl/sharedStrings.xml", strings)
    assert [cells[0] for _, cells in rows(path)] == ["Mã hồ sơ", "HS-1", "HS-2", "HS-SHARED"]
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output
    assert "đọc 3 dòng, lưu mới 3" in result.output
    stored = {row["code"]: row["unit"] for row in sqlite_utils.Database(province.db_path)["dossiers"].rows}
    assert stored == {"HS-1": "STP", "HS-2": "STP", "HS-SHARED": "SXD"}


def _import_refused(province: Province, path: Path) -> str:
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 2, result.output
    [error] = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert str(path) in error and CCCD not in result.output
    assert sqlite_utils.Database(province.db_path)["dossiers"].count == 0
    return error


def test_a_declared_grid_past_any_export_is_refused_before_reading(tmp_path: Path) -> None:
    province = Province(tmp_path)
    path = _handmade(tmp_path / "declared.xlsx", HEADER + _dossier(2, "HS-1"))
    path = _with_workbook_part(path, "xl/worksheets/sheet1.xml", (
        f'<worksheet {NS}><dimension ref="A1:XFD1048576"/><sheetData>{HEADER}{_dossier(2, "HS-1")}</sheetData>'
        '</worksheet>'))
    assert "xl/worksheets/sheet1.xml declares 16,384 columns by 1,048,576 rows" in _import_refused(province, path)


def test_a_workbook_refused_before_reading_stops_the_reading_child_started_for_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reading child starts while the file is checked (its interpreter's imports overlap the checks): a
    file those checks refuse leaves it stopped, not waiting for a job."""
    started: list[subprocess.Popen[bytes]] = []

    def recording(*args: object) -> object:
        process, reader = start_reader(*args)  # type: ignore[arg-type]
        started.append(process)
        return process, reader

    monkeypatch.setattr(children, "start_reader", recording)
    province = Province(tmp_path)
    path = _handmade(tmp_path / "declared.xlsx", HEADER + _dossier(2, "HS-1"))
    path = _with_workbook_part(path, "xl/worksheets/sheet1.xml", (
        f'<worksheet {NS}><dimension ref="A1:XFD1048576"/><sheetData>{HEADER}{_dossier(2, "HS-1")}</sheetData>'
        '</worksheet>'))
    assert "declares 16,384 columns" in _import_refused(province, path)
    assert len(started) == 1
    assert started[0].poll() is not None


def test_a_workbook_declaring_too_many_shared_texts_is_refused_before_reading(tmp_path: Path) -> None:
    province = Province(tmp_path)
    path = _handmade(tmp_path / "texts.xlsx", HEADER + _dossier(2, "HS-1"), "<si><t>a</t></si>")
    path = _with_workbook_part(path, "xl/sharedStrings.xml",
                               f'<sst {NS} count="1" uniqueCount="99000000"><si><t>a</t></si></sst>')
    assert "declares 99,000,000 distinct texts" in _import_refused(province, path)


def test_a_workbook_that_unpacks_past_the_memory_cap_is_refused_before_reading(tmp_path: Path) -> None:
    province = Province(tmp_path, extra="max_memory_mb = 64")
    path = _handmade(tmp_path / "zip-bomb.xlsx", HEADER + _dossier(2, "HS-1"))
    path = _with_workbook_part(path, "xl/media/padding.bin", " " * (70 << 20))  # deflates to a few KB
    assert path.stat().st_size < 1 << 20
    assert "unpacks to 70 MB, more than [sources] max_memory_mb = 64 MB" in _import_refused(province, path)


def test_a_small_workbook_declaring_far_cells_never_takes_a_gigabyte(tmp_path: Path) -> None:
    """A 5 KB workbook with a cell at XFD6000 and no <dimension>: a reader that allocates the grid asks for
    98 million cells (gigabytes). The import, in a process of this test's own, is refused and its peak
    memory, its reading child's included, stays far below 1 GB (#39)."""
    province = Province(tmp_path)
    sheet = (f'{HEADER}{_dossier(2, "HS-1")}<!-- a comment: the old reader left such sheets to calamine -->'
             '<row r="6000"><c r="XFD6000"><v>1</v></c></row>')
    path = _handmade(tmp_path / "far-cell.xlsx", sheet)
    assert path.stat().st_size < 5_000
    importing = subprocess.Popen([sys.executable, "-m", "auditbot.cli", "import", "dossiers", str(path),
                                  "--config", str(province.rules)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 env={k: v for k, v in os.environ.items() if k != "AUDITBOT_CONFIG"})
    assert importing.stdout is not None
    with importing.stdout:
        output = importing.stdout.read().decode()
    _, status, usage = os.wait4(importing.pid, 0)  # its peak, and its waited-for children's
    importing.returncode = os.waitstatus_to_exitcode(status)
    assert importing.returncode == 2, output
    assert f"{path}: " in output and "not imported" in output
    assert usage.ru_maxrss < 1 << 20, f"peak {usage.ru_maxrss / 1024:.0f} MB"  # ru_maxrss is in KB
    assert sqlite_utils.Database(province.db_path)["dossiers"].count == 0
