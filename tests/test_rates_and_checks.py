from __future__ import annotations

import csv
from datetime import date, datetime, timedelta

import pytest
from conftest import Province, province_now, province_today

from auditbot.domain.rates import cut

HEADER = ["Mã hồ sơ", "Đơn vị", "Ngày tiếp nhận", "Hạn xử lý", "Ngày kết thúc", "Trạng thái", "Kênh nộp",
          "Lệ phí", "Thanh toán trực tuyến", "Số hóa kết quả", "Số kết quả"]


def dossier(code: str, unit: str = "Sở Tư pháp", received: str = "02/10/2026 08:00", due: str = "10/10/2026",
            finished: str = "", status: str = "Đang xử lý", channel: str = "Trực tiếp", fee: str = "",
            paid: str = "", digitised: str = "", ref: str = "") -> list[str]:
    return [code, unit, received, due, finished, status, channel, fee, paid, digitised, ref]


def load(province: Province, rows: list[list[str]]) -> None:
    path = province.root / "exports" / "rows.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0 and "loại 0" in result.output, result.output


def test_cut_never_rounds_up() -> None:
    assert cut(238144, 238146) == 99.99
    assert cut(2, 3) == 66.66
    assert cut(5, 5) == 100.0
    assert cut(0, 0) is None


def test_rates_match_hand_computed_values(province) -> None:
    rows = [
        # finished on time, online, digitised, fee paid online
        dossier("A1", channel="Trực tuyến", finished="05/10/2026 10:00", status="Đã trả kết quả",
                fee="50.000", paid="Có", digitised="Có", ref="KQ1"),
        # finished late (due date without a time = end of that day), not digitised
        dossier("A2", due="03/10/2026", finished="04/10/2026 09:00", status="Hoàn thành", fee="10000", ref="KQ2"),
        # finished exactly on the due day at 23:00: on time
        dossier("A3", due="03/10/2026", finished="03/10/2026 23:00", status="Hoàn thành", digitised="x", ref="KQ3"),
        # still processing, due passed before `to`: overdue_open
        dossier("A4", due="15/10/2026", channel="Qua mạng"),
        # still processing, due after `to`: unfinished, not overdue
        dossier("A5", received="30/10/2026", due="05/11/2026"),
        # received before the period and still open: unfinished, overdue, not received in period
        dossier("A6", received="20/09/2026", due="25/09/2026"),
        # finished after `to`: unfinished at `to`, and past its due date then
        dossier("A7", received="28/10/2026", due="30/10/2026", finished="02/11/2026", status="Hoàn thành", ref="KQ7"),
        # rejected inside the period: closed, counted nowhere but received
        dossier("A8", finished="03/10/2026", status="Từ chối"),
        # another unit
        dossier("B1", unit="UBND xã Quảng Phú", channel="Trực tuyến", finished="03/10/2026", status="Hoàn thành",
                digitised="Có", ref="KQB1"),
    ]
    load(province, rows)
    data = province.json("rates", "--from", "01/10/2026", "--to", "31/10/2026")
    stp = next(r for r in data if r["group"] == "STP")
    assert {k: stp[k] for k in ("received", "online", "finished", "on_time", "late", "digitised", "fee_paid",
                                "paid_online", "unfinished", "overdue_open")} == {
        "received": 7, "online": 2, "finished": 3, "on_time": 2, "late": 1, "digitised": 2, "fee_paid": 2,
        "paid_online": 1, "unfinished": 4, "overdue_open": 3}
    assert stp["online_rate"] == 28.57          # 2/7
    assert stp["on_time_rate"] == 66.66         # 2/3, cut
    assert stp["digitisation_rate"] == 66.66
    assert stp["online_payment_rate"] == 50.0
    assert stp["overdue_rate"] == 57.14         # (1 late + 3 overdue open: A4, A6, A7) / (3 + 4)
    sxd = next(r for r in data if r["group"] == "SXD")
    assert sxd["received"] == 0 and sxd["online_rate"] is None
    kinds = {r["group"]: r for r in province.json("rates", "--from", "01/10/2026", "--to", "31/10/2026", "--by", "kind")}
    assert kinds["so"]["received"] == 7 and kinds["xa"]["received"] == 1 and kinds["xa"]["online_rate"] == 100.0
    total = province.json("rates", "--from", "01/10/2026", "--to", "31/10/2026", "--by", "province")
    assert total[0]["group"] == "Thử Nghiệm" and total[0]["received"] == 8 and total[0]["finished"] == 4
    table = province.run("rates", "--from", "01/10/2026", "--to", "31/10/2026")
    assert "28,57%" in table.output and "Sở Tư pháp" in table.output and "01/10/2026 – 31/10/2026" in table.output


