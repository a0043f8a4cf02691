"""The `auditbot` command: one small function per command, no logic of its own."""

from __future__ import annotations

import getpass
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from contextlib import nullcontext
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from auditbot import commands
from auditbot.config.rules import Config, config_path
from auditbot.domain.rates import FIELD_ORDER, GROUPINGS, rate_text
from auditbot.errors import ConfigError, UserError
from auditbot.ops import progress
from auditbot.report.output import format_option, render, sheet_format_option, table
from auditbot.report.wording import REASONS, Words, shipped_words, words_for
from auditbot.store import unit_label
from auditbot.words import vietnamese
from auditbot.words.periods import calendar_span, within_calendar
from auditbot.words.text import as_typed

if TYPE_CHECKING:  # imported where used: every invocation pays for what the module imports
    from auditbot.report.outbox import Delivery
    from auditbot.report.sheets import Column
    from auditbot.sources.tabular.pipeline import ImportSummary

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


class VietnameseDate(click.ParamType):  # type: ignore[type-arg]
    """A date as people here write it (31/10/2026; 2026-10-31 also taken), with errors in their words."""

    name = "dd/mm/yyyy"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        for shape in ("%d/%m/%Y", "%Y-%m-%d"):
            try:
                day = datetime.strptime(text, shape)
            except ValueError as exc:
                if "unconverted" not in str(exc) and "does not match" not in str(exc):
                    self.fail(f"{text} is not a real date", param, ctx)  # 31/02/2026: the shape is right
                continue
            if not within_calendar(day.date()):
                self.fail(f"{text} is outside the days auditbot reasons about ({calendar_span()})", param, ctx)
            return day
        self.fail(f"{text!r} is not a date like 31/10/2026 (dd/mm/yyyy)", param, ctx)

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "DD/MM/YYYY"


DATE = VietnameseDate()


UNEXPECTED = 4  # exit code of a failure nobody foresaw (0/1: findings, 2: usage or input, 3: a run in progress)


class Cli(click.Group):
    """Turns UserError into a plain message and exit code 2, and anything unforeseen into one line and
    exit code 4: never a traceback. That line names the error's kind and place, not its text (which
    could quote an export's cell); AUDITBOT_DEBUG=1 lets the traceback through."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            if os.environ.get("AUDITBOT_DEBUG"):
                raise
            where = traceback.extract_tb(exc.__traceback__)[-1]
            click.echo(f"Error: unexpected {type(exc).__name__} in {Path(where.filename).name}:{where.lineno};"
                       " what was stored before it stays. Run again with AUDITBOT_DEBUG=1 for the traceback,"
                       " and report it.", err=True)
            ctx.exit(UNEXPECTED)


class DefaultCommandGroup(click.Group):
    """A group whose first word may be an argument of its default command: `listings STP` runs
    `listings show STP`, while `listings accept STP` runs `accept`."""

    default_command = "show"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def period_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--from/--to or --period, --by and --unit: the figures' and the index's way of choosing what to show."""
    for option in reversed((
        click.option("--from", "start", type=DATE, default=None, help="First day (dd/mm/yyyy); default: period start."),
        click.option("--to", "end", type=DATE, default=None, help="Last day, inclusive; default: today."),
        click.option("--period", "period_text", default=None, metavar="PERIOD",
                     help="A quarter (Q3/2026), month (11/2026) or year (2026); a closed one gives its final figures."),
        click.option("--by", type=click.Choice(GROUPINGS), default="unit", show_default=True),
        click.option("--unit", "units", multiple=True, help="Only these units (repeatable)."),
    )):
        fn = option(fn)
    return fn


def config_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
                        help="rules.toml to use (default ./rules.toml, or $AUDITBOT_CONFIG).")(fn)


def load(config_file: str | None) -> Config:
    return commands.open_config(config_path(config_file))


QUIET, NORMAL, VERBOSE = -1, 0, 1
VERBOSITY = "auditbot.verbosity"  # in the context's meta, which every command and group of one invocation share


def _set_verbosity(level: int) -> Callable[[click.Context, click.Parameter, bool], None]:
    def remember(ctx: click.Context, param: click.Parameter, given: bool) -> None:
        if given:
            if ctx.meta.get(VERBOSITY, level) != level:
                raise click.UsageError("-q/--quiet and -v/--verbose exclude each other")
            ctx.meta[VERBOSITY] = level
            if level == VERBOSE:  # the detail: what the engine logs while it works, for this command only
                from auditbot.ops.logs import setup_logging

                root = logging.getLogger()
                handlers, before = root.handlers[:], root.level
                setup_logging("INFO")

                def restore() -> None:
                    root.handlers[:] = handlers
                    root.setLevel(before)

                ctx.call_on_close(restore)
    return remember


def verbosity_options(command: click.Command) -> click.Command:
    """-q/--quiet (a summary line or two) and -v/--verbose (detail and log lines), given to every command."""
    command.params += [
        click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, is_eager=True,
                     callback=_set_verbosity(QUIET), help="Print only a summary line or two."),
        click.Option(["-v", "--verbose"], is_flag=True, expose_value=False, is_eager=True,
                     callback=_set_verbosity(VERBOSE), help="Also print detail and log lines."),
    ]
    return command


def verbosity() -> int:
    ctx = click.get_current_context(silent=True)
    return int(ctx.meta.get(VERBOSITY, NORMAL)) if ctx else NORMAL


def on_terminal(words: Words) -> Any:
    """Progress bars on stderr while the work runs, when stderr is a terminal and -q was not given."""
    if verbosity() == QUIET:
        return nullcontext()
    return progress.on_terminal(lambda what, fields: words(f"progress.{what}", **fields))


def write_sheet(config: Config, output: Path | None, name: str, columns: list[Column],
                rows: list[list[Any]]) -> None:
    """--format xlsx: the rows as a workbook at --output (never onto the database, the config or an input)."""
    from auditbot.report.output_files import write_output
    from auditbot.report.sheets import workbook_bytes

    if output is None:
        raise click.UsageError("--format xlsx writes a file: give --output FILE.xlsx")
    write_output(config, output, workbook_bytes(name, columns, rows))
    if verbosity() != QUIET:
        click.echo(words_for(config)("lines.written", file=output), err=True)


