"""`auditbot run`: every job of [schedule] on time, one after another, for months, unattended.

A job that raises is logged with its traceback and recorded as a failed run; the loop goes on, and
after `alert_after_failures` failures in a row the centre gets a `job.failing` finding. SIGTERM and
SIGINT stop the current job where it is (its transactions roll back), record it as interrupted, and
exit 0. On start, runs left 'running' by a killed process are marked interrupted, and a weekly report
that a previous run of the daemon would have sent, had it not been down, is sent once (the outbox
never sends a letter twice); a first start sends nothing before its schedule says so.

One daemon per database (exit 3 for a second one). The daemon's own records wait out a busy database
(another process's write lock), logging how long; a missing, damaged or read-only database ends it
with one log line and exit 5, for systemd to restart it with a backoff while a person repairs it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sqlite3
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import schedule

from auditbot import commands
from auditbot.checking.engine import run_centre_checks
from auditbot.config.rules import Config
from auditbot.config.schedules import parse
from auditbot.domain.clock import local_now
from auditbot.errors import ConfigError, UserError
from auditbot.ops.singleton import only_daemon
from auditbot.store import DatabaseUnusable, Store, daemon_mark, is_busy, timestamp, unusable

if TYPE_CHECKING:
    from auditbot.sources.web.network import Reach

log = logging.getLogger(__name__)
DEFAULT_PHRASES = {"outbox": "every 5 minutes"}  # retries of failed letters, when letters are scheduled
# fixes units claimed that the answer page could not re-check at once (serve was busy or down), when letters carry links
ANSWER_PHRASES = {"answer_rechecks": "every 5 minutes"}
LETTER_JOBS = {"weekly_report", "daily_warning"}
CATCH_UP = ("weekly_report", "daily_warning")
BUSY_POLL_SECONDS = 1.0
T = TypeVar("T")


class Stopping(BaseException):
    """Raised in the main thread by SIGTERM/SIGINT: not an Exception, so no job's error handling swallows it."""


def job_actions(config: Config) -> dict[str, Callable[[], Any]]:
    return {
        "catalogue": lambda: commands.import_catalogue_file(config, None),
        "listings": lambda: _network_note(commands.gather_listings(config)),
        "links": lambda: _network_note(commands.gather_links(config)),
        "dossiers": lambda: _dossiers(config),
        "checks": lambda: commands.check(config, [], True, None, trigger="daemon", offline=True),
        "weekly_report": lambda: _weekly_report(config),
        "daily_warning": lambda: _daily_warning(config),
        "outbox": lambda: commands.deliver_outbox(config),
        "answer_rechecks": lambda: _rechecked(config),
    }


def _rechecked(config: Config) -> str | None:
    results = commands.recheck_answers(config)
    return f"re-checked {len(results)} answer(s)" if results else None


@dataclass(frozen=True)
class Warned:
    """A job that ran but met something the centre must hear of: logged as a WARNING, never as `ok`, and
    recorded as 'warning' with what it was (not a failure: retrying would change nothing)."""

    text: str


def _network_note(reach: Reach | None) -> str | Warned | None:
    if reach is None or reach.reachable:
        return None
    silent = ", ".join(f"{canary.url} ({canary.failure})" for canary in reach.canaries)
    alike = (f"{reach.failed}/{reach.asked} units' sites failed alike ({reach.failure})" if reach.source == "listings"
             else f"the portal's home failed ({reach.failure})")
    return Warned(f"auditbot's own network is down: no canary answered ({silent}); {alike};"
                  " no unit was judged on what could not be read")


def _dossiers(config: Config) -> str:
    outcome = commands.import_new_dossiers(config)
    if outcome.errors:
        raise RuntimeError("; ".join(outcome.errors))
    return f"{len(outcome.summaries)} new file(s)"


def _weekly_report(config: Config) -> str:
    outcome = commands.report(config, None, send=True)
    delivery = outcome.delivery
    if delivery is None:  # [email] delivery = "outbox": written as .eml files, nothing sent
        return f"{len(outcome.written or [])} letter(s) written under {outcome.written_under}"
    if delivery.failed:  # they stay in the outbox; the outbox job retries them
        raise RuntimeError(f"{len(delivery.failed)} of {len(outcome.letters)} letters not sent yet:"
                           f" {delivery.failed[0][1]}")
    if outcome.failed:  # the others went out; the centre has a letter.failed finding for each
        raise RuntimeError(f"{len(delivery.sent)} letters sent, but none could be made for"
                           f" {', '.join(code for code, _ in outcome.failed)}")
    return f"{len(delivery.sent)} letters sent"


