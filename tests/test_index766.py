"""The Decision 766 index: the formula table as data, each supported indicator computed on dossiers built to hit
its boundaries (at and just below the threshold, points worked out by hand), "published on time" from real
readings, the weekly letter's section, and the portal's own figures beside auditbot's."""

from __future__ import annotations

import email
import json
from datetime import date, datetime, timedelta
from email import policy
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from conftest import Province, province_now, run_cli

from auditbot.checking.types import CheckContext
from auditbot.config.rules import load_config
from auditbot.domain.calendar import Calendar
from auditbot.errors import ConfigError
from auditbot.index766.formula import (
    NO_DATA,
    NO_DOSSIERS,
    RATE_ONLY,
    IndexResult,
    formula_path,
    gain_sentence,
    headline,
    load_formulas,
    score_index,
)
from auditbot.index766.inputs import index_results
from auditbot.store import Store
from auditbot.store.listings import UnitReading, record_readings
from auditbot.words.periods import current_period, parse_period

TABLE = load_formulas(formula_path(Path("/nonexistent")))  # the shipped table


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def indicator(result: IndexResult, item: str) -> Any:
    return next(s for s in result.scores if s.indicator.id == item)


# --- the table: the sources' facts, as data -------------------------------------------------------------

def test_the_shipped_table_holds_the_guides_facts() -> None:
    groups = {g.key: g.points for g in TABLE.groups}
    assert groups == {"publicity": 18, "progress": 20, "online": 12, "payment": 10, "digitisation": 22,
                      "satisfaction": 18} and TABLE.points == 100
    facts = {i.id: (i.points, i.full_at) for i in TABLE.indicators}
    assert facts["2.1"] == (20, 100) and facts["4.2"] == (4, 80) and facts["4.3"] == (2, 80)
    assert facts["5.4"] == (6, 90) and facts["3.3"] == (None, 50)   # the guide gives 3.3's threshold, not its points
    assert facts["3.1"] == (12, None)                              # 12 points, conversion not given: rate only
    assert TABLE.publication_working_days == 5
    for group in TABLE.groups:  # no indicator borrows points the maxima table does not give
        assert sum(i.points or 0 for i in TABLE.indicators if i.group == group.key) <= group.points


