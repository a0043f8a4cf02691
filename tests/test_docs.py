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
