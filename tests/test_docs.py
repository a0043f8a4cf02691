from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from auditbot.cli import cli

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found = []
    for name, command in group.commands.items():
        found.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            found += commands(command, f"{prefix}{name} ")
    return found


@pytest.mark.parametrize("name,command", commands(cli), ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_explains_itself_with_an_example(name, command) -> None:
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0
    if not isinstance(command, click.Group):
        assert "Example" in result.output, f"`auditbot {name} --help` has no example"
    assert f"auditbot {name}" in README, f"README does not mention `auditbot {name}`"


def test_short_help_flag() -> None:
    assert CliRunner().invoke(cli, ["-h"]).exit_code == 0


def test_dates_are_asked_and_refused_in_the_words_people_use(tmp_path) -> None:
    from conftest import Province

    province = Province(tmp_path)
    impossible = province.run("rates", "--from", "31/02/2026")
    assert impossible.exit_code == 2 and "31/02/2026 is not a real date" in impossible.output
    shapeless = province.run("rates", "--to", "2026/13/01")
    assert shapeless.exit_code == 2 and "is not a date like 31/10/2026 (dd/mm/yyyy)" in shapeless.output
    assert "--from DD/MM/YYYY" in province.run("rates", "--help").output
    assert province.run("rates", "--from", "2026-10-01", "--to", "31/10/2026").exit_code == 0