def no_output_without_xlsx(output_format: str, output: Path | None) -> None:
    if output is not None and output_format != "xlsx":
        raise click.UsageError("--output goes with --format xlsx (the other formats print)")


@click.group(cls=Cli, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="auditbot")
def cli() -> None:
    """Audit a province's administrative procedures and dossiers; alert each unit.

    \b
    Quick start on the bundled sample province:
        auditbot demo
        cd auditbot-demo
        auditbot check STP
        auditbot rates --by kind

    \b
    A real province:
        auditbot init my-province
        (edit my-province/rules.toml and units.csv)
        auditbot validate --config my-province/rules.toml
    """


FINDING_COLUMNS = ("id", "check", "unit", "subject", "title", "severity", "status", "first_seen", "last_seen",
                   "resolved_at", "details")


def print_findings(config: Config, findings: list[dict[str, Any]], output_format: str,
                   output: Path | None = None) -> None:
    words = words_for(config)
    if output_format == "xlsx":
        from auditbot.report.sheets import Column

        columns = [Column(words("headers.id")), Column(words("headers.unit")), Column(words("headers.name")),
                   Column(words("headers.check")), Column(words("headers.title")), Column(words("headers.status")),
                   Column(words("headers.since"), "date"), Column(words("headers.last_seen"), "date"),
                   Column(words("headers.resolved_at"), "date")]
        write_sheet(config, output, words("sheets.findings"), columns, [
            [f["id"], f["unit"], unit_label(config, f["unit"]), f["check"], f["title"], words.known("statuses", f["status"]),
             f["first_seen"], f["last_seen"], f["resolved_at"]] for f in findings])
        return
    if output_format == "table" and verbosity() == QUIET:
        return

    def cells(f: dict[str, Any]) -> list[str]:
        return [f["id"], f["unit"], f["check"], f["title"], words.known("statuses", f["status"]),
                vietnamese.day(f["first_seen"])]

    click.echo(render(findings, output_format, FINDING_COLUMNS, cells,
                      [words(f"headers.{key}") for key in ("id", "unit", "check", "title", "status", "since")]))


@cli.command()
@click.argument("units", nargs=-1)
@click.option("--all", "all_units", is_flag=True, help="Check every unit (the default when no UNIT is given).")
@click.option("--checks", "check_ids", default=None,
              help="Comma-separated check ids or families, e.g. dossier.overdue,rate.")
@click.option("--offline", is_flag=True, help="Use stored observations only; fetch nothing from the network.")
@format_option
@config_option
def check(units: tuple[str, ...], all_units: bool, check_ids: str | None, offline: bool, output_format: str,
          config_file: str | None) -> None:
    """Run checks now and print the open findings of the units checked.

    Exit code 0 when nothing is open, 1 when something is, 2 on a usage or config error.

    \b
    Examples:
        auditbot check STP
        auditbot check --all --checks rate --format json
    """
    config = load(config_file)
    words = words_for(config)
    with on_terminal(words):
        result = commands.check(config, units, all_units, check_ids.split(",") if check_ids else None, offline=offline)
    for error in result.errors:
        click.echo(words("lines.check_failed", error=error), err=True)
    for note in result.notes:
        click.echo(words("lines.check_not_read", note=note), err=True)
    print_findings(config, result.findings, output_format)
    if output_format == "table":
        c = result.counts
        click.echo(("" if verbosity() == QUIET else "\n") + words(
            "lines.check_summary", run=result.run_id, open=vietnamese.number(len(result.findings)),
            new=vietnamese.number(c.opened), reopened=vietnamese.number(c.reopened),
            resolved=vietnamese.number(c.resolved)), err=True)
        if result.findings:
            click.echo(worst_units(words, result.findings), err=True)
        if verbosity() == VERBOSE:  # the detail: open findings per check
            from collections import Counter

            for check_id, count in sorted(Counter(f["check"] for f in result.findings).items()):
                click.echo(f"  {check_id}: {vietnamese.number(count)}", err=True)
    sys.exit(1 if result.findings or result.errors else 0)


WORST_SHOWN = 5  # the summary names the units with most open findings, not all 200


def worst_units(words: Words, findings: list[dict[str, Any]]) -> str:
    from collections import Counter

    per_unit = Counter(f["unit"] for f in findings).most_common()
    worst = ", ".join(f"{unit} {vietnamese.number(count)}" for unit, count in per_unit[:WORST_SHOWN])
    return words("lines.check_units", units=vietnamese.number(len(per_unit)),
                 worst=worst + (", …" if len(per_unit) > WORST_SHOWN else ""))


@cli.command()
@click.option("--unit", default=None, help="Only this unit's findings.")
@click.option("--status", type=click.Choice(["open", "resolved", "muted", "all"]), default="open",
              show_default=True)
@click.option("--checks", "check_ids", default=None, help="Comma-separated check ids.")
@sheet_format_option
@config_option
def findings(unit: str | None, status: str, check_ids: str | None, output_format: str, output: Path | None,
             config_file: str | None) -> None:
    """List stored findings, with their history fields.

    \b
    Examples:
        auditbot findings --unit STP
        auditbot findings --status all --format json
        auditbot findings --format xlsx --output vi-pham.xlsx
    """
    no_output_without_xlsx(output_format, output)
    config = load(config_file)
    found = commands.list_findings(config, unit, status, check_ids.split(",") if check_ids else None)
    print_findings(config, found, output_format, output)
    if output_format == "table":
        words = words_for(config)
        counts: dict[str, int] = {}
        for finding in found:
            counts[finding["status"]] = counts.get(finding["status"], 0) + 1
        click.echo(words("lines.findings_summary", count=vietnamese.number(len(found)), statuses=", ".join(
            f"{vietnamese.number(n)} {words.known('statuses', s)}" for s, n in sorted(counts.items()))), err=True)


@cli.command("warnings")
@click.option("--unit", default=None, help="Only this unit's dossiers.")
@format_option
@config_option
def warnings_command(unit: str | None, output_format: str, config_file: str | None) -> None:
    """Show the open dossiers due within [warnings] due_within working hours, by unit and procedure:
    the list the daemon's daily_warning job mails each unit.

    \b
    Examples:
        auditbot warnings
        auditbot warnings --unit STP --format json
    """
    from auditbot.report.warnings import ROW_FIELDS, table_headers

    config = load(config_file)
    found = commands.warnings(config, unit)
    click.echo(render(found.rows(), output_format, ROW_FIELDS, lambda row: (
        row["unit"], row["procedure_code"] or "", row["procedure_name"] or "", row["code"],
        vietnamese.moment(row["due_at"]), vietnamese.number(row["working_hours_left"])), table_headers(config)))


