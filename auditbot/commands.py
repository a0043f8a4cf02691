"""What each command does, as plain functions the CLI, the daemon and the tests share."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from auditbot.checking import selection
from auditbot.checking.engine import CheckRun, run_centre_checks, run_checks, select_checks, select_units
from auditbot.checking.plugins import registered_checks
from auditbot.checking.types import CheckContext
from auditbot.config.rules import OUTBOX, SMTP, Config, load_config
from auditbot.domain.clock import local_now
from auditbot.domain.lineage import Lineage
from auditbot.domain.rates import Figures, RatesOutcome, exemption_text
from auditbot.errors import ConfigError, InputError, UserError
from auditbot.ops import progress
from auditbot.ops.lock import writer_lock
from auditbot.sources.tabular.common import file_digest, within_limit
from auditbot.store import Store, daemon_mark, observations, pid_alive, timestamp
from auditbot.store import outbox as ledger
from auditbot.store.answers import RECHECK_PAUSE
from auditbot.store.figures import unit_figures
from auditbot.words import vietnamese
from auditbot.words.periods import FINAL, RUNNING, SETTLING, Period, parse_period, resolve_period

# What only some commands need is imported by them: `auditbot rates` should not wait for the HTML
# parser, the HTTP client, the workbook writers and the mail library to load (a quarter of a second).
if TYPE_CHECKING:
    import httpx

    from auditbot.index766.formula import FormulaTable, IndexResult
    from auditbot.index766.portal_scores import PortalFigure
    from auditbot.report.annex_table import Table
    from auditbot.report.compose import Letter
    from auditbot.report.digest import UnitDigest
    from auditbot.report.outbox import Delivery
    from auditbot.report.warnings import DueSoon
    from auditbot.sources.tabular.pipeline import ImportSummary
    from auditbot.sources.web.network import Reach

T = TypeVar("T")
log = logging.getLogger(__name__)
def known_check_ids() -> set[str]:
    return set(registered_checks())


def open_config(path: Path) -> Config:
    return load_config(path, known_check_ids)


def environment_problems(config: Config) -> list[str]:
    """What rules.toml cannot say by itself: whether this environment can do what it asks."""
    from auditbot.index766.formula import formula_path, load_formulas
    from auditbot.report.forms import form_path, load_forms
    from auditbot.report.outbox import smtp_password

    problems = []
    try:
        if config.email.delivery == SMTP:  # letters only written to the outbox need no login
            smtp_password(config)
    except UserError as exc:
        problems.append(f"email.username: {exc}")
    try:  # the index's formulas sit beside the annexes, in [report] templates: read them as a run would
        load_formulas(formula_path(config.report.templates))
    except ConfigError as exc:
        problems.append(str(exc))
    try:  # so do the half-year report's forms
        load_forms(form_path(config.report.templates))
    except ConfigError as exc:
        problems.append(str(exc))
    return problems


@contextmanager
def network(config: Config, transport: httpx.AsyncBaseTransport | None) -> Iterator[httpx.AsyncBaseTransport | None]:
    """The transport fetches go through: the one given (tests), else the sample province's sites served
    on loopback while the block runs ([local_sites]), else None (the real network)."""
    if transport is not None or config.local_sites is None:
        yield transport
        return
    from auditbot.demo.sites import LoopbackTransport, serve_sites

    with serve_sites(config.local_sites.folder) as server:
        yield LoopbackTransport(server.port, config.local_sites.domains)


def check(config: Config, unit_codes: Iterable[str], all_units: bool, check_ids: Iterable[str] | None,
          trigger: str = "cli", offline: bool = False, transport: httpx.AsyncBaseTransport | None = None) -> CheckRun:
    """Refresh the network sources the chosen checks read (unless offline), then run the checks."""
    from auditbot.sources.listings.crawl import fetch_listings
    from auditbot.sources.portal import check_links
    from auditbot.sources.portal_counts import read_portal_figures

    checks = select_checks(config, check_ids)
    units = select_units(config, unit_codes, all_units)
    now = local_now(config)
    for code in units:  # an ended unit has nothing left to check: its business is its successors'
        unit = config.unit(code)
        if unit.valid_to is not None and unit.valid_to < now.date():
            heirs = f"; check {', '.join(unit.successors)}" if unit.successors else ""
            raise UserError(f"unit {code} ended on {vietnamese.day(unit.valid_to)}{heirs}",
                            ["its findings and figures passed to its successors (`auditbot units --all`)"])
    log.info("checking %d unit(s) with %d check(s)%s", len(units), len(checks), " offline" if offline else "")
    with Store.open(config) as store, writer_lock(store, f"check ({trigger})", config.lock_wait_seconds):
        sources = {check.source for check in checks}
        reach = None
        with network(config, transport) as through:
            if not offline and sources & {"listings", "portal"}:
                reach = fetch_listings(config, store, units, now, through)
            if not offline and "portal" in sources:
                check_links(config, store, units, now, through, network=reach)
        notes = read_portal_figures(config, store, now) if "portal_figures" in sources else []
        result = run_checks(config, store, checks, units, now, trigger)
        result.notes += notes
        return result


def _locked(config: Config, purpose: str, action: Callable[[Store], T]) -> T:
    with Store.open(config) as store, writer_lock(store, purpose, config.lock_wait_seconds):
        return action(store)


def gather_listings(config: Config, transport: httpx.AsyncBaseTransport | None = None) -> Reach | None:
    """The daemon's `listings` job: read every unit's listing pages now; whether the network let it."""
    from auditbot.sources.listings.crawl import fetch_listings

    codes = select_units(config, (), True)
    with network(config, transport) as through:
        return _locked(config, "listings",
                       lambda store: fetch_listings(config, store, codes, local_now(config), through))


def gather_links(config: Config, transport: httpx.AsyncBaseTransport | None = None) -> Reach | None:
    """The daemon's `links` job: check the posted portal links (those checked within cache_hours are reused);
    whether the network let it, when the portal's home did not answer."""
    from auditbot.sources.portal import check_links

    codes = select_units(config, (), True)
    with network(config, transport) as through:
        return _locked(config, "links",
                       lambda store: check_links(config, store, codes, local_now(config), through).reach)


