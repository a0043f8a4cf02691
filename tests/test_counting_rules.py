"""The national counting rules the province's figures follow: time waiting for the citizen's papers is
deducted, exempted procedures leave a rate, each figure is cut or rounded as the province prints it,
and the online share is split by service level."""

from __future__ import annotations

import json
from datetime import datetime

from conftest import Province

from auditbot.checking.engine import run_checks, select_checks
from auditbot.config.rules import load_config
from auditbot.store import Store


def stamp(text: str) -> str:
    return datetime.strptime(text, "%d/%m/%Y %H:%M").strftime("%Y%m%d%H%M%S")


def synced(code: str, received: str, due: str, status: str, finished: str = "",
           supplements: tuple[tuple[str, str], ...] = ()) -> dict[str, object]:
    """A dossier as the portal's sync payload carries it, with its supplement requests (asked, back)."""
    return {"MaHoSo": code, "MaTTHC": "1.001193", "TenTTHC": "Đăng ký khai sinh", "DonViXuLy": "Sở Tư pháp",
            "NgayTiepNhan": stamp(received), "NgayHenTra": stamp(due), "TrangThaiHoSo": status,
            "NgayKetThucXuLy": stamp(finished) if finished else "",
            "DanhSachHoSoBoSung": [{"NgayBoSung": stamp(asked), "NgayTiepNhanBoSung": stamp(back) if back else ""}
                                   for asked, back in supplements]}


def test_time_waiting_for_papers_is_deducted_and_a_second_request_counts_overdue(province: Province) -> None:
    records = [
        # waited 5 days for papers, finished 3 days after the due date: on time
        synced("D1", "01/03/2026 08:00", "10/03/2026 17:00", "10", "13/03/2026 10:00",
               (("03/03/2026 08:00", "08/03/2026 08:00"),)),
        # two supplement requests, finished well before the due date: overdue all the same
        synced("D2", "01/03/2026 08:00", "20/03/2026 17:00", "10", "05/03/2026 10:00",
               (("02/03/2026 08:00", "02/03/2026 15:00"), ("03/03/2026 08:00", "03/03/2026 15:00"))),
        # no supplement, finished late: late
        synced("D3", "01/03/2026 08:00", "05/03/2026 17:00", "10", "06/03/2026 10:00"),
        # waiting for papers since before its due date: the clock is stopped, not overdue
        synced("D4", "01/03/2026 08:00", "10/03/2026 17:00", "5", supplements=(("05/03/2026 08:00", ""),)),
        # processing, 2 days deducted, still past its due date
        synced("D5", "01/03/2026 08:00", "10/03/2026 17:00", "4",
               supplements=(("02/03/2026 08:00", "04/03/2026 08:00"),)),
        # open with a second request, due date not reached: overdue by the rule
        synced("D6", "20/03/2026 08:00", "20/04/2026 17:00", "4",
               supplements=(("21/03/2026 08:00", "22/03/2026 08:00"), ("23/03/2026 08:00", "24/03/2026 08:00"))),
    ]
    path = province.root / "exports" / "sync.json"
    path.write_text(json.dumps({"data": records}), encoding="utf-8")
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0 and "loại 0" in result.output, result.output

    [stp] = [r for r in province.json("rates", "--from", "01/03/2026", "--to", "31/03/2026") if r["group"] == "STP"]
    assert (stp["finished"], stp["on_time"], stp["late"]) == (3, 1, 2)           # D1 | D2, D3
    assert (stp["unfinished"], stp["overdue_open"]) == (3, 2)                     # D4, D5, D6 | D5, D6

    config = load_config(province.rules)
    with Store.open(config) as store:
        found = run_checks(config, store, select_checks(config, ["dossier.overdue"]), ["STP"],
                           datetime(2026, 3, 31, 9)).findings
    titles = {f["subject"]: f["title"] for f in found}
    assert set(titles) == {"D5", "D6"}
    assert titles["D5"] == "Hồ sơ D5 quá hạn 19 ngày (hạn trả 12/03/2026, đã trừ 2 ngày chờ bổ sung)"
    assert titles["D6"].startswith("Hồ sơ D6 tính quá hạn: yêu cầu bổ sung giấy tờ 2 lần (hạn trả 22/04/2026")
    d5 = next(f for f in found if f["subject"] == "D5")["details"]
    assert d5["waited_days"] == 2.0 and d5["due_at_exported"] == "2026-03-10 17:00:00"