@cli.command("units")
@click.option("--on", "on", type=DATE, default=None, metavar="DATE", help="The units in force on this day (dd/mm/yyyy; default today).")
@click.option("--all", "everyone", is_flag=True, help="Every unit configured, past and present.")
@sheet_format_option
@config_option
def units_command(on: datetime | None, everyone: bool, output_format: str, output: Path | None,
                  config_file: str | None) -> None:
    """Show the units in force on a day, whom each took over from and who took over from it.

    \b
    Examples:
        auditbot units
        auditbot units --on 30/06/2025
        auditbot units --all --format csv
        auditbot units --all --format xlsx --output don-vi.xlsx
    """
    no_output_without_xlsx(output_format, output)
    config = load(config_file)
    words = words_for(config)
    rows = commands.units_on(config, on.date() if on else None, everyone)
    shown = ("code", "name", "kind", "valid_from", "valid_to", "predecessors", "successors")
    headers = [words(f"headers.{key}") for key in shown]
    if output_format == "xlsx":
        from auditbot.report.sheets import Column

        kinds = {"valid_from": "date", "valid_to": "date"}
        write_sheet(config, output, words("sheets.units"), [Column(h, kinds.get(k, "text")) for h, k in zip(headers, shown)],
                    [[row["code"], row["name"], words.kind(row["kind"]), row["valid_from"], row["valid_to"],
                      ", ".join(row["predecessors"]), ", ".join(row["successors"])] for row in rows])
        return
    if output_format == "table" and verbosity() == QUIET:
        click.echo(words("lines.units_summary", count=vietnamese.number(len(rows))))
        return
    columns = ("code", "name", "kind", "valid_from", "valid_to", "predecessors", "successors", "in_force")
    click.echo(render(rows, output_format, columns, lambda row: (
        row["code"], row["name"], words.kind(row["kind"]), vietnamese.day(row["valid_from"]),
        vietnamese.day(row["valid_to"]), ", ".join(row["predecessors"]),
        ", ".join(row["successors"])), headers))


@cli.command()
@click.argument("finding_id")
@click.option("--reason", required=True, help="Why the finding is acknowledged (kept in its history).")
@click.option("--until", type=DATE, default=None, help="Mute until this date (dd/mm/yyyy); forever if absent.")
@config_option
def mute(finding_id: str, reason: str, until: datetime | None, config_file: str | None) -> None:
    """Acknowledge a finding: still tracked, left out of emails until the date.

    \b
    Example:
        auditbot mute 3f2a9c1d0b7e --reason "Sở đã có văn bản giải trình" --until 31/12/2026
    """
    config = load(config_file)
    words = words_for(config)
    before = commands.mute(config, finding_id, reason, until.date() if until else None)

    def until_words(day: str | date | None) -> str:
        return words("lines.mute_until", date=vietnamese.day(day)) if day else words("lines.mute_forever")

    now_until = until_words(until)
    if before is None:
        click.echo(words("lines.muted", id=finding_id, until=now_until))
        return
    was_until = until_words(before["until"])
    changes = [words("lines.mute_change", before=was_until, after=now_until) if was_until != now_until
               else words("lines.mute_still", until=now_until)]
    if before["reason"] != reason:
        changes.append(words("lines.mute_reason", before=before["reason"], after=reason))
    click.echo(words("lines.mute_changed", id=finding_id, changes="; ".join(changes)))
    if before["until"] and until is None:
        click.echo(words("lines.mute_no_end"), err=True)


@cli.command()
@click.argument("finding_id")
@config_option
def unmute(finding_id: str, config_file: str | None) -> None:
    """End a mute now: the finding is open (and emailed) again.

    \b
    Example:
        auditbot unmute 3f2a9c1d0b7e
    """
    config = load(config_file)
    commands.unmute(config, finding_id)
    click.echo(words_for(config)("lines.unmuted", id=finding_id))


@cli.command()
@config_option
def validate(config_file: str | None) -> None:
    """Check rules.toml and report every problem at once, with its key path.

    \b
    Example:
        auditbot validate --config /etc/auditbot/rules.toml
    """
    config = load(config_file)
    words = words_for(config)
    for warning in config.warnings:  # about rules.toml's keys, in the words of its errors (English, with key paths)
        click.echo(f"warning: {warning}", err=True)
    missing = [str(p) for p in (config.catalogue, *config.dossier_sources) if p is not None and not p.exists()]
    for path in missing:
        click.echo(f"warning: source not found (yet): {path}", err=True)
    if config.local_sites is not None:
        click.echo(words("setup.local_sites", domains=", ".join(config.local_sites.domains),
                         folder=config.local_sites.folder), err=True)
    problems = commands.environment_problems(config)
    if problems:
        raise ConfigError(f"{config.path}: {len(problems)} problem(s) in this environment", problems)
    kinds = sorted({u.kind for u in config.units})
    ended = len(config.units) - len(commands.units_on(config, None))
    click.echo(words("lines.validate_ok", path=config.path, province=config.province,
                     units=vietnamese.number(len(config.units)), kinds="; ".join(words.kind(k) for k in kinds),
                     ended=words("lines.validate_ended", ended=vietnamese.number(ended)) if ended else "",
                     database=config.database))


import_format_option = click.option(
    "--format", "output_format", type=click.Choice(("table", "json")), default="table", show_default=True,
    help="Output format (json: the summaries, each rejection's reason as a code with its params).")


@cli.group(name="import")
def import_group() -> None:
    """Import source files (dossier exports, the procedure catalogue)."""


