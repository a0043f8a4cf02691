"""Exports in the shapes real one-door systems and the national catalogue produce (#17): an HTML table
saved as .xls, XML Spreadsheet 2003 and CSV under .xls, both sync JSON payloads, all ten national
statuses, honest (null) figures where a column is absent, and catalogues with generic agencies."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import sqlite_utils
from conftest import Province, province_now

REAL_CATALOGUE = Path(__file__).parent / "real_catalogues" / "danh-sach-tthc-BoTuPhap.xlsx"

NAMES = ("Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường")
PHONES = ("0912345678", "0987654321", "0901112223")
ADDRESSES = ("12 Lê Lợi, phường Quảng Phú", "34 Trần Phú, xã Quảng Phú", "56 Hùng Vương")


def stamp(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y %H:%M:%S")


def one_door_rows(now: datetime) -> list[list[str]]:
    """The provincial one-door system's list: no channel, no digitisation, no fee column."""
    rows = []
    statuses = ["Đã trả kết quả", "Đang xử lý", "Đã xử lý xong", "Dừng xử lý", "Mới đăng ký", "Đang xử lý"] * 3
    for i, status in enumerate(statuses):
        received = now - timedelta(days=20 - i)
        due = received + timedelta(days=5)
        finished = received + timedelta(days=2) if status in ("Đã trả kết quả", "Đã xử lý xong", "Dừng xử lý") else None
        rows.append([str(i + 1), "UBND xã Quảng Phú" if i % 2 else "Sở Tư pháp", "Đăng ký khai sinh",
                     f"000.00.01.H56-2611{i:02d}-0001", status, ADDRESSES[i % 3], NAMES[i % 3], NAMES[(i + 1) % 3],
                     stamp(received), stamp(received), stamp(due), stamp(finished) if finished else ""])
    return rows


ONE_DOOR_HEADER = ["STT", "Đơn vị tiếp nhận", "Tên thủ tục hành chính", "Mã hồ sơ", "Trạng thái", "Địa chỉ",
                   "Người nộp", "Chủ hồ sơ", "Ngày nộp hồ sơ", "Ngày nhận", "Ngày hẹn trả", "Ngày kết thúc xử lý"]


def write_html_xls(path: Path, rows: list[list[str]], header: list[str] = ONE_DOOR_HEADER) -> None:
    cells = "".join(f"<th>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    path.write_text(
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body>'
        '<table border="1"><tr><td colspan="12"></td></tr><tr><td colspan="12"></td></tr>'
        f"<tr>{cells}</tr>{body}</table></body></html>", encoding="utf-8")


def all_text(province: Province, *outputs: str) -> str:
    blob = province.db_path.read_bytes()
    for extra in province.root.glob("audit.db-*"):
        blob += extra.read_bytes()
    return blob.decode("utf-8", errors="ignore") + "".join(outputs)


def assert_no_personal_data(text: str) -> None:
    for value in (*NAMES, *PHONES, *ADDRESSES):
        assert value not in text


def test_html_table_saved_as_xls_is_read_and_absent_figures_are_unknown(tmp_path) -> None:
    province = Province(tmp_path)
    now = province_now()
    path = province.root / "exports" / "DanhSachHoSo.xls"
    write_html_xls(path, one_door_rows(now))
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output
    assert "đọc 18 dòng, lưu mới 15" in result.output
    assert "đọc dạng bảng HTML" in result.output
    assert "3 dòng bỏ qua: đăng ký trực tuyến, chưa tiếp nhận" in result.output
    assert ("không có cột cho: 'Mã TTHC', 'Hình thức nộp', 'Phí, lệ phí', 'Thanh toán trực tuyến',"
            " 'Số hóa kết quả', 'Số kết quả'") in result.output
    assert ("số liệu không tính được (không có dữ liệu): online_rate, digitisation_rate, online_payment_rate,"
            " dossier.closed_without_result") in result.output
    db = sqlite_utils.Database(province.db_path)
    rows = {row["code"]: row for row in db["dossiers"].rows}
    first = rows["000.00.01.H56-261100-0001"]
    assert first["unit"] == "STP" and first["status"] == "finished" and first["channel"] is None
    assert first["digitised"] is None and first["paid_online"] is None
    assert first["due_at"] == (now - timedelta(days=15)).strftime("%Y-%m-%d %H:%M:%S")
    assert rows["000.00.01.H56-261103-0001"]["status"] == "stopped"

    figures = province.json("rates", "--from", (now - timedelta(days=30)).strftime("%d/%m/%Y"),
                            "--to", now.strftime("%d/%m/%Y"), "--by", "province")
    [row] = figures  # type: ignore[misc]
    assert row["received"] == 15 and row["online"] is None and row["online_rate"] is None
    assert row["digitised"] is None and row["digitisation_rate"] is None and row["online_payment_rate"] is None
    assert row["finished"] == 6 and row["on_time_rate"] == 100.0  # due dates known: a real figure
    table = province.run("rates", "--from", (now - timedelta(days=30)).strftime("%d/%m/%Y"), "--by", "province")
    assert "không có dữ liệu" in table.output

    # unknown figures produce no finding: no false Phụ lục II/III row, no "closed without result"
    checked = province.run("check", "--all", "--offline", "--checks", "rate,dossier.closed_without_result",
                           "--format", "json")
    findings = json.loads(checked.stdout)
    assert not [f for f in findings if f["check"] in ("rate.online", "rate.digitisation", "rate.online_payment",
                                                     "dossier.closed_without_result")]
    assert_no_personal_data(all_text(province, result.output, table.output, checked.output))