def listing_reading(config: Config, unit: str, url: str | None, selector: str | None,
                    transport: httpx.AsyncBaseTransport | None = None) -> list[dict[str, Any]]:
    """`auditbot listings UNIT`: what the unit's pages give now and how it matched; nothing is stored."""
    from auditbot.report.diagnosis import diagnose_listing

    with Store.open(config) as store, network(config, transport) as through:
        return diagnose_listing(config, store, select_units(config, [unit], False)[0], url, selector, through)


def accept_listing(config: Config, unit: str) -> list[dict[str, Any]]:
    """`auditbot listings accept UNIT`: the unit's latest reading becomes the baseline a collapse is judged by."""
    from auditbot.sources.listings.crawl import accept_reading

    code = select_units(config, [unit], False)[0]
    return _locked(config, f"listings accept {code}", lambda store: accept_reading(store, code, local_now(config)))


def latest_readings(config: Config) -> list[dict[str, Any]]:
    """Each listing URL's latest reading: how many items, read how, or why it is no evidence."""
    with Store.open(config) as store:
        return observations.latest_fetches(store.db)


def import_new_dossiers(config: Config) -> ImportOutcome:
    """The daemon's `dossiers` job: every export file under [sources].dossiers not imported before
    (by content: a renamed copy is not read twice)."""
    from auditbot.sources.dossiers.exports import expand_sources

    with Store.open(config) as store:
        seen = observations.imported_files(store.db, "dossiers")

    def unseen(path: Path) -> bool:  # a file too big or unreadable is left to the import to report
        try:
            return file_digest(within_limit(path, config.max_file_mb)) not in seen
        except InputError:
            return True

    fresh = [path for path in expand_sources(config.dossier_sources) if unseen(path)]
    return import_dossier_files(config, fresh) if fresh else ImportOutcome([], [])


def deliver_outbox(config: Config) -> Delivery:
    """The daemon's `outbox` job: letters that failed before and are due again."""
    from auditbot.report.outbox import deliver

    return _locked(config, "outbox", lambda store: deliver(config, store, local_now(config)))


@dataclass
class ImportOutcome:
    summaries: list[ImportSummary]
    errors: list[str]


