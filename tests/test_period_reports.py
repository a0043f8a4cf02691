"""A closed period's reports on demand: the province's Phụ lục I–IV as lists of units, and the half-year
report's tables (Biểu mẫu 3, 7) as XLSX in their own layout, read back with openpyxl."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
from conftest import Province

from auditbot.checking.engine import run_checks, select_checks
from auditbot.config.rules import load_config
from auditbot.store import Store

HEADER = "Mã hồ sơ,Đơn vị,Ngày tiếp nhận,Hạn xử lý,Ngày kết thúc,Trạng thái,Kênh nộp,Số hóa kết quả,Số kết quả"


def quarter(province: Province) -> None:
    """Q1/2026: STP digitises 50%, all online, 2 overdue in process; SXD 80%, none online; Quảng Phú 10%,
    25% online (the communes' bar is 50%), 3 overdue in process. Then the quarter is frozen."""
    rows = [HEADER]
    for unit, digitised, online, overdue in (("Sở Tư pháp", 10, 20, 2), ("Sở Xây dựng", 16, 0, 0),
                                             ("UBND xã Quảng Phú", 2, 5, 3)):
        for n in range(20):
            rows.append(f"{unit[:6]}-{n},{unit},02/02/2026 08:00,20/02/2026,10/02/2026 10:00,Hoàn thành,"
                        f"{'Trực tuyến' if n < online else 'Trực tiếp'},{'Có' if n < digitised else 'Không'},"
                        f"KQ-{unit[:6]}-{n}")
        for n in range(overdue):
            rows.append(f"{unit[:6]}-OPEN-{n},{unit},02/03/2026 08:00,10/03/2026,,Đang xử lý,Trực tiếp,,")
    path = province.root / "exports" / "q1.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert province.run("import", "dossiers", str(path)).exit_code == 0
    config = load_config(province.rules)
    with Store.open(config) as store:  # the first run after the settle time freezes Q1
        run_checks(config, store, select_checks(config, ["rate"]), ["STP"], datetime(2026, 4, 15, 9))
        assert "Q1/2026" in store.frozen_periods()


def cells(sheet, first: int = 6) -> list[list[object]]:
    return [list(row) for row in sheet.iter_rows(min_row=first, values_only=True)]


def test_a_period_annexes_list_units_grouped_by_kind_worst_first(province: Province, tmp_path: Path) -> None:
    quarter(province)
    output = tmp_path / "phu-luc.xlsx"
    result = province.run("report", "--period", "Q1/2026", "--output", str(output))
    assert result.exit_code == 0, result.output
    assert "Quý I/2026, 01/01/2026 – 31/03/2026: số liệu chính thức, chốt ngày 15/04/2026" in result.stdout
    book = openpyxl.load_workbook(output)
    assert book.sheetnames == ["Phụ lục I", "Phụ lục II", "Phụ lục III"]  # nobody below 30% online payment
    first = book["Phụ lục I"]
    assert first["A2"].value == "Phụ lục I — Danh sách đơn vị có hồ sơ quá hạn đang giải quyết"
    assert "Kỳ báo cáo: Quý I/2026 (01/01/2026 – 31/03/2026), số liệu chính thức" in first["A3"].value
    assert [c.value for c in first[5]] == ["STT", "Đơn vị", "Số hồ sơ quá hạn"]
    assert cells(first) == [["I. Sở, ban, ngành", None, None], [1, "Sở Tư pháp", 2],
                            ["II. Xã, phường, thị trấn", None, None], [1, "Xã Quảng Phú", 3]]
    second = book["Phụ lục II"]
    assert [c.value for c in second[5]] == ["STT", "Đơn vị", "Kỳ", "Số hồ sơ đã giải quyết",
                                            "Số hồ sơ đã số hóa kết quả", "Tỷ lệ", "Ngưỡng tối thiểu"]
    assert cells(second) == [
        ["I. Sở, ban, ngành", None, None, None, None, None, None],
        [1, "Sở Tư pháp", "Quý I/2026", 20, 10, 50.0, 90],       # worst first
        [2, "Sở Xây dựng", "Quý I/2026", 20, 16, 80.0, 90],
        ["II. Xã, phường, thị trấn", None, None, None, None, None, None],
        [1, "Xã Quảng Phú", "Quý I/2026", 20, 2, 10.0, 90]]
    third = cells(book["Phụ lục III"])
    assert [row[1] for row in third] == [None, "Sở Xây dựng", None, "Xã Quảng Phú"]
    assert third[3][3:] == [23, 5, 21.73, 50]  # 5 of 23 received online, below the communes' 50%
    assert "Phụ lục II — Danh sách đơn vị có tỷ lệ số hóa" in result.stdout and "Tỷ lệ: 50,00%" in result.stdout


def test_bieu_mau_3_and_7_have_every_row_and_fill_what_auditbot_knows(province: Province, tmp_path: Path) -> None:
    quarter(province)
    output = tmp_path / "bieu-mau-3.xlsx"
    result = province.run("report", "--form", "bieu-mau-3", "--period", "Q1/2026", "--output", str(output))
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(output).active
    assert [sheet["A1"].value, sheet["A2"].value] == ["Biểu mẫu 3", "Cải cách thủ tục hành chính"]
    assert [c.value for c in sheet[6]] == [None, None, None, "Số liệu", "Ghi chú"]
    rows = {row[0]: row for row in cells(sheet, 7) if row[0]}
    assert rows["3.1."][1:4] == ["Tỷ lệ hồ sơ TTHC do các sở, ngành tiếp nhận được giải quyết đúng hạn", "%", 100.0]
    assert rows["3.1.1."][3] == 40 and rows["3.1.2."][3] == 40     # the two departments' finished dossiers
    assert rows["3.3.1."][3] == 20 and rows["3.3."][3] == 100.0     # the commune's
    assert rows["3.2."][3] == "không áp dụng"                        # no district level in 2026
    assert rows["3.4."][3] is None and rows["3.4."][4].startswith("chưa có dữ liệu")  # PAKN: the officer's
    seven = tmp_path / "bieu-mau-7.xlsx"
    result = province.run("report", "--form", "bieu-mau-7", "--from", "01/01/2026", "--to", "31/03/2026",
                          "--output", str(seven))
    assert result.exit_code == 0, result.output
    rows = {row[0]: row for row in cells(openpyxl.load_workbook(seven).active, 7) if row[0]}
    assert rows["6.3."][3] is None and rows["6.3."][4] == "chưa có dữ liệu: danh mục TTHC không ghi mức độ DVCTT"
    assert rows["6.5."][3] is None and rows["6.5."][4].startswith("chưa có dữ liệu")


def test_on_demand_reports_refuse_what_they_cannot_do(province: Province, tmp_path: Path) -> None:
    for args, message in ((("--form", "bieu-mau-3", "--period", "Q1/2026"), "give --output"),
                          (("--form", "bieu-mau-3", "--output", str(tmp_path / "x.xlsx")), "needs the period"),
                          (("--form", "bieu-mau-9", "--period", "Q1/2026", "--output", str(tmp_path / "x.xlsx")),
                           "no such form"),
                          (("--period", "Q9/2026",), "expected a quarter"),
                          (("--period", "Q1/2026", "--send"), "take no"),
                          (("--output", str(tmp_path / "x.xlsx"),), "goes with --period"),
                          (("--period", "Q1/2026", "--output", str(tmp_path / "missing" / "x.xlsx")),
                           "does not exist")):
        result = province.run("report", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output, (args, result.output)
    assert not list(tmp_path.glob("*.xlsx"))