@import_group.command(name="dossiers")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show the column mapping, missing fields and first rows; write nothing.")
@import_format_option
@config_option
def import_dossiers(files: tuple[Path, ...], dry_run: bool, output_format: str, config_file: str | None) -> None:
    """Import dossier exports: CSV, XLSX/XLS/ODS (also HTML or XML Spreadsheet saved as .xls), or the
    portal's sync JSON (DongBoHoSoMC bodies, HoSoDongBoDVC lists).

    Without FILES, imports everything under [sources].dossiers. Personal-data columns are never read.
    Exit code 1 when a file's rows were all rejected, 2 when a file could not be read (the others are
    still imported).

    \b
    Examples:
        auditbot import dossiers exports/thang-10.xlsx
        auditbot import dossiers exports/thang-10.xls --dry-run
        auditbot import dossiers
    """
    config = load(config_file)
    with on_terminal(words_for(config)):
        outcome = commands.import_dossier_files(config, files, dry_run=dry_run)
    _report_imports(config, outcome.summaries, outcome.errors, output_format)


@import_group.command(name="catalogue")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@import_format_option
@config_option
def import_catalogue(file: Path | None, output_format: str, config_file: str | None) -> None:
    """Import the official procedure catalogue (CSV/XLSX/…): codes, names, status, validity, agencies.

    Without FILE, imports [sources].catalogue. A procedure applies to each unit its agency cell names,
    to every unit of a generic agency's kinds ("UBND cấp xã"), or, without an agency, to the kinds its
    level maps to under [catalogue.levels]. Exit code 1 when no procedure applies to any unit.

    \b
    Example:
        auditbot import catalogue data/danh-muc-tthc.xlsx
    """
    config = load(config_file)
    words = words_for(config)
    with on_terminal(words):
        summary = commands.import_catalogue_file(config, file)
    _report_imports(config, [summary], [], output_format)


def _report_imports(config: Config, summaries: list[ImportSummary], errors: list[str], output_format: str) -> None:
    from auditbot.report.imported import summary_lines

    words = words_for(config)
    if output_format == "json":  # scripts read the codes: each rejection's reason and its params, in English
        click.echo(json.dumps([summary.as_dict() for summary in summaries], ensure_ascii=False, indent=2))
    for summary in summaries:
        if output_format == "table":
            lines = summary_lines(words, words_for(config, REASONS), summary, every_rejection=verbosity() == VERBOSE)
            click.echo("\n".join(lines[:1] if verbosity() == QUIET else lines))
        for problem in summary.problems:
            click.echo(words("lines.import_problem", file=summary.file, problem=problem), err=True)
    for error in errors:
        click.echo(f"Error: {error}", err=True)
    if errors:
        sys.exit(2)
    if any(summary.failed for summary in summaries):
        sys.exit(1)


RATE_COLUMNS = ("received", "online_rate", "finished", "on_time_rate", "digitisation_rate", "online_payment_rate",
                "unfinished", "overdue_rate")  # after the group: what the table and the workbook show


@cli.group(cls=DefaultCommandGroup)
def listings() -> None:
    """What a unit's listing pages give, and how each item matched the catalogue.

    \b
    Examples:
        auditbot listings STP
        auditbot listings STP --url https://stp.example.gov.vn/tthc --selector "div.tthc"
        auditbot listings accept STP
    """


@listings.command(name="show")
@click.argument("unit")
@click.option("--url", default=None, help="Read this page instead of the unit's listing_urls.")
@click.option("--selector", default=None, help="Try a CSS selector of one listed procedure (as listing_selector).")
@format_option
@config_option
def listings_show(unit: str, url: str | None, selector: str | None, output_format: str,
                  config_file: str | None) -> None:
    """Read the unit's listing pages now (nothing is stored) and show every item, how it matched the
    catalogue (by code, name, spelling or a former name; else the nearest candidates), and every row
    passed over with the reason. Exit 0 when every page was read credibly, 1 when one was not.

    \b
    Examples:
        auditbot listings XA_AN
        auditbot listings SYT --selector "div.the-tthc" --format json
    """
    config = load(config_file)
    words = words_for(config)
    with on_terminal(words):
        sites = commands.listing_reading(config, unit, url, selector)
    if output_format == "json":
        click.echo(json.dumps(sites, ensure_ascii=False, indent=2))
    else:
        rows = [{"url": site["url"], **item} for site in sites for item in site["items"]]
        if output_format == "csv":
            click.echo(render(rows, "csv", ["url", "page", "section", "name", "code", "match", "procedure",
                                            "procedure_name", "links"]))
        else:
            for site in sites:
                click.echo(listing_summary(words, site))
                if verbosity() == QUIET:
                    continue
                if site["items"]:
                    click.echo(table([words(f"headers.{key}") for key in (
                        "number", "procedure_name", "procedure_code", "match", "procedure")], [
                        [str(n), item["name"], item["code"] or "", words.known("matches", item["match"] or "none"),
                         item["procedure"] or ", ".join(c["code"] for c in item["nearest"])]
                        for n, item in enumerate(site["items"], start=1)]))
                if site["skipped"]:
                    click.echo("\n" + words("lines.listing_passed_over"))
                    click.echo(table([words("headers.reason"), words("headers.text")],
                                     [[words.known("reasons", row["reason"]), row["text"]] for row in site["skipped"]]))
                click.echo()
    sys.exit(0 if all(site["credible"] for site in sites) else 1)


def listing_summary(words: Words, site: dict[str, Any]) -> str:
    if site["credible"]:
        return words("lines.listing_read", url=site["url"], layout=words.known("layouts", site["layout"] or "none"),
                     pages=vietnamese.number(site["pages"]), items=vietnamese.number(len(site["items"])))
    return words("lines.listing_not_evidence", url=site["url"], reason=words.known("reasons", site["reason"] or ""),
                 error=site["error"])


@listings.command(name="accept")
@click.argument("unit")
@config_option
def listings_accept(unit: str, config_file: str | None) -> None:
    """Confirm the unit's latest reading (e.g. after a site redesign reported as
    "trang thay đổi cấu trúc"): its counts become the baseline the next readings are judged by.
    Run `auditbot check UNIT` afterwards.

    \b
    Examples:
        auditbot listings accept STP
    """
    config = load(config_file)
    words = words_for(config)
    rows = commands.accept_listing(config, unit)
    if not rows:
        raise UserError(f"unit {unit} has no reading yet: run `auditbot check {unit}` first")
    for row in rows:
        line = "lines.listing_accepted" if row["accepted"] else "lines.listing_not_accepted"
        click.echo(words(line, url=row["url"], items=vietnamese.number(row["items"] or 0)))
    sys.exit(0 if any(row["accepted"] for row in rows) else 1)


