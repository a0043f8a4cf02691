"""The `auditbot` command: one small function per command, no logic of its own."""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from auditbot import commands
from auditbot.config.rules import Config, config_path
from auditbot.domain.rates import FIELD_ORDER, GROUPINGS, rate_text
from auditbot.errors import ConfigError, UserError
from auditbot.report.output import format_option, render, table
from auditbot.store import unit_label
from auditbot.words import vietnamese
from auditbot.words.periods import calendar_span, within_calendar

if TYPE_CHECKING:  # imported where used: every invocation pays for what the module imports
    from auditbot.report.outbox import Delivery
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


def print_findings(config: Config, findings: list[dict[str, Any]], output_format: str) -> None:
    def cells(f: dict[str, Any]) -> list[str]:
        return [f["id"], f["unit"], f["check"], f["title"], f["status"], vietnamese.day(f["first_seen"])]

    click.echo(render(findings, output_format, FINDING_COLUMNS, cells,
                      ["ID", "UNIT", "CHECK", "TITLE", "STATUS", "SINCE"]))


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
    result = commands.check(config, units, all_units, check_ids.split(",") if check_ids else None, offline=offline)
    for error in result.errors:
        click.echo(f"check failed: {error}", err=True)
    print_findings(config, result.findings, output_format)
    if output_format == "table":
        c = result.counts
        click.echo(f"\nrun {result.run_id}: {len(result.findings)} open; {c.opened} new, {c.reopened} reopened,"
                   f" {c.resolved} resolved", err=True)
    sys.exit(1 if result.findings or result.errors else 0)


@cli.command()
@click.option("--unit", default=None, help="Only this unit's findings.")
@click.option("--status", type=click.Choice(["open", "resolved", "muted", "all"]), default="open",
              show_default=True)
@click.option("--checks", "check_ids", default=None, help="Comma-separated check ids.")
@format_option
@config_option
def findings(unit: str | None, status: str, check_ids: str | None, output_format: str,
             config_file: str | None) -> None:
    """List stored findings, with their history fields.

    \b
    Examples:
        auditbot findings --unit STP
        auditbot findings --status all --format json
    """
    config = load(config_file)
    print_findings(config, commands.list_findings(config, unit, status, check_ids.split(",") if check_ids else None),
                   output_format)


@cli.command("units")
@click.option("--on", "on", type=DATE, default=None, metavar="DATE", help="The units in force on this day (dd/mm/yyyy; default today).")
@click.option("--all", "everyone", is_flag=True, help="Every unit configured, past and present.")
@format_option
@config_option
def units_command(on: datetime | None, everyone: bool, output_format: str, config_file: str | None) -> None:
    """Show the units in force on a day, whom each took over from and who took over from it.

    \b
    Examples:
        auditbot units
        auditbot units --on 30/06/2025
        auditbot units --all --format csv
    """
    rows = commands.units_on(load(config_file), on.date() if on else None, everyone)
    columns = ("code", "name", "kind", "valid_from", "valid_to", "predecessors", "successors", "in_force")
    click.echo(render(rows, output_format, columns, lambda row: (
        row["code"], row["name"], row["kind"], vietnamese.day(row["valid_from"]),
        vietnamese.day(row["valid_to"]), ", ".join(row["predecessors"]),
        ", ".join(row["successors"])), ("code", "name", "kind", "from", "to", "took over from", "succeeded by")))


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
    before = commands.mute(load(config_file), finding_id, reason, until.date() if until else None)
    now_until = f"until {until:%d/%m/%Y}" if until else "with no end date"
    if before is None:
        click.echo(f"muted {finding_id} {now_until}")
        return
    was_until = f"until {vietnamese.day(before['until'])}" if before["until"] else "with no end date"
    changes = [f"{was_until} -> {now_until}" if was_until != now_until else f"still {now_until}"]
    if before["reason"] != reason:
        changes.append(f"reason {before['reason']!r} -> {reason!r}")
    click.echo(f"{finding_id} was already muted; changed: {'; '.join(changes)}")
    if before["until"] and until is None:
        click.echo("  (it will not come back by itself now; give --until to keep an end date)", err=True)


@cli.command()
@click.argument("finding_id")
@config_option
def unmute(finding_id: str, config_file: str | None) -> None:
    """End a mute now: the finding is open (and emailed) again.

    \b
    Example:
        auditbot unmute 3f2a9c1d0b7e
    """
    commands.unmute(load(config_file), finding_id)
    click.echo(f"unmuted {finding_id}")