def finished_rows(count: int, digitised: int, start: datetime) -> list[list[str]]:
    rows = []
    for n in range(count):
        received = start - timedelta(days=2)
        rows.append(dossier(f"D{n}", received=received.strftime("%d/%m/%Y %H:%M"),
                            due=(start + timedelta(days=5)).strftime("%d/%m/%Y"),
                            finished=start.strftime("%d/%m/%Y %H:%M"), status="Hoàn thành", channel="Trực tuyến",
                            digitised="Có" if n < digitised else "Không", ref=f"KQ{n}"))
    return rows


@pytest.mark.parametrize("digitised,fires,shown", [(8999, True, "89,99%"), (9000, False, None)])
def test_digitisation_threshold_boundary(province, digitised, fires, shown) -> None:
    today = province_today()
    midnight = datetime(today.year, today.month, today.day)  # inside the running period, even on its first day
    load(province, finished_rows(10000, digitised, midnight))
    result = province.run("check", "STP", "--checks", "rate.digitisation")
    findings = [line for line in result.output.splitlines() if "rate.digitisation" in line]
    assert (result.exit_code == 1) is fires
    assert bool(findings) is fires
    if fires:
        data = province.json("findings", "--unit", "STP")
        assert data[0]["details"]["numerator"] == 8999 and data[0]["details"]["denominator"] == 10000
        assert data[0]["details"]["rate"] == 89.99 and data[0]["details"]["threshold"] == 90
        assert shown in data[0]["title"]


def test_min_dossiers_and_kind_thresholds(province) -> None:
    today = province_today()
    moment = datetime(today.year, today.month, today.day)  # today 00:00: inside the running period, even on its first day
    # 9 dossiers, none digitised: under min_dossiers (10), no rate finding
    load(province, finished_rows(9, 0, moment))
    assert province.run("check", "STP", "--checks", "rate.digitisation").exit_code == 0
    # a commune at 60% online passes its kind's 50% threshold; a department at 60% does not
    rows = []
    for unit, prefix in (("UBND xã Quảng Phú", "X"), ("Sở Xây dựng", "S")):
        for n in range(10):
            rows.append(dossier(f"{prefix}{n}", unit=unit, received=moment.strftime("%d/%m/%Y %H:%M"),
                                due=(moment + timedelta(days=30)).strftime("%d/%m/%Y"),
                                channel="Trực tuyến" if n < 6 else "Trực tiếp"))
    load(province, rows)
    data = province.json("check", "--all", "--checks", "rate.online")
    assert {f["unit"] for f in data} == {"SXD"}