@cli.command()
@period_options
@sheet_format_option
@config_option
def rates(start: datetime | None, end: datetime | None, period_text: str | None, by: str, units: tuple[str, ...],
          output_format: str, output: Path | None, config_file: str | None) -> None:
    """Dossier figures and rates per unit, unit kind or province (cut, not rounded, to 2 decimals).

    The default period is [dossiers].period in rules.toml (the quarter so far, provisional). A period
    that has ended settles for [dossiers].settle_days while late exports arrive; the first check run
    after that freezes its figures, and --period shows those final figures from then on.

    \b
    Examples:
        auditbot rates --by kind
        auditbot rates --period Q3/2026 --by kind
        auditbot rates --from 01/10/2026 --to 31/10/2026 --format json
        auditbot rates --by kind --format xlsx --output ty-le.xlsx
    """
    no_output_without_xlsx(output_format, output)
    config = load(config_file)
    words = words_for(config)
    outcome, figures = commands.rates(config, start, end, by, units, period_text)
    period = outcome.period
    rows = [f.as_row(config.rounding) for f in figures]
    headers = [words(f"headers.group_{by}"), *(words(f"headers.{key}") for key in RATE_COLUMNS)]

    def label(group: str) -> str:
        return group_label(config, words, by, group)

    if output_format == "xlsx":
        from auditbot.report.sheets import Column

        write_sheet(config, output, words("sheets.rates"),
                    [Column(headers[0]), *(Column(h, "percent" if key.endswith("_rate") else "number")
                                           for h, key in zip(headers[1:], RATE_COLUMNS))],
                    [[label(row["group"]), *(row[key] for key in RATE_COLUMNS)] for row in rows])
        return

    def cells(row: dict[str, Any]) -> list[str]:
        return [label(row["group"]), *(rate_text(row, key) if key.endswith("_rate") else vietnamese.number(row[key])
                                       for key in RATE_COLUMNS)]

    if output_format == "table":
        state = {"final": words("lines.state_final", frozen=vietnamese.moment(outcome.frozen_at)),
                 "settling": words("lines.state_settling"), "running": words("lines.state_running")}[outcome.state]
        click.echo(words("lines.period_line", province=config.province, period=period.name,
                         start=vietnamese.day(period.start), end=vietnamese.day(period.end), state=state))
        if verbosity() == QUIET:
            return
    click.echo(render(rows, output_format, FIELD_ORDER, cells, headers))


def group_label(config: Config, words: Words, by: str, group: str) -> str:
    """A row's group as people know it: the unit's name, the kind's name, or the province's."""
    if by == "unit":
        return unit_label(config, group)
    return words.kind(group) if by == "kind" else group


@cli.command("index")
@period_options
@click.option("--compare", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="The portal's published scores (its JSON, or a CSV: Chỉ tiêu, Tỷ lệ, Điểm) beside the province's.")
@sheet_format_option
@config_option
def index_command(start: datetime | None, end: datetime | None, period_text: str | None, by: str,
                  units: tuple[str, ...], compare: Path | None, output_format: str, output: Path | None,
                  config_file: str | None) -> None:
    """The Decision 766 index, computed from the province's own data (provisional: tạm tính).

    Points are out of what auditbot can compute: an indicator the exports do not feed yet says
    "chưa có dữ liệu", one whose conversion the guide does not give says "chưa xác định", never 0.
    The formulas are templates/index766.toml.

    \b
    Examples:
        auditbot index
        auditbot index --period Q3/2026 --by kind
        auditbot index --unit STP
        auditbot index --by province --compare diem-cong-dvcqg.json
        auditbot index --by unit --format xlsx --output chi-so-766.xlsx
    """
    from auditbot.index766 import view as index_view
    from auditbot.index766.formula import STATE_WORDS

    no_output_without_xlsx(output_format, output)
    config = load(config_file)
    words = words_for(config)
    report = commands.index(config, start, end, by, units, period_text, compare)

    def label(group: str) -> str:
        return group_label(config, words, by, group)

    if output_format == "xlsx":
        from auditbot.report.sheets import Column

        kinds = {"numerator": "number", "denominator": "number", "rate": "percent", "points": "decimal",
                 "max_points": "decimal", "gain": "decimal"}
        fields = [f for f in index_view.ROW_FIELDS if f != "group_key"]
        write_sheet(config, output, words("sheets.index"),
                    [Column(words(f"headers.group_{by}" if f == "group" else f"headers.index_{f}"),
                            kinds.get(f, "text")) for f in fields],
                    [[label(row["group"]) if f == "group" else STATE_WORDS.get(row[f], "") if f == "state" else row[f]
                      for f in fields] for row in index_view.indicator_rows(report.results)])
        return
    if report.portal is not None:
        rows = index_view.compare_rows(report.province, report.portal)
        if output_format == "table":
            click.echo(words("lines.index_compare", province=config.province, period=report.outcome.period.name,
                             file=compare))
        click.echo(render(rows, output_format, index_view.COMPARE_FIELDS, index_view.compare_cells,
                          index_view.COMPARE_HEADERS))
        return
    if output_format != "table":
        click.echo(render(index_view.indicator_rows(report.results), output_format, index_view.ROW_FIELDS))
        return
    period = report.outcome.period
    click.echo(words("lines.index_header", province=config.province, period=period.name,
                     start=vietnamese.day(period.start), end=vietnamese.day(period.end)))
    if verbosity() == QUIET:
        return
    if len(report.results) == 1:
        click.echo("\n".join(index_view.detail_lines(report.results[0])))
        return
    click.echo(table([words(f"headers.group_{by}"), *index_view.summary_headers(report.province)[1:]],
                     [index_view.summary_cells(result, label) for result in report.results]))


@cli.command()
@click.option("--unit", default=None, help="Only this unit's digest (no provincial summary).")
@click.option("--send", is_flag=True, help="Send through [email] now (at most once per recipient and week);"
              ' with [email] delivery = "outbox", write them under [email] outbox instead.')
