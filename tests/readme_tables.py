"""The README's reference tables, generated from the code with cog (`make readme`; a test fails when they
differ): the commands from the CLI itself, the checks from the registry, rules.toml's keys from reading
the sample province's file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from auditbot.checking.plugins import registered_checks
from auditbot.cli import cli
from auditbot.config.rules import documented_keys

SAMPLE_RULES = Path(__file__).parents[1] / "rules.toml"
# names a rules.toml chooses itself, shown as what they stand for
INSTANCES = ((r"^thresholds\.(?!(?:digitisation_min|online_min|online_payment_min|overdue_max|min_dossiers|"
              r"min_period_elapsed|receipt_hours)$)[^.]+", "thresholds.<kind>"),
             (r"^exemptions\.[^.]+", "exemptions.<rate>"), (r"^catalogue\.levels\..+", "catalogue.levels.<level>"),
             (r"^kinds\.[^.]+", "kinds.<kind>"))
COMMON = {"--config", "--help", "--quiet", "--verbose"}  # every command takes them; said once under the table


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
            parts.append(f"{flag}{value}" if param.required else f"[{flag}{value}]")
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
        told = {"centre": "the centre", "sync": "[routing] sync and the centre"}.get(check.audience, "the unit")
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


BENCH_RESULTS = Path(__file__).parents[1] / "bench" / "results.json"


def _vn(value: float, digits: int = 2) -> str:
    """1234.5 -> 1.234,50: numbers as the README's readers write them."""
    text = f"{value:,.{digits}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def speed_table() -> str:
    """#23's targets with what `make bench` last measured (bench/results.json), each against its target."""
    import json

    results = json.loads(BENCH_RESULTS.read_text(encoding="utf-8"))
    rows: list[tuple[str, str, str, str, bool]] = []
    if "dossiers" in results:
        d = results["dossiers"]
        rows += [
            (f"import + rates, {_vn(d['rows'], 0)}-row CSV, against pandas", f"{_vn(d['auditbot_s'])} s",
             f"pandas {_vn(d['pandas_s'])} s: {_vn(d['to_pandas'])}×", "≤ 1,0×", d["to_pandas"] <= 1.0),
            ("the same, against DuckDB", f"{_vn(d['auditbot_s'])} s", f"DuckDB {_vn(d['duckdb_s'])} s: {_vn(d['to_duckdb'])}×",
             "≤ 3×", d["to_duckdb"] <= 3.0)]
        if "to_sqlite3" in d:
            rows.append(("the same, against the floor: sqlite3's own `.import --csv` + one GROUP BY",
                         f"{_vn(d['auditbot_s'])} s", f"sqlite3 {_vn(d['sqlite3_s'])} s: {_vn(d['to_sqlite3'])}×",
                         "≤ 1,5×", d["to_sqlite3"] <= 1.5))
        rows += [
            ("peak memory of that import", f"{_vn(d['import_peak_mb'], 0)} MB", "", "≤ 400 MB", d["import_peak_mb"] <= 400)]
        if "xlsx_rows" in d:
            rows += [
                (f"import of a {_vn(d['xlsx_rows'], 0)}-row XLSX, time per row", f"{_vn(d['xlsx_s'])} s",
                 f"CSV's per row: {_vn(d['xlsx_per_row_to_csv'])}×", "≤ 3×", d["xlsx_per_row_to_csv"] <= 3.0),
                ("peak memory of that import", f"{_vn(d['xlsx_peak_mb'], 0)} MB", "", "≤ 400 MB", d["xlsx_peak_mb"] <= 400)]
    if "letters" in results:
        r = results["letters"]
        rows.append((f"{_vn(r['letters'], 0)} letters of {_vn(r['units'], 0)} units composed and sent", f"{_vn(r['auditbot_s'])} s",
                     f"bare smtplib {_vn(r['smtplib_s'])} s: {_vn(r['to_smtplib'])}×", "≤ 3×", r["to_smtplib"] <= 3.0))
    if "history" in results:
        h = results["history"]
        rows += [
            (f"slowest canned query or chart, {_vn(h['dossiers'], 0)} dossiers, {_vn(h['findings'], 0)} findings",
             "over Datasette's time limit" if h["slowest_page_ms"] is None else f"{_vn(h['slowest_page_ms'], 0)} ms",
             f"{h['slow_pages']} of {h['pages']} pages slower", "< 300 ms",
             h["slowest_page_ms"] is not None and h["slowest_page_ms"] < h["page_target_ms"]),
            ("the weekly check run over that history", f"{_vn(h['check_seconds'], 1)} s", "", "< 60 s",
             h["check_seconds"] < h["check_target_s"])]
    if "answers_flood" in results:
        f = results["answers_flood"]
        flood = f"{_vn(f['rate_offered'], 0)} requests/s for {f['seconds']} s"
        rows += [
            (f"answer page under a flood of {flood}: served", f"{_vn(f['rate_served'], 0)}/s, {f['failed']} failed",
             "the rate offered", "all, none failed", f["rate_served"] >= 0.95 * f["rate_offered"] and f["failed"] == 0),
            ("a unit's own page during that flood (median)", f"{_vn(f['page_flooded_ms'], 1)} ms",
             f"idle {_vn(f['page_idle_ms'], 1)} ms: {_vn(f['page_slowdown'])}×", "≤ 10×", f["page_slowdown"] <= 10),
            ("peak memory of `serve` during that flood", f"{_vn(f['peak_mb'], 0)} MB", "", "≤ 400 MB",
             f["peak_mb"] <= 400)]
    measured = sorted({f"{v['measured_on']}, {v['machine']}" for v in results.values()})
    lines = ["| measured by `make bench` | auditbot | peer in the same run | target | |", "|---|---|---|---|---|"]
    lines += [f"| {what} | {ours} | {peer} | {target} | {'pass' if passed else '**fail**'} |"
              for what, ours, peer, target, passed in rows]
    return "\n".join(lines) + f"\n\nMeasured {'; '.join(measured)}.\n"
