"""Whose fault it is: the portal's copy of each dossier (sync.missing, sync.status_mismatch), the portal's
monthly counts (sync.counts_differ), exports of several systems as one picture, overdue dossiers by cause,
and sync findings routed to the IT unit and the centre, never into the unit's own letter."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import timedelta
from pathlib import Path

import sqlite_utils
from conftest import Province, province_now
from loopback import Sink, email_rules, free_port

from auditbot.store.views import ensure_views

IT_UNIT = """
[[units]]
code = "SKHCN"
name = "Sở Khoa học và Công nghệ"
kind = "it"
emails = ["skhcn@example.gov.vn"]

[sync]
max_days = 2
tolerance = 3
portal_figures = "portal/"

[routing]
sync = "SKHCN"
"""
HEADER = "Mã hồ sơ,Tên TTHC,Đơn vị,Ngày tiếp nhận,Ngày hẹn trả,Ngày có kết quả,Trạng thái"
SYNC_HEADER = f"{HEADER},Đồng bộ DVCQG,Thời gian đồng bộ"


def at(days_ago: float) -> str:
    return (province_now() - timedelta(days=days_ago)).strftime("%d/%m/%Y %H:%M")


def stamp(days_ago: float) -> str:
    return (province_now() - timedelta(days=days_ago)).strftime("%Y%m%d%H%M%S")


def make(tmp_path: Path, extra: str = "") -> Province:
    province = Province(tmp_path, IT_UNIT + extra)
    (tmp_path / "portal").mkdir()
    return province


def write(province: Province, name: str, lines: list[str]) -> Path:
    path = province.root / "exports" / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def portal_records(path: Path, records: list[dict[str, object]]) -> None:
    """The portal's sync records, with the citizen's data real payloads carry (never to be stored)."""
    citizen = {"ChuHoSo": "Nguyễn Thị Hoa", "SoDienThoai": "0912345678", "Email": "hoa@example.vn",
               "SoGiayToChuHoSo": "038190001234"}
    path.write_text(json.dumps({"service": "DongBoHoSoMC", "data": [{**citizen, **r} for r in records]},
                               ensure_ascii=False), encoding="utf-8")


def findings(province: Province, *args: str) -> set[tuple[str, str, str]]:
    result = province.run("check", "--all", "--format", "json", *args)
    assert result.exit_code in (0, 1), result.output
    return {(f["check"], f["unit"], f["subject"]) for f in json.loads(result.stdout)}


def sync_findings(province: Province) -> set[tuple[str, str, str]]:
    return {f for f in findings(province) if f[0].startswith("sync.")}


def test_an_export_with_sync_flags_gives_exactly_the_planted_sync_findings(tmp_path: Path) -> None:
    province = make(tmp_path)
    export = write(province, "tinh.csv", [
        SYNC_HEADER,
        f"OK-1,Đăng ký khai sinh,Sở Tư pháp,{at(20)},{at(5)},{at(10)},Đã trả kết quả,1,{at(9.9)}",
        f"NEVER-2,Đăng ký khai sinh,Sở Tư pháp,{at(20)},{at(5)},{at(10)},Đã trả kết quả,0,",
        f"OPEN-3,Cấp phép xây dựng,Sở Xây dựng,{at(10)},{at(-5)},,Đang xử lý,Chưa đồng bộ,",
        f"FRESH-4,Đăng ký khai sinh,Sở Tư pháp,{at(3)},{at(-5)},{at(0.5)},Đã trả kết quả,0,",
        f"STALE-5,Đăng ký khai sinh,Sở Tư pháp,{at(20)},{at(5)},{at(10)},Đã trả kết quả,1,{at(15)}",
        f"ODD-6,Đăng ký khai sinh,Sở Tư pháp,{at(20)},{at(5)},{at(10)},Đã trả kết quả,có lẽ,",
    ])
    result = province.run("import", "dossiers", str(export))
    assert result.exit_code == 0, result.output
    assert "đọc 6 dòng, lưu mới 5" in result.output
    assert "dòng 7, cột 'Đồng bộ DVCQG': trạng thái đồng bộ 'có lẽ' không rõ" in result.output  # rejected, never guessed
    # the portal's own records: OK-1 still open there (the province says finished), OTHER-7 agrees
    portal_records(province.root / "exports" / "dvcqg.json", [
        {"MaHoSo": "OK-1", "DonViXuLy": "Sở Tư pháp", "NgayTiepNhan": stamp(20), "NgayHenTra": stamp(5),
         "TrangThaiHoSo": "4"},
        {"MaHoSo": "OTHER-7", "DonViXuLy": "Sở Tư pháp", "NgayTiepNhan": stamp(3), "NgayHenTra": stamp(-5),
         "TrangThaiHoSo": "4"},
    ])
    assert province.run("import", "dossiers", str(province.root / "exports" / "dvcqg.json")).exit_code == 0

    assert sync_findings(province) == {
        ("sync.missing", "STP", "NEVER-2"), ("sync.missing", "SXD", "OPEN-3"), ("sync.missing", "STP", "STALE-5"),
        ("sync.status_mismatch", "STP", "OK-1")}
    db = sqlite_utils.Database(province.db_path)
    # the latest state wins, and says which system it came from
    assert db.execute("SELECT status, system FROM dossiers WHERE code = 'OK-1'").fetchone() == ("finished", None)
    assert db.execute("SELECT status, system FROM dossiers WHERE code = 'OTHER-7'").fetchone() == (
        "processing", "DVCQG")
    blob = province.db_path.read_bytes().decode("utf-8", "ignore")
    for personal in ("Nguyễn Thị Hoa", "0912345678", "hoa@example.vn", "038190001234"):
        assert personal not in blob


def test_an_export_without_sync_columns_gives_none_and_says_the_sync_state_is_unknown(tmp_path: Path) -> None:
    province = make(tmp_path)
    export = write(province, "tinh.csv", [
        HEADER, f"A-1,Đăng ký khai sinh,Sở Tư pháp,{at(20)},{at(5)},{at(10)},Đã trả kết quả",
        f"A-2,Đăng ký khai sinh,Sở Tư pháp,{at(20)},{at(-5)},,Đang xử lý"])
    result = province.run("import", "dossiers", str(export))
    assert result.exit_code == 0, result.output
    assert "whether the portal has these dossiers is unknown" in result.output
    assert sync_findings(province) == set()
    db = sqlite_utils.Database(province.db_path)
    assert db.execute("SELECT count(*) FROM dossiers WHERE synced IS NULL").fetchone() == (2,)  # unknown, not 0


def test_a_later_export_without_sync_columns_resolves_no_sync_finding(tmp_path: Path) -> None:
    province = make(tmp_path)
    export = write(province, "tinh.csv", [
        SYNC_HEADER, f"N-1,Đăng ký khai sinh,Sở Tư pháp,{at(20)},{at(5)},{at(10)},Đã trả kết quả,0,"])
    assert province.run("import", "dossiers", str(export)).exit_code == 0
    assert sync_findings(province) == {("sync.missing", "STP", "N-1")}
    export.write_text(f"{HEADER}\nN-1,Đăng ký khai sinh,Sở Tư pháp,{at(20)},{at(5)},{at(10)},Đã trả kết quả\n",
                      encoding="utf-8")
    assert province.run("import", "dossiers", str(export)).exit_code == 0
    assert sync_findings(province) == {("sync.missing", "STP", "N-1")}  # no evidence it was synced: kept


def test_a_dossier_seen_by_two_systems_is_one_and_phu_luc_i_counts_only_the_units_own(tmp_path: Path) -> None:
    province = make(tmp_path, email_rules(free_port()))
    # the ministry's centralised system (through the portal) still has it open past due, under its own code
    portal_records(province.root / "exports" / "bo.json", [
        {"MaHoSo": "BTP-000123", "MaHoSoKhac": "T-1", "DonViXuLy": "Sở Tư pháp", "NgayTiepNhan": stamp(20),
         "NgayHenTra": stamp(5), "TrangThaiHoSo": "4"}])
    assert province.run("import", "dossiers", str(province.root / "exports" / "bo.json")).exit_code == 0
    # the province's system finished it on time; T-2 is the unit's own overdue dossier
    export = write(province, "tinh.csv", [
        HEADER, f"T-1,Đăng ký khai sinh,Sở Tư pháp,{at(20)},{at(5)},{at(8)},Đã trả kết quả",
        f"T-2,Đăng ký khai sinh,Sở Tư pháp,{at(20)},{at(5)},,Đang xử lý"])
    result = province.run("import", "dossiers", str(export))
    assert result.exit_code == 0, result.output
    assert "1 dossiers were stored already under another system's code" in result.output

    found = findings(province)
    assert {f for f in found if f[0] == "dossier.overdue"} == {("dossier.overdue", "STP", "T-2")}
    assert ("sync.status_mismatch", "STP", "BTP-000123") in found  # the ministry's still says open
    db = sqlite_utils.Database(province.db_path)
    assert db.execute("SELECT code, alt_code, status FROM dossiers ORDER BY code").fetchall() == [
        ("BTP-000123", "T-1", "finished"), ("T-2", None, "processing")]
    ensure_views(db)  # what `serve` shows
    [row] = db.query('SELECT * FROM overdue_by_cause WHERE "Mã đơn vị" = \'STP\'')
    assert (row["Quá hạn do đơn vị"], row["Quá hạn do lỗi đồng bộ"], row["Tổng quá hạn"]) == (1, 1, 2)
    rates = {r["group"]: r for r in province.json("rates", "--from", at(30)[:10], "--to", at(0)[:10])}
    assert rates["STP"]["late"] + rates["STP"]["overdue_open"] == 1  # rate.overdue: the unit's own

    outbox = tmp_path / "outbox"
    assert province.run("report", "--outbox", str(outbox)).exit_code == 0
    [summary] = outbox.glob("*/*centre@example.gov.vn.eml")
    text = email.message_from_bytes(summary.read_bytes(), policy=email.policy.default)
    body = text.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Hồ sơ quá hạn theo nguyên nhân: 50,00% do đơn vị giải quyết chậm (1); 50,00% do lỗi đồng bộ (1)." in body
    assert "BTP-000123" in body  # the centre sees the sync finding too
    [stp] = outbox.glob("*/STP--*.eml")
    letter = email.message_from_bytes(stp.read_bytes(), policy=email.policy.default)
    stp_body = letter.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Mã hồ sơ: T-2" in stp_body and "BTP-000123" not in stp_body  # Phụ lục I: the unit's own only


def test_portal_counts_beyond_the_tolerance_go_to_the_it_unit_and_the_units_letter_is_unchanged(
        tmp_path: Path, smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    province = make(tmp_path, email_rules(port))
    month = province_now().strftime("%m/%Y")
    lines = [HEADER]
    for number in range(12):  # received this month, still open within their due date
        lines.append(f"M-{number},Đăng ký khai sinh,Sở Tư pháp,{province_now().strftime('%d/%m/%Y')} 00:00,"
                     f"{at(-30)},,Đang xử lý")
        lines.append(f"X-{number},Cấp phép xây dựng,Sở Xây dựng,{province_now().strftime('%d/%m/%Y')} 00:00,"
                     f"{at(-30)},,Đang xử lý")
    assert province.run("import", "dossiers", str(write(province, "tinh.csv", lines))).exit_code == 0

    def letter_text(address: str) -> str:
        [message] = [m for rcpt, m in sink.received if address in rcpt]
        return message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    findings(province)
    assert province.run("report", "--send").exit_code == 0
    before = letter_text("stp@example.gov.vn")
    sink.received.clear()
    sqlite_utils.Database(province.db_path).execute("DELETE FROM outbox")
    sqlite_utils.Database(province.db_path).conn.commit()

    # the portal publishes 4 received for STP (12 here: beyond a tolerance of 3) and 10 for SXD (within it)
    (province.root / "portal" / "thong-ke.json").write_text(json.dumps({"data": [
        {"agencyCode": "STP", "month": month, "totalReceived": 4, "totalCompleted": 0, "totalOnTime": 0,
         "totalOverdue": 0},
        {"agencyName": "Sở Xây dựng", "month": month, "totalReceived": 10, "totalCompleted": 0},
    ]}), encoding="utf-8")
    assert {f for f in findings(province) if f[0] == "sync.counts_differ"} == {
        ("sync.counts_differ", "STP", month)}
    assert province.run("report", "--send").exit_code == 0
    assert letter_text("stp@example.gov.vn") == before  # the unit's own letter: unchanged
    it = letter_text("skhcn@example.gov.vn")
    assert f"Số liệu tháng {month} trên Cổng DVCQG khác số liệu của tỉnh (tiếp nhận 12 / 4)" in it
    assert "Sở Tư pháp" in it and "được chuyển để xử lý, không phải vi phạm của đơn vị" in it
    assert f"tháng {month} trên Cổng DVCQG" in letter_text("centre@example.gov.vn")


def test_a_portal_figure_file_in_an_unknown_shape_is_refused_in_one_line_the_others_still_count(
        tmp_path: Path) -> None:
    province = make(tmp_path)
    month = province_now().strftime("%m/%Y")
    export = write(province, "tinh.csv", [
        HEADER, f"A-1,Đăng ký khai sinh,Sở Tư pháp,{province_now().strftime('%d/%m/%Y')} 00:00,{at(-5)},,Đang xử lý"])
    assert province.run("import", "dossiers", str(export)).exit_code == 0
    (province.root / "portal" / "a-la.json").write_text('{"metrics": [{"code": "x", "score": 9}]}', encoding="utf-8")
    (province.root / "portal" / "b-exponent.csv").write_text(
        f"Đơn vị,Tháng,Tiếp nhận\nSở Tư pháp,{month},1e999999\n", encoding="utf-8")
    (province.root / "portal" / "c-good.csv").write_text(
        f"Đơn vị,Tháng,Tiếp nhận,Đã giải quyết\nSở Tư pháp,{month},40,\nSở Ngoại giao,{month},3,\n", encoding="utf-8")
    result = province.run("check", "--all", "--checks", "sync")
    assert result.exit_code == 1, result.output  # STP: 40 received on the portal, 1 here
    assert f"không đọc được: {province.root / 'portal' / 'a-la.json'}: no unit's monthly counts found" in result.output
    assert "b-exponent.csv: row 2: received: a number with an exponent" in result.output
    assert "c-good.csv: unknown unit 'Sở Ngoại giao'" in result.output
    assert "sync.counts_differ" in result.output and "Traceback" not in result.output
    stored = sqlite_utils.Database(province.db_path).execute(
        "SELECT unit, received, finished FROM portal_counts").fetchall()
    assert stored == [("STP", 40, None)]  # a blank count is unknown, not 0


def test_routing_names_a_known_class_and_a_known_unit_or_addresses(tmp_path: Path) -> None:
    province = Province(tmp_path, '[routing]\nsync = "SKHCN"\nletters = "STP"\n')
    result = province.run("validate")
    assert result.exit_code == 2
    assert "routing.sync: no unit has the code 'SKHCN'" in result.output
    assert "routing.letters: unknown class of finding (known: sync)" in result.output
    province = Province(tmp_path, '[routing]\nsync = ["it@example.gov.vn"]\n[sync]\ntolerance = -1\n')
    result = province.run("validate")
    assert result.exit_code == 2 and "sync.tolerance: expected a number of dossiers ≥ 0, got -1" in result.output


def test_sync_findings_routed_to_addresses_get_their_own_letter(tmp_path: Path, smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    province = Province(tmp_path, '[routing]\nsync = ["cntt@example.gov.vn"]\n' + email_rules(port))
    export = write(province, "tinh.csv", [
        SYNC_HEADER, f"N-1,Đăng ký khai sinh,Sở Tư pháp,{at(20)},{at(5)},{at(10)},Đã trả kết quả,0,"])
    assert province.run("import", "dossiers", str(export)).exit_code == 0
    assert ("sync.missing", "STP", "N-1") in findings(province)
    assert province.run("report", "--send").exit_code == 0
    [it] = [m for rcpt, m in sink.received if "cntt@example.gov.vn" in rcpt]
    assert "Hồ sơ N-1 chưa được đồng bộ" in it.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [stp] = [m for rcpt, m in sink.received if "stp@example.gov.vn" in rcpt]
    assert "N-1" not in stp.get_body(("plain",)).get_content()  # type: ignore[union-attr]