def import_dossier_files(config: Config, files: Iterable[Path], dry_run: bool = False) -> ImportOutcome:
    """Each file in its own transaction; an unreadable file is reported and the others still import.
    A dry run reads and types every row and writes nothing, not even to the database."""
    from auditbot.sources.dossiers.exports import expand_sources, import_dossiers

    paths = expand_sources(files) if files else expand_sources(config.dossier_sources)
    if not paths:
        raise UserError("no dossier export files given, and none found under [sources].dossiers")
    outcome = ImportOutcome([], [])
    if dry_run:
        for path in paths:
            try:
                outcome.summaries.append(import_dossiers(config, None, path, local_now(config), dry_run=True))
            except InputError as exc:
                outcome.errors.append(str(exc))
        return outcome
    with Store.open(config) as store, writer_lock(store, "import dossiers", config.lock_wait_seconds):
        for path in paths:
            log.info("importing %s", path)
            try:
                outcome.summaries.append(import_dossiers(config, store, path, local_now(config)))
            except InputError as exc:
                outcome.errors.append(str(exc))
    return outcome


def import_catalogue_file(config: Config, file: Path | None) -> ImportSummary:
    from auditbot.sources.catalogue import import_catalogue

    path = file or config.catalogue
    if path is None:
        raise UserError("no catalogue file given, and [sources].catalogue is not set in rules.toml")
    with Store.open(config) as store, writer_lock(store, "import catalogue", config.lock_wait_seconds):
        return import_catalogue(config, store, path, local_now(config))


def period_figures(config: Config, start: datetime | None = None, end: datetime | None = None,
                   period_text: str | None = None, units: Iterable[str] | None = None) -> RatesOutcome:
    """Per-unit figures for the running period, for dates, or for a named period (final once frozen)."""
    today = local_now(config).date()
    if period_text is not None and (start or end):
        raise UserError("--period and --from/--to are two ways to say the same thing: give one")
    period = parse_period(period_text) if period_text else resolve_period(config.dossiers.period, start, end, today)
    if period.start > period.end:
        raise UserError(f"--from {period.start:%d/%m/%Y} is after --to {period.end:%d/%m/%Y}")
    if period.start > today:
        raise UserError(f"{period.name} has not begun yet")
    codes = list(units) if units is not None else Lineage.of(config).figure_units(period.start, period.end)
    with Store.open(config) as store:
        closed = store.closed_period(period.label)
        if closed is not None:
            final = store.final_figures(period.label)
            return RatesOutcome(period, {c: f for c, f in final.items() if c in codes}, FINAL, closed["frozen_at"],
                                codes)
        if period.end >= today:
            period = Period(period.start, today, period.label)
        state = RUNNING if period.end >= today else SETTLING
        return RatesOutcome(period, unit_figures(config, store.db, period, codes), state, None, codes)


def rates(config: Config, start: datetime | None, end: datetime | None, by: str,
          units: Iterable[str] = (), period_text: str | None = None) -> tuple[RatesOutcome, list[Figures]]:
    """`auditbot rates`: figures per unit (every unit, zeros included), per unit kind or for the province."""
    outcome = period_figures(config, start, end, period_text, select_units(config, units, False) if units else None)
    return outcome, outcome.grouped(config, by)


@dataclass
class IndexReport:
    outcome: RatesOutcome
    table: FormulaTable
    results: list[IndexResult]
    province: IndexResult
    portal: dict[str, PortalFigure] | None = None


def index(config: Config, start: datetime | None, end: datetime | None, by: str, units: Iterable[str] = (),
          period_text: str | None = None, compare: Path | None = None) -> IndexReport:
    """`auditbot index`: the 766 index per unit, unit kind or the province, and beside the portal's own."""
    from auditbot.index766.formula import formula_path, load_formulas
    from auditbot.index766.inputs import index_results
    from auditbot.index766.portal_scores import read_portal_scores

    table = load_formulas(formula_path(config.report.templates))
    portal = read_portal_scores(compare, table, config.max_file_mb) if compare is not None else None
    outcome = period_figures(config, start, end, period_text, select_units(config, units, False) if units else None)
    with Store.open(config) as store:
        context = CheckContext(db=store.db, config=config, units=tuple(outcome.units), period=outcome.period,
                               now=local_now(config), memo={"unit_figures": outcome.per_unit})
        results = index_results(context, table, by)
        [province] = results if by == "province" else index_results(context, table, "province")
    return IndexReport(outcome, table, results, province, portal)


@dataclass
class PeriodReport:
    outcome: RatesOutcome
    tables: list[Table]
    written: Path | None