XML_SPREADSHEET = """<?xml version="1.0"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
 <Worksheet ss:Name="Danh sach">
  <Table>
   <Row><Cell ss:MergeAcross="6"><Data ss:Type="String">DANH SÁCH HỒ SƠ</Data></Cell></Row>
   <Row ss:Index="3">
    <Cell><Data ss:Type="String">Mã hồ sơ</Data></Cell><Cell><Data ss:Type="String">Cơ quan giải quyết</Data></Cell>
    <Cell><Data ss:Type="String">Họ tên</Data></Cell><Cell><Data ss:Type="String">Ngày tiếp nhận</Data></Cell>
    <Cell><Data ss:Type="String">Hạn trả kết quả</Data></Cell><Cell><Data ss:Type="String">Trạng thái</Data></Cell>
    <Cell><Data ss:Type="String">Hình thức nộp</Data></Cell>
   </Row>
   {rows}
  </Table>
 </Worksheet>
 <Worksheet ss:Name="Ghi chu"><Table><Row><Cell><Data ss:Type="String">notes</Data></Cell></Row></Table></Worksheet>
</Workbook>
"""


def test_xml_spreadsheet_under_xls_with_the_annex_due_date_header(tmp_path) -> None:
    province = Province(tmp_path)
    now = province_now()
    rows = []
    for i in range(12):
        received = now - timedelta(days=30)
        rows.append(
            f'<Row><Cell><Data ss:Type="String">HS-{i:03d}</Data></Cell>'
            f'<Cell><Data ss:Type="String">Sở Xây dựng</Data></Cell>'
            f'<Cell><Data ss:Type="String">{NAMES[i % 3]}</Data></Cell>'
            f'<Cell><Data ss:Type="DateTime">{received:%Y-%m-%dT%H:%M:%S}.000</Data></Cell>'
            f'<Cell><Data ss:Type="String">{stamp(received + timedelta(days=10))}</Data></Cell>'
            f'<Cell><Data ss:Type="Number">4</Data></Cell>'
            # a skipped cell: the channel is in column 7 by ss:Index
            f'<Cell ss:Index="7"><Data ss:Type="String">{"Trực tuyến" if i < 3 else "Trực tiếp"}</Data></Cell></Row>')
    path = province.root / "exports" / "xuat.xls"
    path.write_text(XML_SPREADSHEET.format(rows="".join(rows)), encoding="utf-8")
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output
    assert "đọc dạng XML Spreadsheet 2003" in result.output and "due_at = 'Hạn trả kết quả'" in result.output
    db = sqlite_utils.Database(province.db_path)
    stored = db["dossiers"].get("HS-000")
    assert stored["unit"] == "SXD" and stored["status"] == "processing" and stored["channel"] == "online"
    assert stored["due_at"] is not None
    checked = province.run("check", "SXD", "--offline", "--checks", "dossier.overdue,rate.online", "--format", "json")
    found = {f["check"] for f in json.loads(checked.stdout)}
    assert found == {"dossier.overdue", "rate.online"}  # 12 overdue; 3 of 12 online is below 70%
    assert_no_personal_data(all_text(province, result.output, checked.output))


