"""The half-year report's Biểu mẫu 3 and 7 as the province prints them (shared/seeds/003: its rows, labels,
columns and figures), read back with openpyxl: per level of government, the catalogue's counts, the district
level gone after 01/07/2025, and the seed's own published figures reproduced to the digit."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import openpyxl
from conftest import Province

from auditbot.checking.engine import figure_rows
from auditbot.config import bundled
from auditbot.config.rules import load_config
from auditbot.domain.rates import Figures
from auditbot.report.form_figures import abolished_on, in_force_on
from auditbot.store import Store
from auditbot.words.periods import parse_period

UNITS = """
[[units]]
code = "H_TS"
name = "UBND huyện Triệu Sơn"
kind = "huyen"
emails = ["trieuson@example.gov.vn"]

[[units]]
code = "BQL"
name = "Ban Quản lý Khu kinh tế Nghi Sơn"
kind = "bql"
emails = ["bql@example.gov.vn"]

[kinds.bql]
level = "tinh"
"""
# the official rows, in order, as the 2024 half-year report numbers them
FORM_3 = ["III.", "1", "1.1.", "1.2.", "1.3.", "1.4.", "1.4.1.", "1.4.2.", "1.4.3.", "2", "2.1.", "2.2.", "2.3.", "3",
          "3.1.", "3.1.1.", "3.1.2.", "3.2.", "3.2.1.", "3.2.2.", "3.3.", "3.3.1.", "3.3.2.", "3.4.", "3.4.1.",
          "3.4.2."]
FORM_7 = ["VII.", "1", "2", "3", "4", "5", "5.1.", "5.1.1", "5.1.2.", "5.1.3.", "5.2.", "5.2.1.", "5.2.2.", "5.2.3.",
          "5.3.", "5.3.1.", "5.3.2.", "5.3.3.", "6", "6.1.", "6.1.1.", "6.1.2.", "6.2.", "6.2.1", "6.2.2", "6.3.",
          "6.3.1", "6.3.2", "6.4.", "6.4.1.", "6.4.2.", "6.5.", "6.5.1", "6.5.2"]
CATALOGUE = "Mã thủ tục,Tên thủ tục,Cấp thực hiện,Tình trạng,Ngày hiệu lực,Ngày quyết định,Quyết định bãi bỏ,Mức độ DVCTT"
DOSSIERS = "Mã hồ sơ,Đơn vị,Mã thủ tục,Ngày tiếp nhận,Hạn xử lý,Ngày kết thúc,Trạng thái,Kênh nộp"


def rows_of(path: Path) -> dict[str, list[object]]:
    """The form's rows by STT, down to the blank row under the table."""
    rows: dict[str, list[object]] = {}
    for row in openpyxl.load_workbook(path).active.iter_rows(min_row=7, values_only=True):
        if row[0] is None:
            break
        rows[str(row[0])] = list(row)
    return rows


def seed_catalogue(province: Province) -> Path:
    """The seed's section 1 and 6.1: 2.133 procedures in force (1.556 provincial, 323 district, 254 commune),
    453 published in the half-year, 120 abolished in it; 982 full and 720 partial online services."""
    lines = [CATALOGUE]
    levels = ["Cấp tỉnh"] * 1556 + ["Cấp huyện"] * 323 + ["Cấp xã"] * 254
    for n, level in enumerate(levels):
        decided = "15/03/2024" if n < 453 else "10/10/2023"
        online = "Toàn trình" if n < 982 else "Một phần" if n < 982 + 720 else ""
        lines.append(f"1.{100000 + n},Thủ tục {n},{level},Còn hiệu lực,01/01/2023,{decided},,{online}")
    for n in range(120):
        lines.append(f"2.{100000 + n},Thủ tục bãi bỏ {n},Cấp tỉnh,Đã bãi bỏ,01/01/2020,10/10/2019,"
                     f"\"Quyết định số {n}/QĐ-UBND ngày 20/5/2024\",")
    path = province.root / "catalogue.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert province.run("import", "catalogue", str(path)).exit_code == 0
    return path


