"""The README's reference tables, generated from the code with cog (`make readme`; a test fails when they
differ): the commands from the CLI itself, the checks from the registry, rules.toml's keys from reading
the sample province's file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from auditbot.cli import cli
from auditbot.config import documented_keys
from auditbot.plugins import registered_checks

SAMPLE_RULES = Path(__file__).parents[1] / "auditbot" / "sample" / "rules.toml"
# names a rules.toml chooses itself, shown as what they stand for
INSTANCES = ((r"^thresholds\.(?!(?:digitisation_min|online_min|online_payment_min|overdue_max|min_dossiers|"
              r"min_period_elapsed)$)[^.]+", "thresholds.<kind>"),
             (r"^exemptions\.[^.]+", "exemptions.<rate>"), (r"^catalogue\.levels\..+", "catalogue.levels.<level>"))
COMMON = {"--config", "--help"}  # every command takes them; said once under the table


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _synopsis(command: click.Command) -> str:
    parts = []
    for param in command.params:
        if COMMON & set(param.opts):
            continue
        if isinstance(param, click.Argument):
            name = (param.metavar or param.name or "").upper()
            parts.append(f"[{name} ...]" if param.nargs == -1 else name)
        elif isinstance(param, click.Option):
            flag = max(param.opts, key=len)
            value = "" if param.is_flag else f" {param.metavar or (param.name or '').upper()}"
            parts.append(f"[{flag}{value}]")
    return " ".join(parts)


def _summary(command: click.Command) -> str:
    """The help text up to its examples."""
    text = (command.help or "").split("\b")[0]
    return re.split(r"\n\s*Examples?:", text)[0]


def _commands(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            if command.invoke_without_command:
                found.append((f"{prefix}{name}", command))
            found += _commands(command, f"{prefix}{name} ")
        else:
            found.append((f"{prefix}{name}", command))
    return found


def commands_table() -> str:
    rows = ["| Command | What it does |", "|---|---|"]
    for name, command in _commands(cli, "auditbot "):
        rows.append(f"| `{_cell(f'{name} {_synopsis(command)}'.strip())}` | {_cell(_summary(command))} |")
    return "\n".join(rows)


def checks_table() -> str:
    rows = ["| Check | Title | Told to | Refreshes | Details it gives |", "|---|---|---|---|---|"]
    for cid, check in registered_checks().items():
        told = "the centre" if check.audience == "centre" else "the unit"
        rows.append(f"| `{cid}` | {check.title} | {told} | {check.source or '—'} | "
                    f"{', '.join(f'`{key}`' for key in check.details)} |")
    return "\n".join(rows)


def _default(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if value == "required":
        return "**required**"
    return f"`{value}`".replace("|", "\\|")


def keys_table() -> str:
    rows = ["| Key | Type | Default |", "|---|---|---|"]
    seen: set[str] = set()
    for key, (kind, default) in documented_keys(SAMPLE_RULES).items():
        if ":" in key:  # a row of the units spreadsheet: the same keys as [[units]]
            continue
        for pattern, name in INSTANCES:
            key = re.sub(pattern, name, key)
        if key not in seen:
            seen.add(key)
            rows.append(f"| `{key}` | {kind} | {_default(default)} |")
    return "\n".join(rows)