def test_csv_saved_under_xls_name(tmp_path) -> None:
    province = Province(tmp_path)
    path = province.root / "exports" / "export.xls"
    path.write_text("Mã hồ sơ;Đơn vị;Ngày tiếp nhận;Trạng thái\nHS-1;Sở Tư pháp;01/11/2026 08:00;Đang xử lý\n",
                    encoding="utf-8")
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output
    assert "đọc dạng CSV" in result.output and "lưu mới 1" in result.output


def opencps_body(now: datetime) -> dict[str, object]:
    records = []
    for i, status in enumerate(("10", "9", "1", "8", "7", "4", "5", "6", "3", "2")):
        received = now - timedelta(days=10)
        records.append({
            "MaHoSo": f"OC-{i}", "MaTTHC": "1.001193.000.00.00.H31", "TenTTHC": "Đăng ký khai sinh",
            "ChuHoSo": NAMES[i % 3], "SoDienThoai": PHONES[i % 3], "Email": "an@example.com",
            "NgayTiepNhan": received.strftime("%Y%m%d%H%M%S"),
            "NgayHenTra": (received + timedelta(days=3)).strftime("%Y%m%d%H%M%S"),
            "TrangThaiHoSo": status, "HinhThuc": "2" if i % 2 else "0",
            "NgayKetThucXuLy": (received + timedelta(days=1)).strftime("%Y%m%d%H%M%S") if status in ("9", "10") else "",
            "DonViXuLy": "UBND xã Quảng Phú", "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "Gia": "8000"}],
            "DanhSachGiayToKetQua": [{"TenGiayTo": f"Giấy khai sinh {NAMES[i % 3]}.pdf", "GiayToId": f"GT-{i}",
                                      "DuongDanTepTinKetQua": f"/files/{NAMES[i % 3]}.pdf"}] if i < 2 else [],
            "DanhSachHoSoBoSung": [{"NgayBoSung": (received + timedelta(days=1)).strftime("%Y%m%d%H%M%S"),
                                    "NguoiYeuCauBoSung": "Cán bộ A", "NoiDungBoSung": NAMES[0]}] if status == "5" else [],
        })
    return {"service": "DongBoHoSoMC", "isUpdating": False, "data": records}


def test_opencps_body_and_bare_hosodongbodvc_list(tmp_path) -> None:
    province = Province(tmp_path)
    now = province_now()
    body = province.root / "exports" / "opencps.json"
    body.write_text(json.dumps(opencps_body(now), ensure_ascii=False), encoding="utf-8")
    result = province.run("import", "dossiers", str(body))
    assert result.exit_code == 0, result.output
    assert "đọc 10 dòng, lưu mới 9" in result.output and "1 dòng bỏ qua: đăng ký trực tuyến" in result.output
    db = sqlite_utils.Database(province.db_path)
    rows = {row["code"]: row for row in db["dossiers"].rows}
    assert rows["OC-0"]["procedure_code"] == "1.001193" and rows["OC-0"]["status"] == "finished"
    assert rows["OC-0"]["result_ref"] == "GT-0" and rows["OC-0"]["digitised"] == 1
    assert rows["OC-1"]["channel"] == "online" and rows["OC-0"]["channel"] is None  # HinhThuc 0 says nothing
    assert [rows[f"OC-{i}"]["status"] for i in (3, 4, 5, 6, 7, 8, 9)] == [
        "stopped", "withdrawn", "processing", "supplement", "processing", "rejected", "received"]
    assert json.loads(rows["OC-6"]["supplements"])[0]["requested_at"] is not None
    assert rows["OC-0"]["fee"] == 8000.0 and rows["OC-0"]["paid_online"] is None  # no DuocThanhToanTrucTuyen

    bare = [{"MaHoSo": "DVC-1", "MaTTHC": "2.000986", "TenTTHC": "Chứng thực bản sao", "KenhThucHien": "2",
             "SoGiayToChuHoSo": "079201234567", "ChuHoSo": NAMES[1], "NgayTiepNhan": now.strftime("%Y%m%d%H%M%S"),
             "NgayHenTra": "", "TrangThaiHoSo": "2", "HinhThuc": "0", "DonViXuLy": "Sở Tư pháp",
             "DanhSachLePhi": [{"Gia": "2000"}], "DuocThanhToanTrucTuyen": "1", "HoSoCoThanhPhanSoHoa": "1",
             "TaiLieuNop": [{"TenTepDinhKem": f"{NAMES[1]}.pdf", "DuocSoHoa": "1", "DuocTaiSuDung": "0"},
                            {"TenTepDinhKem": "x.pdf", "DuocSoHoa": "0", "DuocTaiSuDung": "1"}],
             "DanhSachGiayToKetQua": [{"MaGiayToKetQua": "KQ-77", "TenGiayTo": NAMES[1]}]}]
    listed = province.root / "exports" / "dvc.json"
    listed.write_text(json.dumps(bare, ensure_ascii=False), encoding="utf-8")
    result2 = province.run("import", "dossiers", str(listed))
    assert result2.exit_code == 0, result2.output
    row = db["dossiers"].get("DVC-1")
    assert row["channel"] == "online" and row["paid_online"] == 1 and row["fee"] == 2000.0
    assert row["result_ref"] == "KQ-77" and row["inputs_digitised"] == 1
    assert (row["documents"], row["documents_digitised"], row["documents_reused"]) == (2, 1, 1)
    assert_no_personal_data(all_text(province, result.output, result2.output))
    assert "079201234567" not in all_text(province)