def _daily_warning(config: Config) -> str:
    outcome = commands.send_daily_warning(config)
    if outcome.found is None:
        return f"{outcome.day} is not a working day: no warning"
    delivery = outcome.delivery
    if delivery is not None and delivery.failed:  # they stay in the outbox; the outbox job retries them
        raise RuntimeError(f"{len(delivery.failed)} warning letters not sent yet: {delivery.failed[0][1]}")
    return f"{len(outcome.found.units)} unit(s) with dossiers due soon; {len(delivery.sent) if delivery else 0} sent"


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.phrases = dict(config.schedule)
        if LETTER_JOBS & set(self.phrases):
            self.phrases = {**DEFAULT_PHRASES, **self.phrases}
            if config.answers.base_url:
                self.phrases = {**ANSWER_PHRASES, **self.phrases}
        self.actions = job_actions(config)
        self.scheduler = schedule.Scheduler()

    def run(self) -> int:
        if not self.phrases:
            log.error("no jobs: [schedule] in %s is empty", self.config.path)
            return 2
        try:
            return self._run()
        except UserError as exc:  # another daemon, or a database a person must repair: one line, no traceback
            log.error("%s", exc)
            return exc.exit_code

    def _run(self) -> int:
        if {*LETTER_JOBS, "outbox"} & set(self.phrases):
            problems = commands.environment_problems(self.config)
            if problems:  # found now, not on Monday morning by the first letter
                raise ConfigError(f"{self.config.path}: cannot send letters: {'; '.join(problems)}")
        database = self.config.database
        first_start = not database.exists() and not daemon_mark(database).exists()
        started_at = timestamp(local_now(self.config))
        self._records(lambda store: None)  # refuses a missing, damaged or read-only database
        with only_daemon(database, started_at):
            previous = self._records(self._register)
            if first_start:
                log.info("first start: created the database %s", database)
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
            zone = str(self.config.timezone)
            for job, phrase in self.phrases.items():
                parse(phrase).attach(self.scheduler, zone).do(self.fire, job).tag(job)
            try:
                self._catch_up(previous)
                while True:
                    self.scheduler.run_pending()
                    self._beat()
                    time.sleep(max(0.05, min(1.0, self.scheduler.idle_seconds or 1.0)))
            except Stopping:
                log.info("stopping on signal")
            self._records(lambda store: store.daemon_stopped(local_now(self.config)))
        return 0

    def _register(self, store: Store) -> dict[str, Any]:
        """Record this start; return what the previous start left (its start time, the jobs it ran)."""
        previous = {"daemon": store.daemon(), "jobs": {row["job"]: row for row in store.daemon_jobs()}}
        orphans = store.interrupt_runs(local_now(self.config), note="interrupted: the process was killed")
        store.register_daemon(os.getpid(), socket.gethostname(), local_now(self.config))
        log.info("started (pid %s): %s; %d interrupted run(s) found", os.getpid(),
                 ", ".join(f"{j} {p!r}" for j, p in self.phrases.items()), orphans)
        for warning in self.config.warnings:  # what validate warns about, in the journal too
            log.warning("config: %s", warning)
        return previous

    def _records(self, work: Callable[[Store], T]) -> T:
        """Run the daemon's own bookkeeping, waiting as long as another process holds the write lock
        (a VACUUM, an open sqlite3 shell): the wait is logged and recorded, never fatal."""
        waiting_since: float | None = None
        while True:
            try:
                with self._store() as store:
                    result = work(store)
                    if waiting_since is not None:
                        waited = round(time.monotonic() - waiting_since, 1)
                        log.warning("database free again after waiting %s s", waited)
                        store.record_busy_wait(waited, local_now(self.config))
                    return result
            except sqlite3.DatabaseError as exc:
                problem = unusable(self.config.database, exc)
                if isinstance(problem, DatabaseUnusable):
                    raise problem from None
                if waiting_since is None:
                    waiting_since = time.monotonic()
                    log.warning("database busy (another process holds its write lock): waiting")
                time.sleep(BUSY_POLL_SECONDS)

    def fire(self, job: str) -> None:
        """Run one job, record it, never let it stop the loop (only a signal or an unusable database does)."""
        now = local_now(self.config)

        def begin(store: Store) -> int:
            run_id = store.start_run("daemon", f"job:{job}", None, now)
            self._job_state(store, job=job, last_started=timestamp(now), last_status="running")
            return run_id

        run_id = self._records(begin)
        log.info("job %s started (run %s)", job, run_id)
        status, error, note = "ok", None, None
        try:
            note = self.actions[job]()
            if isinstance(note, Warned):  # said before it is recorded: whoever sees the record can find the line
                status, error = "warning", note.text
                log.warning("job %s: %s", job, error)
        except Stopping:
            status, error = "interrupted", "interrupted: the daemon was stopped"
            raise
        except DatabaseUnusable:
            status = "unrecorded"  # nothing can be written to a database that is gone or damaged
            raise
        except UserError as exc:  # a person's to fix (a setting, a file): the message says what, no traceback
            status, error = "failed", str(exc)
            log.error("job %s failed: %s", job, exc)
        except Exception as exc:  # noqa: BLE001 a job that fails is logged and retried, never the end of the daemon
            if isinstance(exc, sqlite3.OperationalError) and is_busy(exc):
                log.error("job %s failed: the database stayed busy longer than busy_timeout_seconds", job)
            else:
                log.error("job %s failed:\n%s", job, traceback.format_exc())
            status, error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            if status != "unrecorded":
                self._records(lambda store: self._finish(store, job, run_id, status, error))
        if status == "ok":
            log.info("job %s ok%s", job, f": {note}" if isinstance(note, str) else "")

    def _finish(self, store: Store, job: str, run_id: int, status: str, error: str | None) -> None:
        if status == "interrupted":  # the job's own inner runs (a check run) stopped with it
            store.interrupt_runs(local_now(self.config), [os.getpid()], note=error or "")
        store.finish_run(run_id, local_now(self.config), error=error, status=status)
        failures = store.job_failures(job)
        self._job_state(store, job=job, last_finished=timestamp(local_now(self.config)), last_status=status,
                        last_error=error, failures=failures)
        if status != "interrupted":
            self._alert(store)

    def _catch_up(self, previous: dict[str, Any]) -> None:
        """A job at a set time that a previous run of the daemon would have sent, had it not been down,
        runs once now. A first start (or a job new to the schedule) waits for its schedule."""
        now = local_now(self.config)
        started_before = (previous["daemon"] or {}).get("started_at")
        for job in CATCH_UP:
            if job not in self.phrases:
                continue
            due = parse(self.phrases[job]).last_due(now)
            if due is None:
                continue
            last_ok = self._records(partial(Store.last_success, job=job))
            if last_ok is not None and last_ok >= timestamp(due):
                continue  # already done since it came due
            if started_before is not None and job in previous["jobs"] and started_before <= timestamp(due):
                log.info("job %s was due %s while the daemon was down: running it now", job, timestamp(due))
                self.fire(job)
                continue
            why = "first start" if started_before is None else "new to the schedule"
            note = (f"{why}: nothing caught up (it was due {timestamp(due)}, before a daemon run scheduled it);"
                    " it runs at its next scheduled time")
            log.info("job %s %s", job, note)
            self._records(partial(self._job_state, job=job, note=note))

    def _beat(self) -> None:
        self._records(self._write_beat)

    def _write_beat(self, store: Store) -> None:
        jobs = []
        for job in self.scheduler.jobs:
            [name] = job.tags
            next_run = job.next_run.replace(tzinfo=None) if job.next_run else None
            jobs.append((str(name), self.phrases[str(name)], self._province_time(next_run) if next_run else None))
        store.heartbeat(local_now(self.config), jobs)

    def _province_time(self, machine_local: datetime) -> datetime:
        """schedule keeps next_run in the machine's local time; show it in the province's."""
        return machine_local.astimezone(self.config.timezone).replace(tzinfo=None)

    def _alert(self, store: Store) -> None:
        """The centre's job.failing findings follow the jobs' failures in a row."""
        run_centre_checks(self.config, store, ["job.failing"], local_now(self.config), trigger="daemon")

    def _job_state(self, store: Store, *, job: str, **values: Any) -> None:
        store.set_job_state(job, self.phrases[job], **values)

    def _store(self) -> Store:
        return Store.open(self.config)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        raise Stopping(signal.Signals(signum).name)