@click.option("--outbox", "outbox", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the letters as .eml files under this folder instead of sending.")
@click.option("--resend", "resend_id", type=int, default=None, metavar="LETTER_ID",
              help="Send one unconfirmed or failed letter again (after checking it did not arrive).")
@click.option("--period", "period_text", default=None, metavar="PERIOD",
              help="A period's Phụ lục I-IV (lists of units) from its figures: Q3/2026, 11/2026, 2026.")
@click.option("--form", "form", default=None, metavar="FORM",
              help="A table of the half-year report (bieu-mau-3, bieu-mau-7) for --period or --from/--to.")
@click.option("--from", "start", type=DATE, default=None, help="With --form: first day (dd/mm/yyyy).")
@click.option("--to", "end", type=DATE, default=None, help="With --form: last day, inclusive.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --period or --form: the XLSX file to write.")
@config_option
def report(unit: str | None, send: bool, outbox: Path | None, resend_id: int | None, period_text: str | None,
           form: str | None, start: datetime | None, end: datetime | None, output: Path | None,
           config_file: str | None) -> None:
    """Each unit's weekly digest of open findings (annexes, XLSX attached) and the summary, whose
    Phụ lục I-IV list the units (sở, ban, ngành, then xã, phường; worst first).

    Without --send or --outbox, only lists who would get what. Exit code 1 when some email failed
    (it stays in the outbox and is retried on the next --send), was not confirmed by the server (never
    resent by itself: check the mailbox, then --resend it), or a unit's letter could not be made.

    --period gives a period's Phụ lục I-IV on demand (a closed quarter's final figures once frozen);
    --form writes one of the half-year report's tables in the province's layout, with the rows auditbot
    can compute filled (per level of government: [kinds.<kind>] level in rules.toml).

    \b
    Examples:
        auditbot report --outbox var/outbox
        auditbot report --unit STP --send
        auditbot report --resend 42
        auditbot report --period Q3/2026 --output phu-luc-q3-2026.xlsx
        auditbot report --form bieu-mau-3 --period Q3/2026 --output bieu-mau-3.xlsx
    """
    on_demand = form is not None or period_text is not None or start is not None or end is not None
    if on_demand:
        if send or outbox or resend_id is not None or unit:
            raise click.UsageError("--period, --form, --from and --to make a report on demand: they take no"
                                   " --unit, --send, --outbox or --resend")
        _report_on_demand(load(config_file), form, period_text, start, end, output)
        return
    if output is not None:
        raise click.UsageError("--output goes with --period or --form")
    if sum(bool(x) for x in (send, outbox, resend_id is not None)) > 1 or (resend_id is not None and unit):
        raise click.UsageError("--send, --outbox and --resend exclude each other (and --resend takes no --unit)")
    config = load(config_file)
    words = words_for(config)
    if resend_id is not None:
        letter, delivery = commands.resend_letter(config, resend_id)
        click.echo(words("lines.report_resend", id=resend_id, week=vietnamese.week(letter["week"]), report=letter["report"],
                         recipient=letter["recipient"], status=words.known("statuses", letter["status"])),
                   nl=False, err=True)
        _report_delivery(words, delivery)
        return
    with on_terminal(words):
        outcome = commands.report(config, unit, send, outbox)
    if verbosity() != QUIET:
        click.echo(table([words(f"headers.{key}") for key in (
            "unit", "status", "open_count", "new_count", "fixed_count", "escalated_count")], [
            [digest.unit.code, words.known("statuses", digest.state), vietnamese.number(digest.open_count),
             vietnamese.number(digest.new_count), vietnamese.number(len(digest.fixed)),
             vietnamese.number(len(digest.escalated))] for digest in outcome.digests]))
    click.echo(words("lines.report_week", week=vietnamese.week(outcome.week), letters=vietnamese.number(len(outcome.letters))),
               err=True)
    for code, error in outcome.failed:
        click.echo(words("lines.report_failed", unit=code, error=error), err=True)
    if outcome.written is not None:
        click.echo(words("lines.report_written", count=vietnamese.number(len(outcome.written)),
                         folder=outcome.written_under), err=True)
    if outcome.delivery is not None:
        _report_delivery(words, outcome.delivery, letters_failed=bool(outcome.failed))
    if outcome.failed:
        sys.exit(1)


def _report_on_demand(config: Config, form: str | None, period_text: str | None, start: datetime | None,
                      end: datetime | None, output: Path | None) -> None:
    words = words_for(config)
    if form is not None:
        if output is None:
            raise click.UsageError("--form writes a file: give --output FILE.xlsx")
        outcome = commands.form_report(config, form, start, end, period_text, output)
        click.echo(words("lines.form_written", file=output, form=form, period=outcome.period.name,
                         start=vietnamese.day(outcome.period.start), end=vietnamese.day(outcome.period.end),
                         state=outcome.state_words), err=True)
        return
    if start is not None or end is not None:
        raise click.UsageError("--from/--to go with --form; the annexes are made for a --period")
    made = commands.period_report(config, None, None, period_text, output)
    period = made.outcome.period
    click.echo(words("lines.period_line", province=config.province, period=period.name,
                     start=vietnamese.day(period.start), end=vietnamese.day(period.end),
                     state=made.outcome.state_words))
    for annex in made.tables:
        click.echo(f"\n{annex.section.title} ({annex.count})")
        if verbosity() == QUIET:
            continue
        for row in annex.rows:
            click.echo(f" {row.heading}" if row.heading else f"  {'; '.join(annex.labelled(row))}")
    if not made.tables:
        click.echo(words("lines.annexes_none"))
    if output is not None:
        click.echo(words("lines.written", file=output), err=True)


def _report_delivery(words: Words, delivery: Delivery, letters_failed: bool = False) -> None:
    for recipient, error in delivery.failed:
        click.echo(words("lines.delivery_failed", recipient=recipient, error=error), err=True)
    for letter_id, recipient in delivery.unconfirmed:
        click.echo(words("lines.delivery_unconfirmed", id=letter_id, recipient=recipient), err=True)
    click.echo(words("lines.delivery", sent=vietnamese.number(len(delivery.sent)),
                     failed=vietnamese.number(len(delivery.failed)),
                     unconfirmed=vietnamese.number(len(delivery.unconfirmed)),
                     waiting=vietnamese.number(delivery.waiting)), err=True)
    sys.exit(1 if delivery.failed or delivery.unconfirmed or letters_failed else 0)


@cli.command()
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]), default="INFO",
              show_default=True)