def period_report(config: Config, start: datetime | None, end: datetime | None, period_text: str | None,
                  output: Path | None) -> PeriodReport:
    """`report --period`: the province's Phụ lục I–IV (lists of units) for a period, from its figures."""
    from auditbot.report.layout import load_layout
    from auditbot.report.output_files import writable_output, write_output
    from auditbot.report.unit_annexes import rows_from_figures, unit_annex_tables
    from auditbot.report.xlsx import workbook_bytes

    if output is not None:
        writable_output(config, output)
    outcome = period_figures(config, start, end, period_text)
    layout = load_layout(config.report.templates)
    footnotes = {f"rate.{rate}": [text] for rate in config.exemptions if (text := exemption_text(config, rate))}
    tables = unit_annex_tables(config, layout, rows_from_figures(config, outcome.per_unit, outcome.period.name),
                               footnotes)
    if output is not None:
        subtitle = (f"Kỳ báo cáo: {outcome.period.name} ({vietnamese.day(outcome.period.start)} – {vietnamese.day(outcome.period.end)}),"
                    f" {outcome.state_words}")
        issuer = layout.labels["issuer"].format(province_upper=config.province.upper())
        write_output(config, output, workbook_bytes(tables, issuer, subtitle))
    return PeriodReport(outcome, tables, output)


def form_report(config: Config, form: str, start: datetime | None, end: datetime | None, period_text: str | None,
                output: Path) -> RatesOutcome:
    """`report --form bieu-mau-3`: one of the half-year report's tables, per level and for the province, as XLSX."""
    from auditbot.report.form_figures import form_figures
    from auditbot.report.forms import form_workbook, load_form
    from auditbot.report.output_files import writable_output, write_output

    if not (period_text or start or end):
        raise UserError("--form needs the period it reports on: --period Q3/2026, or --from and --to")
    writable_output(config, output)
    layout = load_form(config.report.templates, form)
    outcome = period_figures(config, start, end, period_text)
    with Store.open(config) as store:
        figures = form_figures(config, store.db, outcome, layout.words)
    write_output(config, output, form_workbook(config, layout, outcome, figures))
    return outcome


def units_on(config: Config, day: date | None, everyone: bool = False) -> list[dict[str, Any]]:
    """`auditbot units`: the units in force on a day (today by default), or every unit known, each with
    its life, whom it took over from and who took over from it."""
    lineage = Lineage.of(config)
    on = day or local_now(config).date()
    return [{"code": unit.code, "name": unit.name, "kind": unit.kind,
             "valid_from": unit.valid_from.isoformat() if unit.valid_from else None,
             "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
             "predecessors": lineage.predecessors(unit.code), "successors": list(unit.successors),
             "in_force": unit.alive(on)}
            for unit in config.units if everyone or unit.alive(on)]


