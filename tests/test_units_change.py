"""Units that change: three communes merged into one and a district abolished on 01/07/2025, with exports
on both sides of the day; a procedure delegated to another unit; the graph rules.toml may describe."""

from __future__ import annotations

import csv
import json
import urllib.parse
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from browser import dump_dom
from click.testing import CliRunner, Result
from loopback import free_port
from test_serve import query, start_server, stop

from auditbot.checking.engine import run_checks, select_checks
from auditbot.cli import cli
from auditbot.config.rules import load_config
from auditbot.domain.lineage import DISSOLVED
from auditbot.store import Finding, Scope, Store, fingerprint
from auditbot.store.listings import UnitReading, record_readings
from auditbot.words.text import fold

RULES = """
[province]
name = "Thử Nghiệm"

[database]
path = "audit.db"

[[units]]
code = "STP"
name = "Sở Tư pháp"
kind = "so"
emails = ["stp@example.gov.vn"]
listing_urls = ["https://stp.example.gov.vn/tthc"]

[[units]]
code = "XA_AH"
name = "Xã An Hòa"
kind = "xa"
valid_to = 2025-06-30
successors = ["XA_HB"]
listing_urls = ["https://anhoa.example.gov.vn/tthc"]

[[units]]
code = "XA_BM"
name = "Xã Bình Minh"
kind = "xa"
valid_to = "30/06/2025"
successors = ["XA_HB"]
listing_urls = ["https://binhminh.example.gov.vn/tthc"]

[[units]]
code = "XA_CV"
name = "Xã Cẩm Vân"
kind = "xa"
valid_to = 2025-06-30
successors = ["XA_HB"]

[[units]]
code = "H_DS"
name = "Huyện Đông Sơn"
kind = "huyen"
aliases = ["UBND huyện Đông Sơn"]
valid_to = 2025-06-30
successors = ["XA_HB", "XA_DS"]

[[units]]
code = "XA_HB"
name = "Xã Hòa Bình"
kind = "xa"
valid_from = 2025-07-01
emails = ["hoabinh@example.gov.vn"]
listing_urls = ["https://anhoa.example.gov.vn/tthc"]   # the new commune kept An Hòa's site

[[units]]
code = "XA_DS"
name = "Xã Đông Sơn"
kind = "xa"
emails = ["dongson@example.gov.vn"]

[thresholds]
min_dossiers = 1
min_period_elapsed = 0

[dossiers]
rollup = "{rollup}"

[sources]
dossiers = ["exports/"]
"""

HEADER = ["Mã hồ sơ", "Mã TTHC", "Tên TTHC", "Đơn vị", "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày có kết quả",
          "Trạng thái", "Hình thức nộp", "Số hóa kết quả", "Số kết quả", "Đơn vị kế thừa"]


def dossier(code: str, unit: str, received: str, finished: str | None, online: bool = True,
            successor: str = "", procedure: str = "1.000001", due: str = "") -> list[str]:
    return [code, procedure, "Thủ tục một", unit, received, due or received, finished or "",
            "Đã trả kết quả" if finished else "Đang xử lý", "Trực tuyến" if online else "Trực tiếp",
            "Có" if finished else "", f"KQ-{code}" if finished else "", successor]