@config_option
def run(log_level: str, config_file: str | None) -> None:
    """The daemon: run every job of [schedule] on time until SIGTERM/SIGINT (then exit 0).

    Logs go to stderr (journald-friendly under systemd); `auditbot systemd-unit` prints the service file.

    \b
    Example:
        auditbot run --config /etc/auditbot/rules.toml
    """
    from auditbot.ops.daemon import Daemon
    from auditbot.ops.logs import setup_logging

    setup_logging(log_level)
    code = Daemon(load(config_file)).run()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # a job stopped mid-fetch may leave a thread waiting on a hanging site: it stores nothing, so
    # exit now instead of joining it
    os._exit(code)


@cli.command()
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@config_option
def status(output_format: str, config_file: str | None) -> None:
    """The daemon's heartbeat and each job's last run, result, next run and last error.

    \b
    Example:
        auditbot status --format json
    """
    config = load(config_file)
    words = words_for(config)
    state = commands.status(config)
    if output_format == "json":
        click.echo(json.dumps(state, ensure_ascii=False, indent=2, default=str))
        return
    daemon = state["daemon"]
    at = vietnamese.moment  # stored in province time: shown as people write it, 07/12/2026 07:30
    if daemon.get("running"):
        click.echo(words("lines.daemon_running", pid=daemon["pid"], started=at(daemon["started_at"]),
                         seconds=vietnamese.number(daemon["heartbeat_seconds_ago"])))
    elif daemon.get("started_at"):
        click.echo(words("lines.daemon_stopped", started=at(daemon["started_at"]), heartbeat=at(daemon["heartbeat_at"]),
                         stopped=at(daemon["stopped_at"]) or words("lines.daemon_unclean")))
    elif daemon.get("database") == "missing":
        click.echo(words("lines.daemon_no_database", database=config.database))
    else:
        click.echo(words("lines.daemon_never"))
    if daemon.get("busy_waited_seconds"):
        click.echo(words("lines.database_busy", seconds=vietnamese.number(daemon["busy_waited_seconds"]),
                         at=at(daemon["busy_waited_at"])))
    network = state.get("network")
    if network and not network["reachable"]:  # for the centre's staff, like the finding it opens
        click.echo(words("lines.network_down", since=at(network["since"]), checked=at(network["checked_at"]),
                         cause=network["cause"]))
    elif network:
        click.echo(words("lines.network_ok", checked=at(network["checked_at"])))
    if verbosity() == QUIET:
        return
    rows = [[words.known("jobs", j["job"]), words.schedule(j["phrase"]), at(j["last_started"]) or "-", words.known("statuses", j["last_status"] or "-"),
             at(j["next_run"]) or "-", vietnamese.number(j["failures"]), j["last_error"] or ""] for j in state["jobs"]]
    click.echo(table([words(f"headers.{key}") for key in (
        "job", "schedule", "last_run", "result", "next_run", "failures", "last_error")], rows))
    for job in state["jobs"]:
        if job.get("note"):
            click.echo(words("lines.job_note", job=words.known("jobs", job["job"]), note=job["note"]))
    for run_row in state["interrupted_runs"]:
        click.echo(words("lines.interrupted", id=run_row["id"], command=run_row["command"],
                         started=at(run_row["started_at"]), error=run_row["error"]))
    for letter in state["unconfirmed_letters"]:
        click.echo(words("lines.unconfirmed_letter", id=letter["id"], week=vietnamese.week(letter["week"]),
                         recipient=letter["recipient"], error=letter["last_error"]))


@cli.group(invoke_without_command=True)
@click.option("--status", type=click.Choice(["pending", "rechecking", "checked", "accepted", "refused", "all"]),
              default="all", show_default=True)
@format_option
@config_option
@click.pass_context
def answers(ctx: click.Context, status: str, output_format: str, config_file: str | None) -> None:
    """List units' answers to their findings (from the letter's link) and the centre's decisions.

    \b
    Examples:
        auditbot answers --status pending
        auditbot answers accept 12 --reason "Sở đã niêm yết đúng" --false-finding
        auditbot answers accept 13 --reason "Đồng ý gia hạn" --until 31/12/2026
        auditbot answers refuse 14 --reason "Trang vẫn chưa có liên kết"
    """
    if ctx.invoked_subcommand is not None:
        return
    config = load(config_file)
    words = words_for(config)
    rows = commands.list_answers(config, status)
    columns = ("id", "unit", "finding_id", "finding_title", "check_id", "kind", "reason", "link", "until",
               "answered_at", "answered_by", "status", "rechecked_at", "recheck_result", "decided_at", "decided_by",
               "decision", "decided_until", "decision_reason")
    click.echo(render(rows, output_format, columns, lambda row: (
        str(row["id"]), row["unit"], row["finding_title"] or row["finding_id"], _answer_kind(words, row),
        vietnamese.day(row["answered_at"][:10]), _answer_outcome(words, row), as_typed(row["reason"] or ""),
        as_typed(row["decision_reason"] or "")),
        [words(f"headers.{key}") for key in ("id", "unit", "answer_finding", "answer_kind", "answer_sent",
                                             "answer_result", "answer_reason", "centre_reason")]))


def _answer_kind(words: Words, row: dict[str, Any]) -> str:
    """What the unit said, with the date it asked for."""
    said = words.known("answers", row["kind"])
    return f"{said} {words('lines.until', day=vietnamese.day(row['until']))}" if row["until"] else said


def _answer_outcome(words: Words, row: dict[str, Any]) -> str:
    """Where an answer stands, in one phrase: the re-check's result, or the centre's decision and its date."""
    if row["status"] == "checked":
        return f"{words.known('answers', 'checked')} — {words.known('answers', row['recheck_result'] or 'failed')}"
    if row["status"] != "accepted":
        return words.known("answers", row["status"])
    decided = f"{words.known('answers', 'accepted')} — {words.known('answers', row['decision'])}"
    until = row.get("decided_until") or row["until"]
    return f"{decided} {words('lines.until', day=vietnamese.day(until))}" if row["decision"] == "muted" and until \
        else decided


def _decision_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--reason", required=True, help="Why (the unit reads it in its next letter).")(fn)
    fn = click.option("--by", default=None, help="Who decides (default: this login's user name).")(fn)
    return click.argument("answer_id", type=int)(fn)