def list_findings(config: Config, unit: str | None, status: str, check_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    with Store.open(config) as store:
        store.expire_mutes(local_now(config))
        statuses = None if status == "all" else [status]
        units = selection.units(config, [unit], with_centre=True) if unit else None
        return store.findings(units=units, statuses=statuses, checks=selection.checks(check_ids, known_check_ids()))


def mute(config: Config, finding_id: str, reason: str, until: date | None) -> dict[str, Any] | None:
    """Mute a finding; the mute it replaces, if any, so the person is told what changed."""
    now = local_now(config)
    if until is not None and until < now.date():
        raise UserError(f"--until {until:%d/%m/%Y} is in the past")
    with Store.open(config) as store:
        return store.mute(finding_id, reason, until, now)


def unmute(config: Config, finding_id: str) -> None:
    with Store.open(config) as store:
        store.unmute(finding_id, local_now(config), "unmuted by an officer")


def list_answers(config: Config, status: str) -> list[dict[str, Any]]:
    with Store.open(config) as store:
        return store.answers(None if status == "all" else status)


def decide_answer(config: Config, answer_id: int, accept: bool, reason: str, by: str, until: date | None = None,
                  false_finding: bool = False) -> dict[str, Any]:
    """The centre's decision on a unit's disagreement or request for more time."""
    now = local_now(config)
    if until is not None and until < now.date():
        raise UserError(f"--until {until:%d/%m/%Y} is in the past")
    with Store.open(config) as store:
        return store.decide(answer_id, accept, reason, by, now, until, false_finding)


def recheck_answer(config: Config, answer_id: int) -> str | None:
    """Re-check the finding a unit says it fixed, now: that unit, that check, its sources read again.
    gone / still_open when the run judged the finding; failed when it could not (its source unread, or our
    side failed): that is no verdict on the unit; queued when it could not run now (the daemon tries again),
    or when that check ran again on the unit's word less than RECHECK_PAUSE ago. One run settles every
    answer waiting on the same unit and check that came before it started. None when the answer is not
    waiting for a re-check."""
    now = local_now(config)
    with Store.open(config) as store:
        answer = next((a for a in store.queued_rechecks() if a["id"] == answer_id), None)
        if answer is None:
            return None
        if store.rechecked_since(answer["unit"], answer["check_id"], now - RECHECK_PAUSE):
            return "queued"  # its sources were just read again: ten findings fixed are one crawl, not ten
    try:
        run = check(config, [answer["unit"]], False, [answer["check_id"]], trigger="answer")
    except UserError as exc:  # could not run now (the writer lock held, a unit ended): it stays queued
        log.warning("re-check of answer %d could not run: %s", answer_id, exc)
        return "queued"
    results: dict[int, str] = {}
    with Store.open(config) as store:
        for waiting in store.queued_rechecks():
            if (waiting["unit"], waiting["check_id"]) != (answer["unit"], answer["check_id"]) \
                    or waiting["answered_at"] > timestamp(now):
                continue  # another check, or a claim made after this run began reading
            row = store.db.execute("SELECT status, last_run FROM findings WHERE id = ?",
                                   (waiting["finding_id"],)).fetchone()
            judged = not run.errors and row is not None and row[1] == run.run_id
            results[waiting["id"]] = ("gone" if row[0] == "resolved" else "still_open") if judged else "failed"
            store.record_recheck(waiting["id"], results[waiting["id"]], local_now(config))
    return results.get(answer_id, "queued")


def recheck_answers(config: Config) -> dict[int, str | None]:
    """Every answer still waiting for its re-check (the daemon's job; the page starts one at once)."""
    with Store.open(config) as store:
        queued = [a["id"] for a in store.queued_rechecks()]
    return {answer_id: recheck_answer(config, answer_id) for answer_id in queued}


@dataclass
class ReportOutcome:
    week: str
    digests: list[UnitDigest]
    letters: list[Letter]
    delivery: Delivery | None = None
    written: list[Path] | None = None
    written_under: Path | None = None  # the week's folder of .eml files, when they were written
    failed: list[tuple[str, str]] = field(default_factory=list)  # (unit code, what went wrong), letters not made


def report(config: Config, unit: str | None, send: bool = False, outbox: Path | None = None) -> ReportOutcome:
    """The week's letters: each unit's digest, and the summary when no unit is named.

    `send` queues them in the outbox ledger and delivers what is due (with [email] delivery = "outbox",
    it writes them as .eml files under [email] outbox instead); `outbox` writes .eml files; neither:
    the letters are only composed, for a look at who would get what.
    """
    from auditbot.report.compose import Composer, compose_digests
    from auditbot.report.digest import WeekFindings
    from auditbot.report.layout import load_layout
    from auditbot.report.outbox import deliver, queue, write_eml

    if send and config.email.delivery == OUTBOX:
        send, outbox = False, config.email.outbox
    now = local_now(config)
    layout = load_layout(config.report.templates)
    with Store.open(config) as store:
        store.expire_mutes(now)
        reader = WeekFindings(config, store, layout, now)
        composer = Composer(config, layout, reader.week)
        codes = select_units(config, [unit] if unit else [], unit is None)
        read, letters, failed = [], [], []
        with progress.steps("letters", len(codes)):
            for code in codes:
                try:
                    read.append(reader.digest(config.unit(code)))
                except Exception as exc:  # noqa: BLE001 one unit's bad value never stops the other units' letters
                    failed.append((code, _fault(exc)))
                progress.advance()
        if (send or outbox is not None) and config.answers.base_url:  # a look at the letters issues no link
            for digest in read:
                if digest.open_count:
                    token = store.issue_link(digest.unit.code, reader.week.key, now, config.answers.link_days)
                    digest.answer_link = f"{config.answers.base_url.rstrip('/')}/tra-loi/{token}"
        if unit is None:  # [routing] by addresses: their letter is made as a unit's is
            read += [reader.digest(route) for route in reader.route_units()]
        digests = []
        for digest, made in compose_digests(composer, read):
            if isinstance(made, str):
                failed.append((digest.unit.code, made))
            else:
                letters += made
                digests.append(digest)
        for code, fault in failed:
            log.error("the weekly letter of %s could not be made: %s", code, fault)
        if unit is None:
            letters += composer.summary_letters(reader.summary(digests, failed))
        outcome = ReportOutcome(reader.week.key, digests, letters, failed=failed)
        if outbox is not None:
            outcome.written = write_eml(config, outbox, reader.week.key, letters)
            outcome.written_under = outbox / reader.week.key
        elif send:
            with writer_lock(store, "report --send", config.lock_wait_seconds):
                if unit is None:  # the centre's letter.failed findings follow the latest full report
                    ledger.record_letter_report(store.db, reader.week.key, dict(failed), now)
                    run_centre_checks(config, store, ["letter.failed"], now, trigger="report")
                queue(store, reader.week.key, letters, now)
                outcome.delivery = deliver(config, store, now, None if unit is None else [unit])
        return outcome


def _fault(exc: Exception) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__} ({Path(where.filename).name}:{where.lineno})"