# the district's and communes' last quarter, and the new communes' first: exports on both sides of 01/07/2025
BEFORE = [
    dossier("A1", "UBND xã An Hòa", "02/04/2025", "05/04/2025"),
    dossier("A2", "Xã An Hòa", "20/06/2025", "03/07/2025", online=False),       # finished after the merger
    dossier("A3", "Xã An Hòa", "25/06/2025", None, due="28/06/2025"),           # still open, overdue
    dossier("B1", "Xã Bình Minh", "10/05/2025", "12/05/2025"),
    dossier("B2", "Xã Bình Minh", "28/06/2025", "08/07/2025"),
    dossier("C1", "Xã Cẩm Vân", "11/05/2025", "13/05/2025", online=False),
    dossier("H1", "UBND huyện Đông Sơn", "15/06/2025", "10/07/2025", successor="Xã Đông Sơn"),
    dossier("H2", "UBND huyện Đông Sơn", "16/06/2025", "11/07/2025"),
    dossier("S1", "Sở Tư pháp", "01/04/2025", "02/04/2025"),
]
AFTER = [
    dossier("N1", "Xã Hòa Bình", "02/07/2025", "04/07/2025"),
    dossier("N2", "Xã Hòa Bình", "03/08/2025", "05/08/2025", online=False),
    dossier("D1", "Xã Đông Sơn", "05/07/2025", "06/07/2025"),
    dossier("X1", "Xã An Hòa", "05/07/2025", "06/07/2025"),  # the old commune, after its end: refused
    dossier("S2", "Sở Tư pháp", "01/08/2025", "02/08/2025"),
]


MISSING = {"code": "1.000002", "name": "Thủ tục hai", "field": None, "decision": None}


class MergedProvince:
    def __init__(self, root: Path, rollup: str = "successor") -> None:
        self.root = root
        self.rules = root / "rules.toml"
        self.rules.write_text(RULES.replace("{rollup}", rollup), encoding="utf-8")
        (root / "exports").mkdir()

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(cli, [*args, "--config", str(self.rules)], catch_exceptions=False)

    def export(self, name: str, rows: list[list[str]]) -> Path:
        path = self.root / "exports" / name
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([HEADER, *rows])
        return path

    def imported(self) -> list[dict[str, object]]:
        self.export("truoc-sap-nhap.csv", BEFORE)
        self.export("sau-sap-nhap.csv", AFTER)
        result = self.run("import", "dossiers")
        assert result.exit_code == 0, result.output
        with Store.open(load_config(self.rules)) as store:
            return list(store.db.query("SELECT * FROM rejected_rows ORDER BY file, row"))

    def rates(self, period: str) -> dict[str, dict[str, object]]:
        result = self.run("rates", "--period", period, "--format", "json")
        assert result.exit_code == 0, result.output
        return {row["group"]: row for row in json.loads(result.stdout)}


@pytest.fixture
def merged(tmp_path: Path) -> MergedProvince:
    return MergedProvince(tmp_path)


def test_a_dossier_belongs_to_the_unit_of_its_day_and_an_old_units_late_one_is_refused(merged: MergedProvince) -> None:
    rejected = merged.imported()
    # nothing of a dated old unit is "unknown"; the one dossier an ended commune could not have received is refused
    assert [(row["row"], row["column_name"]) for row in rejected] == [(5, "Đơn vị")]
    assert rejected[0]["reason"] == "unit_ended_with_successors"
    params = json.loads(rejected[0]["params"])
    assert params["unit_code"] == "XA_AH" and params["ended"] == "30/06/2025" and params["successors"] == "XA_HB"
    assert params["day"] == "05/07/2025"
    with Store.open(load_config(merged.rules)) as store:
        units = dict(store.db.execute("SELECT code, unit FROM dossiers").fetchall())
        imports = list(store.db.query("SELECT unknown_units FROM imports"))
    assert units["A2"] == "XA_AH" and units["H1"] == "H_DS" and units["N1"] == "XA_HB" and "X1" not in units
    assert all(json.loads(row["unknown_units"]) == {} for row in imports)


