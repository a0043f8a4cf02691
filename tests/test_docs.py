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


def test_make_test_installs_chromium_itself_on_a_machine_without_it(tmp_path) -> None:
    """The README's second command does all of its set-up: `make test` depends on `make chromium`, which
    installs Debian's chromium when the PATH has none (apt-get here is a stand-in that records its call)."""
    import shutil
    import subprocess
    from pathlib import Path

    root = Path(__file__).parents[1]
    bare = tmp_path / "bin"  # the tools the recipe needs, and no chromium
    bare.mkdir()
    for tool in ("sh", "make", "id", "env"):
        (bare / tool).symlink_to(shutil.which(tool) or tool)
    calls = tmp_path / "calls"
    for fake in ("apt-get", "sudo"):
        (bare / fake).write_text(f'#!/bin/sh\necho "{fake} $*" >> {calls}\n'
                                 + ('exec "$@"\n' if fake == "sudo" else ""), encoding="utf-8")
        (bare / fake).chmod(0o755)

    def make_chromium() -> str:
        calls.unlink(missing_ok=True)
        done = subprocess.run(["make", "-s", "chromium"], cwd=root, capture_output=True, text=True,
                              env={"PATH": str(bare)}, timeout=60)
        assert done.returncode == 0, done.stderr
        return calls.read_text(encoding="utf-8") if calls.exists() else ""

    assert "apt-get install -y -qq chromium" in make_chromium()
    (bare / "chromium").symlink_to(shutil.which("true") or "/bin/true")
    assert make_chromium() == ""  # already there: nothing installed
    plan = subprocess.run(["make", "-n", "test"], cwd=root, capture_output=True, text=True, timeout=60)
    assert 0 <= plan.stdout.find("apt-get install") < plan.stdout.find("pytest")
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci and "apt-get" not in ci  # CI only calls it


def test_the_readme_reference_tables_are_generated_from_the_code() -> None:
    """The commands, checks and rules.toml keys in the README come from the code (`make readme`)."""
    import subprocess
    import sys

    root = Path(__file__).parents[1]
    done = subprocess.run([sys.executable, "-m", "cogapp", "--check", "-I", "tests", "README.md"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"README.md differs from the code: run `make readme`\n{done.stdout}{done.stderr}"
    for table in ("| Command | What it does |", "| Check | Title |", "| Key | Type | Default |"):
        assert table in README
