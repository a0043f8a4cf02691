from __future__ import annotations

import csv
import json

import sqlite_utils
from openpyxl import Workbook

HEADER = ["STT", "Mã thủ tục", "Tên thủ tục hành chính", "Lĩnh vực", "Cấp thực hiện", "Cơ quan thực hiện",
          "Tình trạng", "Ngày hiệu lực", "Ngày hết hiệu lực", "Quyết định công bố", "Quyết định bãi bỏ", "ID"]
ROWS = [
    [1, "1.001193.000.00.00.H56", "Đăng ký khai sinh", "Hộ tịch", "Cấp xã", "", "Còn hiệu lực", "01/07/2020", "",
     "QĐ 1234/QĐ-UBND", "", 432777],
    [2, "1.009972", "Cấp giấy phép xây dựng", "Xây dựng", "Cấp tỉnh", "Sở Xây dựng", "Đang áp dụng", "2021-03-01",
     "", "QĐ 55/QĐ-UBND", "", ""],
    [3, "2.001035", "Chứng thực chữ ký", "Chứng thực", "Cấp tỉnh, Cấp xã", "", "Đã bãi bỏ", "01/01/2019",
     "30/06/2026", "QĐ 9/QĐ-UBND", "QĐ 777/QĐ-UBND", ""],
    [4, "x.12", "Mã sai", "", "Cấp xã", "", "Còn hiệu lực", "", "", "", "", ""],
    [5, "1.000894", "Đăng ký kết hôn", "Hộ tịch", "", "UBND huyện Không Có", "Còn hiệu lực", "", "", "", "", ""],
    [6, "1.000895", "Thủ tục lạ", "", "Cấp xã", "", "Tạm ngưng", "", "", "", "", ""],
    [7, "1.009972", "Cấp giấy phép xây dựng (sửa đổi)", "Xây dựng", "Cấp tỉnh", "Sở Xây dựng", "Còn hiệu lực",
     "", "", "QĐ 99/QĐ-UBND", "", ""],
]


def write_xlsx(path, rows=ROWS) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["ỦY BAN NHÂN DÂN TỈNH THỬ NGHIỆM"])
    sheet.append(["DANH MỤC THỦ TỤC HÀNH CHÍNH"])
    sheet.append([])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    sheet.append(["Tổng số: 7 thủ tục"])
    book.save(path)


def test_catalogue_import_codes_status_and_applicability(province) -> None:
    path = province.root / "danh-muc.xlsx"
    write_xlsx(path)
    result = province.run("import", "catalogue", str(path))
    assert result.exit_code == 0, result.output
    assert "đọc 7 dòng, lưu 4 thủ tục, loại 3, bỏ qua 1" in result.output
    # an agency that is no unit here: the procedure is kept (it is in the catalogue), applying to nobody
    assert "1 agencies are no unit of this province (e.g. 'UBND huyện Không Có' (1))" in result.output
    db = sqlite_utils.Database(province.db_path)
    procedures = {row["code"]: row for row in db["procedures"].rows}
    assert set(procedures) == {"1.001193", "1.009972", "2.001035", "1.000894"}
    assert json.loads(procedures["1.000894"]["units"]) == []
    birth = procedures["1.001193"]
    assert birth["full_code"] == "1.001193.000.00.00.H56" and birth["portal_id"] == "432777"
    assert birth["status"] == "in_force" and json.loads(birth["units"]) == ["XA_QP"]
    assert birth["effective_from"] == "2020-07-01 00:00:00"
    building = procedures["1.009972"]
    assert building["name"] == "Cấp giấy phép xây dựng (sửa đổi)" and json.loads(building["units"]) == ["SXD"]
    signature = procedures["2.001035"]
    assert signature["status"] == "abolished" and signature["abolished_by"] == "QĐ 777/QĐ-UBND"
    assert signature["effective_to"] == "2026-06-30 23:59:59"
    assert json.loads(signature["units"]) == ["STP", "SXD", "XA_QP"]
    reasons = {(r["row"], r["column_name"]): (r["reason"], json.loads(r["params"] or "{}"))
               for r in db["rejected_rows"].rows}
    assert reasons[(8, "Mã thủ tục")] == ("not_a_procedure_code", {"value": "x.12"})
    assert 9 not in {row for row, _ in reasons}
    assert reasons[(10, "Tình trạng")][0] == "unknown_status" and reasons[(10, "Tình trạng")][1]["value"] == "Tạm ngưng"
    assert reasons[(6, "Mã thủ tục")] == ("procedure_repeated", {"code": "1.009972", "kept_row": 11})
    assert "'x.12' không phải mã thủ tục dạng 1.001234" in result.output
    # idempotent: the same file again changes nothing and does not pile up rejected rows
    again = province.run("import", "catalogue", str(path))
    assert "lưu 4 thủ tục, loại 3" in again.output
    assert db["procedures"].count == 4 and db["rejected_rows"].count == 3


def test_catalogue_levels_and_statuses_are_configurable(tmp_path) -> None:
    from conftest import Province

    province = Province(tmp_path, extra="""
[catalogue.levels]
"Cấp xã" = ["xa", "so"]

[catalogue.statuses]
"Tạm ngưng" = "abolished"
""")
    path = province.root / "danh-muc.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerow(ROWS[5])
    result = province.run("import", "catalogue", str(path))
    assert result.exit_code == 0, result.output
    row = sqlite_utils.Database(province.db_path)["procedures"].get("1.000895")
    assert row["status"] == "abolished" and json.loads(row["units"]) == ["STP", "SXD", "XA_QP"]


def test_bad_catalogue_settings_are_validate_errors(tmp_path) -> None:
    from conftest import Province

    province = Province(tmp_path, extra='\n[catalogue.levels]\n"Cấp huyện" = ["huyen"]\n[catalogue.statuses]\n"X" = "gone"\n')
    result = province.run("validate")
    assert result.exit_code == 2
    assert "catalogue.levels.Cấp huyện: no unit has kind 'huyen'" in result.output
    assert "catalogue.statuses.X: expected one of abolished, expired, in_force, pending, replaced, got 'gone'" in result.output


def test_catalogue_without_a_file_is_a_usage_error(province) -> None:
    result = province.run("import", "catalogue")
    assert result.exit_code == 2 and "[sources].catalogue is not set" in result.output
    result = province.run("import", "catalogue", str(province.root / "nope.xlsx"))
    assert result.exit_code == 2 and "nope.xlsx: no such file" in result.output


def test_a_catalogue_without_portal_ids_says_links_are_verified_by_code_only(province) -> None:
    with_ids = province.root / "co-id.xlsx"
    write_xlsx(with_ids)
    assert "không có cột mã trên Cổng" not in province.run("import", "catalogue", str(with_ids)).output
    without = province.root / "khong-id.xlsx"
    book = Workbook()
    book.active.append(HEADER[:-1])
    book.active.append(ROWS[0][:-1])
    book.save(without)
    result = province.run("import", "catalogue", str(without))
    assert result.exit_code == 0 and "không có cột mã trên Cổng" in result.output
