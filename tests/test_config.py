from __future__ import annotations

import pytest
from conftest import Province

from auditbot.config.rules import load_config


def test_validate_accepts_the_bundled_rules_without_an_smtp_password(monkeypatch) -> None:
    from click.testing import CliRunner

    from auditbot.cli import cli
    from auditbot.config.bundled import sample_province

    rules = str(sample_province() / "rules.toml")
    monkeypatch.delenv("AUDITBOT_SMTP_PASSWORD", raising=False)
    result = CliRunner().invoke(cli, ["validate", "--config", rules])
    assert result.exit_code == 0, result.output  # delivery = "outbox": its letters are written, never sent
    assert "9 đơn vị (Sở, ban, ngành; Xã, phường), trong đó 1 đơn vị đã kết thúc (sáp nhập hoặc giải thể)" in result.output


def test_validate_reports_every_problem_with_its_key_path(tmp_path) -> None:
    province = Province(tmp_path, extra="""
[checks]
disabled = ["dossier.overdu"]

[emial]
sender = "x@example.gov.vn"
""")
    text = province.rules.read_text(encoding="utf-8")
    text = text.replace('emails = ["sxd@example.gov.vn"]', "").replace("min_dossiers = 10", "min_dossiers = 10\ndigitisation_min = 120")
    province.rules.write_text(text, encoding="utf-8")
    result = province.run("validate")
    assert result.exit_code == 2
    output = result.output
    assert "emial: unknown key" in output
    assert "checks.disabled: unknown check id 'dossier.overdu'" in output
    assert "thresholds.digitisation_min: expected a percentage between 0 and 100, got 120" in output
    assert "3 problem(s)" in output and "SXD" not in output  # no address: a warning (test_report), no problem


def test_unknown_key_inside_a_unit_and_wrong_types(tmp_path) -> None:
    province = Province(tmp_path)
    text = province.rules.read_text(encoding="utf-8").replace('kind = "so"\naliases', 'kind = "so"\nalias = ["x"]\naliases', 1)
    text = text.replace("min_dossiers = 10", 'min_dossiers = "ten"')
    province.rules.write_text(text, encoding="utf-8")
    result = province.run("validate")
    assert result.exit_code == 2
    assert "units[0].alias: unknown key" in result.output
    assert "thresholds.min_dossiers: expected a number, got a string" in result.output


