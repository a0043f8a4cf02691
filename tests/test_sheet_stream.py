"""The streamed XLSX reader gives the rows calamine gives, or hands the sheet to calamine where it is not sure.

Every comparison is with calamine itself on the same file: `workbook_rows` (streamed, then calamine from the row
where the stream stopped) against calamine alone, cells at their column counted from A, trailing empties and
blank rows aside (the import ignores both)."""

from __future__ import annotations

import zipfile
from datetime import date, datetime, time
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from auditbot.errors import InputError
from auditbot.sources.tabular import sheet_stream
from auditbot.sources.tabular._sheetxml import Irregular, rows
from auditbot.sources.tabular.sheet_stream import number_format_kind, open_sheet
from auditbot.sources.tabular.workbook import _calamine_rows, workbook_rows


def _normal(rows_: object) -> list[tuple[int, list[object]]]:
    out = []
    for number, cells in rows_:  # type: ignore[attr-defined]
        cells = list(cells)
        while cells and cells[-1] == "":
            cells.pop()
        if cells:
            out.append((number, cells))
    return out


def _outcome(rows_: object) -> list[tuple[int, list[object]]] | str:
    try:
        return _normal(rows_)
    except InputError as refused:
        return str(refused)


def _same_as_calamine(path: Path) -> list[tuple[int, list[object]]]:
    ours, theirs = _outcome(workbook_rows(path)), _outcome(_calamine_rows(path, None))
    assert ours == theirs
    if isinstance(ours, str) or isinstance(theirs, str):
        return []
    assert all(type(a) is type(b) for (_, x), (_, y) in zip(ours, theirs) for a, b in zip(x, y))
    return ours


def _streamed(path: Path) -> list[tuple[int, list[object]]]:
    with open_sheet(path) as sheet:
        return _normal(sheet.rows())


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
cells = st.one_of(
    st.none(), texts, st.sampled_from(["", " lề ", "a\nb", "x&y<z>\"'", "_x000D_", "\t", "Sở Tư pháp"]),
    st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False, width=64), st.booleans(),
    st.datetimes(datetime(1901, 1, 1), datetime(2100, 1, 1)), st.dates(date(1901, 1, 1), date(2100, 1, 1)),
    st.times(),
)
sheets = st.lists(st.lists(cells, max_size=8), max_size=25)


def _openpyxl(path: Path, table: list[list[object]]) -> None:
    book = Workbook()
    sheet = book.active
    for row in table:
        sheet.append(row)
    book.save(path)


def _xlsxwriter(path: Path, table: list[list[object]]) -> None:
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                          "strings_to_urls": False})
    sheet = book.add_worksheet()
    stamp = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    day = book.add_format({"num_format": "dd/mm/yyyy"})
    clock = book.add_format({"num_format": "hh:mm:ss"})
    for r, row in enumerate(table):
        for c, value in enumerate(row):
            if isinstance(value, datetime):
                sheet.write_datetime(r, c, value, stamp)
            elif isinstance(value, date):
                sheet.write_datetime(r, c, datetime.combine(value, time()), day)
            elif isinstance(value, time):
                sheet.write_datetime(r, c, value, clock)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=sheets, writer=st.sampled_from([_openpyxl, _xlsxwriter]))
def test_any_written_workbook_reads_as_calamine_reads_it(tmp_path: Path, table: list[list[object]],
                                                         writer: object) -> None:
    path = tmp_path / "export.xlsx"
    writer(path, table)  # type: ignore[operator]
    _same_as_calamine(path)


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
def test_other_writers_layouts_are_streamed_and_match_calamine(tmp_path: Path, prefix: str) -> None:
    def prefixed(xml: str) -> str:
        return xml.replace("<", f"<{prefix}").replace(f"<{prefix}/", f"</{prefix}")

    path = _handmade(tmp_path / "other.xlsx", prefixed(REGULAR), prefixed(SHARED), prefixed(STYLES), prefix)
    streamed = _streamed(path)  # the whole sheet streamed: no construct in it is left to calamine
    assert streamed == _same_as_calamine(path)
    assert streamed[1][1][1:5] == [datetime(2026, 7, 1, 16, 0), date(2026, 7, 1), "công thức", True]
    assert streamed[0][1] == ["Mã hồ sơ", "", "Sở Y tế", "Ngày"]