def test_a_table_that_names_what_auditbot_does_not_count_is_refused(tmp_path: Path) -> None:
    text = formula_path(tmp_path).read_text(encoding="utf-8")
    broken = tmp_path / "index766.toml"
    broken.write_text(text.replace('numerator = "reused"', 'numerator = "reused_twice"')
                      .replace('short = "hồ sơ đúng hạn"\npoints = 20', 'short = "hồ sơ đúng hạn"\npoints = 21'),
                      encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_formulas(broken)
    message = str(refused.value)
    assert "indicator 4.3: auditbot does not count 'reused_twice'" in message
    assert "group progress: its indicators' points (21) exceed the group's (20)" in message


def test_a_changed_guide_is_an_edit_of_the_table(tmp_path: Path) -> None:
    """The province's own copy in its templates folder wins: raising 2.1's bar to 95% changes the points."""
    own = tmp_path / "index766.toml"
    text = formula_path(Path("/nonexistent")).read_text(encoding="utf-8")
    marker = 'id = "2.1"'
    head, tail = text.split(marker)
    own.write_text(head + marker + tail.replace("full_at = 100", "full_at = 95", 1), encoding="utf-8")
    assert formula_path(tmp_path) == own
    measures = {"on_time_or_within": 95, "progress_base": 100}
    assert indicator(score_index(TABLE, "X", measures), "2.1").points == 19
    assert indicator(score_index(load_formulas(own), "X", measures), "2.1").points == 20


# --- arithmetic at the boundaries (pure) ------------------------------------------------------------------

@pytest.mark.parametrize(("item", "numerator", "denominator", "points"), [
    ("4.2", 80, 100, Fraction(4)),              # at 80%: full points
    ("4.2", 79, 100, Fraction(4 * 79, 80)),     # 79%: 3,95
    ("4.2", 7999, 10000, Fraction(4 * 7999, 8000)),  # 79,99% is not 80%
    ("4.3", 80, 100, Fraction(2)),
    ("4.3", 79, 100, Fraction(2 * 79, 80)),     # 1,975
    ("4.3", 100, 100, Fraction(2)),             # above the bar: never more than the maximum
    ("2.1", 100, 100, Fraction(20)),
    ("2.1", 99, 100, Fraction(99, 5)),          # 19,80
    ("6.1", 3, 4, Fraction(9, 2)),              # 75% of 6 points
])
def test_points_at_and_just_below_each_threshold(item: str, numerator: int, denominator: int,
                                                 points: Fraction) -> None:
    score = next(i for i in TABLE.indicators if i.id == item)
    measures = {score.numerator or "": numerator, score.denominator or "": denominator}
    assert indicator(score_index(TABLE, "X", measures), item).points == points


def test_unknown_is_never_zero() -> None:
    result = score_index(TABLE, "X", {"online": 50, "channel_base": 100, "online_full": 30, "full_eligible": 60})
    assert indicator(result, "3.3").state == NO_DATA and indicator(result, "3.3").points is None  # × sync: unknown
    full = indicator(result, "3.1")
    assert full.state == RATE_ONLY and full.rate == 50 and full.points is None
    assert indicator(result, "5.4").state == NO_DATA and result.total is None
    assert headline(result) == "Chỉ số 766 tạm tính: chưa tính được chỉ tiêu nào từ dữ liệu hiện có"


def test_the_headline_is_out_of_the_computable_points_and_says_what_an_officer_can_gain() -> None:
    result = score_index(TABLE, "X", {"digitised_both": 60, "digitised_both_base": 100,
                                      "on_time_or_within": 90, "progress_base": 100})
    assert result.total == 3 + 18 and result.scored_max == 24
    assert headline(result) == ("Chỉ số 766 tạm tính: 21,00/24,00 điểm tính được (tối đa 100,00;"
                                " 76,00 điểm chưa có dữ liệu hoặc chưa xác định)")
    assert [gain_sentence(s) for s in result.gains()] == ["đạt 100% hồ sơ đúng hạn: +2,00 điểm",
                                                         "đạt 80% số hóa hồ sơ: +1,00 điểm"]


# --- on dossiers, through the store and the figures ------------------------------------------------------

def dossier(unit: str, n: int, received: datetime, **fields: Any) -> dict[str, Any]:
    row = {"code": f"{unit}-{n:05d}", "unit": unit, "procedure_code": "1.000894", "procedure_name": "Đăng ký kết hôn",
           "received_at": stamp(received), "due_at": stamp(received + timedelta(days=5)), "status": "finished",
           "finished_at": stamp(received + timedelta(days=1)), "channel": "direct", "fee": 0, "paid_online": 0,
           "digitised": 1, "known": 31, "inputs_digitised": None, "documents": None, "documents_reused": None}
    row.update(fields)
    return row


def build_boundary_dossiers(store: Store, now: datetime) -> None:
    """STP sits at each threshold, SXD just below it; counts chosen so the points are easy to check by hand."""
    day = max(current_period("quarter", now.date()).start, now.date() - timedelta(days=20))
    received = min(datetime.combine(day, datetime.min.time()) + timedelta(hours=8), now - timedelta(hours=1))
    rows = []
    for unit, both, reused in (("STP", 80, 80), ("SXD", 79, 79)):
        for n in range(100):  # 4.2 and 4.3 on 100 finished dossiers from the sync records
            rows.append(dossier(unit, n, received, inputs_digitised=int(n < both), documents=2,
                                documents_reused=int(n < reused)))
    # progress on 20 more of STP's: 15 on time, 1 late, 1 on time but asked twice for papers, 2 open within
    # the deadline, 1 open past it -> (15 + 2) / 20 = 85% -> 17 points
    late = {"finished_at": stamp(received + timedelta(days=9))}
    twice = {"supplement_requests": 2}
    open_within = {"status": "processing", "finished_at": None, "due_at": stamp(now + timedelta(days=3))}
    open_late = {"status": "processing", "finished_at": None, "due_at": stamp(now - timedelta(days=1))}
    kinds = [{}] * 15 + [late, twice, open_within, open_within, open_late]
    rows += [dossier("STP", 1000 + n, received, digitised=None, known=2, **extra) for n, extra in enumerate(kinds)]
    # online payment: 3 of 4 STP dossiers with a fee paid online -> 75% of 6 = 4,5 points
    rows += [dossier("STP", 2000 + n, received, fee=50000, paid_online=int(n < 3), known=8, digitised=None)
             for n in range(4)]
    store.db.table("dossiers").insert_all(rows)


def test_each_supported_indicator_on_dossiers_at_and_below_its_threshold(province: Province) -> None:
    config = load_config(province.rules)
    now = province_now()
    with Store.open(config) as store:
        build_boundary_dossiers(store, now)
        context = CheckContext(db=store.db, config=config, units=("STP", "SXD"),
                               period=current_period("quarter", now.date()), now=now)
        stp, sxd = index_results(context, TABLE)
    assert (indicator(stp, "4.2").numerator, indicator(stp, "4.2").denominator) == (80, 100)
    assert indicator(stp, "4.2").points == 4 and indicator(sxd, "4.2").points == Fraction(4 * 79, 80)
    assert indicator(stp, "4.3").points == 2 and indicator(sxd, "4.3").points == Fraction(2 * 79, 80)
    progress = indicator(stp, "2.1")
    assert (progress.numerator, progress.denominator, progress.points) == (17 + 100, 20 + 100, Fraction(20 * 117, 120))
    payment = indicator(stp, "6.1")
    assert (payment.numerator, payment.denominator, payment.points) == (3, 4, Fraction(9, 2))
    assert indicator(stp, "4.1").points == 6  # every result digitised
    no_fees = indicator(sxd, "6.1")  # SXD's dossiers say they had no fee: N/A, as the guide has it, not 0
    assert no_fees.state == NO_DOSSIERS and no_fees.points is None and no_fees.denominator == 0
    assert indicator(stp, "1.2").state == NO_DATA  # never read: no evidence either way


# --- published on time: the decision's date against complete readings --------------------------------------

def test_working_days_skip_weekends_and_holidays() -> None:
    friday = date(2026, 8, 28)
    assert Calendar().add_working_days(friday, 5) == date(2026, 9, 4)
    assert Calendar(frozenset({date(2026, 9, 1), date(2026, 9, 2)})).add_working_days(friday, 5) == date(2026, 9, 8)


def test_published_on_time_needs_a_complete_reading_either_way(province: Province) -> None:
    """Decided 01/07/2026 (deadline 08/07): A is posted by then (on time); B is still missing from a complete
    reading on 09/07 (late). C, decided 02/07 (deadline 09/07), is first seen on 13/07 with no reading in
    between: auditbot was not looking, so it is left out, not counted late."""
    config = load_config(province.rules)
    period = parse_period("Q3/2026")
    with Store.open(config) as store:
        store.db.table("procedures").insert_all([
            {"code": code, "name": name, "name_key": name.lower(), "status": "in_force", "units": '["STP"]',
             "decided_at": decided}
            for code, name, decided in (("1.000001", "Thủ tục A", "2026-07-01 00:00:00"),
                                        ("1.000002", "Thủ tục B", "2026-07-01 00:00:00"),
                                        ("1.000003", "Thủ tục C", "2026-07-02 00:00:00"))])

        def reading(at: datetime, names: list[str]) -> None:
            items = [(n, n.lower(), None, "[]", "https://stp.example/tthc", None) for n in names]
            fetch = ("https://stp.example/tthc", 1, 1, 0, len(items), None, "h", None, "table", 0)
            record_readings(store.db, [UnitReading("STP", [fetch], [], items)], at)

        reading(datetime(2026, 7, 8, 10), ["Thủ tục A"])
        reading(datetime(2026, 7, 9, 8), ["Thủ tục A"])
        reading(datetime(2026, 7, 13, 8), ["Thủ tục A", "Thủ tục B", "Thủ tục C"])
        context = CheckContext(db=store.db, config=config, units=("STP",), period=period, now=datetime(2026, 7, 20))
        [stp] = index_results(context, TABLE)
    published = indicator(stp, "1.2")
    assert (published.numerator, published.denominator, published.points) == (1, 2, 2)  # 50% of 4 points


# --- the command, the portal's own figures, the letter --------------------------------------------------------

def portal_json(path: Path) -> Path:
    """Shaped as the portal's reporting pages load it: an envelope, metrics with codes, a progress tree."""
    path.write_text(json.dumps({"code": "OK", "data": {
        "evaluation": {"metrics": [
            {"code": "SO_HOA_GIAY_TO_GIAI_QUYET", "name": "…", "numerator": 70, "denominator": 100, "ratio": 70.0,
             "score": 3.5, "maxScore": 4},
            {"code": "REUSED_DIGITIZED_DATA", "numerator": None, "denominator": None, "ratio": "85,5", "score": 2},
            {"code": "PETITION_PROCESSING_ON_TIME", "numerator": 0, "denominator": 0, "ratio": None, "score": 6}]},
        "parent": {"totalOnTime": 450, "totalReceived": 500, "score": 18.0, "children": []}}}), encoding="utf-8")
    return path


def test_index_compare_shows_auditbot_beside_the_portal(province: Province, tmp_path: Path) -> None:
    now = province_now()
    config = load_config(province.rules)
    with Store.open(config) as store:
        build_boundary_dossiers(store, now)
    done = province.run("index", "--compare", str(portal_json(tmp_path / "cong.json")), "--format", "json")
    assert done.exit_code == 0, done.output
    rows = {row["indicator"]: row for row in json.loads(done.output)}
    assert set(rows) == {"2.1", "4.2", "4.3", "5.2"}
    # province: 4.2 is (80 + 79) / 200 = 79,5% -> 3,975 points; the portal says 70% and 3,5
    assert rows["4.2"]["rate"] == 79.5 and rows["4.2"]["portal_rate"] == 70 and rows["4.2"]["rate_difference"] == 9.5
    assert rows["4.2"]["points_difference"] == 0.48  # 3,975 − 3,5, half up
    assert rows["2.1"]["portal_rate"] == 90 and rows["2.1"]["portal_points"] == 18
    assert rows["4.3"]["portal_rate"] == 85.5
    assert rows["5.2"]["rate"] is None and rows["5.2"]["rate_difference"] is None  # auditbot has no feedback data
    table = province.run("index", "--compare", str(tmp_path / "cong.json"))
    assert "Tỷ lệ Cổng" in table.output and "+9,50 điểm %" in table.output

    csv_file = tmp_path / "cong.csv"
    csv_file.write_text("Chỉ tiêu,Tỷ lệ,Điểm\n2.1,\"90,00%\",18\nDOSSIER_SYNC,95,\"5,7\"\nkhông rõ,1,1\n",
                        encoding="utf-8")
    rows = {row["indicator"]: row for row in json.loads(
        province.run("index", "--compare", str(csv_file), "--format", "json").output)}
    assert set(rows) == {"2.1", "1.4"} and rows["1.4"]["portal_points"] == 5.7


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON"),
    ('{"data": {"metrics": []}}', "no indicator figures found"),
    ("Tên,Giá trị\nx,1\n", "row 1: no indicator column"),
    ("[" * 100000 + "]" * 100000, "nested too deeply"),  # a nesting bomb: refused, not a crash
])
def test_a_portal_file_that_holds_no_figures_is_a_clear_input_error(province: Province, tmp_path: Path,
                                                                    content: str, message: str) -> None:
    path = tmp_path / "cong.json"
    path.write_text(content, encoding="utf-8")
    done = province.run("index", "--compare", str(path))
    assert done.exit_code == 2 and str(path) in done.output and message in done.output, done.output
    assert "Traceback" not in done.output