def freeze_seed_half_year(province: Province) -> None:
    """The seed's counts per unit, frozen as a closed period's final figures are: departments 238.146 finished,
    238.144 on time (split over three units of kinds so and bql); districts 23.552 / 23.292; communes
    237.972 / 236.486; full online 133.237 of 140.686 dossiers, partial 216.320 of 219.769."""
    config = load_config(province.rules)
    period = parse_period("01/01/2024-30/06/2024")
    counts = {"STP": (200_000, 199_999, 100_000, 95_000, 150_000, 148_000),
              "SXD": (38_000, 38_000, 40_686, 38_237, 69_769, 68_320),
              "BQL": (146, 145, 0, 0, 0, 0),
              "H_TS": (23_552, 23_292, 0, 0, 0, 0),
              "XA_QP": (237_972, 236_486, 0, 0, 0, 0)}
    per_unit = {code: Figures(group=code, finished=done, due_known=done, on_time=on_time, late=done - on_time,
                              full_known=full, online_full=full_online, partial_known=partial,
                              online_partial=partial_online, channel_known=full + partial,
                              online=full_online + partial_online, received=full + partial)
                for code, (done, on_time, full, full_online, partial, partial_online) in counts.items()}
    with Store.open(config) as store:
        store.freeze_period(period, 0, figure_rows(config, period, per_unit, list(per_unit)), datetime(2024, 7, 15))


def test_bieu_mau_3_reproduces_the_seed_half_year_as_printed(tmp_path: Path) -> None:
    province = Province(tmp_path, UNITS)
    seed_catalogue(province)
    freeze_seed_half_year(province)
    output = tmp_path / "bieu-mau-3.xlsx"
    result = province.run("report", "--form", "bieu-mau-3", "--from", "01/01/2024", "--to", "30/06/2024",
                          "--output", str(output))
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(output).active
    assert [sheet["A1"].value, sheet["A2"].value] == ["Biểu mẫu 3", "Cải cách thủ tục hành chính"]
    assert "01/01/2024 – 30/06/2024" in sheet["A3"].value and "số liệu chính thức" in sheet["A3"].value
    assert {"A1:E1", "A2:E2", "A5:A6", "B5:B6", "C5:C6", "D5:E5"} <= {str(r) for r in sheet.merged_cells.ranges}
    assert [sheet.cell(5, c).value for c in range(1, 5)] == ["STT", "Chỉ tiêu thống kê", "Đơn vị tính",
                                                             "Báo cáo cải cách hành chính"]
    assert [sheet["D6"].value, sheet["E6"].value] == ["Số liệu", "Ghi chú"]
    rows = rows_of(output)
    assert list(rows) == FORM_3
    assert rows["III."][1] == "Cải cách thủ tục hành chính"
    # 3.1–3.3 per level, the rate cut as the seed prints it: 238.144 of 238.146 is 99,99, never 100
    assert rows["3.1."][1:4] == ["Tỷ lệ hồ sơ TTHC do các sở, ngành tiếp nhận được giải quyết đúng hạn", "%", 99.99]
    assert [rows["3.1.1."][3], rows["3.1.2."][3]] == [238_146, 238_144]
    assert rows["3.1.1."][1:3] == ["Tổng số hồ sơ TTHC đã giải quyết xong", "Hồ sơ"]
    assert [rows["3.2."][3], rows["3.2.1."][3], rows["3.2.2."][3]] == [98.89, 23_552, 23_292]
    assert [rows["3.3."][3], rows["3.3.1."][3], rows["3.3.2."][3]] == [99.37, 237_972, 236_486]
    assert rows["3.4."][3] is None and rows["3.4."][4].startswith("chưa có dữ liệu")  # PAKN: not auditbot's
    # section 1 from the catalogue's decisions
    assert [rows[n][3] for n in ("1.2.", "1.3.", "1.4.", "1.4.1.", "1.4.2.", "1.4.3.")] == [
        453, 120, 2_133, 1_556, 323, 254]
    assert rows["1.1."][3] is None and rows["1.1."][4] == "chưa có dữ liệu"
    assert rows["2.1."][3] is None and rows["2.1."][4] == "chưa có dữ liệu"
    assert rows["1"][2:] == [None, None, None]  # a heading: no unit, no figure, no note
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=7)}
    assert cells["3.2."][3].number_format == "0.00" and cells["3.2.1."][3].number_format == "#,##0"
    assert cells["3"][1].font.bold and cells["III."][1].font.bold and not cells["3.1.1."][1].font.bold