EXEMPT = """
[exemptions.digitisation]
fields = ["Chứng thực"]
reason = "bản sao được trả lại cho người dân, không có kết quả để số hóa"
"""


def commune_dossiers(province: Province) -> None:
    """Xã Quảng Phú: 20 certified copies (never digitised), 10 birth registrations (8 digitised, 7 online),
    3 partial-online procedures (1 online); the catalogue says which is which."""
    (province.root / "catalogue.csv").write_text(
        "Mã thủ tục,Tên thủ tục,Lĩnh vực,Cấp thực hiện,Mức độ DVCTT\n"
        "2.000815,Chứng thực bản sao từ bản chính,Chứng thực,Cấp xã,Một phần\n"
        "1.001193,Đăng ký khai sinh,Hộ tịch,Cấp xã,DVC trực tuyến toàn trình\n"
        "1.000894,Đăng ký kết hôn,Hộ tịch,Cấp xã,Mức độ 3\n", encoding="utf-8")
    assert province.run("import", "catalogue", str(province.root / "catalogue.csv")).exit_code == 0
    rows = ["Mã hồ sơ,Mã TTHC,Đơn vị,Ngày tiếp nhận,Hạn xử lý,Ngày kết thúc,Trạng thái,Kênh nộp,Số hóa kết quả,Số kết quả"]
    for n in range(20):
        rows.append(f"CT-{n},2.000815,UBND xã Quảng Phú,02/03/2026 08:00,03/03/2026,02/03/2026 10:00,Hoàn thành,"
                    f"Trực tiếp,Không,KQ-CT-{n}")
    for n in range(10):
        rows.append(f"KS-{n},1.001193,UBND xã Quảng Phú,02/03/2026 08:00,05/03/2026,03/03/2026 10:00,Hoàn thành,"
                    f"{'Trực tuyến' if n < 7 else 'Trực tiếp'},{'Có' if n < 8 else 'Không'},KQ-KS-{n}")
    for n in range(3):
        rows.append(f"KH-{n},1.000894,UBND xã Quảng Phú,02/03/2026 08:00,05/03/2026,,Đang xử lý,"
                    f"{'Trực tuyến' if n < 1 else 'Trực tiếp'},,")
    path = province.root / "exports" / "xa.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0 and "loại 0" in result.output, result.output


def test_an_exempted_procedure_leaves_the_digitisation_rate_and_the_annex_says_so(tmp_path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "exempting").mkdir()
    plain, exempting = Province(tmp_path / "plain"), Province(tmp_path / "exempting", EXEMPT)
    for province in (plain, exempting):
        commune_dossiers(province)
    period = ("--from", "01/03/2026", "--to", "31/03/2026")
    [before] = [r for r in plain.json("rates", *period) if r["group"] == "XA_QP"]
    [after] = [r for r in exempting.json("rates", *period) if r["group"] == "XA_QP"]
    assert (before["digitised"], before["digitised_known"], before["digitisation_rate"]) == (8, 30, 26.66)
    assert (after["digitised"], after["digitised_known"], after["digitisation_rate"]) == (8, 10, 80.0)
    assert after["finished"] == 30 and after["online_rate"] == before["online_rate"]  # only that rate

    config = load_config(exempting.rules)
    with Store.open(config) as store:
        [finding] = [f for f in run_checks(config, store, select_checks(config, ["rate.digitisation"]), ["XA_QP"],
                                           datetime(2026, 3, 31, 9)).findings if f["unit"] == "XA_QP"]
    assert "(8/10 hồ sơ, Quý I/2026" in finding["title"]
    assert finding["details"]["footnote"] == ("Không tính lĩnh vực Chứng thực: bản sao được trả lại cho người dân,"
                                              " không có kết quả để số hóa")