def test_index_by_unit_kind_and_province(province: Province) -> None:
    config = load_config(province.rules)
    with Store.open(config) as store:
        build_boundary_dossiers(store, province_now())
    by_unit = province.run("index")
    assert by_unit.exit_code == 0 and "Sở Tư pháp" in by_unit.output and "Mất nhiều điểm nhất" in by_unit.output
    one = province.run("index", "--unit", "SXD")
    assert "4.2 Tỷ lệ hồ sơ thực hiện số hóa hồ sơ và kết quả: 79,00% (79/100) → 3,95/4,00 điểm" in one.output
    assert "đạt 80% số hóa hồ sơ: +0,05 điểm" in one.output
    kinds = json.loads(province.run("index", "--by", "kind", "--format", "json").output)
    assert {row["group"] for row in kinds} == {"so", "xa"}
    xa = {row["indicator"]: row for row in kinds if row["group"] == "xa"}
    assert xa["2.1"]["state"] == NO_DATA and xa["2.1"]["points"] is None  # no dossiers at all: no data, not 0
    lines = province.run("index", "--by", "province", "--format", "csv").output.splitlines()
    assert lines[0].startswith("\ufeffgroup,indicator,name") and len(lines) == 1 + len(TABLE.indicators)


def test_holidays_are_checked(tmp_path: Path) -> None:
    bad = Province(tmp_path, extra='[index]\nholidays = ["30/02/2026"]\nminimum_points = 150\n')
    done = bad.run("validate")
    assert done.exit_code == 2
    assert "index.holidays: '30/02/2026' is not a date written dd/mm/yyyy" in done.output
    assert "index.minimum_points" in done.output