@cli.command()
@config_option
def validate(config_file: str | None) -> None:
    """Check rules.toml and report every problem at once, with its key path.

    \b
    Example:
        auditbot validate --config /etc/auditbot/rules.toml
    """
    config = load(config_file)
    for warning in config.warnings:
        click.echo(f"warning: {warning}", err=True)
    missing = [str(p) for p in (config.catalogue, *config.dossier_sources) if p is not None and not p.exists()]
    for path in missing:
        click.echo(f"warning: source not found (yet): {path}", err=True)
    if config.local_sites is not None:
        click.echo(f"note: [local_sites]: {', '.join(config.local_sites.domains)} are answered from"
                   f" {config.local_sites.folder} on 127.0.0.1 (the sample province's made-up sites)", err=True)
    problems = commands.environment_problems(config)
    if problems:
        raise ConfigError(f"{config.path}: {len(problems)} problem(s) in this environment", problems)
    kinds = sorted({u.kind for u in config.units})
    ended = len(config.units) - len(commands.units_on(config, None))
    click.echo(f"{config.path}: OK — {config.province}: {len(config.units)} units ({', '.join(kinds)})"
               + (f", {ended} of them ended (merged or abolished)" if ended else "") + f", database {config.database}")


@cli.group(name="import")
def import_group() -> None:
    """Import source files (dossier exports, the procedure catalogue)."""


@import_group.command(name="dossiers")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show the column mapping, missing fields and first rows; write nothing.")
@config_option
def import_dossiers(files: tuple[Path, ...], dry_run: bool, config_file: str | None) -> None:
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
    outcome = commands.import_dossier_files(config, files, dry_run=dry_run)
    _report_imports(outcome.summaries, outcome.errors)


@import_group.command(name="catalogue")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@config_option
def import_catalogue(file: Path | None, config_file: str | None) -> None:
    """Import the official procedure catalogue (CSV/XLSX/…): codes, names, status, validity, agencies.

    Without FILE, imports [sources].catalogue. A procedure applies to each unit its agency cell names,
    to every unit of a generic agency's kinds ("UBND cấp xã"), or, without an agency, to the kinds its
    level maps to under [catalogue.levels]. Exit code 1 when no procedure applies to any unit.

    \b
    Example:
        auditbot import catalogue data/danh-muc-tthc.xlsx
    """
    _report_imports([commands.import_catalogue_file(load(config_file), file)], [])


def _report_imports(summaries: list[ImportSummary], errors: list[str]) -> None:
    from auditbot.report.imported import summary_lines

    for summary in summaries:
        click.echo("\n".join(summary_lines(summary)))
        for problem in summary.problems:
            click.echo(f"Problem: {summary.file}: {problem}", err=True)
    for error in errors:
        click.echo(f"Error: {error}", err=True)
    if errors:
        sys.exit(2)
    if any(summary.failed for summary in summaries):
        sys.exit(1)


RATE_HEADERS = ["GROUP", "RECEIVED", "ONLINE %", "FINISHED", "ON TIME %", "DIGITISED %", "PAID ONLINE %",
                "UNFINISHED", "OVERDUE %"]


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
                click.echo(listing_summary(site))
                if site["items"]:
                    click.echo(table(["#", "NAME", "CODE", "MATCH", "PROCEDURE"], [
                        [str(n), item["name"], item["code"] or "", item["match"] or "none",
                         item["procedure"] or ", ".join(c["code"] for c in item["nearest"])]
                        for n, item in enumerate(site["items"], start=1)]))
                if site["skipped"]:
                    click.echo("\nrows passed over:")
                    click.echo(table(["REASON", "TEXT"], [[row["reason"], row["text"]] for row in site["skipped"]]))
                click.echo()
    sys.exit(0 if all(site["credible"] for site in sites) else 1)


def listing_summary(site: dict[str, Any]) -> str:
    if site["credible"]:
        return (f"{site['url']}: read as {site['layout']}, {site['pages']} page(s),"
                f" {len(site['items'])} procedure(s)")
    return f"{site['url']}: NOT EVIDENCE ({site['reason']}): {site['error']}"


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
    rows = commands.accept_listing(config, unit)
    if not rows:
        raise UserError(f"unit {unit} has no reading yet: run `auditbot check {unit}` first")
    for row in rows:
        state = "accepted" if row["accepted"] else "not accepted (no listing was recognised)"
        click.echo(f"{row['url']}: {row['items'] or 0} procedure(s): {state}")
    sys.exit(0 if any(row["accepted"] for row in rows) else 1)


