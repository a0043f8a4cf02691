"""Files built to break the import (#17): personal data through every crack, workbooks that declare more
than they hold, exports that come in the wrong order. Each plants values and searches everywhere they
could land: the database file and its WAL, the CLI output, the rejected rows, and Datasette's JSON."""

from __future__ import annotations

import json
import urllib.parse
import zipfile
from pathlib import Path

import pytest
import sqlite_utils
from conftest import Province, province_now
from openpyxl import Workbook
from test_serve import free_port, get_json, start_server, stop

from auditbot import commands
from auditbot.config.rules import load_config

NAME, CCCD, PHONE = "Phạm Thị Duyên", "079305001234", "0934567890"
PLANTED = (NAME, CCCD, PHONE)


def everything(province: Province, *outputs: str) -> str:
    blob = province.db_path.read_bytes() if province.db_path.exists() else b""
    for extra in province.root.glob("audit.db-*"):
        blob += extra.read_bytes()
    return blob.decode("utf-8", errors="ignore") + "".join(outputs)


def assert_nothing_planted(text: str) -> None:
    for value in PLANTED:
        assert value not in text
    assert "Duyên" not in text


def served_json(province: Province) -> str:
    """Every table of the database through `auditbot serve`'s JSON, searched for the planted values."""
    port = free_port()
    process = start_server(province, port)
    try:
        base = f"http://127.0.0.1:{port}"
        tables = [t["name"] for t in get_json(f"{base}/audit.json")["tables"]]
        assert "dossiers" in tables and "rejected_rows" in tables and "imports" in tables
        return "".join(json.dumps(get_json(f"{base}/audit/{urllib.parse.quote(table)}.json?_size=max"),
                                  ensure_ascii=False) for table in tables)
    finally:
        stop(process)


def test_shifted_csv_row_keeps_nothing(tmp_path) -> None:
    """One unquoted comma in the applicant's name: the phone lands in the unit column. The row is rejected
    with its number and reason only."""
    province = Province(tmp_path)
    path = province.root / "exports" / "ho-so.csv"
    path.write_text(
        "Mã hồ sơ,Người nộp,Số điện thoại,Đơn vị,Ngày tiếp nhận,Trạng thái\n"
        "HS-1,Lê Văn Hải,0911000111,Sở Tư pháp,01/11/2026 08:00,Đang xử lý\n"
        f"HS-2,{NAME}, con,{PHONE},Sở Tư pháp,02/11/2026 08:00,Đang xử lý\n"
        f"HS-3,{CCCD}\n", encoding="utf-8")
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output
    assert "dòng 3: dòng có 7 ô trong khi dòng tiêu đề có 6 ô" in result.output
    db = sqlite_utils.Database(province.db_path)
    [rejected] = list(db["rejected_rows"].rows)
    assert rejected["row"] == 3 and json.loads(rejected["fields"]) == {}
    assert json.loads(db["imports"].get(1)["unknown_units"]) == {}
    assert_nothing_planted(everything(province, result.output))


def test_json_objects_where_text_belongs_are_rejected_without_the_value(tmp_path) -> None:
    province = Province(tmp_path)
    now = province_now().strftime("%Y%m%d%H%M%S")
    records = [
        {"MaHoSo": "J-1", "DonViXuLy": {"HoTen": NAME, "CCCD": CCCD}, "NgayTiepNhan": now, "TrangThaiHoSo": "4"},
        {"MaHoSo": "J-2", "DonViXuLy": "Sở Tư pháp", "NgayTiepNhan": now, "TrangThaiHoSo": "10", "NgayTra": now,
         "MaKetQua": {"SoDienThoai": PHONE}},
        {"MaHoSo": ["J-3", NAME], "DonViXuLy": "Sở Tư pháp", "NgayTiepNhan": now, "TrangThaiHoSo": "4"},
        {"MaHoSo": "J-4", "DonViXuLy": "Sở Tư pháp", "NgayTiepNhan": now, "TrangThaiHoSo": "4"},
    ]
    path = province.root / "exports" / "sync.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output
    assert "dòng 1, cột 'DonViXuLy': DonViXuLy: cần chữ, gặp một đối tượng (giá trị không được lưu)" \
        in result.output
    assert "dòng 2, cột 'MaKetQua'" in result.output and "dòng 3, cột 'MaHoSo'" in result.output
    db = sqlite_utils.Database(province.db_path)
    assert [row["code"] for row in db["dossiers"].rows] == ["J-4"]
    assert_nothing_planted(everything(province, result.output))


