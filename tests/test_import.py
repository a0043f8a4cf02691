from __future__ import annotations

import csv
import json
from datetime import date, datetime

import pytest
import sqlite_utils

from auditbot.config.bundled import sample_province
from auditbot.demo.samplegen import make_dossiers, write_csv, write_sync_json, write_xlsx

UNITS = ["Sở Tư pháp", "UBND xã Quảng Phú", "Sở Xây dựng", "Sở Tư Pháp tỉnh Thử Nghiệm"]
CODES = {"Sở Tư pháp": "STP", "UBND xã Quảng Phú": "XA_QP", "Sở Xây dựng": "SXD", "Sở Tư Pháp tỉnh Thử Nghiệm": "STP"}


def dossiers(n: int = 80, seed: int = 3):
    return list(make_dossiers(n, UNITS, date(2026, 11, 20), days=50, seed=seed))


def stored(province) -> dict[str, dict]:
    return {row["code"]: row for row in sqlite_utils.Database(province.db_path)["dossiers"].rows}


def assert_matches(province, generated) -> None:
    rows = stored(province)
    assert len(rows) == len(generated)
    for d in generated:
        row = rows[d.code]
        assert row["unit"] == CODES[d.unit_name]
        assert row["procedure_code"] == d.procedure_code and row["procedure_name"] == d.procedure_name
        assert row["received_at"] == d.received_at.strftime("%Y-%m-%d %H:%M:%S")
        assert row["due_at"] == d.due_at.strftime("%Y-%m-%d %H:%M:%S")
        assert row["finished_at"] == (d.finished_at.strftime("%Y-%m-%d %H:%M:%S") if d.finished_at else None)
        assert row["status"] == d.status
        assert row["channel"] == d.channel
        assert row["fee"] == d.fee
        assert row["paid_online"] == int(d.paid_online)
        assert row["digitised"] == int(d.digitised)
        assert row["result_ref"] == d.result_ref


def assert_no_personal_data(province, generated) -> None:
    blob = province.db_path.read_bytes()
    for wal in province.root.glob("audit.db-wal"):
        blob += wal.read_bytes()
    text = blob.decode("utf-8", errors="ignore")
    for d in generated:
        assert d.citizen_id not in text and d.phone not in text
    for name in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường"):
        assert name not in text


@pytest.mark.parametrize("two_row_header", [True, False])
def test_xlsx_with_title_rows_merged_header_and_excel_dates(province, two_row_header) -> None:
    generated = dossiers()
    write_xlsx(province.root / "exports" / "ho-so.xlsx", generated, two_row_header=two_row_header)
    result = province.run("import", "dossiers", str(province.root / "exports" / "ho-so.xlsx"))
    assert result.exit_code == 0, result.output
    assert f"đọc {len(generated)} dòng, lưu mới {len(generated)}" in result.output
    assert "loại 0, bỏ qua 2 dòng tiêu đề/chân trang" in result.output  # "Tổng cộng", "Người lập biểu"
    assert_matches(province, generated)
    assert_no_personal_data(province, generated)


@pytest.mark.parametrize("encoding,delimiter", [
    ("utf-8", ","), ("utf-8-sig", ","), ("utf-16", "\t"), ("cp1258", ";"),
])
def test_csv_in_every_encoding_excel_writes(province, encoding, delimiter) -> None:
    generated = dossiers(40)
    path = province.root / "exports" / "ho-so.csv"
    write_csv(path, generated, encoding=encoding, delimiter=delimiter)
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output
    assert_matches(province, generated)
    assert_no_personal_data(province, generated)


def test_portal_sync_json(province) -> None:
    generated = dossiers(30)
    path = province.root / "exports" / "dongbo.json"
    write_sync_json(path, generated)
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output
    rows = stored(province)
    for d in generated:
        row = rows[d.code]
        assert row["status"] == d.status and row["channel"] == d.channel and row["fee"] == d.fee
        assert row["paid_online"] == int(d.paid_online) and row["digitised"] == int(d.digitised)
    assert_no_personal_data(province, generated)
    assert "congdan@example.vn" not in province.db_path.read_bytes().decode("utf-8", "ignore")


