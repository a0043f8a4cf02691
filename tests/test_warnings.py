"""Before it is late: the daily warning of dossiers due soon (working hours, the province's holidays), online
dossiers received late, overdue dossiers with no apology to the citizen."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

from conftest import Province, province_now
from loopback import Sink, email_rules

from auditbot import commands
from auditbot.config.rules import load_config
from auditbot.domain.calendar import Calendar
from auditbot.ops.daemon import job_actions
from auditbot.store import Store

HEADER = ["Mã hồ sơ", "Đơn vị", "Mã TTHC", "Tên TTHC", "Ngày tiếp nhận", "Hạn xử lý", "Ngày kết thúc", "Trạng thái",
          "Kênh nộp"]
# Monday 31/08/2026; Tuesday 1 and Wednesday 2 September are holidays (Quốc khánh)
HOLIDAYS = '[index]\nholidays = ["01/09/2026", "02/09/2026"]\n'
MONDAY = datetime(2026, 8, 31, 9, 0)


def write_export(province: Province, rows: list[list[str]], header: list[str] = HEADER,
                 name: str = "rows.csv") -> str:
    path = province.root / "exports" / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output
    return result.output


def open_dossier(code: str, due: str, unit: str = "Sở Tư pháp", procedure: tuple[str, str] = (
        "1.000001", "Cấp phiếu lý lịch tư pháp"), status: str = "Đang xử lý", finished: str = "") -> list[str]:
    return [code, unit, *procedure, "20/08/2026 08:00", due, finished, status, "Trực tiếp"]


# --- the calendar ----------------------------------------------------------------------------------------

def test_working_hours_skip_nights_weekends_and_holidays() -> None:
    calendar = Calendar(frozenset({date(2026, 9, 1), date(2026, 9, 2)}))
    # Monday 09:00 -> 11:30 (2,5 h), 13:30 -> 17:30 (4 h); Tuesday and Wednesday off; Thursday 8 h; Friday 8 h;
    # the 24th hour ends on the next Monday at 09:00
    assert calendar.working_hours_later(MONDAY, 24) == datetime(2026, 9, 7, 9, 0)
    assert calendar.working_hours_between(MONDAY, datetime(2026, 9, 3, 23, 59, 59)) == 14.5
    # ending exactly at a close: every moment until the next opening is as near
    assert calendar.working_hours_later(MONDAY, 6.5) == datetime(2026, 9, 3, 7, 30)
    assert Calendar().working_hours_later(MONDAY, 6.5) == datetime(2026, 9, 1, 7, 30)


# --- the daily warning ----------------------------------------------------------------------------------

def warned_province(root: Path, port: int) -> Province:
    province = Province(root, extra=HOLIDAYS + email_rules(port))
    write_export(province, [
        open_dossier("HS-TODAY", "31/08/2026"),                        # due tonight
        open_dossier("HS-AFTER-HOLIDAY", "03/09/2026 10:00"),          # the next working day, after two days off
        open_dossier("HS-OTHER-PROC", "03/09/2026", procedure=("1.000002", "Chứng thực bản sao")),
        open_dossier("HS-YESTERDAY", "28/08/2026"),                    # already overdue: not a warning
        open_dossier("HS-NEXT-WEEK", "08/09/2026"),                    # beyond 24 working hours
        open_dossier("HS-DONE", "03/09/2026", status="Đã trả kết quả", finished="30/08/2026 10:00"),
        open_dossier("HS-SXD-LATER", "10/09/2026", unit="Sở Xây dựng"),  # SXD has nothing due soon
        open_dossier("HS-XA", "04/09/2026 16:00", unit="UBND xã Quảng Phú"),
    ])
    return province


def test_the_daily_warning_mails_each_unit_its_list_once(tmp_path: Path, smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    province = warned_province(tmp_path, port)
    config = load_config(province.rules)
    assert "daily_warning" in job_actions(config)

    first = commands.send_daily_warning(config, MONDAY)
    assert first.delivery is not None
    assert sorted(first.delivery.sent) == ["quangphu@example.gov.vn", "stp@example.gov.vn"]
    [stp] = sink.to("stp@example.gov.vn")
    assert "2 hồ sơ" not in stp["Subject"] and "3 hồ sơ sắp đến hạn" in stp["Subject"]
    text = stp.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "HS-TODAY" in text and "HS-AFTER-HOLIDAY" in text and "HS-OTHER-PROC" in text
    assert "HS-YESTERDAY" not in text and "HS-NEXT-WEEK" not in text and "HS-DONE" not in text
    assert "03/09/2026 10:00" in text and "31/08/2026 23:59" in text  # dd/mm/yyyy
    # grouped by procedure: each procedure's name once, its dossiers under it
    assert text.count("Cấp phiếu lý lịch tư pháp") == 1 and text.count("Chứng thực bản sao") == 1
    [xa] = sink.to("quangphu@example.gov.vn")
    assert "HS-XA" in xa.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert sink.to("sxd@example.gov.vn") == []

    again = commands.send_daily_warning(config, MONDAY + timedelta(hours=2))  # the same day: nothing again
    assert again.delivery is not None and again.delivery.sent == []
    assert len(sink.received) == 2
    with Store.open(config) as store:
        keys = [(r["week"], r["report"], r["status"]) for r in store.db.query("SELECT * FROM outbox ORDER BY id")]
    assert keys == [("2026-08-31", "warning:STP", "sent"), ("2026-08-31", "warning:XA_QP", "sent")]


def test_no_warning_on_a_day_off(tmp_path: Path, smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    province = warned_province(tmp_path, port)
    outcome = commands.send_daily_warning(load_config(province.rules), datetime(2026, 9, 1, 7, 0))  # a holiday
    assert outcome.found is None and sink.received == []


def test_warnings_prints_the_same_list_now(tmp_path: Path) -> None:
    # built around the real clock: one dossier a few working hours away, one far beyond, one overdue, and the
    # next working day a holiday, so only a calendar that skips it puts the third one within 24 working hours
    now = province_now()
    plain = Calendar()
    next_day = plain.add_working_days(now.date(), 1)
    calendar = Calendar(frozenset({next_day}))
    soon = calendar.working_hours_later(now, 2)
    after_holiday = calendar.working_hours_later(now, 20)
    far = calendar.working_hours_later(now, 60)
    province = Province(tmp_path, extra=f'[index]\nholidays = ["{next_day:%d/%m/%Y}"]\n')
    write_export(province, [
        open_dossier("HS-SOON", f"{soon:%d/%m/%Y %H:%M}"),
        open_dossier("HS-AFTER-HOLIDAY", f"{after_holiday:%d/%m/%Y %H:%M}"),
        open_dossier("HS-FAR", f"{far:%d/%m/%Y %H:%M}"),
        open_dossier("HS-OVERDUE", f"{now - timedelta(days=2):%d/%m/%Y}"),
    ])
    rows = province.json("warnings")
    assert isinstance(rows, list)
    assert [r["code"] for r in rows] == ["HS-SOON", "HS-AFTER-HOLIDAY"]
    assert set(rows[0]) == {"unit", "procedure_code", "procedure_name", "code", "due_at", "working_hours_left"}
    table = province.run("warnings", "--unit", "STP")
    assert table.exit_code == 0
    assert "Hạn trả kết quả" in table.output and "HS-SOON" in table.output and "HS-FAR" not in table.output
    assert f"{soon:%d/%m/%Y %H:%M}" in table.output
    assert province.json("warnings", "--unit", "SXD") == []


# --- late receipt and apologies -------------------------------------------------------------------------

RECEIPT_HEADER = [*HEADER, "Thời gian nộp", "HanTiepNhan", "Ngày xin lỗi", "Ngày hẹn mới"]


def receipt_rows() -> list[list[str]]:
    past = (province_now() - timedelta(days=10)).strftime("%d/%m/%Y")
    future = (province_now() + timedelta(days=30)).strftime("%d/%m/%Y")  # not overdue, whenever the test runs
    online = ("1.000001", "Cấp phiếu lý lịch tư pháp")

    def row(code: str, received: str, submitted: str = "", deadline: str = "", channel: str = "Trực tuyến",
            due: str = future, status: str = "Đang xử lý", finished: str = "", apology: str = "",
            new_due: str = "") -> list[str]:
        return [code, "Sở Tư pháp", *online, received, due, finished, status, channel, submitted, deadline,
                apology, new_due]

    return [
        # submitted Monday 16:00, received Thursday 08:30: 2,5 working hours over the two holidays
        row("R-ON-TIME", "03/09/2026 08:30", submitted="31/08/2026 16:00"),
        # submitted Thursday 08:00, received Friday 17:00: 7,5 + 7,5 working hours
        row("R-LATE", "04/09/2026 17:00", submitted="03/09/2026 08:00"),
        # the system's own receipt deadline, passed
        row("R-DEADLINE", "04/09/2026 15:00", deadline="04/09/2026 11:00"),
        # received at the counter: no online receipt deadline
        row("R-DIRECT", "04/09/2026 17:00", submitted="03/09/2026 08:00", channel="Trực tiếp"),
        # overdue and open, no apology: found
        row("N-OPEN", "01/08/2026 08:00", due=past),
        # overdue and open, apologised: not found
        row("N-SORRY", "01/08/2026 08:00", due=past, apology=past),
        # finished late, no apology: found
        row("N-LATE", "01/08/2026 08:00", due="10/08/2026", status="Đã trả kết quả", finished="12/08/2026 10:00"),
        # finished late with a new appointment date: not found
        row("N-NEW-DATE", "01/08/2026 08:00", due="10/08/2026", status="Đã trả kết quả",
            finished="12/08/2026 10:00", new_due="14/08/2026"),
        # finished on time: not found
        row("N-ON-TIME", "01/08/2026 08:00", due="10/08/2026", status="Đã trả kết quả", finished="09/08/2026 10:00"),
    ]


def found(province: Province) -> list[tuple[str, str]]:
    findings = province.json("check", "STP", "--checks", "dossier.late_receipt,dossier.no_apology")
    assert isinstance(findings, list)
    return sorted((f["check"], f["subject"]) for f in findings)


def test_an_export_with_submission_times_and_apologies_gives_exactly_the_planted_findings(tmp_path: Path) -> None:
    province = Province(tmp_path, extra=HOLIDAYS)
    output = write_export(province, receipt_rows(), RECEIPT_HEADER)
    assert "late_receipt" not in output and "no_apology" not in output  # the figures are known
    assert found(province) == [("dossier.late_receipt", "R-DEADLINE"), ("dossier.late_receipt", "R-LATE"),
                               ("dossier.no_apology", "N-LATE"), ("dossier.no_apology", "N-OPEN")]
    [late] = [f for f in province.json("findings", "--unit", "STP") if f["subject"] == "R-LATE"]  # type: ignore[union-attr]
    assert late["details"]["working_hours"] == 15 and late["details"]["receipt_hours"] == 8
    assert "03/09/2026 08:00" in late["title"] and "sau 15 giờ làm việc (quy định 8 giờ)" in late["title"]


def test_without_those_columns_nothing_is_found_and_the_import_says_unknown(tmp_path: Path) -> None:
    province = Province(tmp_path, extra=HOLIDAYS)
    rows = [row[:len(HEADER)] for row in receipt_rows()]
    output = write_export(province, rows)
    assert "dossier.late_receipt" in output and "dossier.no_apology" in output  # figures it cannot give
    assert found(province) == []
    with Store.open(load_config(province.rules)) as store:
        stored = {r["code"]: r for r in store.db.query("SELECT code, submitted_at, apologised FROM dossiers")}
    assert stored["N-OPEN"]["apologised"] is None and stored["R-LATE"]["submitted_at"] is None


def test_a_submission_after_the_receipt_is_a_rejected_row(tmp_path: Path) -> None:
    province = Province(tmp_path, extra=HOLIDAYS)
    rows = receipt_rows()
    rows[0][RECEIPT_HEADER.index("Thời gian nộp")] = "05/09/2026 08:00"
    path = province.root / "exports" / "bad.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([RECEIPT_HEADER, *rows])
    result = province.run("import", "dossiers", str(path))
    assert "dòng 2, cột 'Thời gian nộp': thời điểm nộp sau thời điểm tiếp nhận" in result.output, result.output
    with Store.open(load_config(province.rules)) as store:
        assert store.db.execute("SELECT count(*) FROM dossiers WHERE code = 'R-ON-TIME'").fetchone()[0] == 0
        rejected = [(r["row"], r["column_name"], r["reason"]) for r in store.db.query("SELECT * FROM rejected_rows")]
    assert [(column, reason) for _, column, reason in rejected] == [
        ("Thời gian nộp", "submitted_after_received")]  # stored as its reason code (templates/reasons.toml)


def test_the_sample_rules_name_the_new_keys() -> None:
    rules = Path(__file__).parents[1] / "rules.toml"
    config = load_config(rules)
    assert config.daily_warning.due_within == 24 and config.thresholds.receipt_hours == 8
    assert "daily_warning" in config.schedule
