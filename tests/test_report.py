"""Weekly digests and the summary, delivered to real SMTP servers on loopback and read back."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
import sqlite3
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import trustme
from aiosmtpd.controller import Controller
from browser import ink, screenshot
from conftest import RULES, Province, province_now
from loopback import PASSWORD, Sink, email_rules, free_port

from auditbot.checking.types import Finding
from auditbot.config.rules import load_config
from auditbot.store import CENTRE, Scope, Store

HOSTILE = '<script>alert("x")</script> Thủ tục <b>giả</b>'
FORMULA = '=HYPERLINK("http://evil.example/","Bấm vào đây")'


def make_province(root: Path, port: int, email_extra: str = "") -> Province:
    province = Province(root)
    rules = RULES.format(extra=email_rules(port, email_extra)).replace(
        'emails = ["stp@example.gov.vn"]', 'emails = ["stp@example.gov.vn"]\nhead_emails = ["giamdoc.stp@example.gov.vn"]')
    province.rules.write_text(rules, encoding="utf-8")
    return province


def seed(province: Province) -> None:
    """A week of history through the real store: what each unit has open, fixed, muted, and could not read."""
    config = load_config(province.rules)
    store = Store.open(config)
    now = province_now()
    checks = ["dossier.overdue", "listing.unknown", "link.missing", "rate.online", "source.unreadable"]

    def run(at: datetime, produced: list[Finding], units: list[str]) -> None:
        scope = Scope(frozenset(checks), frozenset(units))
        run_id = store.start_run("test", "check", scope, at)
        store.record(run_id, scope, produced, at)
        store.finish_run(run_id, at)

    old = Finding("dossier.overdue", "STP", "HS-OLD-1", "Hồ sơ HS-OLD-1 quá hạn 40 ngày",
                  details={"code": "HS-OLD-1", "procedure_name": "Đăng ký khai sinh", "received_at": "2026-09-01 08:00:00",
                           "due_at": "2026-09-04 17:00:00", "days_overdue": 40})
    fixed = Finding("link.missing", "STP", "1.000894", "Thủ tục 1.000894 «Đăng ký kết hôn» không có liên kết")
    muted = Finding("link.missing", "STP", "2.000908", "Thủ tục 2.000908 đã được miễn trừ")
    run(now - timedelta(weeks=6), [old, fixed, muted], ["STP"])
    store.mute(store.findings(units=["STP"], checks=["link.missing"])[1]["id"], "đã giải trình", None, now)
    fresh = [
        old, muted,
        Finding("dossier.overdue", "STP", "HS-NEW-2", "Hồ sơ HS-NEW-2 quá hạn 3 ngày",
                details={"code": "HS-NEW-2", "procedure_name": HOSTILE, "received_at": "2026-11-01 08:00:00",
                         "due_at": "2026-11-05 17:00:00", "days_overdue": 3}),
        Finding("listing.unknown", "STP", "la", f"Thủ tục niêm yết «{FORMULA}» không có trong danh mục",
                details={"name": FORMULA, "code": None, "page": "https://stp.example.gov.vn/tthc"}),
        Finding("rate.online", "STP", "Q4/2026", "Tỷ lệ hồ sơ trực tuyến 58,57% dưới ngưỡng 70,00%",
                details={"period": "Q4/2026", "numerator": 41, "denominator": 70, "rate": 58.57, "threshold": 70}),
        Finding("source.unreadable", "XA_QP", "https://quangphu.example.gov.vn/tthc",
                "Không đọc được trang niêm yết", details={"url": "https://quangphu.example.gov.vn/tthc",
                                                           "error": "HTTP 404"}),
    ]
    run(now - timedelta(hours=2), fresh, ["STP", "SXD", "XA_QP"])
    scope = Scope(frozenset({"portal.unavailable"}), frozenset({CENTRE}))
    run_id = store.start_run("test", "check", scope, now)
    store.record(run_id, scope, [Finding("portal.unavailable", CENTRE, "portal", "Cổng DVCQG không kiểm tra được")], now)
    store.finish_run(run_id, now)
    store.close()


def attachment_book(message: EmailMessage) -> openpyxl.Workbook:
    parts = [p for p in message.iter_attachments() if p.get_filename("").endswith(".xlsx")]
    assert len(parts) == 1
    return openpyxl.load_workbook(io.BytesIO(parts[0].get_content()))


def body_text(message: EmailMessage) -> str:
    return str(message.get_body(("plain",)).get_content())


def outbox_rows(province: Province) -> list[dict[str, Any]]:
    with sqlite3.connect(province.db_path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT week, report, recipient, role, status, attempts, last_error"
                                              " FROM outbox ORDER BY report, recipient")]


def test_each_unit_gets_its_own_annexes(tmp_path: Path, smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    province = make_province(tmp_path, port)
    seed(province)
    result = province.run("report", "--send")
    assert result.exit_code == 0, result.output
    assert sorted(a for rcpt, _ in sink.received for a in rcpt) == [
        "centre@example.gov.vn", "giamdoc.stp@example.gov.vn", "quangphu@example.gov.vn", "stp@example.gov.vn",
        "sxd@example.gov.vn"]

    [stp] = sink.to("stp@example.gov.vn")
    week = province_now().isocalendar()
    assert stp["Subject"] == f"[Kiểm soát TTHC] Sở Tư pháp: 4 vi phạm cần khắc phục — tuần {week[1]}/{week[0]}"
    text = stp.get_body(("plain",)).get_content()
    html = stp.get_body(("html",)).get_content()
    assert "PHỤ LỤC I — DANH SÁCH HỒ SƠ QUÁ HẠN CHƯA GIẢI QUYẾT (2)" in text
    assert "PHỤ LỤC III — TỶ LỆ HỒ SƠ NỘP TRỰC TUYẾN DƯỚI NGƯỠNG (1)" in text
    assert "Tỷ lệ: 58,57%; Ngưỡng tối thiểu: 70,00%" in text
    assert "Mã hồ sơ: HS-NEW-2" in text and "— Mới trong tuần" in text
    old_since = (province_now() - timedelta(weeks=6)).strftime("%d/%m/%Y")
    assert "Mã hồ sơ: HS-OLD-1; Thủ tục hành chính: Đăng ký khai sinh; Ngày tiếp nhận: 01/09/2026" in text
    assert f"Tồn từ {old_since}" in text
    assert "ĐÃ KHẮC PHỤC TRONG TUẦN (1)" in text and "1.000894" in text
    assert "2.000908" not in text + html  # muted: not told
    assert "<table" not in text and "<td" not in text  # a real plain-text part, not the HTML again
    assert "<script>" not in html and "&lt;script&gt;" in html  # scraped text is escaped
    assert "quá 4 tuần" in text  # escalated: the head is told why it gets a copy

    [head] = sink.to("giamdoc.stp@example.gov.vn")
    assert head["Subject"] == stp["Subject"]

    book = attachment_book(stp)
    assert book.sheetnames == ["Phụ lục I", "Phụ lục III", "TTHC ngoài danh mục"]
    annex = book["Phụ lục I"]
    assert annex["A2"].value == "Phụ lục I — Danh sách hồ sơ quá hạn chưa giải quyết"
    assert [c.value for c in annex[5]] == ["STT", "Mã hồ sơ", "Thủ tục hành chính", "Ngày tiếp nhận",
                                           "Hạn trả kết quả", "Số ngày quá hạn", "Tình trạng"]
    rows = {r[1].value: r for r in annex.iter_rows(min_row=6)}
    assert set(rows) == {"HS-OLD-1", "HS-NEW-2"}
    received = rows["HS-OLD-1"][3]
    assert received.value == datetime(2026, 9, 1) and received.number_format == "dd/mm/yyyy"
    assert rows["HS-OLD-1"][5].value == 40 and rows["HS-NEW-2"][2].value == HOSTILE
    assert book["Phụ lục III"]["E6"].value == 58.57 and book["Phụ lục III"]["E6"].number_format == '0.00"%"'
    formula = book["TTHC ngoài danh mục"]["B6"]
    assert formula.value == FORMULA and formula.data_type == "s"  # text, never a formula
    assert int(annex.column_dimensions["C"].width) == 48  # stored as Excel does, with the cell's padding

    [clean] = sink.to("sxd@example.gov.vn")
    assert "không có vi phạm tồn đọng" in clean["Subject"]
    assert not list(clean.iter_attachments())
    [unreadable] = sink.to("quangphu@example.gov.vn")
    body = unreadable.get_body(("plain",)).get_content()
    assert "không đọc được trang niêm yết" in body and "https://quangphu.example.gov.vn/tthc" in body
    assert "không có vi phạm tồn đọng" not in body + unreadable["Subject"]

    [summary] = sink.to("centre@example.gov.vn")
    assert summary["Subject"].startswith(f"[Kiểm soát TTHC] Tổng hợp toàn tỉnh tuần {week[1]}/{week[0]}: 4 vi phạm")
    digest = summary.get_body(("plain",)).get_content()
    assert "1. Sở Tư pháp: 4 (3 mới)" in digest
    assert "Sở, ban, ngành: 2 đơn vị, 1 có vi phạm, 4 vi phạm tồn đọng" in digest
    assert "Cổng DVCQG không kiểm tra được" in digest and "Xã Quảng Phú: Không đọc được trang niêm yết" in digest
    assert f"Sở Tư pháp: 1 vi phạm, lâu nhất từ {old_since}" in digest  # escalated findings listed for the centre
    book = attachment_book(summary)
    annex = book["Phụ lục I"]  # a list of units: a heading per kind, then each unit and its count
    assert [annex.cell(5, c).value for c in (1, 2, 3)] == ["STT", "Đơn vị", "Số hồ sơ quá hạn"]
    assert annex["A6"].value == "I. Sở, ban, ngành"
    assert [annex.cell(7, c).value for c in (1, 2, 3, 4)] == [1, "Sở Tư pháp", 2, f"Tồn từ {old_since}"]


def test_rerunning_the_week_sends_nothing_twice(tmp_path: Path, smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    province = make_province(tmp_path, port)
    seed(province)
    assert province.run("report", "--send").exit_code == 0
    first = len(sink.received)
    again = province.run("report", "--send")
    assert again.exit_code == 0 and "đã gửi 0, lỗi 0" in again.stderr
    assert len(sink.received) == first == 5
    assert {r["status"] for r in outbox_rows(province)} == {"sent"}


def test_mail_server_down_then_up_delivers_each_letter_once(tmp_path: Path) -> None:
    port = free_port()
    province = make_province(tmp_path, port)
    seed(province)
    down = province.run("report", "--send")
    assert down.exit_code == 1 and "lỗi 5" in down.stderr
    rows = outbox_rows(province)
    assert {r["status"] for r in rows} == {"failed"} and all("Connection refused" in r["last_error"] for r in rows)
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert province.run("report", "--send").exit_code == 0
        assert province.run("report", "--send").exit_code == 0
    finally:
        controller.stop()
    assert sorted(a for rcpt, _ in sink.received for a in rcpt) == sorted(r["recipient"] for r in rows)
    assert [(r["status"], r["attempts"]) for r in outbox_rows(province)] == [("sent", 2)] * 5


def test_starttls_with_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=sink, auth_require_tls=True)
    controller.start()
    try:
        province = make_province(tmp_path, port, 'username = "kiemsoat"\nca_file = "ca.pem"\n')
        province.rules.write_text(province.rules.read_text().replace('security = "none"', 'security = "starttls"'))
        seed(province)
        missing = province.run("report", "--unit", "SXD", "--send")
        assert missing.exit_code == 2 and "AUDITBOT_SMTP_PASSWORD" in missing.stderr
        monkeypatch.setenv("AUDITBOT_SMTP_PASSWORD", "mật-khẩu")
        accented = province.run("report", "--unit", "SXD", "--send")
        assert accented.exit_code == 2 and "non-ASCII" in accented.stderr and "mật" not in accented.stderr
        monkeypatch.setenv("AUDITBOT_SMTP_PASSWORD", "sai-" + PASSWORD)
        wrong = province.run("report", "--unit", "SXD", "--send")
        assert wrong.exit_code == 1 and "SMTPAuthenticationError" in wrong.stderr
        assert PASSWORD not in wrong.output + wrong.stderr
        monkeypatch.setenv("AUDITBOT_SMTP_PASSWORD", PASSWORD)
        right = province.run("report", "--unit", "SXD", "--send")
        assert right.exit_code == 0, right.stderr
    finally:
        controller.stop()
    assert [m["To"] for _, m in sink.received] == ["sxd@example.gov.vn"]
    assert sink.logins[-1] == (b"kiemsoat", PASSWORD.encode())
    assert PASSWORD.encode() not in province.db_path.read_bytes()


def test_outbox_folder_and_the_digest_as_a_person_sees_it(tmp_path: Path) -> None:
    province = make_province(tmp_path, free_port())
    seed(province)
    result = province.run("report", "--unit", "STP", "--outbox", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (tmp_path / "out").rglob("*.eml"))
    assert files == ["STP--giamdoc.stp@example.gov.vn.eml", "STP--stp@example.gov.vn.eml"]  # no summary for one unit
    assert not outbox_rows(province)  # a preview is not a delivery
    message = email.message_from_bytes(next((tmp_path / "out").rglob("STP--stp*.eml")).read_bytes(),
                                       policy=email.policy.default)
    page = tmp_path / "digest.html"
    page.write_text(message.get_body(("html",)).get_content(), encoding="utf-8")
    shot = screenshot(page.as_uri(), tmp_path / "digest.png")
    inked, colours = ink(shot)
    assert inked > 0.05 and colours > 20, (inked, colours)  # tables, header colours and text, not a blank page


class LosesTheAnswer(Sink):
    """Receives the whole letter, then for one recipient drops the connection and for another never answers
    the final dot; everyone else gets "250"."""

    def __init__(self, drop: str, hang: str) -> None:
        super().__init__()
        self.drop, self.hang = drop, hang

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if self.drop in envelope.rcpt_tos:
            server.transport.close()
        elif self.hang in envelope.rcpt_tos:
            await asyncio.sleep(20)
        return answer


def test_a_lost_250_leaves_the_letter_unconfirmed_never_resent_until_a_person_says_so(tmp_path: Path) -> None:
    sink, port = LosesTheAnswer(drop="stp@example.gov.vn", hang="sxd@example.gov.vn"), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        province = make_province(tmp_path, port)
        province.rules.write_text(province.rules.read_text(encoding="utf-8").replace(
            "timeout_seconds = 5", "timeout_seconds = 1"), encoding="utf-8")
        seed(province)
        first = province.run("report", "--send")
        assert first.exit_code == 1
        rows = {r["recipient"]: r for r in outbox_rows(province)}
        assert rows["stp@example.gov.vn"]["status"] == rows["sxd@example.gov.vn"]["status"] == "unconfirmed"
        assert {r["status"] for a, r in rows.items() if a not in ("stp@example.gov.vn", "sxd@example.gov.vn")} == {
            "sent"}  # the others went out over a fresh connection
        assert "chưa xác nhận 2" in first.stderr and "auditbot report --resend" in first.stderr
        received = sorted(a for rcpt, _ in sink.received for a in rcpt)
        assert received == sorted(rows)  # every letter reached the server exactly once
        # the next send (and the daemon's outbox job) leaves them alone: nobody gets two copies
        again = province.run("report", "--send")
        assert again.exit_code == 0 and len(sink.received) == len(received)
        status = province.run("status").stdout
        [line] = [line for line in status.splitlines() if "thư chưa xác nhận" in line and "stp@" in line]
        assert "did not confirm it" in line and "--resend" in line
        # a person checked the mailbox: the letter is sent again, once, and only that one
        letter_id = next(r["id"] for r in province_outbox(province) if r["recipient"] == "stp@example.gov.vn")
        sink.drop = "nobody"
        resent = province.run("report", "--resend", str(letter_id))
        assert resent.exit_code == 0, resent.stderr
        assert "trước đó: chưa xác nhận" in resent.stderr and "đã gửi 1, lỗi 0" in resent.stderr
        assert len(sink.received) == len(received) + 1 and sink.received[-1][0] == ["stp@example.gov.vn"]
        refused = province.run("report", "--resend", str(letter_id))
        assert refused.exit_code == 2 and "is sent at" in refused.stderr
        assert province.run("report", "--resend", "99999").exit_code == 2
    finally:
        controller.stop()


def province_outbox(province: Province) -> list[dict[str, Any]]:
    with sqlite3.connect(province.db_path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT id, recipient, status FROM outbox ORDER BY id")]


def test_a_control_character_in_one_value_never_stops_the_weeks_letters(tmp_path: Path,
                                                                        smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    province = make_province(tmp_path, port)
    seed(province)
    config = load_config(province.rules)
    with Store.open(config) as store:
        scope = Scope(frozenset({"dossier.overdue"}), frozenset({"SXD"}))
        now = province_now()
        run_id = store.start_run("test", "check", scope, now)
        store.record(run_id, scope, [Finding(
            "dossier.overdue", "SXD", "HS\x02-9", "Hồ sơ HS\x02-9 quá hạn 2 ngày",
            details={"code": "HS\x02-9", "procedure_name": "Cấp phép\x0b xây dựng _x0041_", "days_overdue": 2,
                     "received_at": "2026-11-01 08:00:00", "due_at": "2026-11-05 17:00:00"})], now)
        store.finish_run(run_id, now)
    result = province.run("report", "--send")
    assert result.exit_code == 0, result.stderr
    [letter] = sink.to("sxd@example.gov.vn")
    sheet = attachment_book(letter).worksheets[0]
    texts = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert any(t.startswith("HS") and t.endswith("-9") for t in texts)  # kept, escaped as Excel does
    assert any("_x0041_" in t for t in texts)  # a literal that looks like an escape reads back as written
    assert len(sink.received) == 5  # every letter, as on a week without the control character


def test_one_units_letter_failing_never_stops_the_others(tmp_path: Path, smtp: tuple[Sink, int],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from auditbot.report import compose
    from auditbot.report.compose import Composer

    sink, port = smtp
    province = make_province(tmp_path, port)
    seed(province)
    made = Composer.digest_letters

    def fails_for_stp(self: Composer, digest: Any) -> Any:  # a fault nobody foresaw, in one unit's letter
        if digest.unit.code == "STP":
            raise KeyError("a value no template expected")
        return made(self, digest)

    monkeypatch.setattr(Composer, "digest_letters", fails_for_stp)
    monkeypatch.setattr(compose, "PARALLEL_FROM", 2)  # composed in worker processes, as a province's are
    result = province.run("report", "--send")
    assert result.exit_code == 1
    assert "không lập được thư cho STP (KeyError" in result.stderr
    assert not sink.to("stp@example.gov.vn") and sink.to("sxd@example.gov.vn")
    [summary] = sink.to("centre@example.gov.vn")
    assert "Sở Tư pháp: không lập được thư tuần này (lỗi KeyError" in summary.get_body(("plain",)).get_content()
    with sqlite3.connect(province.db_path) as conn:
        [(status, subject)] = conn.execute(
            "SELECT status, subject FROM findings WHERE check_id = 'letter.failed'").fetchall()
    assert (status, subject) == ("open", "STP")
    monkeypatch.setattr(Composer, "digest_letters", made)
    assert province.run("report", "--send").exit_code == 0  # fixed: STP's letter goes, the finding resolves
    assert sink.to("stp@example.gov.vn")
    with sqlite3.connect(province.db_path) as conn:
        assert conn.execute("SELECT status FROM findings WHERE check_id = 'letter.failed'").fetchone() == ("resolved",)


def test_a_unit_without_an_address_gets_its_letter_through_the_centre_and_the_others_go(
        tmp_path: Path, smtp: tuple[Sink, int]) -> None:
    """One unit with no address stopped every command for the whole province; now `validate` warns, its letter
    goes to [email] centre with a note saying why, and every other letter goes as before."""
    sink, port = smtp
    province = make_province(tmp_path, port)
    province.rules.write_text(province.rules.read_text(encoding="utf-8").replace(
        'emails = ["sxd@example.gov.vn"]\n', ""), encoding="utf-8")
    checked = province.run("validate")
    assert checked.exit_code == 0, checked.output
    assert ("warning: units[1].emails: unit 'SXD' has no email address: its weekly letter goes to [email] centre"
            " (centre@example.gov.vn) to pass on") in checked.stderr
    seed(province)
    sent = province.run("report", "--send")
    assert sent.exit_code == 0, sent.output
    assert sink.to("stp@example.gov.vn") and sink.to("quangphu@example.gov.vn")
    note = "Đơn vị chưa có địa chỉ thư điện tử trong cấu hình; thư gửi Trung tâm để chuyển."
    [forwarded] = [m for m in sink.to("centre@example.gov.vn") if "Kính gửi: Sở Xây dựng" in body_text(m)]
    assert note in body_text(forwarded) and note in forwarded.get_body(("html",)).get_content()
    assert not any(note in body_text(m) for m in sink.to("stp@example.gov.vn"))
    assert {r["role"] for r in outbox_rows(province) if r["report"] == "SXD"} == {"centre"}


@pytest.mark.parametrize("allowed", ['allow_internal_domains = ["thanhhoa.local"]\n',
                                     "allow_internal_domains = true\n"])
def test_an_address_on_the_provinces_own_mail_domain_is_taken_when_the_config_says_so(
        tmp_path: Path, smtp: tuple[Sink, int], allowed: str) -> None:
    sink, port = smtp
    province = make_province(tmp_path, port)
    internal = province.rules.read_text(encoding="utf-8").replace("sxd@example.gov.vn", "vanthu@sxd.thanhhoa.local")
    province.rules.write_text(internal, encoding="utf-8")
    refused = province.run("validate")
    assert refused.exit_code == 2 and "units[1].emails: not an email address: 'vanthu@sxd.thanhhoa.local'" \
        in refused.output, refused.output
    province.rules.write_text(internal.replace('timeout_seconds = 5\n', f"timeout_seconds = 5\n{allowed}"),
                              encoding="utf-8")
    assert province.run("validate").exit_code == 0, province.run("validate").output
    seed(province)
    assert province.run("report", "--send").exit_code == 0
    assert sink.to("vanthu@sxd.thanhhoa.local") and sink.to("stp@example.gov.vn")
    elsewhere = internal.replace('timeout_seconds = 5\n', f"timeout_seconds = 5\n{allowed}").replace(
        "stp@example.gov.vn", "stp@mail.localhost")  # named or not, localhost is never a province's mail domain
    province.rules.write_text(elsewhere, encoding="utf-8")
    assert province.run("validate").exit_code == 2