def test_reimport_is_idempotent_and_newer_export_updates(province) -> None:
    generated = dossiers(50)
    path = province.root / "exports" / "a.xlsx"
    write_xlsx(path, generated)
    province.run("import", "dossiers", str(path))
    again = province.run("import", "dossiers", str(path))
    assert "lưu mới 0, cập nhật 0, không đổi 50, loại 0" in again.output
    assert len(stored(province)) == 50
    generated[0].status, generated[0].finished_at = "finished", datetime(2026, 11, 19, 9, 30)
    generated[0].result_ref = "KQ/NEW"
    write_xlsx(province.root / "exports" / "b.xlsx", generated)
    newer = province.run("import", "dossiers", str(province.root / "exports" / "b.xlsx"))
    assert "lưu mới 0, cập nhật 1, không đổi 49" in newer.output
    row = stored(province)[generated[0].code]
    assert row["status"] == "finished" and row["finished_at"] == "2026-11-19 09:30:00" and row["result_ref"] == "KQ/NEW"
    rejected = sqlite_utils.Database(province.db_path)["rejected_rows"].count
    assert rejected == 0


def write_rows(path, header, rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["DANH SÁCH HỒ SƠ"])
        writer.writerow(header)
        writer.writerows(rows)


HEADER = ["STT", "Mã hồ sơ", "Mã TTHC", "Tên TTHC", "Người nộp", "Đơn vị", "Ngày tiếp nhận", "Hạn xử lý",
          "Ngày kết thúc", "Trạng thái", "Kênh nộp", "Lệ phí", "Số hóa kết quả", "Số kết quả"]


def test_bad_rows_are_rejected_with_row_column_and_reason(province) -> None:
    good = ["1", "HS-1", "1.001193", "Đăng ký khai sinh", "Nguyễn Văn An", "Sở Tư pháp", "02/11/2026 08:00",
            "05/11/2026", "04/11/2026 10:00", "Đã trả kết quả", "Trực tuyến", "50.000", "Có", "KQ1"]
    rows = [
        good,
        [*good[:1], "HS-2", *good[2:6], "31/02/2026", *good[7:]],              # impossible date
        [*good[:1], "HS-3", *good[2:5], "UBND xã Không Có", *good[6:]],        # unknown unit
        [*good[:1], "HS-4", *good[2:9], "Đang ngủ", *good[10:]],               # unknown status
        [*good[:1], "HS-5", *good[2:8], "", "Hoàn thành", *good[10:]],         # finished without a date
        [*good[:1], "HS-6", *good[2:12], "có lẽ", good[13]],                   # not a yes/no
        [*good[:1], "", *good[2:]],                                            # no dossier code
        [*good[:1], "HS-7", *good[2:6], "46330", *good[7:]],                   # Excel serial as text: fine
        [*good[:1], "HS-1", *good[2:13], "KQ1-bis"],                           # repeats HS-1: the later row wins
        ["Tổng cộng: 9 hồ sơ"],
    ]
    path = province.root / "exports" / "bad.csv"
    write_rows(path, HEADER, rows)
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output
    assert "đọc 9 dòng, lưu mới 2, cập nhật 0, không đổi 0, loại 7, bỏ qua 1" in result.output
    assert "đơn vị không có trong rules.toml 'UBND xã Không Có': 1 dòng" in result.output
    rejected = {(r["row"], r["column_name"]): r for r in sqlite_utils.Database(province.db_path)["rejected_rows"].rows}
    # the database keeps each reason's code and what its words name; the officer reads them in Vietnamese
    reasons = {where: (r["reason"], json.loads(r["params"] or "{}")) for where, r in rejected.items()}
    assert reasons[(4, "Ngày tiếp nhận")] == ("not_a_real_date", {"value": "31/02/2026"})
    assert reasons[(5, "Đơn vị")] == ("unknown_unit", {"unit": "UBND xã Không Có"})
    assert reasons[(6, "Trạng thái")][0] == "unknown_status" and reasons[(6, "Trạng thái")][1]["value"] == "Đang ngủ"
    assert reasons[(7, "Ngày kết thúc")] == ("finished_without_date", {})
    assert reasons[(8, "Số hóa kết quả")][0] == "unknown_boolean"
    assert reasons[(9, "Mã hồ sơ")] == ("code_empty", {})
    assert reasons[(3, "Mã hồ sơ")] == ("dossier_repeated", {"code": "HS-1", "kept_row": 11})
    assert "dòng 4, cột 'Ngày tiếp nhận': '31/02/2026' không phải ngày có thật" in result.output
    assert "dòng 5, cột 'Đơn vị': không rõ đơn vị 'UBND xã Không Có'" in result.output
    # rejected rows keep what the row said, but never the personal-data columns
    assert json.loads(rejected[(5, "Đơn vị")]["fields"])["code"] == "HS-3"
    assert "Nguyễn Văn An" not in province.db_path.read_bytes().decode("utf-8", "ignore")
    rows_db = stored(province)
    assert rows_db["HS-7"]["received_at"] == "2026-11-04 00:00:00"
    assert rows_db["HS-1"]["result_ref"] == "KQ1-bis" and rows_db["HS-1"]["fee"] == 50000
    assert rows_db["HS-1"]["due_at"] == "2026-11-05 23:59:59"  # a due date without a time is the end of that day
    # rows in = rows stored + rows rejected
    assert len(rows_db) + len(rejected) == 9


