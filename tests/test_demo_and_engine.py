from __future__ import annotations

import email
import email.policy
import json
import re
from pathlib import Path

import sqlite_utils
from click.testing import CliRunner
from conftest import province_now

from auditbot.checking.plugins import hookimpl, plugin_manager, registered_checks
from auditbot.checking.types import Check
from auditbot.cli import cli
from auditbot.demo.samplegen import CITIZENS
from auditbot.index766.formula import formula_path, load_formulas

ROOT = Path(__file__).parents[1]


def test_demo_audits_the_sample_province_end_to_end(tmp_path) -> None:
    from auditbot.demo.run import prepare_workspace

    assert prepare_workspace(tmp_path)
    rules = tmp_path / "rules.toml"  # the rates are judged whatever day of the quarter the test runs on
    rules.write_text(rules.read_text(encoding="utf-8").replace("min_period_elapsed = 33", "min_period_elapsed = 0"),
                     encoding="utf-8")
    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"Dùng tỉnh mẫu có sẵn trong {tmp_path}/" in result.output
    assert "ho-so-thang-10-2026.xlsx: đọc 60 dòng, lưu mới 60" in result.output
    assert "Xã Quảng Phú: 3 thủ tục (bảng, qua Chromium)" in result.output
    assert f"Cơ sở dữ liệu: {tmp_path / 'var' / 'auditbot.db'}" in result.output
    assert "chạy `auditbot serve` trong thư mục đó, rồi mở" in result.output and "/-/dashboards/tong-quan" in result.output
    # the per-unit 766 index: each unit's points out of those the sample data supports, and its biggest gain
    index_lines = result.output.split("7. Chỉ số theo Quyết định 766")[1].split("8. thư hằng tuần")[0].strip().splitlines()
    assert len(index_lines) == 1 + 8 and all(re.search(r"/\d+,\d\d(; mất nhiều nhất: đạt \d+% .+: \+\d+,\d\d điểm)?$",
                                                       line) for line in index_lines[1:]), index_lines
    db = sqlite_utils.Database(tmp_path / "var" / "auditbot.db")
    recorded = {row["unit"]: row["n"] for row in db.query("SELECT unit, count(*) AS n FROM unit_index GROUP BY unit")}
    indicators = len(load_formulas(formula_path(tmp_path / "templates")).indicators)
    assert len(recorded) == 8 and set(recorded.values()) == {indicators}  # every indicator, for every unit
    checks = {row["check_id"] for row in db.query("SELECT DISTINCT check_id FROM findings")}
    assert {"dossier.overdue", "dossier.shared_result", "rate.digitisation"} <= checks
    # the sample merger: Quảng Đức's dossiers count for Quảng Phú; the two rows still naming it after its
    # last day are the only ones refused, with the reason
    assert "Xã Quảng Phú tính cả hồ sơ của Xã Quảng Đức" in result.output
    assert db["rejected_rows"].count == 2
    assert [(row["reason"], json.loads(row["params"])) for row in db.query("SELECT * FROM rejected_rows")] == [
        ("unit_ended_with_successors", {"unit": "UBND xã Quảng Đức", "unit_code": "XA_QUANGDUC", "ended": "30/09/2026",
                                        "successors": "XA_QUANGPHU", "day": day})
        for day in re.findall(r"hồ sơ ngày (\d\d/\d\d/\d{4})", result.output)]
    assert db.execute("SELECT count(*) FROM dossiers WHERE unit = 'XA_QUANGDUC'").fetchone()[0] > 0
    assert "XA_QUANGDUC" not in {row["unit"] for row in db.query("SELECT unit FROM unit_figures")}
    # each finding carries only the details its check declares: the annexes' columns rely on them
    declared = {cid: set(check.details) for cid, check in registered_checks().items()}
    for row in db.query("SELECT check_id, details FROM findings"):
        assert set(json.loads(row["details"])) <= declared[row["check_id"]], row["check_id"]
    # the sample sites are served on loopback: every listing problem the sample pages hold is found
    listing = {(row["check_id"], row["unit"], row["subject"]) for row in db.query(
        "SELECT check_id, unit, subject FROM findings WHERE check_id LIKE 'listing.%' OR check_id = 'source.unreadable'")}
    assert listing == {
        ("listing.expired", "SXD", "1.008003"), ("listing.expired", "XA_DONGTIEN", "1.004227"),
        ("listing.missing", "STP", "2.000908"), ("listing.missing", "SYT", "2.000908"),
        ("listing.missing", "PH_HACTHANH", "1.000894"),
        ("listing.missing", "XA_QUANGPHU", "2.001035"),  # its board is built by a script: read in Chromium
        ("listing.unknown", "STP", "cấp giấy xác nhận tình trạng tư pháp đặc biệt"),
        ("source.unreadable", "SNNMT", "https://snnmt.example.gov.vn/tthc"),
    }
    text = (tmp_path / "var" / "auditbot.db").read_bytes().decode("utf-8", "ignore")
    # every unit's weekly letter and the centre's summary, as .eml files; no citizen's name in any
    letters = sorted((tmp_path / "var" / "outbox").rglob("*.eml"))
    assert len(letters) == 9 and any(p.name.startswith("summary--") for p in letters)
    for path in letters:  # decoded: names would hide in base64 or quoted-printable
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        text += "".join(message.get_body((kind,)).get_content() for kind in ("plain", "html"))
    for name in (*CITIZENS, "Nguyễn Văn A", "Lê Văn C"):
        assert name not in text
    # a second run keeps what is still open: nothing new, nothing resolved
    (tmp_path / "rules.toml").write_text((tmp_path / "rules.toml").read_text(encoding="utf-8") + "\n# edited\n",
                                         encoding="utf-8")
    again = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path)], catch_exceptions=False)
    assert (tmp_path / "rules.toml").read_text(encoding="utf-8").endswith("# edited\n")  # a person's edit is kept
    assert " 0 mới, 0 đã khắc phục" in again.output
    # ... and asked every unchanged listing page conditionally: 304s, nothing parsed again; a page built by
    # scripts is read in full each time (its data can change behind an unchanged page)
    fetches = list(db.query("SELECT unit, ok, pages, not_modified, rendered FROM listing_fetches WHERE batch = 2"))
    assert all(row["not_modified"] == row["pages"] for row in fetches if row["ok"] and not row["rendered"])
    assert [row["unit"] for row in fetches if row["rendered"]] == ["XA_QUANGPHU"]
    assert sum(row["pages"] for row in fetches) == 7