def test_figures_of_a_period_go_to_the_units_of_its_end(merged: MergedProvince) -> None:
    merged.imported()
    before = merged.rates("Q2/2025")
    # Q2/2025: the old units, each its own; the new commune did not exist yet
    assert set(before) == {"STP", "XA_AH", "XA_BM", "XA_CV", "H_DS", "XA_DS"}
    assert (before["XA_AH"]["received"], before["XA_AH"]["finished"], before["XA_AH"]["unfinished"]) == (3, 1, 2)
    assert (before["H_DS"]["received"], before["H_DS"]["finished"]) == (2, 0)

    after = merged.rates("Q3/2025")
    # Q3/2025: the merged communes and the district are no rows of their own; their dossiers count for the heir
    assert set(after) == {"STP", "XA_HB", "XA_DS"}
    # finished in Q3: N1, N2 (its own), A2, B2 (communes'), H1, H2 (the district's: all to the first successor)
    assert after["XA_HB"]["finished"] == 6
    assert after["XA_HB"]["received"] == 2       # received in Q3: only its own (the old ones were received in Q2)
    assert after["XA_HB"]["unfinished"] == 1     # A3, still open, is now the new commune's
    assert after["XA_DS"]["finished"] == 1       # D1 only
    province = merged.run("rates", "--period", "Q3/2025", "--by", "province", "--format", "json")
    [total] = json.loads(province.stdout)
    assert total["finished"] == 8 and total["received"] == 4  # every dossier once: S2, N1, N2, D1 received


def test_the_named_rule_splits_an_abolished_districts_dossiers_by_the_successor_the_export_names(tmp_path: Path) -> None:
    named = MergedProvince(tmp_path, rollup="named")
    named.imported()
    after = named.rates("Q3/2025")
    assert after["XA_DS"]["finished"] == 2   # D1 and H1 (its row names Xã Đông Sơn)
    assert after["XA_HB"]["finished"] == 5   # H2 names nobody: the first successor