def resend_letter(config: Config, letter_id: int) -> tuple[dict[str, Any], Delivery]:
    """Send one unconfirmed or failed letter again, now: a person's decision after checking the mailbox."""
    from auditbot.report.outbox import deliver, resend

    with Store.open(config) as store, writer_lock(store, "report --resend", config.lock_wait_seconds):
        letter = resend(store, letter_id)
        return letter, deliver(config, store, local_now(config), letter_ids=[letter_id])


def warnings(config: Config, unit: str | None, now: datetime | None = None) -> DueSoon:
    """`auditbot warnings`: the open dossiers due within `[warnings] due_within` working hours, now."""
    from auditbot.report.warnings import due_soon

    with Store.open(config) as store:
        return due_soon(config, store, now or local_now(config), unit)


@dataclass
class WarningOutcome:
    day: str
    found: DueSoon | None           # None on a day off: nothing is looked at, nothing sent
    delivery: Delivery | None = None


def send_daily_warning(config: Config, now: datetime | None = None) -> WarningOutcome:
    """The daemon's `daily_warning` job: each unit with dossiers due soon gets today's list once (the outbox
    keeps one letter per day, unit and recipient; a second run the same day sends nothing again)."""
    from auditbot.domain.calendar import Calendar
    from auditbot.report.outbox import deliver, queue
    from auditbot.report.warnings import due_soon, warning_letters

    now = now or local_now(config)
    day = now.date().isoformat()
    if not Calendar.of(config).is_working_day(now.date()):
        return WarningOutcome(day, None)
    with Store.open(config) as store:
        found = due_soon(config, store, now)
        letters = warning_letters(config, found)
        with writer_lock(store, "daily_warning", config.lock_wait_seconds):
            queue(store, day, letters, now)
            reports = sorted({letter.report for letter in letters})
            delivery = deliver(config, store, now, reports) if reports else None
    return WarningOutcome(day, found, delivery)


def status(config: Config) -> dict[str, Any]:
    """What `auditbot status` shows: the daemon's heartbeat and each job's last and next run."""
    now = local_now(config)
    if not config.database.exists() and not daemon_mark(config.database).exists():
        return {"daemon": {"running": False, "database": "missing"}, "jobs": [], "interrupted_runs": [],
                "unconfirmed_letters": []}  # nothing ever ran: status creates nothing
    with Store.open(config) as store:
        daemon, jobs = store.daemon(), store.daemon_jobs()
        interrupted = store.interrupted_runs(limit=5)
        unconfirmed = ledger.unconfirmed_letters(store.db)
        network = network_state(store)
    alive = bool(daemon and daemon["pid"] and not daemon["stopped_at"] and pid_alive(daemon["pid"]))
    beat = datetime.fromisoformat(daemon["heartbeat_at"]) if daemon and daemon["heartbeat_at"] else None
    return {"daemon": {**(daemon or {}), "running": alive,
                       "heartbeat_seconds_ago": round((now - beat).total_seconds()) if beat else None},
            "jobs": jobs, "interrupted_runs": interrupted, "unconfirmed_letters": unconfirmed, "network": network}


def network_state(store: Store) -> dict[str, Any] | None:
    """The latest verdict on auditbot's own network, with its cause (Vietnamese, for people) while it is
    down; None before any run could tell."""
    latest = observations.latest_network_check(store.db)
    if latest is None:
        return None
    from auditbot.checks.operations import outage_cause

    return {"reachable": bool(latest["reachable"]), "checked_at": latest["checked_at"], "source": latest["source"],
            "since": observations.network_down_since(store.db), "failure": latest["failure"],
            "units_asked": latest["asked"] if latest["source"] == "listings" else None,
            "units_failed": latest["failed"] if latest["source"] == "listings" else None,
            "canaries": json.loads(latest["canaries"]),
            "cause": None if latest["reachable"] else outage_cause(latest)}