def test_dossier_checks_fire_and_resolve(province) -> None:
    now = province_now()
    past = (now - timedelta(days=10)).strftime("%d/%m/%Y %H:%M")
    rows = [
        dossier("O1", received=past, due=(now - timedelta(days=3)).strftime("%d/%m/%Y")),   # overdue 3 days
        dossier("O2", received=past, due=(now + timedelta(days=3)).strftime("%d/%m/%Y")),   # not yet due
        dossier("C1", received=past, due=past, finished=past, status="Hoàn thành"),           # no result at all
        dossier("C2", received=past, due=past, finished=past, status="Hoàn thành", digitised="Có"),
        dossier("C3", received=past, due=past, finished=past, status="Hoàn thành", ref="0"),  # placeholder
        dossier("S1", received=past, due=past, finished=past, status="Hoàn thành", ref="KQ-9"),
        dossier("S2", unit="UBND xã Quảng Phú", received=past, due=past, finished=past, status="Hoàn thành",
                ref="KQ-9"),
        dossier("S3", received=past, due=past, finished=past, status="Hoàn thành", ref="-"),
        dossier("S4", received=past, due=past, finished=past, status="Hoàn thành", ref="-", digitised="Có"),
    ]
    load(province, rows)
    data = province.json("check", "--all", "--checks", "dossier")
    found = {(f["check"], f["unit"], f["subject"]) for f in data}
    assert found == {
        ("dossier.overdue", "STP", "O1"),
        ("dossier.closed_without_result", "STP", "C1"),
        ("dossier.closed_without_result", "STP", "C3"),
        ("dossier.closed_without_result", "STP", "S3"),
        ("dossier.shared_result", "STP", "KQ-9"),
        ("dossier.shared_result", "XA_QP", "KQ-9"),
    }
    overdue = next(f for f in data if f["check"] == "dossier.overdue")
    assert overdue["details"]["days_overdue"] == 3 and "quá hạn 3 ngày" in overdue["title"]
    # the unit fixes O1 and C1 in the system: the next export says so, the next check resolves them
    rows[0] = dossier("O1", received=past, due=(now - timedelta(days=3)).strftime("%d/%m/%Y"),
                      finished=now.strftime("%d/%m/%Y %H:%M"), status="Đã trả kết quả", ref="KQ-O1")
    rows[2] = dossier("C1", received=past, due=past, finished=past, status="Hoàn thành", ref="KQ-C1")
    load(province, rows)
    result = province.run("check", "--all", "--checks", "dossier")
    assert "2 đã khắc phục" in result.output
    resolved = province.json("findings", "--status", "resolved")
    assert {f["subject"] for f in resolved} == {"O1", "C1"}


def test_check_output_contract_and_exit_codes(province) -> None:
    assert province.run("check", "--all").exit_code == 0  # nothing imported, nothing open
    now = province_now()
    load(province, [dossier("O1", received=(now - timedelta(days=9)).strftime("%d/%m/%Y"),
                            due=(now - timedelta(days=2)).strftime("%d/%m/%Y"))])
    data = province.json("check", "STP")
    assert set(data[0]) >= {"id", "check", "unit", "subject", "title", "severity", "status", "first_seen",
                            "last_seen", "resolved_at", "details"}
    assert province.run("check", "STP").exit_code == 1
    assert province.run("check", "SXD").exit_code == 0
    assert province.run("check", "NOPE").exit_code == 2
    assert province.run("check", "--checks", "listing.bogus").exit_code == 2
    csv_out = province.run("check", "STP", "--format", "csv").output.splitlines()
    assert csv_out[0].startswith("\ufeffid,check,unit,subject,title")  # a BOM: Excel reads it as UTF-8
    finding_id = data[0]["id"]
    muted = province.run("mute", finding_id, "--reason", "Đã giải trình", "--until", "31/12/2099")
    assert muted.exit_code == 0
    assert province.run("check", "STP").exit_code == 0  # muted findings are not open
    assert [f["id"] for f in province.json("findings", "--status", "muted")] == [finding_id]
    assert province.run("unmute", finding_id).exit_code == 0
    assert province.run("check", "STP").exit_code == 1
    assert province.run("mute", "000000000000", "--reason", "x").exit_code == 2