@cli.command()
@period_options
@format_option
@config_option
def rates(start: datetime | None, end: datetime | None, period_text: str | None, by: str, units: tuple[str, ...],
          output_format: str, config_file: str | None) -> None:
    """Dossier figures and rates per unit, unit kind or province (cut, not rounded, to 2 decimals).

    The default period is [dossiers].period in rules.toml (the quarter so far, provisional). A period
    that has ended settles for [dossiers].settle_days while late exports arrive; the first check run
    after that freezes its figures, and --period shows those final figures from then on.

    \b
    Examples:
        auditbot rates --by kind
        auditbot rates --period Q3/2026 --by kind
        auditbot rates --from 01/10/2026 --to 31/10/2026 --format json
    """
    config = load(config_file)
    outcome, figures = commands.rates(config, start, end, by, units, period_text)
    period = outcome.period
    rows = [f.as_row(config.rounding) for f in figures]

    def cells(row: dict[str, Any]) -> list[str]:
        label = unit_label(config, row["group"]) if by == "unit" else row["group"]
        return [label, vietnamese.number(row["received"]), rate_text(row, "online_rate"), vietnamese.number(row["finished"]),
                rate_text(row, "on_time_rate"), rate_text(row, "digitisation_rate"),
                rate_text(row, "online_payment_rate"), vietnamese.number(row["unfinished"]), rate_text(row, "overdue_rate")]

    if output_format == "table":
        state = {"final": f"final (frozen {vietnamese.moment(outcome.frozen_at)})",
                 "settling": "closed, not frozen yet: late exports still count",
                 "running": "provisional (tạm tính)"}[outcome.state]
        click.echo(f"{config.province}: {period.name}, {vietnamese.day(period.start)} – {vietnamese.day(period.end)}: {state}")
    click.echo(render(rows, output_format, FIELD_ORDER, cells, RATE_HEADERS))