@answers.command(name="accept")
@_decision_options
@click.option("--until", type=DATE, default=None, help="Mute the finding until this date (dd/mm/yyyy; default:"
              " the date the unit asked for).")
@click.option("--false-finding", is_flag=True, help="The unit is right: close the finding as false (muted for"
              " good, counted as a false finding).")
@config_option
def answers_accept(answer_id: int, reason: str, by: str | None, until: datetime | None, false_finding: bool,
                   config_file: str | None) -> None:
    """Accept a disagreement or a request for more time: the finding is muted with the reason.

    \b
    Example:
        auditbot answers accept 12 --reason "Đồng ý gia hạn" --until 31/12/2026
    """
    config = load(config_file)
    done = commands.decide_answer(config, answer_id, True, reason, by or getpass.getuser(),
                                  until.date() if until else None, false_finding)
    words = words_for(config)
    click.echo(words("lines.answer_accepted", id=answer_id, finding=done["finding_id"],
                     decision=_answer_outcome(words, done)))


@answers.command(name="refuse")
@_decision_options
@config_option
def answers_refuse(answer_id: int, reason: str, by: str | None, config_file: str | None) -> None:
    """Refuse a disagreement or a request for more time; the unit sees the reason.

    \b
    Example:
        auditbot answers refuse 14 --reason "Trang vẫn chưa có liên kết"
    """
    config = load(config_file)
    done = commands.decide_answer(config, answer_id, False, reason, by or getpass.getuser())
    click.echo(words_for(config)("lines.answer_refused", id=answer_id, finding=done["finding_id"]))


@answers.command(name="recheck")
@config_option
def answers_recheck(config_file: str | None) -> None:
    """Re-check now every finding a unit said it fixed that is still waiting for its re-check.

    \b
    Example:
        auditbot answers recheck
    """
    config = load(config_file)
    words = words_for(config)
    done = commands.recheck_answers(config)
    for answer_id, result in done.items():
        click.echo(words("lines.answer_rechecked", id=answer_id, result=words.known("answers", result or "none")))
    if not done:
        click.echo(words("lines.answer_recheck_none"))


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default [serve] host, 127.0.0.1). Any"
              " non-loopback address needs a password hash in the environment.")
@click.option("--port", type=int, default=None, help="Port (default [serve] port, 8001).")
@config_option
def serve(host: str | None, port: int | None, config_file: str | None) -> None:
    """Browse the findings history in Datasette, read-only, until Ctrl-C.

    \b
    Examples:
        auditbot serve                       # http://127.0.0.1:8001/
        AUDITBOT_SERVE_PASSWORD_HASH="$(auditbot password-hash)" auditbot serve --host 0.0.0.0
    """
    from auditbot.browse.server import serve as serve_datasette
    from auditbot.ops.logs import setup_logging

    config = load(config_file)
    setup_logging("INFO")
    serve_datasette(config, host or config.serve.host, port or config.serve.port,
                    recheck=lambda answer_id: commands.recheck_answer(config, answer_id))


@cli.command(name="password-hash")
def password_hash() -> None:
    """Print the hash of a password for `auditbot serve` (put it in $AUDITBOT_SERVE_PASSWORD_HASH).

    Asks twice at a terminal; otherwise reads one line from stdin. The password is never stored.

    \b
    Example:
        export AUDITBOT_SERVE_PASSWORD_HASH="$(auditbot password-hash)"
    """
    from datasette_auth_passwords.utils import hash_password

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UserError("an empty password protects nothing")
    click.echo(hash_password(password))


@cli.command()
@click.argument("folder", required=False, default=".", type=click.Path(path_type=Path))
@click.option("--province", default="Tên tỉnh", show_default=True, help="The province's name, as letters write it.")
def init(folder: Path, province: str) -> None:
    """Start a real province: write FOLDER/rules.toml (commented) and FOLDER/units.csv (the units, to fill
    in Excel; UTF-8 with a BOM), and an empty FOLDER/exports/. An existing file is never overwritten
    (exit 2, naming it). `auditbot validate` accepts what it writes; edit it, then validate again.

    \b
    Examples:
        auditbot init my-province --province "Thanh Hóa"
        auditbot validate --config my-province/rules.toml
    """
    from auditbot.config.new_province import write_new_province

    words = shipped_words()  # no rules.toml yet to choose a language: the officer's, Vietnamese
    for path in write_new_province(folder, province):
        click.echo(words("setup.init_written", file=path))
    click.echo(words("setup.init_next", units=folder / "units.csv", rules=folder / "rules.toml"))


@cli.command(name="systemd-unit")
def systemd_unit() -> None:
    """Print the systemd unit that runs `auditbot run` as a service (install steps in its comments).

    It restarts the daemon after a crash or a database problem, never after exit 2 (rules.toml is wrong)
    or 3 (another daemon runs on the database): those wait for a person.

    \b
    Example:
        auditbot systemd-unit > /etc/systemd/system/auditbot.service
    """
    from auditbot.config.bundled import systemd_unit as unit_text

    click.echo(unit_text(), nl=False)


@cli.command()
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default="auditbot-demo",
              show_default=True, help="Where the sample province is copied (kept between runs) and audited.")
def demo(folder: Path) -> None:
    """Run the whole job on the bundled sample province, offline, and say where everything is.

    The sample province (rules.toml, units, catalogue, exports, the units' websites) is copied into
    --dir the first time; files already there are kept, so edits survive a second run.

    \b
    Example:
        auditbot demo
        cd auditbot-demo && auditbot check STP
    """
    from auditbot.demo.run import prepare_workspace, run_demo

    copied = prepare_workspace(folder)
    config = commands.open_config(folder / "rules.toml")
    click.echo(words_for(config)("demo.copied" if copied else "demo.reused", folder=folder))
    run_demo(config, click.echo)


def _every_command(group: click.Group) -> list[click.Command]:
    found: list[click.Command] = []
    for command in group.commands.values():
        if isinstance(command, click.Group):  # a group that runs alone (`answers`) is a command too
            found += [command] * command.invoke_without_command + _every_command(command)
        else:
            found.append(command)
    return found


for _command in _every_command(cli):  # one bundle for every command, so a new command cannot miss it
    verbosity_options(_command)


if __name__ == "__main__":
    cli()