def test_the_successor_takes_over_open_findings_whose_subject_lives_on_and_the_rest_are_closed(
        merged: MergedProvince, tmp_path: Path) -> None:
    merged.imported()
    config = load_config(merged.rules)
    june = datetime(2025, 6, 20, 9)
    with Store.open(config) as store:
        # before the merger: the old units' findings, as the runs of June 2025 left them
        old = ["XA_AH", "XA_BM", "XA_CV", "H_DS"]
        run = run_checks(config, store, select_checks(config, ["dossier"]), old, datetime(2025, 6, 29, 9))
        assert fingerprint("dossier.overdue", "XA_AH", "A3") in run.counts.ids
        scope = Scope(frozenset({"listing.missing", "rate.online"}), frozenset(old))
        store.record(0, scope, [
            Finding("listing.missing", "XA_AH", "1.000002", "Thủ tục 1.000002 chưa niêm yết", details=MISSING),
            Finding("listing.missing", "XA_BM", "1.000002", "Thủ tục 1.000002 chưa niêm yết", details=MISSING),
            Finding("rate.online", "XA_CV", "Q2/2025", "Tỷ lệ trực tuyến thấp")], june)

    checked = merged.run("check", "--offline", "--checks", "dossier,listing,rate", "--format", "json")
    assert checked.exit_code == 1, checked.output

    with Store.open(config) as store:
        findings = {(f["check"], f["unit"], f["subject"]): f for f in store.findings(statuses=["open", "resolved"])}
        events = {row["finding_id"]: row["note"] for row in store.db.query(
            "SELECT finding_id, note FROM finding_events WHERE event = 'resolved'")}
    # the listing on the site the new commune kept: its own now, first seen in June 2025
    kept = findings[("listing.missing", "XA_HB", "1.000002")]
    assert kept["status"] == "open" and kept["first_seen"].startswith("2025-06-20")
    # the overdue dossier goes with the dossier, and the new commune's own run keeps it
    overdue = findings[("dossier.overdue", "XA_HB", "A3")]
    assert overdue["status"] == "open" and overdue["first_seen"].startswith("2025-06-29")
    # a site nobody kept, a quarter's rate: closed with the reason, not counted as fixed
    for key in (("listing.missing", "XA_BM", "1.000002"), ("rate.online", "XA_CV", "Q2/2025"),
                ("listing.missing", "XA_AH", "1.000002"), ("dossier.overdue", "XA_AH", "A3")):
        assert findings[key]["status"] == "resolved"
        assert events[findings[key]["id"]].startswith(DISSOLVED)
    with Store.open(config) as store:
        assert not [f for f in store.fixed_since("2000-01-01") if f["unit"] in ("XA_AH", "XA_BM", "XA_CV")]

    outbox = tmp_path / "outbox"
    letter = merged.run("report", "--unit", "XA_HB", "--outbox", str(outbox))
    assert letter.exit_code == 0, letter.output
    [eml] = list(outbox.rglob("*.eml"))
    body = message_from_bytes(eml.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()
    assert "A3" in body and "1.000002" in body


def test_units_on_a_day_with_their_predecessors_and_successors(merged: MergedProvince) -> None:
    before = merged.run("units", "--on", "30/06/2025", "--format", "json")
    assert {row["code"] for row in json.loads(before.stdout)} == {"STP", "XA_AH", "XA_BM", "XA_CV", "H_DS", "XA_DS"}
    after = {row["code"]: row for row in json.loads(merged.run("units", "--on", "01/07/2025", "--format", "json").stdout)}
    assert set(after) == {"STP", "XA_HB", "XA_DS"}
    assert after["XA_HB"]["predecessors"] == ["XA_AH", "XA_BM", "XA_CV", "H_DS"]
    assert after["XA_DS"]["predecessors"] == ["H_DS"]
    table = merged.run("units", "--all").output
    assert "30/06/2025" in table and "XA_HB, XA_DS" in table


@pytest.mark.parametrize(("change", "message"), [
    ('successors = ["XA_HB"]', "XA_HB: a unit cannot succeed itself"),
    ('successors = ["XA_NONE"]', "successor 'XA_NONE' is no configured unit"),
    ("valid_from = 2025-07-02", "successor XA_HB did not exist on 01/07/2025"),
])
def test_validate_refuses_a_succession_that_cannot_be_followed(merged: MergedProvince, change: str,
                                                              message: str) -> None:
    text = merged.rules.read_text(encoding="utf-8")
    anchor = 'code = "XA_HB"\nname = "Xã Hòa Bình"\nkind = "xa"\nvalid_from = 2025-07-01\n'
    assert anchor in text
    if change.startswith("successors"):
        if "XA_NONE" in change:
            text = text.replace('valid_to = 2025-06-30\nsuccessors = ["XA_HB"]\nlisting_urls = ["https://anhoa',
                                f'valid_to = 2025-06-30\n{change}\nlisting_urls = ["https://anhoa')
        else:
            text = text.replace(anchor, anchor.replace("valid_from = 2025-07-01\n",
                                                       f"valid_from = 2025-07-01\nvalid_to = 2026-01-01\n{change}\n"))
    else:
        text = text.replace("valid_from = 2025-07-01\n", change + "\n")
    merged.rules.write_text(text, encoding="utf-8")
    result = merged.run("validate")
    assert result.exit_code == 2
    assert message in result.output


def test_one_code_with_two_lives_is_one_renamed_unit_and_overlapping_lives_are_refused(tmp_path: Path) -> None:
    renamed = RULES.replace("{rollup}", "successor") + """
[[units]]
code = "SNN"
name = "Sở Nông nghiệp và Phát triển nông thôn"
kind = "so"
valid_to = 2025-02-28

[[units]]
code = "SNN"
name = "Sở Nông nghiệp và Môi trường"
kind = "so"
valid_from = 2025-03-01
emails = ["snn@example.gov.vn"]
"""
    (tmp_path / "rules.toml").write_text(renamed, encoding="utf-8")
    unit = load_config(tmp_path / "rules.toml").unit("SNN")
    assert unit.name == "Sở Nông nghiệp và Môi trường" and "Sở Nông nghiệp và Phát triển nông thôn" in unit.aliases
    assert unit.valid_to is None and unit.valid_from is None
    (tmp_path / "rules.toml").write_text(renamed.replace("valid_to = 2025-02-28", "valid_to = 2025-03-15"),
                                         encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", "--config", str(tmp_path / "rules.toml")])
    assert result.exit_code == 2 and "lifetimes overlap" in result.output


def test_a_delegated_procedure_is_missing_for_its_new_owner_and_no_longer_the_old_owners(merged: MergedProvince) -> None:
    catalogue = merged.root / "danh-muc.csv"

    def publish(owner: str, decided: str) -> None:
        with catalogue.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([
                ["Mã TTHC", "Tên TTHC", "Cơ quan thực hiện", "Quyết định công bố", "Ngày quyết định"],
                ["1.000001", "Thủ tục một", owner, "QĐ 1", decided],
                ["1.000002", "Thủ tục hai", "Sở Tư pháp", "QĐ 1", "01/01/2025"]])
        assert merged.run("import", "catalogue", str(catalogue)).exit_code == 0

    publish("Sở Tư pháp", "01/01/2025")
    publish("Xã Đông Sơn", "15/07/2025")  # delegated to the commune by a decision of 15/07/2025
    merged.imported()  # STP received 1.000001 on 01/08/2025 (S2), after it was no longer its own
    config = load_config(merged.rules)
    with Store.open(config) as store:
        owners = list(store.db.query("SELECT unit, since, until FROM procedure_owners WHERE code = '1.000001'"
                                     " ORDER BY unit"))
        assert owners == [{"unit": "STP", "since": None, "until": "2025-07-15"},
                          {"unit": "XA_DS", "since": "2025-07-15", "until": None}]
        for unit, url, names in (("STP", "https://stp.example.gov.vn/tthc", ["Thủ tục một", "Thủ tục hai"]),
                                 ("XA_DS", "https://dongson.example.gov.vn/tthc", [])):
            items = [(n, fold(n), None, "[]", url, None) for n in names]
            fetch = (url, 1, 1, 0, len(items), None, "h", None, "table", 0)
            record_readings(store.db, [UnitReading(unit, [fetch], [], items)], datetime(2025, 8, 2, 8))
    result = merged.run("check", "--offline", "--checks", "listing,dossier.after_transfer", "--format", "json")
    found = {(f["check"], f["unit"], f["subject"]): f for f in json.loads(result.stdout)}
    assert ("listing.missing", "XA_DS", "1.000001") in found
    transferred = found[("listing.transferred", "STP", "1.000001")]
    assert transferred["details"]["owners"] == ["Xã Đông Sơn"] and "15/07/2025" in transferred["title"]
    assert ("listing.missing", "STP", "1.000002") not in found
    late = found[("dossier.after_transfer", "STP", "S2")]
    assert late["details"]["transferred_on"] == "2025-07-15" and "01/08/2025" in late["title"]
    assert ("dossier.after_transfer", "STP", "S1") not in found  # received before the move


def test_an_ended_unit_is_not_checked_its_successors_are_named(merged: MergedProvince) -> None:
    result = merged.run("check", "XA_AH", "--offline")
    assert result.exit_code == 2
    assert "XA_AH ended on 30/06/2025; check XA_HB" in result.output


def test_datasette_shows_a_merged_unit_with_its_predecessors_lines_before_the_date(merged: MergedProvince) -> None:
    merged.imported()
    config = load_config(merged.rules)
    with Store.open(config) as store:  # June 2025: the old communes' figures, day by day, as their runs left them
        run_checks(config, store, select_checks(config, ["rate"]), ["XA_AH", "XA_BM", "XA_CV", "H_DS"],
                   datetime(2025, 6, 20, 9))
    assert merged.run("check", "--offline", "--checks", "rate").exit_code in (0, 1)  # today: the new commune's
    port = free_port()
    process = start_server(merged, port)  # type: ignore[arg-type]  # it needs only .rules
    try:
        base = f"http://127.0.0.1:{port}"
        rows = query(base, "unit_rates_history", unit="XA_HB")
        lines = {(row["Mã đơn vị"], row["Ngày"][:4]) for row in rows}
        assert {("XA_AH", "2025"), ("XA_BM", "2025"), ("XA_CV", "2025"), ("H_DS", "2025")} <= lines
        assert any(code == "XA_HB" and year >= "2026" for code, year in lines)
        assert not any(code in ("XA_AH", "XA_HB") for code, _ in {(r["Mã đơn vị"], "") for r in
                                                                  query(base, "unit_rates_history", unit="XA_DS")})
        dom = dump_dom(f"{base}/-/dashboards/tong-quan?" + urllib.parse.urlencode({"unit": "Xã Hòa Bình"}),
                       wait_ms=8000)
        chart = dom.split("Tỷ lệ số hóa và trực tuyến theo từng đơn vị", 1)[1].split("Đơn vị có nhiều", 1)[0]
        assert "Xã An Hòa" in chart and "Xã Hòa Bình" in chart and "Xã Đông Sơn" not in chart
    finally:
        stop(process)


def test_a_catalogue_naming_an_ended_unit_gives_its_procedures_to_the_one_unit_that_took_over(
        merged: MergedProvince) -> None:
    catalogue = merged.root / "danh-muc.csv"
    with catalogue.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([
            ["Mã TTHC", "Tên TTHC", "Cơ quan thực hiện", "Cấp thực hiện"],
            ["1.000001", "Thủ tục một", "UBND xã An Hòa", ""],         # merged into XA_HB alone
            ["1.000002", "Thủ tục hai", "UBND huyện Đông Sơn", ""],    # split between two communes: not guessed
            ["1.000003", "Thủ tục ba", "", "Cấp xã"]])                 # a level: today's communes only
    result = merged.run("import", "catalogue", str(catalogue))
    assert result.exit_code == 0, result.output
    assert "1 procedures name as owner H_DS, which has ended and was split among several units" in result.output
    with Store.open(load_config(merged.rules)) as store:
        units = {row["code"]: json.loads(row["units"]) for row in store.db.query("SELECT code, units FROM procedures")}
    assert units == {"1.000001": ["XA_HB"], "1.000002": [], "1.000003": ["XA_DS", "XA_HB"]}


@pytest.mark.parametrize(("written", "shown"), [("9999-12-31", "31/12/9999"), ('"31/12/9999"', "31/12/9999"),
                                                ("0001-01-01", "01/01/0001")])
@pytest.mark.parametrize("command", [("validate",), ("units", "--all"), ("rates",)])
def test_a_date_at_the_edge_of_the_calendar_is_a_config_error_with_its_key(merged: MergedProvince, written: str,
                                                                         shown: str, command: tuple[str, ...]) -> None:
    """`valid_to = 9999-12-31` with a successor: the day after it is no date, so every command crashed."""
    text = merged.rules.read_text(encoding="utf-8")
    edge = 'valid_to = 2025-06-30\nsuccessors = ["XA_HB"]\nlisting_urls = ["https://anhoa'
    key = "valid_to" if written != "0001-01-01" else "valid_from"
    merged.rules.write_text(text.replace(edge, edge.replace("valid_to = 2025-06-30", f"{key} = {written}")
                                         if key == "valid_to" else f"valid_from = {written}\n{edge}"), encoding="utf-8")
    result = merged.run(*command)
    assert result.exit_code == 2, result.output
    assert f"units[1].{key}: {shown} is outside the days auditbot reasons about (01/01/1900 – 31/12/2100)" \
        in result.output, result.output
    assert "1 problem(s)" in result.output  # not echoed as a succession that cannot be followed


@pytest.mark.parametrize("period", ["Q4/9999", "12/9999", "0000", "Quý IV/9999"])
def test_a_period_at_the_edge_of_the_calendar_is_a_usage_error(merged: MergedProvince, period: str) -> None:
    for command in ("rates", "index"):
        result = merged.run(command, "--period", period)
        assert result.exit_code == 2 and "outside the days auditbot reasons about" in result.output, result.output
    for option, day in (("--from", "01/01/0001"), ("--to", "31/12/9999")):  # shown as 01/01/1 before
        result = merged.run("rates", option, day)
        assert result.exit_code == 2 and f"{day} is outside the days auditbot reasons about" in result.output