def test_result_file_names_are_references_never_text(tmp_path) -> None:
    province = Province(tmp_path)
    now = province_now()
    stamp = now.strftime("%Y%m%d%H%M%S")
    records = [{"MaHoSo": f"F-{i}", "DonViXuLy": "Sở Tư pháp", "NgayTiepNhan": stamp, "TrangThaiHoSo": "10",
                "NgayTra": stamp, "DanhSachGiayToKetQua": [
                    {"TenGiayTo": f"Giấy khai sinh {NAME}", "DuongDanTepTinKetQua": f"/uploads/2026/{NAME} {CCCD}.pdf"}]}
               for i in range(2)]
    path = province.root / "exports" / "sync.json"
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    assert province.run("import", "dossiers", str(path)).exit_code == 0
    refs = {row["result_ref"] for row in sqlite_utils.Database(province.db_path)["dossiers"].rows}
    [ref] = refs  # the same file on both dossiers: still one reference, so the shared-result check sees it
    assert ref.startswith("tệp#")
    checked = province.run("check", "STP", "--offline", "--checks", "dossier.shared_result", "--format", "json")
    [finding] = json.loads(checked.stdout)
    assert finding["title"].startswith("Một tệp kết quả được gắn cho 2 hồ sơ")
    report = province.run("report", "--unit", "STP", "--outbox", str(province.root / "outbox"))
    letters = "".join(p.read_bytes().decode("utf-8", errors="ignore") for p in (province.root / "outbox").rglob("*")
                      if p.is_file())
    assert_nothing_planted(everything(province, checked.output, report.output, letters))


def two_row_header_workbook(path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["DANH SÁCH HỒ SƠ"])
    sheet.append(["Mã hồ sơ", "Người nộp / Đơn vị", None, "Cơ quan giải quyết", "Ngày tiếp nhận", "Trạng thái"])
    sheet.append([None, "Họ tên", "Đơn vị", None, None, None])
    sheet.merge_cells("B2:C2")
    for i in range(3):
        sheet.append([f"W-{i}", NAME, "Công ty TNHH An Phát", "Sở Xây dựng", "01/11/2026 08:00", "Đang xử lý"])
    book.save(path)


def test_header_never_prefers_a_column_naming_a_person(tmp_path) -> None:
    province = Province(tmp_path)
    path = province.root / "exports" / "w.xlsx"
    two_row_header_workbook(path)
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output
    assert "unit = 'Cơ quan giải quyết'" in result.output
    units = {row["unit"] for row in sqlite_utils.Database(province.db_path)["dossiers"].rows}
    assert units == {"SXD"}
    assert_nothing_planted(everything(province, result.output))