def test_bieu_mau_7_reproduces_the_seed_online_services(tmp_path: Path) -> None:
    province = Province(tmp_path, UNITS)
    seed_catalogue(province)
    lines = [DOSSIERS]  # 372 online services with dossiers in the half-year, each with one received online
    for n in range(372):
        lines.append(f"HS-{n},Sở Tư pháp,1.{100000 + n},02/02/2024 08:00,20/02/2024,10/02/2024 10:00,Hoàn thành,"
                     f"{'Trực tuyến' if n % 2 else 'Trực tiếp'}")
        lines.append(f"HS-{n}-b,Sở Tư pháp,1.{100000 + n},03/02/2024 08:00,20/02/2024,10/02/2024 10:00,Hoàn thành,"
                     "Trực tuyến")
    (province.root / "exports" / "h1.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert province.run("import", "dossiers", str(province.root / "exports" / "h1.csv")).exit_code == 0
    freeze_seed_half_year(province)
    output = tmp_path / "bieu-mau-7.xlsx"
    result = province.run("report", "--form", "bieu-mau-7", "--period", "01/01/2024-30/06/2024",
                          "--output", str(output))
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(output).active
    assert [sheet["A1"].value, sheet["A2"].value] == ["Biểu mẫu 7",
                                                      "Xây dựng và phát triển Chính quyền điện tử, Chính quyền số"]
    rows = rows_of(output)
    assert list(rows) == FORM_7
    # rounded as the seed prints them: 133.237 of 140.686 is 94,71 (cut would say 94,70)
    assert [rows["6.3."][3], rows["6.3.1"][3], rows["6.3.2"][3]] == [94.71, 140_686, 133_237]
    assert [rows["6.4."][3], rows["6.4.1."][3], rows["6.4.2."][3]] == [98.43, 219_769, 216_320]
    assert [rows["6.2."][3], rows["6.2.1"][3], rows["6.2.2"][3]] == [100, 372, 372]
    assert rows["6.1.2."][1:4] == ["Số lượng DVCTT toàn trình", "DVC", 982]
    assert rows["6.1."][3] is None and rows["6.1."][4].startswith("chưa có dữ liệu")
    assert rows["6.5.1"][3] is None and rows["6.5.1"][4].startswith("chưa có dữ liệu")
    assert rows["5.1.2."][3] is None  # district rows of 2024 are the officer's to fill, not "không áp dụng"
    assert rows["1"][2] == "Chưa = 0\nHoàn thành = 1"


def test_after_the_two_level_government_the_district_rows_say_not_applicable(tmp_path: Path) -> None:
    """Q3/2025 from real exports: departments and communes per level, the district level gone (01/07/2025)."""
    province = Province(tmp_path, UNITS + '\n[[units]]\ncode = "TRUONG"\nname = "Trường Chính trị"\n'
                                          'kind = "truong"\nemails = ["truong@example.gov.vn"]\n')
    lines = [DOSSIERS]
    for index, (unit, finished, late) in enumerate((("Sở Tư pháp", 40, 1), ("Ban Quản lý Khu kinh tế Nghi Sơn", 10, 2),
                                 ("UBND xã Quảng Phú", 30, 3), ("Trường Chính trị", 5, 5),
                                 ("UBND huyện Triệu Sơn", 4, 0))):  # a district rules.toml still lists
        for n in range(finished):
            done = "25/07/2025 10:00" if n < late else "10/07/2025 10:00"
            lines.append(f"HS{index}-{n},{unit},1.000001,02/07/2025 08:00,20/07/2025,{done},Hoàn thành,Trực tiếp")
    path = province.root / "exports" / "q3.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert province.run("import", "dossiers", str(path)).exit_code == 0
    output = tmp_path / "q3.xlsx"
    result = province.run("report", "--form", "bieu-mau-3", "--period", "Q3/2025", "--output", str(output))
    assert result.exit_code == 0, result.output
    rows = rows_of(output)
    assert list(rows) == FORM_3  # the rows stay: the form is the province's, the district level says why
    assert [rows["3.1."][3], rows["3.1.1."][3], rows["3.1.2."][3]] == [94.0, 50, 47]   # sở + ban quản lý
    assert [rows["3.3."][3], rows["3.3.1."][3], rows["3.3.2."][3]] == [90.0, 30, 27]
    gone = "Từ 01/07/2025 không còn cấp huyện (chính quyền địa phương hai cấp)"
    for number in ("3.2.1.", "3.2.2.", "1.4.2."):
        assert rows[number][3:] == ["không áp dụng", gone], number
    # its dossiers are not dropped without a word
    assert rows["3.2."][3:] == ["không áp dụng", f"{gone}; 4 hồ sơ của đơn vị cấp huyện trong kỳ không tính ở dòng này"]
    assert rows["1.2."][3] is None and "chưa nhập danh mục TTHC" in rows["1.2."][4]  # no catalogue: unknown
    sheet = openpyxl.load_workbook(output).active
    notes = [row[0] for row in sheet.iter_rows(min_row=7 + len(FORM_3), values_only=True) if row[0]]
    assert notes == ["Ghi chú: Các dòng theo cấp không tính đơn vị loại truong: chưa khai báo cấp"
                     " ([kinds] trong rules.toml)."]

    # a catalogue without a status column: what is in force per level, but nothing about what was abolished
    catalogue = province.root / "catalogue.csv"
    catalogue.write_text("Mã thủ tục,Tên thủ tục,Cấp thực hiện,Ngày quyết định\n"
                         '1.000001,Thủ tục A,"Cấp tỉnh, Cấp xã",05/08/2025\n'
                         "1.000002,Thủ tục B,Cấp huyện,01/01/2024\n"
                         "1.000003,Thủ tục C,Cấp xã,01/01/2024\n"
                         "1.000004,Thủ tục D,,01/01/2024\n", encoding="utf-8")
    assert province.run("import", "catalogue", str(catalogue)).exit_code == 0
    assert province.run("report", "--form", "bieu-mau-3", "--period", "Q3/2025", "--output", str(output)).exit_code == 0
    rows = rows_of(output)
    assert [rows[n][3] for n in ("1.2.", "1.4.", "1.4.1.", "1.4.2.", "1.4.3.")] == [1, 3, 1, "không áp dụng", 2]
    assert rows["1.4."][4] == "1 TTHC không rõ cấp thực hiện: không tính"  # a row with no level counts nowhere
    assert rows["1.3."][3] is None and "không có cột tình trạng" in rows["1.3."][4]
    seven = tmp_path / "q3-7.xlsx"
    assert province.run("report", "--form", "bieu-mau-7", "--period", "Q3/2025", "--output", str(seven)).exit_code == 0
    rows = rows_of(seven)
    assert [rows[n][3] for n in ("5.1.2.", "5.2.2.", "5.3.2.")] == ["không áp dụng"] * 3
    notes = [row[0] for row in openpyxl.load_workbook(seven).active.iter_rows(min_row=7 + len(FORM_7), values_only=True)
             if row[0]]
    assert notes == []  # Biểu mẫu 7 has no per-level figure a unit kind could be left out of


def test_a_kind_level_must_be_one_of_the_three(tmp_path: Path) -> None:
    province = Province(tmp_path, '[kinds.so]\nlevel = "quan"\n[kinds.khong_co]\nlevel = "xa"\n')
    result = province.run("validate")
    assert result.exit_code == 2
    assert "kinds.so.level: expected one of tinh, huyen, xa, got 'quan'" in result.output
    assert "kinds.khong_co: no unit has this kind" in result.output


def test_own_templates_without_forms_use_the_shipped_ones_and_an_old_forms_file_is_named(tmp_path: Path) -> None:
    province = Province(tmp_path, '[report]\ntemplates = "mau"\n')
    own = tmp_path / "mau"
    own.mkdir()
    shutil.copy(bundled.templates() / "annexes.toml", own / "annexes.toml")
    output = tmp_path / "b3.xlsx"
    result = province.run("report", "--form", "bieu-mau-3", "--period", "Q1/2026", "--output", str(output))
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(output).active["A1"].value == "Biểu mẫu 3"
    # a forms.toml of the layout before the official one: validate and the report say so, and which file
    (own / "forms.toml").write_text('[bieu-mau-3]\ntitle = "Biểu mẫu 3"\nrows = []\n', encoding="utf-8")
    for args in (("validate",), ("report", "--form", "bieu-mau-3", "--period", "Q1/2026", "--output", str(output))):
        result = province.run(*args)
        assert result.exit_code == 2, result.output
        assert f"{own / 'forms.toml'}: expected [words] and [forms.<key>] tables" in " ".join(result.output.split())


def test_in_force_on_a_period_end_is_what_the_catalogue_dates_say() -> None:
    def procedure(status: str, start: str | None = None, end: str | None = None, by: str | None = None) -> dict:
        return {"status": status, "effective_from": start, "effective_to": end, "abolished_by": by}

    day = date(2024, 6, 30)
    assert in_force_on(procedure("in_force"), day)
    assert not in_force_on(procedure("in_force", start="2024-07-01 00:00:00"), day)      # not begun yet
    assert not in_force_on(procedure("in_force", end="2024-06-29 23:59:59"), day)        # ended before
    assert in_force_on(procedure("abolished", end="2024-08-01 23:59:59"), day)           # abolished later
    assert not in_force_on(procedure("abolished"), day)                                  # ended, no date
    assert not in_force_on(procedure("pending"), day)
    assert abolished_on(procedure("replaced", end="2024-03-01 23:59:59", by="QĐ 1 ngày 20/5/2024")) == \
        "2024-03-01 23:59:59"
    assert abolished_on(procedure("abolished", by="Quyết định số 5/QĐ-UBND ngày 20/5/2024")) == "2024-05-20 00:00:00"
    assert abolished_on(procedure("in_force", by="ngày 20/5/2024")) is None


def test_a_form_never_lands_on_what_auditbot_reads(province: Province, tmp_path: Path) -> None:
    assert province.run("rates").exit_code == 0  # makes the database
    kept = {path: path.read_bytes() for path in (province.rules, province.db_path)}
    export = province.root / "exports" / "thang-1.xlsx"
    for target, what in ((province.db_path, "the database"), (province.rules, "rules.toml"),
                         (export, "where dossier exports are read from")):
        for form in (("--form", "bieu-mau-3"), ()):  # the forms and the period's annexes alike
            result = province.run("report", *form, "--period", "Q1/2026", "--output", str(target))
            assert result.exit_code == 2, result.output
            assert what in result.output
    assert {path: path.read_bytes() for path in kept} == kept and not export.exists()


def test_a_catalogue_without_levels_places_procedures_by_the_units_they_apply_to(province: Province,
                                                                                 tmp_path: Path) -> None:
    catalogue = province.root / "catalogue.csv"
    catalogue.write_text("Mã thủ tục,Tên thủ tục,Cơ quan thực hiện,Tình trạng\n"
                         "1.000001,Thủ tục A,Sở Tư pháp,Còn hiệu lực\n"
                         "1.000002,Thủ tục B,UBND xã Quảng Phú,Còn hiệu lực\n"
                         "1.000003,Thủ tục C,Ủy ban nhân dân cấp xã,Còn hiệu lực\n"
                         "1.000004,Thủ tục D,Sở Tư pháp,Đã bãi bỏ\n"
                         "1.000005,Thủ tục E,Cục Hàng hải Việt Nam,Còn hiệu lực\n", encoding="utf-8")
    assert province.run("import", "catalogue", str(catalogue)).exit_code == 0
    output = tmp_path / "b3.xlsx"
    assert province.run("report", "--form", "bieu-mau-3", "--period", "Q1/2026", "--output", str(output)).exit_code == 0
    rows = rows_of(output)
    assert [rows[n][3] for n in ("1.4.", "1.4.1.", "1.4.3.")] == [3, 1, 2]
    assert rows["1.4."][4] == "1 TTHC không rõ cấp thực hiện: không tính"  # another government's agency
    assert rows["1.3."][3] == 0 and "không ghi" in rows["1.3."][4]  # abolished, but on no day the catalogue gives
