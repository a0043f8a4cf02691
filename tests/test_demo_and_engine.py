from __future__ import annotations

import shutil
from pathlib import Path

import sqlite_utils
from click.testing import CliRunner

from auditbot.cli import cli
from auditbot.model import Check
from auditbot.plugins import hookimpl, plugin_manager
from auditbot.samplegen import CITIZENS

ROOT = Path(__file__).parents[1]


def test_demo_audits_the_sample_province_end_to_end(tmp_path) -> None:
    shutil.copy(ROOT / "rules.toml", tmp_path / "rules.toml")
    shutil.copytree(ROOT / "sample", tmp_path / "sample", ignore=shutil.ignore_patterns("generated"))
    result = CliRunner().invoke(cli, ["demo", "--config", str(tmp_path / "rules.toml")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "ho-so-thang-10-2026.xlsx: 60 rows, 60 new" in result.output
    assert f"Database: {tmp_path / 'var' / 'auditbot.db'}" in result.output
    db = sqlite_utils.Database(tmp_path / "var" / "auditbot.db")
    checks = {row["check_id"] for row in db.query("SELECT DISTINCT check_id FROM findings")}
    assert {"dossier.overdue", "dossier.shared_result", "rate.digitisation"} <= checks
    assert db["rejected_rows"].count == 0
    text = (tmp_path / "var" / "auditbot.db").read_bytes().decode("utf-8", "ignore")
    for name in (*CITIZENS, "Nguyễn Văn A", "Lê Văn C"):
        assert name not in text
    # a second run keeps what is still open: nothing new, nothing resolved
    again = CliRunner().invoke(cli, ["demo", "--config", str(tmp_path / "rules.toml")], catch_exceptions=False)
    assert " 0 new, 0 resolved" in again.output


class BrokenChecks:
    @hookimpl
    def auditbot_checks(self) -> list[Check]:
        def explode(context):
            raise RuntimeError("boom")
            yield  # pragma: no cover

        return [Check("dossier.broken", "Hỏng", explode)]


def test_a_failing_check_is_recorded_and_the_others_still_run(province) -> None:
    from datetime import datetime, timedelta

    from test_rates_and_checks import dossier, load

    now = datetime.now()
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
    assert "check failed: dossier.broken" in result.output and "boom" in result.output
    assert "dossier.overdue" in result.output
    run = list(sqlite_utils.Database(province.db_path).query("SELECT * FROM runs ORDER BY id DESC LIMIT 1"))[0]
    assert run["status"] == "failed" and "boom" in run["error"] and run["opened"] == 1