def recent_rows(count: int, **flags_for_first) -> list[list[str]]:
    """`count` finished dossiers received and finished today; the first `n` of them get `field=value`."""
    today = province_today()
    moment = datetime(today.year, today.month, today.day)
    rows = []
    for i in range(count):
        fields = {"received": moment.strftime("%d/%m/%Y %H:%M"), "due": (moment + timedelta(days=3)).strftime("%d/%m/%Y"),
                      "finished": moment.strftime("%d/%m/%Y %H:%M"), "status": "Hoàn thành", "channel": "Trực tuyến",
                      "digitised": "Có", "ref": f"KQ{i}"}
        for field, (n, value) in flags_for_first.items():
            if i < n:
                fields[field] = value
        rows.append(dossier(f"R{i}", **fields))
    return rows


@pytest.mark.parametrize("paid,fires", [(2999, True), (3000, False)])
def test_online_payment_threshold_boundary(province, paid, fires) -> None:
    # 10.000 fee-paying dossiers; 29,99% paid online breaches the 30% minimum, 30,00% does not
    rows = recent_rows(10000, fee=(10000, "20.000"), paid=(paid, "Có"))
    load(province, rows)
    data = province.json("check", "STP", "--checks", "rate.online_payment")
    assert bool(data) is fires
    if fires:
        assert data[0]["details"]["rate"] == 29.99 and data[0]["details"]["denominator"] == 10000


@pytest.mark.parametrize("late,fires", [(500, False), (501, True)])
def test_overdue_rate_threshold_boundary(province, late, fires) -> None:
    # finished after the due date: 5,00% of 10.000 is allowed, 5,01% is above the 5% maximum
    today = province_today()
    late_finish = datetime(today.year, today.month, today.day)
    rows = recent_rows(10000, received=(late, (late_finish - timedelta(days=5)).strftime("%d/%m/%Y %H:%M")),
                       due=(late, (late_finish - timedelta(days=2)).strftime("%d/%m/%Y")),
                       finished=(late, late_finish.strftime("%d/%m/%Y %H:%M")))
    load(province, rows)
    data = province.json("check", "STP", "--checks", "rate.overdue")
    assert bool(data) is fires
    if fires:
        assert data[0]["details"]["rate"] == 5.01 and "vượt ngưỡng 5,00%" in data[0]["title"]


def test_no_rate_finding_in_the_first_days_of_a_period_and_a_running_one_is_provisional(province) -> None:
    """Six days into Q1/2027 a handful of late dossiers is not a unit's quarter; from a third of the quarter
    on, the finding is made and says its figures are provisional."""
    from auditbot.checking.engine import run_checks, select_checks
    from auditbot.config.rules import load_config
    from auditbot.store import Store

    province.rules.write_text(province.rules.read_text(encoding="utf-8").replace(
        "min_period_elapsed = 0", "min_period_elapsed = 33"), encoding="utf-8")
    rows = [dossier(f"HS-{n}", received="02/01/2027 08:00", due="04/01/2027", finished="05/01/2027 10:00",
                    status="Đã trả kết quả") for n in range(12)]
    load(province, rows)
    config = load_config(province.rules)
    found = {}
    for today in (date(2027, 1, 6), date(2027, 2, 15), date(2027, 4, 2)):
        now = datetime(today.year, today.month, today.day, 9)
        with Store.open(config) as store:
            run = run_checks(config, store, select_checks(config, ["rate.overdue"]), ["STP"], now)
        found[today] = [f["title"] for f in run.findings]
    assert found[date(2027, 1, 6)] == []  # 6 of 90 days
    [title] = found[date(2027, 2, 15)]
    assert "12/12 hồ sơ, Quý I/2027, tạm tính đến 15/02/2027" in title
    [title] = found[date(2027, 4, 2)]  # the quarter is over: late exports still count until it is frozen
    assert title.endswith("(12/12 hồ sơ, Quý I/2027, đang chốt số liệu đến 10/04/2027)")


