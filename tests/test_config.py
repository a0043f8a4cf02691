from __future__ import annotations

from auditbot.config import load_config

from conftest import Province


def test_validate_accepts_the_bundled_rules() -> None:
    from click.testing import CliRunner

    from auditbot.cli import cli

    from auditbot.bundled import sample_province

    result = CliRunner().invoke(cli, ["validate", "--config", str(sample_province() / "rules.toml")])
    assert result.exit_code == 0, result.output
    assert "8 units" in result.output


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
    assert "units[1].emails: unit 'SXD' has no email address" in output
    assert "thresholds.digitisation_min: expected a percentage between 0 and 100, got 120" in output
    assert "4 problem(s)" in output


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
    assert result.exit_code == 0 and "Thử Nghiệm: 3 units" in result.output
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
    assert result.exit_code == 2
    assert "units_file:units.csv:row 3.emails: unit 'XA_B' has no email address" in result.output
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
    assert "weekly_report" not in result.stderr