def test_unreadable_file_is_exit_2_and_changes_nothing(province) -> None:
    good = province.root / "exports" / "good.xlsx"
    write_xlsx(good, dossiers(10))
    junk = province.root / "exports" / "junk.xlsx"
    junk.write_bytes(b"PK\x03\x04 this is not a workbook")
    no_header = province.root / "exports" / "noheader.csv"
    no_header.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    result = province.run("import", "dossiers", str(junk), str(no_header), str(good))
    assert result.exit_code == 2
    assert "junk.xlsx: not a readable workbook" in result.output
    assert "noheader.csv: no header row found" in result.output
    assert len(stored(province)) == 10  # the good file still imported


def test_missing_required_column_names_what_was_found(province) -> None:
    path = province.root / "exports" / "x.csv"
    write_rows(path, ["Mã hồ sơ", "Đơn vị", "Trạng thái", "Ghi chú"], [["HS-1", "Sở Tư pháp", "Hoàn thành", ""]])
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 2
    assert "row 2: header has no column for received_at" in result.output


def test_columns_and_values_configurable(tmp_path) -> None:
    from conftest import Province

    province = Province(tmp_path, extra="""
[dossiers.columns]
received_at = ["Thời điểm nộp"]

[dossiers.values.status]
"Đã chuyển trả" = "finished"
""")
    path = province.root / "exports" / "x.csv"
    write_rows(path, ["Mã hồ sơ", "Cơ quan giải quyết", "Thời điểm nộp", "Tình trạng", "Ngày trả kết quả"],
               [["HS-1", "Sở Xây dựng", "2026-11-02T08:00:00", "Đã chuyển trả", "03/11/2026"]])
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output
    row = stored(province)["HS-1"]
    assert (row["unit"], row["status"], row["received_at"], row["finished_at"]) == (
        "SXD", "finished", "2026-11-02 08:00:00", "2026-11-03 00:00:00")


def test_header_matching_ignores_accent_form_case_and_spacing(province) -> None:
    import unicodedata

    header = [unicodedata.normalize("NFD", h).upper().replace(" ", "  ") for h in HEADER]
    path = province.root / "exports" / "nfd.csv"
    write_rows(path, header, [["1", "HS-1", "1.001193", "Đăng ký khai sinh", "X", "Sở Tư pháp", "02/11/2026",
                               "05/11/2026", "", "Đang xử lý", "Trực tiếp", "", "", ""]])
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output
    assert stored(province)["HS-1"]["status"] == "processing"


def test_the_shared_real_shaped_sample_imports_completely(tmp_path) -> None:

    from conftest import Province

    province = Province(tmp_path)
    text = province.rules.read_text(encoding="utf-8")
    text += '\n[[units]]\ncode = "DT"\nname = "Xã Đông Tiến"\nkind = "xa"\naliases = ["UBND xã Đông Tiến"]\nemails = ["dt@example.gov.vn"]\n'
    text += '\n[[units]]\ncode = "HT"\nname = "Phường Hạc Thành"\nkind = "xa"\nemails = ["ht@example.gov.vn"]\n'
    province.rules.write_text(text, encoding="utf-8")
    sample = sample_province() / "exports" / "ho-so-thang-10-2026.xlsx"
    result = province.run("import", "dossiers", str(sample))
    assert result.exit_code == 0, result.output
    assert "đọc 60 dòng, lưu mới 60, cập nhật 0, không đổi 0, loại 0" in result.output
    text = province.db_path.read_bytes().decode("utf-8", "ignore")
    assert "Nguyễn Văn A" not in text and "038042301241" not in text


