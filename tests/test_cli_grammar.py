"""The CLI as people use it: one way to name units and checks everywhere, mutes that say what changed,
tables as wide as the terminal, and link annexes a unit can act on."""

from __future__ import annotations

import io
from email import message_from_bytes
from email.policy import default as default_policy

import openpyxl
from conftest import Province, province_now

from auditbot.checking.types import Finding
from auditbot.config.rules import load_config
from auditbot.report.output import table
from auditbot.store import CENTRE, Scope, Store

LONG_TITLE = ("Thủ tục 1.000894 «Đăng ký kết hôn có yếu tố nước ngoài tại Ủy ban nhân dân cấp huyện nơi cư trú"
              " của công dân Việt Nam» không có liên kết đến Cổng Dịch vụ công quốc gia")


def seed(province: Province) -> dict[str, str]:
    """A link finding at STP, a listing finding at SXD, an operator finding for the centre; their ids."""
    config = load_config(province.rules)
    now = province_now()
    produced = {
        "STP": [Finding("link.mismatch", "STP", "1.000894", LONG_TITLE, details={
            "code": "1.000894", "page": "https://stp.example.gov.vn/tthc",
            "posted": ["https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=1.000001"],
            "correct_url": "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc=1.000894"})],
        "SXD": [Finding("listing.missing", "SXD", "2.000908", "Thủ tục 2.000908 chưa niêm yết")],
        CENTRE: [Finding("source.unreadable", CENTRE, "portal", "Không đọc được trang")],
    }
    with Store.open(config) as store:
        for unit, findings in produced.items():
            scope = Scope(frozenset(f.check for f in findings), frozenset({unit}))
            run_id = store.start_run("test", "check", scope, now)
            store.record(run_id, scope, findings, now)
            store.finish_run(run_id, now)
        return {row["check_id"]: row["id"] for row in store.db.query("SELECT id, check_id FROM findings")}


def test_one_selection_grammar_for_units_and_checks_in_every_command(province: Province) -> None:
    seed(province)
    for command in (["findings"], ["check", "--offline"]):
        typo = province.run(*command, "--checks", "lnk.mismatch")
        assert typo.exit_code == 2, typo.output
        assert "unknown check id(s): lnk.mismatch" in typo.stderr and "did you mean link.mismatch" in typo.stderr
    family = province.json("findings", "--checks", "link")  # a family, as `check` takes it
    assert [f["check"] for f in family] == ["link.mismatch"]
    assert [f["unit"] for f in province.json("findings", "--unit", "stp")] == ["STP"]  # any case
    assert [f["unit"] for f in province.json("findings", "--unit", "_centre")] == [CENTRE]
    both = province.json("findings", "--checks", "LINK.MISMATCH,listing")
    assert sorted(f["check"] for f in both) == ["link.mismatch", "listing.missing"]
    unknown = province.run("findings", "--unit", "STPP")
    assert unknown.exit_code == 2 and "STPP: did you mean STP?" in unknown.stderr
    assert "XA_QP" not in unknown.stderr  # never the whole list of codes
    for command in (["check", "--offline", "stpp"], ["rates", "--unit", "stpp"], ["report", "--unit", "stpp"]):
        result = province.run(*command)
        assert result.exit_code == 2 and "did you mean STP?" in result.stderr, command
    assert province.run("report", "--unit", "stp").exit_code == 0


def test_muting_again_says_what_changes(province: Province) -> None:
    finding_id = seed(province)["link.mismatch"]
    first = province.run("mute", finding_id, "--reason", "Sở đã giải trình", "--until", "31/12/2099")
    assert first.exit_code == 0 and f"đã tạm bỏ qua {finding_id} đến ngày 31/12/2099" in first.stdout
    again = province.run("mute", finding_id, "--reason", "Sở đã giải trình")
    assert again.exit_code == 0
    assert (f"{finding_id} đã được tạm bỏ qua từ trước; thay đổi: đến ngày 31/12/2099 -> không thời hạn"
            in again.stdout)
    assert "thêm --until để giữ ngày kết thúc" in again.stderr
    same = province.run("mute", finding_id, "--reason", "Lý do mới")
    assert "vẫn không thời hạn; lý do 'Sở đã giải trình' -> 'Lý do mới'" in same.stdout


def test_tables_use_the_terminal_width_and_piped_output_keeps_whole_values(province: Province) -> None:
    seed(province)
    piped = province.run("findings", "--unit", "STP")  # not a terminal: nothing is cut
    assert LONG_TITLE in piped.stdout
    rows = [["abc", "STP", "link.mismatch", LONG_TITLE, "open"]]
    wide = table(["ID", "UNIT", "CHECK", "TITLE", "STATUS"], rows, width=250)
    narrow = table(["ID", "UNIT", "CHECK", "TITLE", "STATUS"], rows, width=100)
    assert LONG_TITLE in wide
    assert max(len(line) for line in narrow.splitlines()) <= 100 and "…" in narrow and "open" in narrow


def test_the_link_annex_shows_the_posted_link_and_the_correct_portal_address(province: Province, tmp_path) -> None:
    seed(province)
    outbox = tmp_path / "outbox"
    assert province.run("report", "--unit", "STP", "--outbox", str(outbox)).exit_code == 0
    [letter] = [p for p in outbox.rglob("*.eml") if "stp@" in p.name]
    message = message_from_bytes(letter.read_bytes(), policy=default_policy)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for body in (text, html):
        assert "ma_thu_tuc=1.000001" in body and "ma_thu_tuc=1.000894" in body
    [part] = [p for p in message.iter_attachments() if p.get_filename().endswith(".xlsx")]
    book = openpyxl.load_workbook(io.BytesIO(part.get_content()))
    sheet = book["Liên kết DVCQG"]
    headings = [c.value for c in sheet[5]]
    assert "Liên kết đang niêm yết" in headings and "Địa chỉ đúng trên Cổng DVCQG" in headings
    row = {h: c.value for h, c in zip(headings, sheet[6])}
    assert row["Liên kết đang niêm yết"].endswith("ma_thu_tuc=1.000001")
    assert row["Địa chỉ đúng trên Cổng DVCQG"].endswith("ma_thu_tuc=1.000894")