def workbook_with_sheet(path: Path, sheet_xml: str, shared: list[str] | None = None) -> None:
    """A minimal XLSX written by hand, so a test can put anything in the sheet."""
    strings = "".join(f"<si><t>{s}</t></si>" for s in shared or [])
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml",
                         '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                         '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                         '<Default Extension="xml" ContentType="application/xml"/>'
                         '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                         '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                         '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                         '</Types>')
        archive.writestr("_rels/.rels",
                         '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
                         '</Relationships>')
        archive.writestr("xl/workbook.xml",
                         '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                         'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
                         '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
        archive.writestr("xl/_rels/workbook.xml.rels",
                         '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                         '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
                         '</Relationships>')
        archive.writestr("xl/sharedStrings.xml",
                         '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                         f'count="{len(shared or [])}" uniqueCount="{len(shared or [])}">{strings}</sst>')
        archive.writestr("xl/worksheets/sheet1.xml",
                         '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                         f"{sheet_xml}</worksheet>")


HEADER_ROW = ('<row r="1"><c r="A1" t="inlineStr"><is><t>Mã hồ sơ</t></is></c>'
              '<c r="B1" t="inlineStr"><is><t>Đơn vị</t></is></c>'
              '<c r="C1" t="inlineStr"><is><t>Ngày tiếp nhận</t></is></c>'
              '<c r="D1" t="inlineStr"><is><t>Trạng thái</t></is></c>'
              '<c r="E1" t="inlineStr"><is><t>Ghi chú</t></is></c></row>')


def test_sparse_bomb_and_malformed_workbooks_are_one_clear_refusal(tmp_path) -> None:
    province = Province(tmp_path)
    exports = province.root / "exports"
    bombs = {
        # one cell at the last cell Excel has: a reader that allocates the grid asks for hundreds of GB
        "far-cell.xlsx": f'<sheetData>{HEADER_ROW}<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>',
        "declared.xlsx": f'<dimension ref="A1:XFD1048576"/><sheetData>{HEADER_ROW}</sheetData>',
        "bad-ref.xlsx": f'<sheetData>{HEADER_ROW}<row r="2"><c r="ZZZZZ0"><v>1</v></c></row></sheetData>',
        # a cell the reader cannot parse, in a column nobody maps: its content must not reach the message
        "bad-cell.xlsx": (f'<sheetData>{HEADER_ROW}<row r="2"><c r="A2" t="inlineStr"><is><t>HS-1</t></is></c>'
                          f'<c r="E2" t="n"><v>{NAME} {CCCD}</v></c></row></sheetData>'),
    }
    for name, xml in bombs.items():
        workbook_with_sheet(exports / name, xml)
    good = exports / "good.csv"
    good.write_text("Mã hồ sơ,Đơn vị,Ngày tiếp nhận,Trạng thái\nG-1,Sở Tư pháp,01/11/2026 08:00,Đang xử lý\n",
                    encoding="utf-8")
    result = province.run("import", "dossiers", *(str(exports / name) for name in bombs), str(good))
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) >= 3  # each refused in one line (a reader may recover what it can of a bad cell)
    assert any("far-cell.xlsx" in line for line in errors) and any("declared.xlsx" in line for line in errors)
    assert any("declared.xlsx: xl/worksheets/sheet1.xml declares 16,384 columns by 1,048,576 rows" in line
               for line in errors)
    assert "G-1" in {row["code"] for row in sqlite_utils.Database(province.db_path)["dossiers"].rows}
    assert_nothing_planted(everything(province, result.output))


def test_daemon_import_survives_a_bomb_in_its_folder(tmp_path) -> None:
    """The daemon imports in-process: the reader's failure must be one error, and this process goes on."""
    province = Province(tmp_path)
    workbook_with_sheet(province.root / "exports" / "bomb.xlsx",
                        f'<sheetData>{HEADER_ROW}<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData>')
    config = load_config(province.rules)
    outcome = commands.import_new_dossiers(config)
    assert len(outcome.errors) == 1 and "bomb.xlsx" in outcome.errors[0]
    assert "\n" not in outcome.errors[0]


def month_export(path: Path, status: str, finished: str, due: str) -> None:
    path.write_text("Mã hồ sơ,Đơn vị,Ngày tiếp nhận,Ngày hẹn trả,Ngày có kết quả,Trạng thái\n"
                    f"HS-9,Sở Tư pháp,20/09/2026 08:00,{due},{finished},{status}\n"
                    f"HS-{path.stem},Sở Tư pháp,{'25/09/2026' if 'thang-9' in path.stem else '25/10/2026'} 08:00,"
                    ",,Đang xử lý\n", encoding="utf-8")


def test_an_older_export_never_regresses_a_dossier(tmp_path) -> None:
    province = Province(tmp_path)
    october = province.root / "exports" / "thang-10.csv"
    september = province.root / "exports" / "thang-9.csv"
    month_export(october, "Đã trả kết quả", "05/10/2026 10:00", "06/10/2026")
    month_export(september, "Đang xử lý", "", "06/10/2026")
    assert province.run("import", "dossiers", str(october)).exit_code == 0
    result = province.run("import", "dossiers", str(september))
    assert result.exit_code == 0, result.output
    assert "1 rows show an earlier state than the one stored from a later export" in result.output
    db = sqlite_utils.Database(province.db_path)
    assert db["dossiers"].get("HS-9")["status"] == "finished"
    checked = province.run("check", "STP", "--offline", "--checks", "dossier.overdue", "--format", "json")
    assert "HS-9" not in {f["subject"] for f in json.loads(checked.stdout)}

    # a corrected re-export of October (same coverage, an earlier finish date) is applied
    corrected = province.root / "exports" / "thang-10-sua.csv"
    corrected.write_text(october.read_text(encoding="utf-8").replace("05/10/2026 10:00", "04/10/2026 10:00")
                         .replace("HS-thang-10", "HS-thang-10"), encoding="utf-8")
    assert province.run("import", "dossiers", str(corrected)).exit_code == 0
    assert db["dossiers"].get("HS-9")["finished_at"] == "2026-10-04 10:00:00"


@pytest.mark.parametrize("kind,content,message", [
    ("dossiers", "Mã hồ sơ,Đơn vị,Ngày tiếp nhận,Trạng thái\nA,Sở Lạ,01/11/2026 08:00,Đang xử lý\n"
                 "B,Sở Lạ,01/11/2026 08:00,Đang xử lý\n", "every one of the 2 rows was rejected"),
    ("catalogue", "Mã TTHC,Tên thủ tục,Trạng thái\n1.000001,Thủ tục một,Còn hiệu lực\n"
                  "1.000002,Thủ tục hai,Còn hiệu lực\n", "none of the 2 procedures applies to any unit"),
])
def test_an_import_that_did_not_do_its_job_is_loud_and_exit_1(tmp_path, kind, content, message) -> None:
    province = Province(tmp_path)
    path = province.root / "exports" / "bad.csv"
    path.write_text(content, encoding="utf-8")
    result = province.run("import", kind, str(path))
    assert result.exit_code == 1
    assert message in result.output


def test_datasette_serves_none_of_the_planted_values(tmp_path) -> None:
    province = Province(tmp_path)
    path = province.root / "exports" / "ho-so.csv"
    path.write_text(
        "Mã hồ sơ,Người nộp,Số CCCD,Số điện thoại,Đơn vị,Ngày tiếp nhận,Ngày hẹn trả,Trạng thái,Tệp kết quả\n"
        f"HS-1,{NAME},{CCCD},{PHONE},Sở Tư pháp,01/11/2026 08:00,03/11/2026,Đang xử lý,\n"
        f"HS-2,{NAME},{CCCD},{PHONE},Sở Tư pháp,01/11/2026 08:00,03/11/2026,Đã trả kết quả,{NAME}.pdf\n"
        f"HS-3,{NAME}, x,{CCCD},{PHONE},Sở Tư pháp,01/11/2026 08:00,03/11/2026,Đang xử lý,\n", encoding="utf-8")
    result = province.run("import", "dossiers", str(path))
    checked = province.run("check", "--all", "--offline", "--checks", "dossier", "--format", "json")
    served = served_json(province)
    assert "HS-1" in served  # the dossiers are there, their people are not
    assert_nothing_planted(everything(province, result.output, checked.output, served))