def test_online_share_by_service_level_per_unit_and_for_the_province(province: Province) -> None:
    commune_dossiers(province)
    period = ("--from", "01/03/2026", "--to", "31/03/2026")
    [unit] = [r for r in province.json("rates", *period) if r["group"] == "XA_QP"]
    assert (unit["online_full"], unit["full_known"], unit["online_full_rate"]) == (7, 10, 70.0)
    assert (unit["online_partial"], unit["partial_known"], unit["online_partial_rate"]) == (1, 23, 4.35)  # 4,347…
    [total] = province.json("rates", *period, "--by", "province")
    assert (total["online_full"], total["full_known"]) == (7, 10)


def test_each_published_figure_is_cut_or_rounded_as_the_province_prints_it() -> None:
    """The half-year report cuts its on-time rates and rounds its other shares. Where the report gives
    the counts, they are used; 98,89 / 99,37 / 98,43 are published without theirs, so counts are chosen
    where cutting and rounding print differently."""
    from auditbot.config.rules import DEFAULT_ROUNDING
    from auditbot.domain.rates import Figures, rounded
    from auditbot.words.vietnamese import percent

    def printed(rate: str, **counts: int) -> str:
        return percent(Figures(group="x", **counts).rates(DEFAULT_ROUNDING)[rate])

    assert printed("on_time_rate", on_time=238_144, due_known=238_146) == "99,99%"      # rounded: 100,00
    assert printed("on_time_rate", on_time=98_896, due_known=100_000) == "98,89%"       # rounded: 98,90
    assert printed("on_time_rate", on_time=99_378, due_known=100_000) == "99,37%"       # rounded: 99,38
    assert printed("online_full_rate", online_full=133_237, full_known=140_686) == "94,71%"  # cut: 94,70
    assert printed("online_partial_rate", online_partial=98_428, partial_known=100_000) == "98,43%"  # cut: 98,42
    assert rounded(291, 320) == 90.94  # PAKN answered on time (cut: 90,93); auditbot has no PAKN export yet


def test_rounding_and_exemption_mistakes_name_their_key(tmp_path) -> None:
    bad = Province(tmp_path, """
[rounding]
on_time_rate = "ceil"
pakn_rate = "round"

[exemptions.digitisation]
procedures = ["2.000815", "chứng thực"]

[exemptions.speed]
fields = ["Hộ tịch"]
reason = "x"
""")
    result = bad.run("validate")
    assert result.exit_code == 2
    for expected in ("rounding.on_time_rate: expected one of cut, round", "rounding.pakn_rate: unknown figure",
                     "exemptions.digitisation.procedures: 'chứng thực' is not a national procedure code",
                     "exemptions.digitisation.reason: say why", "exemptions.speed: unknown rate"):
        assert expected in result.output, result.output


def test_a_tabular_export_with_supplement_columns_deducts_the_wait(province: Province) -> None:
    path = province.root / "exports" / "one-door.csv"
    path.write_text(
        "Mã hồ sơ,Đơn vị,Ngày tiếp nhận,Hạn xử lý,Ngày kết thúc,Trạng thái,Ngày yêu cầu bổ sung,Ngày nhận bổ sung\n"
        "T1,Sở Tư pháp,01/03/2026 08:00,10/03/2026,13/03/2026 10:00,Hoàn thành,03/03/2026 08:00,08/03/2026 08:00\n"
        "T2,Sở Tư pháp,01/03/2026 08:00,10/03/2026,13/03/2026 10:00,Hoàn thành,,\n"
        "T3,Sở Tư pháp,01/03/2026 08:00,10/03/2026,,Hoàn thành,ngày mai,\n", encoding="utf-8")
    result = province.run("import", "dossiers", str(path))
    assert "lưu mới 2" in result.output and "loại 1" in result.output, result.output
    assert "supplement_requested_at" in result.output or "Ngày yêu cầu bổ sung" in result.output
    [stp] = [r for r in province.json("rates", "--from", "01/03/2026", "--to", "31/03/2026") if r["group"] == "STP"]
    assert (stp["finished"], stp["on_time"], stp["late"]) == (2, 1, 1)  # T1 waited 5 days: on time; T2 late