def test_demo_copies_the_sample_province_once_and_refuses_a_folder_that_is_not_one(tmp_path) -> None:
    from auditbot.demo.run import prepare_workspace

    assert prepare_workspace(tmp_path / "demo") and not prepare_workspace(tmp_path / "demo")
    assert (tmp_path / "demo" / "sample" / "sites" / "stp.example.gov.vn" / "thu-tuc-hanh-chinh").is_file()
    assert (tmp_path / "demo" / "rules.toml").is_file() and not (tmp_path / "demo" / "sample" / "rules.toml").exists()
    tmp_path = tmp_path / "other"
    tmp_path.mkdir()
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds no rules.toml" in result.output and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_demo_refuses_a_live_provinces_folder(province) -> None:
    """`demo --dir` onto a real province's folder wrote invented exports among its inputs and imported them
    into its database."""
    assert province.run("rates").exit_code == 0
    before = province.db_path.read_bytes()
    result = CliRunner().invoke(cli, ["demo", "--dir", str(province.root)])
    assert result.exit_code == 2 and "its rules.toml is another province's" in result.output, result.output
    assert province.db_path.read_bytes() == before and not list((province.root / "exports").rglob("*"))
    assert not (province.root / "sample").exists()


class BrokenChecks:
    @hookimpl
    def auditbot_checks(self) -> list[Check]:
        def explode(context):
            raise RuntimeError("boom")
            yield  # pragma: no cover

        return [Check("dossier.broken", "Hỏng", explode)]


def test_a_failing_check_is_recorded_and_the_others_still_run(province) -> None:
    from datetime import timedelta

    from test_rates_and_checks import dossier, load

    now = province_now()
    load(province, [dossier("O1", received=(now - timedelta(days=9)).strftime("%d/%m/%Y"),
                            due=(now - timedelta(days=2)).strftime("%d/%m/%Y"))])
    manager = plugin_manager()
    plugin = BrokenChecks()
    manager.register(plugin)
    try:
        result = province.run("check", "--all")
    finally:
        manager.unregister(plugin)
    assert result.exit_code == 1
    assert "kiểm tra lỗi: dossier.broken" in result.output and "boom" in result.output
    assert "dossier.overdue" in result.output
    run = next(iter(sqlite_utils.Database(province.db_path).query("SELECT * FROM runs ORDER BY id DESC LIMIT 1")))
    assert run["status"] == "failed" and "boom" in run["error"] and run["opened"] == 1