def test_the_weekly_letter_carries_the_unit_index(province: Province, tmp_path: Path) -> None:
    config = load_config(province.rules)
    now = province_now()
    with Store.open(config) as store:
        build_boundary_dossiers(store, now)
    assert province.run("check", "--all", "--offline").exit_code in (0, 1)
    done = province.run("report", "--unit", "SXD", "--outbox", str(tmp_path / "out"))
    assert done.exit_code == 0, done.output
    [letter] = list((tmp_path / "out").rglob("SXD*.eml"))
    body = email.message_from_bytes(letter.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()
    assert "CHỈ SỐ 766 (Quyết định 766/QĐ-TTg)" in body, body[:2000]
    assert "Chỉ số 766 tạm tính: " in body and "điểm mất nhiều nhất: đạt 80% số hóa hồ sơ: +0,05 điểm" in body


def test_validate_reads_the_provinces_own_formula_table(tmp_path: Path) -> None:
    import shutil

    from auditbot.config import bundled
    shutil.copytree(bundled.templates(), tmp_path / "templates")
    table = tmp_path / "templates" / "index766.toml"
    table.write_text(table.read_text(encoding="utf-8").replace("full_at = 80", "full_at = 180", 1), encoding="utf-8")
    done = Province(tmp_path, extra='[report]\ntemplates = "templates"\n').run("validate")
    assert done.exit_code == 2 and str(table) in done.output
    assert "indicator 6.2: full_at is a percentage in (0, 100]" in done.output


def test_the_index_raises_findings_only_where_rules_toml_sets_a_minimum(tmp_path: Path) -> None:
    """Without [index].minimum_points the index informs; with it, STP (36,00/38,00 = 94,74%, below 97%) gets
    a finding that says what would raise it most, and SXD (31,93/32,00 = 99,77%) none."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    quiet = Province(tmp_path / "a")
    strict = Province(tmp_path / "b", extra="[index]\nminimum_points = 97\n")
    for province in (quiet, strict):
        config = load_config(province.rules)
        with Store.open(config) as store:
            build_boundary_dossiers(store, province_now())
        province.run("check", "--all", "--offline")
        with Store.open(config) as store:
            found = [f for f in store.findings(statuses=["open"]) if f["check"] == "index.below_minimum"]
        if province is quiet:
            assert found == []
        else:
            assert [f["unit"] for f in found] == ["STP"]
            assert "36,00/38,00 điểm tính được (94,74%), dưới mức 97,00% của tỉnh" in found[0]["title"]
            assert found[0]["details"]["gains"][0].startswith("đạt ")


@pytest.mark.parametrize(("name", "content", "where", "why"), [
    ("cong.csv", "Chỉ tiêu,Tỷ lệ,Điểm\n2.1,1e99999999,18\n", "row 2, column 'Tỷ lệ'", "exponent"),
    ("cong.csv", "Chỉ tiêu,Tỷ lệ,Điểm\n2.1,90,1e-99999999\n", "row 2, column 'Điểm'", "exponent"),
    ("cong.csv", "Chỉ tiêu,Tỷ lệ,Điểm\n2.1,1/0,18\n", "row 2, column 'Tỷ lệ'", "a fraction"),
    ("cong.csv", "Chỉ tiêu,Tỷ lệ,Điểm\n2.1,1_0_0_0_0_0_0_0_0_0_0_0_0_0_0,18\n", "row 2, column 'Tỷ lệ'",
     "underscores"),
    ("cong.csv", "Chỉ tiêu,Tỷ lệ,Điểm\n2.1,150,18\n", "row 2, column 'Tỷ lệ'", "150 is outside 0 – 100"),
    ("cong.csv", "Chỉ tiêu,Tỷ lệ,Điểm\n2.1,90,\"" + "9" * 200_000 + "\"\n", "row 2", ""),  # past the csv limit
    ("cong.csv", "Chỉ tiêu,Tỷ lệ,Điểm\n2.1,90,\"" + "x" * 100_000 + "\"\n", "row 2, column 3", "a cell of 100.000"),
    ("cong.json", '{"data": {"metrics": [{"code": "SO_HOA_GIAY_TO_GIAI_QUYET", "numerator": ' + "7" * 5000
     + ', "denominator": 100, "score": 3}]}}', "metric SO_HOA_GIAY_TO_GIAI_QUYET", "numerator: a number of 5.000"),
    ("cong.json", '{"data": {"metrics": [{"code": "SO_HOA_GIAY_TO_GIAI_QUYET", "ratio": 1e99999999}]}}',
     "metric SO_HOA_GIAY_TO_GIAI_QUYET", "ratio: a number with an exponent"),
    ("cong.json", '{"data": {"metrics": [{"code": "SO_HOA_GIAY_TO_GIAI_QUYET", "ratio": "1e-99999999"}]}}',
     "metric SO_HOA_GIAY_TO_GIAI_QUYET", "ratio: a number with an exponent"),
    ("cong.json", '{"data": {"metrics": [{"code": "SO_HOA_GIAY_TO_GIAI_QUYET", "score": NaN}]}}',
     "metric SO_HOA_GIAY_TO_GIAI_QUYET", "score: NaN is no number"),
    ("cong.json", '{"parent": {"totalOnTime": 450.5, "totalReceived": 500}}', "the progress counts",
     "totalOnTime: a count with a fraction"),
])
def test_a_portal_figure_that_is_no_plausible_number_is_refused_where_it_is(province: Province, tmp_path: Path,
                                                                           name: str, content: str, where: str,
                                                                           why: str) -> None:
    """1e99999999 hung the reader, a 5.000-digit integer, 1/0 and a 200 KB cell crashed it, 1_0_0… read as 10¹⁴ %."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    done = run_cli(province, "index", "--compare", str(path))  # its own process: a hang fails on its timeout
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"Error: {path}: {where}") and why in line, line


def test_a_portal_figure_written_the_vietnamese_way_is_read(province: Province, tmp_path: Path) -> None:
    path = tmp_path / "cong.csv"
    path.write_text("Chỉ tiêu,Tỷ lệ,Điểm\n2.1,\"99,65 %\",—\nDOSSIER_SYNC,,\"5,7\"\n", encoding="utf-8")
    rows = {row["indicator"]: row for row in json.loads(
        province.run("index", "--compare", str(path), "--format", "json").output)}
    assert rows["2.1"]["portal_rate"] == 99.65 and rows["2.1"]["portal_points"] is None
    assert rows["1.4"]["portal_rate"] is None and rows["1.4"]["portal_points"] == 5.7