def test_old_excel_xls_with_date_cells(province) -> None:
    import random

    import xlwt

    from auditbot.demo.samplegen import FLAT, TITLE_ROWS, export_row

    generated = dossiers(25)
    rng = random.Random(4)
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("DS")
    date_style = xlwt.easyxf(num_format_str="DD/MM/YYYY HH:MM")
    for r, title in enumerate(TITLE_ROWS):
        sheet.write(r, 0, title)
    for c, label in enumerate(FLAT):
        sheet.write(len(TITLE_ROWS), c, label)
    for r, d in enumerate(generated, start=len(TITLE_ROWS) + 1):
        for c, value in enumerate(export_row(r, d, rng, excel_dates=True)):
            if isinstance(value, datetime):
                sheet.write(r, c, value, date_style)
            else:
                sheet.write(r, c, value)
    path = province.root / "exports" / "cu.xls"
    book.save(str(path))
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output
    assert_matches(province, generated)
    assert_no_personal_data(province, generated)


@pytest.mark.parametrize("rows", [400, 40000])  # small files parse in-process, big ones in a child process
def test_a_file_that_breaks_half_way_changes_nothing(province, rows) -> None:
    generated = dossiers(rows)
    path = province.root / "exports" / "broken.csv"
    write_csv(path, generated)
    data = path.read_bytes()
    cut_at = data.rindex(b"\n", 0, len(data) - 2000)
    path.write_bytes(data[:cut_at] + b"\n\xff\xfe broken bytes\n" + data[cut_at:])  # not UTF-8, past the sniffed head
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 2
    assert "broken.csv: after row" in result.output and "bytes that are not utf-8 text" in result.output
    db = sqlite_utils.Database(province.db_path)
    assert db["dossiers"].count == 0 and db["imports"].count == 0


def _zip(path, members: dict[str, str]) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)


@pytest.mark.parametrize("name,make,what", [
    ("anh.xlsx", lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8), "a PNG image"),
    ("bao-cao.xls", lambda p: p.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes(range(256)) * 8),
     "a PDF document"),
    ("nen.xlsx", lambda p: _zip(p, {"ho-so.csv": "Mã hồ sơ\n"}), "a ZIP archive holding no workbook"),
    ("van-ban.xlsx", lambda p: _zip(p, {"[Content_Types].xml": "<x/>", "word/document.xml": "<x/>"}),
     "a Word document (DOCX)"),
    ("trang.xls", lambda p: p.write_text("<!DOCTYPE html><html><head><title>Đăng nhập</title></head><body>"
                                         "<form>Phiên làm việc đã hết hạn</form></body></html>", encoding="utf-8"),
     "a web page (HTML) with no table in it"),
])
def test_a_file_that_is_not_a_spreadsheet_is_named_for_what_it_is(province, name, make, what) -> None:
    path = province.root / "exports" / name
    make(path)
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 2
    assert f"{path}: this is {what}" in result.stderr and "not a spreadsheet; expected a spreadsheet export" \
        in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "cp1258" not in result.stderr


def test_an_empty_file_says_so_and_what_was_expected(province) -> None:
    path = province.root / "exports" / "rong.xlsx"
    path.write_bytes(b"")
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 2 and f"{path}: the file is empty; expected a spreadsheet export" in result.stderr


def test_an_export_without_the_columns_lists_the_headers_looked_for_and_found_never_a_cell(province) -> None:
    missing = province.root / "exports" / "thieu-cot.csv"
    write_rows(missing, ["Mã hồ sơ", "Đơn vị", "Họ và tên", "Trạng thái", "Ghi chú"],
               [["HS-1", "Sở Tư pháp", "Nguyễn Văn An", "Hoàn thành", "gọi lại"]])
    result = province.run("import", "dossiers", str(missing))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert "  - looked for received_at: “Ngày tiếp nhận”, “Ngày nhận”, “Thời gian tiếp nhận”, “NgayTiepNhan”" in lines
    assert ("  - found: “Mã hồ sơ” (code), “Đơn vị” (unit), “Họ và tên” (a person's: never read),"
            " “Trạng thái” (status), “Ghi chú” (not used)") in lines
    # a file with no header under its title: only cells that are a known header's own text are quoted
    headerless = province.root / "exports" / "khong-tieu-de.csv"
    write_rows(headerless, ["1", "Đơn vị", "Nguyễn Văn An", "0912345678"], [["2", "Sở Y tế", "Trần Thị Bình", "x"]])
    result = province.run("import", "dossiers", str(headerless))
    assert result.exit_code == 2
    assert f"{headerless}: no header row found in the first 40 rows" in result.stderr
    assert "  - looked for code: “Mã hồ sơ”, “Số hồ sơ”, “MaHoSo”" in result.stderr.splitlines()
    assert "  - found only “Đơn vị” (unit, row 2)" in result.stderr.splitlines()
    for cell in ("Nguyễn Văn An", "Trần Thị Bình", "0912345678", "Sở Y tế", "gọi lại"):
        assert cell not in result.stderr