def test_a_closed_quarter_settles_with_late_exports_then_its_final_figures_are_frozen(province) -> None:
    """Q1/2026 across its end: provisional while it runs, recomputed on a late export while it settles
    (10 days), frozen by the first run after that; a later export no longer moves it, `rates --period`
    gives the frozen figures, and the next quarter's close supersedes its finding (not a fix)."""
    from auditbot.checking.engine import run_checks, select_checks
    from auditbot.config.rules import load_config
    from auditbot.store import SUPERSEDED, Store

    def export(name: str, prefix: str, count: int, digitised: str) -> None:
        rows = [dossier(f"{prefix}-{n}", received="02/03/2026 08:00", due="20/03/2026", finished="10/03/2026 10:00",
                        status="Đã trả kết quả", digitised=digitised, ref=f"KQ-{prefix}-{n}") for n in range(count)]
        load(province, rows)
        (province.root / "exports" / "rows.csv").rename(province.root / "exports" / name)

    config = load_config(province.rules)

    def run(day: date) -> list[dict]:
        with Store.open(config) as store:
            found = run_checks(config, store, select_checks(config, ["rate.digitisation"]), ["STP"],
                               datetime(day.year, day.month, day.day, 9)).findings
        return [f for f in found if f["check"] == "rate.digitisation"]

    export("a.csv", "A", 10, "Không")
    [running] = run(date(2026, 3, 20))
    assert running["title"].endswith("(0/10 hồ sơ, Quý I/2026, tạm tính đến 20/03/2026)")
    [settling] = run(date(2026, 4, 3))
    assert settling["id"] == running["id"] and "đang chốt số liệu đến 10/04/2026" in settling["title"]
    export("b.csv", "B", 30, "Có")  # a late export for March, within the settle time: it counts
    [settling] = run(date(2026, 4, 8))
    assert "(30/40 hồ sơ, Quý I/2026, đang chốt số liệu đến 10/04/2026)" in settling["title"]
    [final] = run(date(2026, 4, 11))
    assert final["id"] == running["id"] and final["title"].endswith("(30/40 hồ sơ, Quý I/2026)")
    assert final["details"]["state"] == "final" and final["details"]["period_name"] == "Quý I/2026"

    export("c.csv", "C", 100, "Có")  # too late: the quarter is final
    [kept] = run(date(2026, 4, 20))
    assert kept["title"] == final["title"] and kept["details"]["numerator"] == 30
    [stp] = [r for r in province.json("rates", "--period", "Q1/2026") if r["group"] == "STP"]
    assert (stp["finished"], stp["digitised"], stp["digitisation_rate"]) == (40, 30, 75.0)
    assert "Quý I/2026, 01/01/2026 – 31/03/2026: số liệu chính thức (chốt lúc 11/04/2026 09:00)" in province.run(
        "rates", "--period", "quý i/2026").output
    live = [r for r in province.json("rates", "--from", "01/01/2026", "--to", "31/03/2026") if r["group"] == "STP"]
    assert live[0]["finished"] == 140  # dates, not a named period: computed on everything stored

    assert run(date(2026, 7, 15)) == []  # Q2 has closed: Q1's verdict is replaced, not fixed
    with Store.open(config) as store:
        [event] = store.db.query("SELECT note FROM finding_events WHERE finding_id = ? AND event = 'resolved'",
                                 [final["id"]])
        assert event["note"] == SUPERSEDED
        assert store.frozen_periods() == {"Q4/2025", "Q1/2026", "Q2/2026"}  # each closed period the runs saw


def test_period_words_a_person_may_type() -> None:
    from auditbot.errors import UserError
    from auditbot.words.periods import parse_period

    assert parse_period("Q3/2026").label == "Q3/2026" and parse_period("Quý III/2026").label == "Q3/2026"
    assert (parse_period("Q4/2026").start, parse_period("Q4/2026").end) == (date(2026, 10, 1), date(2026, 12, 31))
    assert parse_period("tháng 2/2028").end == date(2028, 2, 29) and parse_period("2/2028").label == "02/2028"
    assert parse_period("2026").name == "năm 2026" and parse_period("11/2026").name == "tháng 11/2026"
    for wrong in ("Q5/2026", "13/2026", "Q3", "ba quý"):
        with pytest.raises(UserError, match="expected a quarter"):
            parse_period(wrong)