@cli.command("index")
@period_options
@click.option("--compare", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="The portal's published scores (its JSON, or a CSV: Chỉ tiêu, Tỷ lệ, Điểm) beside the province's.")
@format_option
@config_option
def index_command(start: datetime | None, end: datetime | None, period_text: str | None, by: str,
                  units: tuple[str, ...], compare: Path | None, output_format: str, config_file: str | None) -> None:
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
    """
    from auditbot.index766 import view as index_view

    config = load(config_file)
    report = commands.index(config, start, end, by, units, period_text, compare)
    if report.portal is not None:
        rows = index_view.compare_rows(report.province, report.portal)
        if output_format == "table":
            click.echo(f"{config.province}: {report.outcome.period.name}, auditbot beside the portal ({compare})")
        click.echo(render(rows, output_format, index_view.COMPARE_FIELDS, index_view.compare_cells,
                          index_view.COMPARE_HEADERS))
        return
    if output_format != "table":
        click.echo(render(index_view.indicator_rows(report.results), output_format, index_view.ROW_FIELDS))
        return
    period = report.outcome.period
    click.echo(f"{config.province}: {period.name}, {vietnamese.day(period.start)} – {vietnamese.day(period.end)}:"
               f" chỉ số 766 tạm tính")

    def label(group: str) -> str:
        return unit_label(config, group) if by == "unit" else group

    if len(report.results) == 1:
        click.echo("\n".join(index_view.detail_lines(report.results[0])))
        return
    click.echo(table(index_view.summary_headers(report.province),
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
    if resend_id is not None:
        letter, delivery = commands.resend_letter(load(config_file), resend_id)
        click.echo(f"letter {resend_id} ({letter['week']}, {letter['report']}) to {letter['recipient']},"
                   f" {letter['status']} before: ", nl=False, err=True)
        _report_delivery(delivery)
        return
    config = load(config_file)
    outcome = commands.report(config, unit, send, outbox)
    for digest in outcome.digests:
        click.echo(f"{digest.unit.code:10} {digest.state:10} {digest.open_count:6} open {digest.new_count:5} new"
                   f" {len(digest.fixed):5} fixed {len(digest.escalated):5} escalated")
    click.echo(f"{outcome.week}: {len(outcome.letters)} letters", err=True)
    for code, error in outcome.failed:
        click.echo(f"no letter for {code}: it could not be made ({error}); the other units' letters are"
                   " unaffected", err=True)
    if outcome.written is not None:
        click.echo(f"wrote {len(outcome.written)} .eml files under {outcome.written_under}", err=True)
    if outcome.delivery is not None:
        _report_delivery(outcome.delivery, letters_failed=bool(outcome.failed))
    if outcome.failed:
        sys.exit(1)


def _report_on_demand(config: Config, form: str | None, period_text: str | None, start: datetime | None,
                      end: datetime | None, output: Path | None) -> None:
    if form is not None:
        if output is None:
            raise click.UsageError("--form writes a file: give --output FILE.xlsx")
        outcome = commands.form_report(config, form, start, end, period_text, output)
        click.echo(f"wrote {output}: {form}, {outcome.period.name} ({vietnamese.day(outcome.period.start)} –"
                   f" {vietnamese.day(outcome.period.end)}), {outcome.state}", err=True)
        return
    if start is not None or end is not None:
        raise click.UsageError("--from/--to go with --form; the annexes are made for a --period")
    made = commands.period_report(config, None, None, period_text, output)
    period = made.outcome.period
    click.echo(f"{config.province}: {period.name}, {vietnamese.day(period.start)} – {vietnamese.day(period.end)}:"
               f" {made.outcome.state_words}")
    for annex in made.tables:
        click.echo(f"\n{annex.section.title} ({annex.count})")
        for row in annex.rows:
            click.echo(f" {row.heading}" if row.heading else f"  {'; '.join(annex.labelled(row))}")
    if not made.tables:
        click.echo("no unit below a bar in this period")
    if output is not None:
        click.echo(f"wrote {output}", err=True)


def _report_delivery(delivery: Delivery, letters_failed: bool = False) -> None:
    for recipient, error in delivery.failed:
        click.echo(f"not sent to {recipient}: {error}", err=True)
    for letter_id, recipient in delivery.unconfirmed:
        click.echo(f"unconfirmed: letter {letter_id} to {recipient} reached the server, which never confirmed it;"
                   f" not resent by itself (check, then `auditbot report --resend {letter_id}`)", err=True)
    click.echo(f"sent {len(delivery.sent)}, failed {len(delivery.failed)}, unconfirmed {len(delivery.unconfirmed)},"
               f" waiting to retry {delivery.waiting}", err=True)
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
    state = commands.status(config)
    if output_format == "json":
        click.echo(json.dumps(state, ensure_ascii=False, indent=2, default=str))
        return
    daemon = state["daemon"]
    if daemon.get("running"):
        click.echo(f"daemon: running, pid {daemon['pid']} since {daemon['started_at']},"
                   f" heartbeat {daemon['heartbeat_seconds_ago']} s ago")
    elif daemon.get("started_at"):
        click.echo(f"daemon: NOT RUNNING (started {daemon['started_at']}, last heartbeat {daemon['heartbeat_at']},"
                   f" stopped {daemon['stopped_at'] or 'without a clean stop'})")
    elif daemon.get("database") == "missing":
        click.echo(f"daemon: never started (no database at {config.database} yet)")
    else:
        click.echo("daemon: never started on this database")
    if daemon.get("busy_waited_seconds"):
        click.echo(f"database: busy (another process held its write lock) for {daemon['busy_waited_seconds']} s,"
                   f" last at {daemon['busy_waited_at']}; the daemon waited")
    network = state.get("network")
    if network and not network["reachable"]:  # for the centre's staff: Vietnamese, like the finding it opens
        click.echo(f"MẠNG: hệ thống kiểm soát không kết nối được ra ngoài từ {vietnamese.moment(network['since'])}"
                   f" (lần kiểm tra gần nhất {vietnamese.moment(network['checked_at'])}): {network['cause']}."
                   " Không ghi lỗi cho đơn vị nào về những gì chưa đọc được.")
    elif network:
        click.echo(f"mạng: kết nối bình thường (lần kiểm tra gần nhất {vietnamese.moment(network['checked_at'])})")
    rows = [[j["job"], j["phrase"], j["last_started"] or "-", j["last_status"] or "-", j["next_run"] or "-",
             str(j["failures"]), j["last_error"] or ""] for j in state["jobs"]]
    click.echo(table(["JOB", "SCHEDULE", "LAST RUN", "RESULT", "NEXT RUN", "FAILS", "LAST ERROR"], rows))
    for job in state["jobs"]:
        if job.get("note"):
            click.echo(f"{job['job']}: {job['note']}")
    for run_row in state["interrupted_runs"]:
        click.echo(f"interrupted: run {run_row['id']} {run_row['command']} started {run_row['started_at']}"
                   f" ({run_row['error']})")
    for letter in state["unconfirmed_letters"]:
        click.echo(f"unconfirmed letter {letter['id']} ({letter['week']}) to {letter['recipient']}: {letter['last_error']}")


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
    serve_datasette(config, host or config.serve.host, port or config.serve.port)


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

    for path in write_new_province(folder, province):
        click.echo(f"wrote {path}")
    rules = folder / "rules.toml"
    click.echo(f"Next: put the units in {folder / 'units.csv'} and the province's settings in {rules},"
               f" then: auditbot validate --config {rules}")


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
    click.echo(f"{'Copied the sample province into' if copied else 'Using the sample province in'} {folder}/")
    run_demo(commands.open_config(folder / "rules.toml"), click.echo)


if __name__ == "__main__":
    cli()