def test_catalogue_with_generic_agencies_and_no_level_or_status_column(tmp_path) -> None:
    """The real national export (Bộ Tư pháp): Mã số, Tên, Cơ quan ban hành, Cơ quan thực hiện, Lĩnh vực."""
    province = Province(tmp_path)
    path = province.root / "BoTuPhap.xlsx"
    shutil.copy(REAL_CATALOGUE, path)
    result = province.run("import", "catalogue", str(path))
    assert result.exit_code == 0, result.output
    assert "đọc 271 dòng, lưu 271 thủ tục, loại 0" in result.output
    assert "no status column: every procedure is taken as in force" in result.output
    db = sqlite_utils.Database(province.db_path)
    applying = {row["code"]: json.loads(row["units"]) for row in db["procedures"].rows}
    communal = [code for code, units in applying.items() if units == ["XA_QP"]]
    justice = [code for code, units in applying.items() if "STP" in units]
    assert len(communal) > 20 and len(justice) > 20  # "Ủy ban nhân dân cấp xã", "Sở Tư pháp" resolved
    assert db["procedures"].get("2.002516")["status"] == "in_force"


def test_not_yet_in_force_is_a_status_with_a_start_date(tmp_path) -> None:
    province = Province(tmp_path)
    path = province.root / "danh-muc.csv"
    path.write_text("Mã TTHC,Tên thủ tục,Cấp thực hiện,Trạng thái,Ngày có hiệu lực\n"
                    "1.000001,Thủ tục mới,Cấp xã,Chưa có hiệu lực,01/01/2027\n"
                    "1.000002,Thủ tục chờ,Cấp xã,Chưa có hiệu lực,\n"
                    "1.000003,Thủ tục lạ,Cấp xã,Tạm treo,\n", encoding="utf-8")
    result = province.run("import", "catalogue", str(path))
    assert result.exit_code == 0, result.output
    db = sqlite_utils.Database(province.db_path)
    assert db["procedures"].get("1.000001")["status"] == "in_force"
    assert db["procedures"].get("1.000001")["effective_from"] == "2027-01-01 00:00:00"
    assert db["procedures"].get("1.000002")["status"] == "pending"
    assert "thêm vào [catalogue.statuses] trong rules.toml" in result.output


def test_dry_run_shows_the_mapping_and_writes_nothing(tmp_path) -> None:
    province = Province(tmp_path)
    path = province.root / "exports" / "DanhSachHoSo.xls"
    write_html_xls(path, one_door_rows(province_now()))
    result = province.run("import", "dossiers", str(path), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "(chạy thử, không ghi gì): đọc 18 dòng, sẽ lưu 15 hồ sơ" in result.output
    assert "code = 'Mã hồ sơ'" in result.output and "unit = 'Đơn vị tiếp nhận'" in result.output
    assert "5 hồ sơ đầu tiên như sẽ được lưu:" in result.output
    assert '"code": "000.00.01.H56-261100-0001"' in result.output
    assert not province.db_path.exists()
    assert_no_personal_data(result.output)