@pytest.mark.parametrize("odd", [
    '<c r="A9" t="inlineStr"><is><t>_x000D_ dòng</t></is></c>',           # an escape some calamines decode
    '<c r="A9" t="inlineStr"><is><t> lề</t></is></c>',                      # trimmed by some calamines
    '<c r="A9" t="inlineStr"><is><t><![CDATA[a<b]]></t></is></c>',
    '<c r="A9" t="inlineStr"><is><t>a</t><rPh sb="0" eb="1"><t>ア</t></rPh></is></c>',
    '<c r="A9" s="4"><v>46204</v></c>',                                     # a bracketed (locale) date format
    '<c r="A9" s="1"><v>12</v></c>',                                        # 1900's leap-year bug
    '<c r="A9" t="d"><v>2026-07-01T10:00:00</v></c>',
    '<!-- a comment --><c r="A9"><v>1</v></c>',
    '<c r="B9"><v>1</v></c><c r="A9"><v>2</v></c>',                         # cells out of order
    '<c r="A9" t="inlineStr"><is><t>a&#13;b</t></is></c>',
])
def test_what_the_stream_is_not_sure_of_is_read_by_calamine_from_that_row(tmp_path: Path, odd: str) -> None:
    after = '<row r="10"><c r="A10" t="inlineStr"><is><t>sau</t></is></c></row>'
    path = _handmade(tmp_path / "odd.xlsx", REGULAR + f'<row r="9">{odd}</row>' + after, SHARED, STYLES)
    with pytest.raises(Irregular):
        _streamed(path)
    rows_ = _same_as_calamine(path)
    assert rows_[-1] == (10, ["sau"]) and len(rows_) == 5  # the streamed rows before, calamine's after


def test_cells_keep_their_row_and_column_wherever_the_data_starts(tmp_path: Path) -> None:
    path = tmp_path / "late.xlsx"
    book = Workbook()
    book.active["C4"], book.active["D5"] = "Mã hồ sơ", "H56-1"
    book.save(path)
    assert _same_as_calamine(path) == [(4, ["", "", "Mã hồ sơ"]), (5, ["", "", "", "H56-1"])]


def test_a_shared_text_that_is_not_there_is_refused_as_calamine_refuses_it(tmp_path: Path) -> None:
    path = _handmade(tmp_path / "odd.xlsx", REGULAR + '<row r="9"><c r="A9" t="s"><v>99</v></c></row>', SHARED,
                     STYLES)
    with pytest.raises(InputError, match=r"odd\.xlsx"):
        list(workbook_rows(path))
    with pytest.raises(InputError, match=r"odd\.xlsx"):
        list(_calamine_rows(path, None))


def test_number_formats_are_dates_only_when_plainly_so() -> None:
    assert [number_format_kind(code) for code in (
        "dd/mm/yyyy", "yyyy-mm-dd h:mm:ss", "hh:mm", "General", "#,##0", '#,##0 "ngày"', "0.00%", "@",
        "0;[Red]-0", "[$-42A]dd/mm/yyyy", "h:mm AM/PM", "AM/PM h:mm", "[h]:mm", '\\d0',
    )] == [1, 1, 1, 0, 0, 0, 0, 0, 0, 2, 1, 2, 2, 0]


def test_rows_arrive_whole_from_any_cut_of_the_xml(tmp_path: Path) -> None:
    """Pieces end anywhere (inside a tag, a reference, a text): each row is read once, whole."""
    data = REGULAR.encode() + b"</sheetData>"
    whole, _, _, done = rows(data, 0, 0, bytes([0, 1, 1, 0, 2]), ["Mã", "Sở Y tế", "", "", "a & b"])
    assert done
    for cut in range(1, len(data)):
        first, end, last, done = rows(data[:cut], 0, 0, bytes([0, 1, 1, 0, 2]), ["Mã", "Sở Y tế", "", "", "a & b"])
        assert not done
        rest, _, _, done = rows(data[end:], 0, last, bytes([0, 1, 1, 0, 2]), ["Mã", "Sở Y tế", "", "", "a & b"])
        assert done and first + rest == whole


def test_a_big_sheet_streams_in_pieces_with_little_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.xlsx"
    _openpyxl(path, [["Mã hồ sơ", "Ngày"]] + [[f"H56-{i:07d}", datetime(2026, 7, 1, 8, i % 60)]
                                              for i in range(3000)])
    monkeypatch.setattr(sheet_stream, "PIECE", 997)  # many pieces, none ending on a row
    assert _streamed(path) == _same_as_calamine(path)


@pytest.mark.parametrize("damage", ["truncated", "not xml"])
def test_a_damaged_sheet_is_refused_as_calamine_refuses_it(tmp_path: Path, damage: str) -> None:
    good = tmp_path / "good.xlsx"
    _openpyxl(good, [["Mã hồ sơ"]] + [[f"H56-{i}"] for i in range(50)])
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bad, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2] if damage == "truncated" else b"\x00\xff" * 100
            target.writestr(info, data)
    with pytest.raises(InputError) as refused:
        list(workbook_rows(bad))
    assert "bad.xlsx" in str(refused.value) and "H56" not in str(refused.value)


def test_the_stream_reads_the_xml_it_is_given_and_nothing_past_it() -> None:
    with pytest.raises(Irregular):
        rows(b'<row r="1"><c r="A1"><v>1</v></c></row>junk', 0, 0, b"\x00", None)
    with pytest.raises(Irregular):
        rows(b'<row r="2"/><row r="1"/>', 0, 0, b"\x00", None)  # rows out of order
    first = b'<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row>'
    assert rows(first + b'<row r="2"><c r="A2"', 0, 0, b"\x00", None) == ([(1, ["a"])], len(first), 1, False)