def test_config_from_environment_and_missing_file(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from auditbot.cli import cli

    province = Province(tmp_path)
    monkeypatch.setenv("AUDITBOT_CONFIG", str(province.rules))
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 0 and "Thử Nghiệm: 3 đơn vị" in result.output
    monkeypatch.setenv("AUDITBOT_CONFIG", str(tmp_path / "nope.toml"))
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 2 and "config file not found" in result.output


def test_units_file_and_kind_thresholds(tmp_path) -> None:
    (tmp_path / "units.csv").write_text(
        "code,name,kind,aliases,emails\nXA_A,Xã A,xa,UBND xã A;Xã A huyện B,a@example.gov.vn\nXA_B,Xã B,xa,,\n",
        encoding="utf-8")
    province = Province(tmp_path)
    province.rules.write_text('units_file = "units.csv"\n' + province.rules.read_text(encoding="utf-8"), encoding="utf-8")
    result = province.run("validate")
    assert result.exit_code == 0, result.output
    assert ("warning: units_file:units.csv:row 3.emails: unit 'XA_B' has no email address: and [email] centre is"
            " empty, so nobody gets its weekly letter") in result.output
    (tmp_path / "units.csv").write_text(
        "code,name,kind,aliases,emails\nXA_A,Xã A,xa,UBND xã A;Xã A huyện B,a@example.gov.vn\n", encoding="utf-8")
    config = load_config(province.rules)
    unit = config.unit("XA_A")
    assert unit.aliases == ("UBND xã A", "Xã A huyện B")
    assert config.thresholds_for("xa").online_min == 50
    assert config.thresholds_for("xa").digitisation_min == 90
    assert config.thresholds_for("so").online_min == 70


def test_a_personal_data_column_cannot_be_mapped(tmp_path) -> None:
    province = Province(tmp_path, extra='\n[dossiers.columns]\nprocedure_name = ["Số CCCD"]\n')
    result = province.run("validate")
    assert result.exit_code == 2
    assert "dossiers.columns.procedure_name: 'Số CCCD' holds citizens' personal data; it is never read" in result.output


def test_schedule_phrases_and_report_settings_are_validated(tmp_path) -> None:
    province = Province(tmp_path, extra="""
[schedule]
checks = "every day at 25:00"
dossiers = "every 2 mondays"
listings = "each night"
weekly_report = "every monday at 07:30"
alert_after_failures = 0

[report]
templates = "no-such-folder"
max_rows_in_body = 0

[serve]
port = 70000
user = "trung tâm"
hostname = "0.0.0.0"
""")
    result = province.run("validate")
    assert result.exit_code == 2
    for expected in ("schedule.checks: 'every day at 25:00': 25:00 is not a time of day",
                     "schedule.dossiers: not a schedule phrase: 'every 2 mondays'",
                     "schedule.listings: not a schedule phrase: 'each night'",
                     "schedule.alert_after_failures: must be ≥ 1",
                     "report.templates: no annexes.toml in",
                     "report: escalate_after_weeks, top_units and max_rows_in_body must be ≥ 1",
                     "serve.port: expected a port number, got 70000",
                     "serve.user: letters, digits and _ only, got 'trung tâm'",
                     "serve.hostname"):
        assert expected in result.stderr, result.stderr
    assert "schedule.weekly_report" not in result.stderr  # checks and dossiers are scheduled (if misspelt)


def test_validate_refuses_what_the_daemon_or_the_outbox_would_fail_on_later(tmp_path) -> None:
    province = Province(tmp_path, extra="""
[schedule]
weekly_report = "every monday at 07:30"
catalogue = "every 99999999999 days"
""")
    text = province.rules.read_text(encoding="utf-8")
    text = text.replace('code = "STP"', 'code = "../STP"').replace(
        'emails = ["sxd@example.gov.vn"]', 'emails = ["sxd@example.gov.vn\\nBcc: all@example.gov.vn", "nguyễn@sxd.vn"]')
    province.rules.write_text(text, encoding="utf-8")
    result = province.run("validate")
    assert result.exit_code == 2
    for expected in ("schedule.catalogue: 'every 99999999999 days': the interval is longer than a year",
                     "schedule.weekly_report: sends letters, but [schedule] never runs `checks`",
                     "schedule.weekly_report: sends letters, but [schedule] never imports `dossiers`",
                     "units[0].code: '../STP': letters, digits, _ - and . only",
                     "units[1].emails: not an email address: 'sxd@example.gov.vn\\nBcc: all@example.gov.vn'",
                     "units[1].emails: not an email address: 'nguyễn@sxd.vn' (Internationalized characters"):
        assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_an_address_with_a_vietnamese_domain_is_kept_idna_encoded(tmp_path) -> None:
    province = Province(tmp_path)
    text = province.rules.read_text(encoding="utf-8").replace(
        'emails = ["sxd@example.gov.vn"]', 'emails = ["vanthu@sởxâydựng.gov.vn"]')
    province.rules.write_text(text, encoding="utf-8")
    config = load_config(province.rules)
    assert config.unit("SXD").emails == ("vanthu@xn--sxydng-xta8252d0ea.gov.vn",)


UNITS_ROWS = [["code", "name", "kind", "aliases", "emails"],
              ["XA_TH", "Xã Thiệu Hóa", "xa", "UBND xã Thiệu Hóa;Xã Thiệu Hoá cũ", "thieuhoa@example.gov.vn"],
              ["SO_NN", "Sở Nông nghiệp và Môi trường", "so", "", "snnmt@example.gov.vn"]]


TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng


def windows_1258(text: str) -> bytes:
    """As Excel for Vietnamese writes it: letters with a tone mark split into a base cp1258 has (ơ, ư, ă, â, ê, ô)
    and a combining tone mark."""
    import unicodedata

    out = b""
    for character in text:
        try:
            out += character.encode("cp1258")
        except UnicodeEncodeError:
            split = unicodedata.normalize("NFD", character)
            tone = next(mark for mark in split if mark in TONE_MARKS)
            out += unicodedata.normalize("NFC", split.replace(tone, "")).encode("cp1258") + tone.encode("cp1258")
    return out


def units_bytes(shape: str) -> bytes:
    if shape == "xlsx renamed .csv":
        import io

        import openpyxl

        book = openpyxl.Workbook()
        for row in UNITS_ROWS:
            book.active.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()
    delimiter = "\t" if shape == "utf-16 unicode text" else ","
    text = "\r\n".join(delimiter.join(f'"{cell}"' if ";" in cell else cell for cell in row) for row in UNITS_ROWS)
    return {"windows-1258": windows_1258(text), "utf-16 unicode text": text.encode("utf-16"),
            "utf-8 with bom": text.encode("utf-8-sig"), "utf-8": text.encode("utf-8")}[shape]


def with_units_file(tmp_path, data: bytes) -> Province:
    (tmp_path / "units.csv").write_bytes(data)
    province = Province(tmp_path)
    province.rules.write_text('units_file = "units.csv"\n' + province.rules.read_text(encoding="utf-8"), encoding="utf-8")
    return province


@pytest.mark.parametrize("shape", ["windows-1258", "utf-16 unicode text", "utf-8 with bom", "utf-8",
                                   "xlsx renamed .csv"])
def test_a_units_spreadsheet_as_excel_saves_it_is_read(tmp_path, shape: str) -> None:
    province = with_units_file(tmp_path, units_bytes(shape))
    assert province.run("validate").exit_code == 0, province.run("validate").output
    units = {row["code"]: row for row in province.json("units", "--all")}
    assert units["XA_TH"]["name"] == "Xã Thiệu Hóa" and units["SO_NN"]["name"] == "Sở Nông nghiệp và Môi trường"
    assert units["XA_TH"]["kind"] == "xa"
    unit = load_config(province.rules).unit("XA_TH")
    assert unit.aliases == ("UBND xã Thiệu Hóa", "Xã Thiệu Hoá cũ") and unit.emails == ("thieuhoa@example.gov.vn",)


@pytest.mark.parametrize(("data", "message"), [
    ("code,name,kind,emails\nXA_X,{big},xa,x@example.gov.vn\n".format(big="Xã " * 70_000).encode(),
     "row 2, column 'name': a cell of 210000 characters"),
    (b"code,name,kind,emails\nXA_X,X\x81a,xa,x@example.gov.vn\n", "row 2: bytes that are not cp1258 text"),
    ("code\tname\tkind\temails\nXA_X\tX\txa\tx@example.gov.vn\n".encode("utf-16") + b"\x00",
     "row 3: bytes that are not utf-16 text"),  # a byte after the last line's end
    (b"PK\x03\x04" + b"\x00" * 200, "a workbook that cannot be read"),
])
@pytest.mark.parametrize("command", [("validate",), ("rates",)])
def test_a_units_spreadsheet_that_cannot_be_read_is_refused_with_its_row_and_column(
        tmp_path, data: bytes, message: str, command: tuple[str, ...]) -> None:
    province = with_units_file(tmp_path, data)
    result = province.run(*command)
    assert result.exit_code == 2, result.output
    assert f"units_file: {tmp_path / 'units.csv'}: {message}" in result.output, result.output
    assert "Xã Xã" not in result.output  # a cell's content is never repeated


def test_a_units_workbook_that_declares_far_cells_is_refused_before_calamine_reads_it(tmp_path) -> None:
    """A few KB naming a cell at XFD1048576 would make the reader allocate the whole grid."""
    import io

    import openpyxl

    book = openpyxl.Workbook()
    for row in UNITS_ROWS:
        book.active.append(row)
    book.active["XFD1048576"] = "x"
    buffer = io.BytesIO()
    book.save(buffer)
    assert len(buffer.getvalue()) < 10_000
    province = with_units_file(tmp_path, buffer.getvalue())
    result = province.run("validate")
    assert result.exit_code == 2, result.output
    assert "a workbook that reaches row 1048576, column 16384: more than a units table holds" in result.output


def test_a_holiday_at_the_edge_of_the_calendar_is_refused_with_its_key(tmp_path) -> None:
    province = Province(tmp_path, extra='\n[index]\nholidays = ["02/09/2026", "31/12/9999"]\n')
    result = province.run("validate")
    assert result.exit_code == 2
    assert "index.holidays: 31/12/9999 is outside the days auditbot reasons about (01/01/1900 – 31/12/2100)" \
        in result.output and "02/09/2026" not in result.output


def test_a_misspelt_key_is_told_the_key_it_resembles_with_its_path(tmp_path) -> None:
    province = Province(tmp_path, extra="""
[emial]
sender = "x@example.gov.vn"

[schedule]
checks = "every day at 05:00"
weekly_reprot = "every monday at 07:30"

[portal]
colour = "blue"
""")
    text = province.rules.read_text(encoding="utf-8").replace("min_dossiers = 10", "min_dosiers = 10")
    province.rules.write_text(text.replace('aliases = ["Sở Tư Pháp', 'alias = ["Sở Tư Pháp'), encoding="utf-8")
    result = province.run("validate")
    assert result.exit_code == 2
    for expected in ("  - emial: unknown key (did you mean 'email'?)",
                     "  - schedule.weekly_reprot: unknown key (did you mean 'schedule.weekly_report'?)",
                     "  - thresholds.min_dosiers: unknown key (did you mean 'thresholds.min_dossiers'?)",
                     "  - units[0].alias: unknown key (did you mean 'units[0].aliases'?)"):
        assert expected in result.stderr.splitlines(), result.stderr
    assert "  - portal.colour: unknown key" in result.stderr.splitlines()  # nothing like it: no guess
