"""The SQLite database: schema, runs, and the one place that decides a finding's lifecycle."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from .check_types import Finding
from .config import Config
from .errors import UserError
from .periods import Period
from .rates import Figures
from .supplements import supplement_clock

CENTRE = "_centre"  # operator findings are addressed to the centre, not to a unit
# the event note of a period's finding resolved because a newer period's verdict replaced it: not a fix
SUPERSEDED = "superseded: a later period has closed"

# a unit's figures for a period: the day-by-day history and a closed period's frozen final share them
FIGURE_COLUMNS = """\
  received INTEGER, online INTEGER, finished INTEGER, on_time INTEGER, late INTEGER, digitised INTEGER,
  fee_paid INTEGER, paid_online INTEGER, unfinished INTEGER, overdue_open INTEGER,
  online_rate REAL, on_time_rate REAL, digitisation_rate REAL, online_payment_rate REAL, overdue_rate REAL,
  digitisation_min REAL, online_min REAL, online_payment_min REAL, overdue_max REAL,
  channel_known INTEGER, due_known INTEGER, digitised_known INTEGER, payment_known INTEGER,
  unfinished_due_known INTEGER, online_full INTEGER, online_partial INTEGER, full_known INTEGER,
  partial_known INTEGER, online_full_rate REAL, online_partial_rate REAL,"""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS units (
  code TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
  aliases TEXT, emails TEXT, head_emails TEXT, listing_urls TEXT
);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY, trigger TEXT NOT NULL, command TEXT, checks TEXT, units TEXT, period TEXT,
  started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
  opened INTEGER DEFAULT 0, kept INTEGER DEFAULT 0, resolved INTEGER DEFAULT 0, reopened INTEGER DEFAULT 0,
  error TEXT
);
CREATE TABLE IF NOT EXISTS checks (
  id TEXT PRIMARY KEY, title TEXT NOT NULL, family TEXT NOT NULL, family_name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS unit_kinds (kind TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS findings (
  id TEXT PRIMARY KEY, check_id TEXT NOT NULL REFERENCES checks(id), unit TEXT NOT NULL REFERENCES units(code),
  subject TEXT NOT NULL,
  title TEXT NOT NULL, severity TEXT NOT NULL, status TEXT NOT NULL, period TEXT,
  first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, resolved_at TEXT, details TEXT,
  muted_reason TEXT, muted_until TEXT, muted_at TEXT, last_run INTEGER
);
CREATE INDEX IF NOT EXISTS findings_scope ON findings (check_id, unit, status);
CREATE TABLE IF NOT EXISTS finding_events (
  id INTEGER PRIMARY KEY, finding_id TEXT NOT NULL REFERENCES findings(id), run_id INTEGER,
  at TEXT NOT NULL, event TEXT NOT NULL, note TEXT
);
CREATE INDEX IF NOT EXISTS finding_events_finding ON finding_events (finding_id);
CREATE TABLE IF NOT EXISTS dossiers (
  code TEXT PRIMARY KEY, unit TEXT NOT NULL, procedure_code TEXT, procedure_name TEXT,
  received_at TEXT NOT NULL, due_at TEXT, finished_at TEXT, status TEXT NOT NULL, channel TEXT,
  fee REAL, paid_online INTEGER, digitised INTEGER, result_ref TEXT,
  import_id INTEGER, source_row INTEGER,
  known INTEGER, state_at TEXT, inputs_digitised INTEGER, documents INTEGER, documents_digitised INTEGER,
  documents_reused INTEGER, supplements TEXT,
  due_effective_at TEXT, supplement_requests INTEGER, waiting_since TEXT  -- from supplements (supplements.py)
);
CREATE INDEX IF NOT EXISTS dossiers_result_ref ON dossiers (result_ref) WHERE result_ref IS NOT NULL;
CREATE TABLE IF NOT EXISTS procedures (
  code TEXT PRIMARY KEY, full_code TEXT, name TEXT NOT NULL, name_key TEXT NOT NULL, field TEXT, level TEXT,
  status TEXT NOT NULL, effective_from TEXT, effective_to TEXT, decision TEXT, abolished_by TEXT,
  portal_id TEXT, units TEXT NOT NULL, import_id INTEGER, online_level TEXT
);
CREATE TABLE IF NOT EXISTS procedure_former_names (
  code TEXT NOT NULL, name TEXT NOT NULL, name_key TEXT NOT NULL, replaced_at TEXT NOT NULL,
  PRIMARY KEY (code, name_key)
);
CREATE TABLE IF NOT EXISTS listing_fetches (
  id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, unit TEXT NOT NULL, url TEXT NOT NULL, fetched_at TEXT NOT NULL,
  ok INTEGER NOT NULL,
  pages INTEGER, not_modified INTEGER, items INTEGER, error TEXT, content_hash TEXT, reason TEXT, layout TEXT,
  rendered INTEGER
);
CREATE TABLE IF NOT EXISTS listing_baselines (
  id INTEGER PRIMARY KEY, unit TEXT NOT NULL, url TEXT NOT NULL, items INTEGER NOT NULL, accepted_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS listing_pages (
  url TEXT PRIMARY KEY, unit TEXT NOT NULL, etag TEXT, last_modified TEXT, content_hash TEXT NOT NULL,
  items TEXT NOT NULL, next_url TEXT, fetched_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS listing_fetches_unit ON listing_fetches (unit, batch);
CREATE TABLE IF NOT EXISTS listing_items (
  id INTEGER PRIMARY KEY, unit TEXT NOT NULL, name TEXT NOT NULL, name_key TEXT NOT NULL, code TEXT,
  links TEXT, page TEXT, seen_at TEXT NOT NULL, section TEXT
);
CREATE INDEX IF NOT EXISTS listing_items_unit ON listing_items (unit);
CREATE TABLE IF NOT EXISTS link_checks (
  url TEXT PRIMARY KEY, checked_at TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT, status INTEGER,
  final_url TEXT, attempts INTEGER, page_code TEXT
);
CREATE TABLE IF NOT EXISTS portal_runs (
  id INTEGER PRIMARY KEY, checked_at TEXT NOT NULL, requested INTEGER, cached INTEGER, tripped TEXT, deferred TEXT
);
CREATE TABLE IF NOT EXISTS imports (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER,
  imported_at TEXT NOT NULL, rows_read INTEGER, stored INTEGER, updated INTEGER, unchanged INTEGER,
  rejected INTEGER, skipped INTEGER, unknown_units TEXT, format TEXT, summary TEXT, covered_to TEXT
);
CREATE TABLE IF NOT EXISTS rejected_rows (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL, row INTEGER,
  column_name TEXT, reason TEXT NOT NULL, fields TEXT
);
CREATE INDEX IF NOT EXISTS rejected_rows_file ON rejected_rows (sha256);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY, week TEXT NOT NULL, report TEXT NOT NULL, recipient TEXT NOT NULL, role TEXT NOT NULL,
  subject TEXT NOT NULL, message BLOB NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT, next_attempt_at TEXT, queued_at TEXT NOT NULL, sent_at TEXT,
  UNIQUE (week, report, recipient)
);
CREATE TABLE IF NOT EXISTS locks (
  name TEXT PRIMARY KEY, pid INTEGER NOT NULL, host TEXT NOT NULL, purpose TEXT, acquired_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS daemon (
  id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER, host TEXT, started_at TEXT, heartbeat_at TEXT, stopped_at TEXT,
  busy_waited_seconds REAL, busy_waited_at TEXT
);
CREATE TABLE IF NOT EXISTS unit_figures (
  day TEXT NOT NULL, period TEXT NOT NULL, unit TEXT NOT NULL REFERENCES units(code), kind TEXT,
  run_id INTEGER, recorded_at TEXT NOT NULL, period_start TEXT, period_end TEXT,
{FIGURE_COLUMNS}
  PRIMARY KEY (day, period, unit)
);
CREATE INDEX IF NOT EXISTS unit_figures_unit ON unit_figures (unit, day);
CREATE TABLE IF NOT EXISTS period_figures (
  period TEXT NOT NULL, unit TEXT NOT NULL REFERENCES units(code), kind TEXT,
  run_id INTEGER, frozen_at TEXT NOT NULL, period_start TEXT, period_end TEXT,
{FIGURE_COLUMNS}
  PRIMARY KEY (period, unit)
);
CREATE TABLE IF NOT EXISTS closed_periods (
  period TEXT PRIMARY KEY, period_start TEXT NOT NULL, period_end TEXT NOT NULL, frozen_at TEXT NOT NULL,
  run_id INTEGER, units INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS daemon_jobs (
  job TEXT PRIMARY KEY, phrase TEXT NOT NULL, next_run TEXT, last_started TEXT, last_finished TEXT,
  last_status TEXT, last_error TEXT, failures INTEGER NOT NULL DEFAULT 0, note TEXT
);
"""


def _usable_or_raise(path: Path) -> None:
    if not path.exists():
        mark = daemon_mark(path)
        if mark.exists():
            raise DatabaseUnusable(f"{path}: the database is missing, though the daemon has run on it ({mark});"
                                   f" restore it from a backup, or delete {mark.name} to start an empty one")
        return
    if not os.access(path, os.R_OK | os.W_OK) or not os.access(path.parent, os.W_OK):
        raise DatabaseUnusable(f"{path}: the database (or its folder) is not writable for this user;"
                               " auditbot records every run, so it needs both")


def unusable(path: Path, exc: sqlite3.DatabaseError) -> sqlite3.DatabaseError | DatabaseUnusable:
    """A busy database is waited out by whoever asked; anything else about the file is a person's job."""
    if is_busy(exc):
        return exc
    return DatabaseUnusable(f"{path}: not a usable SQLite database ({exc}); restore it from a backup")


def is_busy(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def unit_label(config: Config, code: str) -> str:
    """A unit's name as people know it; the centre for operator findings."""
    if code == CENTRE:
        return "Trung tâm Phục vụ hành chính công"
    try:
        return config.unit(code).name
    except KeyError:
        return code


def pid_alive(pid: int | None) -> bool:
    """Whether a process of this machine still runs (runs and locks are only ever taken on one server)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fingerprint(check: str, unit: str, subject: str) -> str:
    """Stable across runs: the same violation keeps its id for its whole history."""
    return hashlib.sha1(f"{check}\x1f{unit}\x1f{subject}".encode()).hexdigest()[:12]


def timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Scope:
    """What one run covered; only findings inside it may be resolved."""

    checks: frozenset[str]
    units: frozenset[str]
    period: str | None = None
    # the periods a per-period check judged: its open findings of any other period are superseded
    judged_periods: frozenset[str] | None = None

    def covers(self, finding: Finding) -> bool:
        return (finding.check in self.checks and finding.unit in self.units
                and (self.period is None or finding.period == self.period))


@dataclass
class LifecycleCounts:
    opened: int = 0
    kept: int = 0
    resolved: int = 0
    reopened: int = 0
    ids: list[str] = field(default_factory=list)

    def add(self, other: LifecycleCounts) -> None:
        self.opened += other.opened
        self.kept += other.kept
        self.resolved += other.resolved
        self.reopened += other.reopened
        self.ids += other.ids


class DatabaseUnusable(UserError):
    """The database is gone, damaged or not writable: nothing runs on it. Its own exit code, so systemd
    restarts the daemon with a backoff while a person restores the file."""

    exit_code = 5


def daemon_mark(database: Path) -> Path:
    """Written beside the database by the first `auditbot run`: from then on a missing database is an
    accident to repair, never a reason to start an empty one."""
    return database.with_name(database.name + ".daemon")


class Store:
    def __init__(self, path: Path, busy_seconds: float = 30) -> None:
        self.path = path
        _usable_or_raise(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # check_same_thread off: an import stores batches on a second thread while the first parses
            self.db = sqlite_utils.Database(sqlite3.connect(path, check_same_thread=False))
            self.db.conn.execute(f"PRAGMA busy_timeout = {int(busy_seconds * 1000)}")
            self.db.enable_wal()
            self.db.conn.execute("PRAGMA synchronous = NORMAL")
            self.db.conn.execute("PRAGMA cache_size = -65536")  # 64 MB: imports touch the whole dossiers index
            self.db.executescript(SCHEMA)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise unusable(path, exc) from None

    def _migrate(self) -> None:
        """Bring databases made by earlier versions up to SCHEMA."""
        added = (("runs", "pid", int),  # made before runs knew their process
                 ("listing_fetches", "reason", str), ("listing_fetches", "layout", str),  # before credibility
                 ("listing_fetches", "rendered", int),
                 ("link_checks", "page_code", str), ("portal_runs", "deferred", str),  # before evidence from pages
                 ("listing_items", "section", str),
                 ("daemon", "busy_waited_seconds", float), ("daemon", "busy_waited_at", str),  # before busy waits
                 ("daemon_jobs", "note", str), ("procedures", "online_level", str),
                 ("imports", "format", str), ("imports", "summary", str), ("imports", "covered_to", str),  # before one import pipeline
                 *(("dossiers", column, kind) for column, kind in (
                     ("known", int), ("state_at", str), ("inputs_digitised", int), ("documents", int),
                     ("documents_digitised", int), ("documents_reused", int), ("supplements", str),
                     ("due_effective_at", str), ("supplement_requests", int), ("waiting_since", str))),
                 *(("unit_figures", column, int) for column in (
                     "channel_known", "due_known", "digitised_known", "payment_known", "unfinished_due_known",
                     "online_full", "online_partial", "full_known", "partial_known")),
                 ("unit_figures", "online_full_rate", float), ("unit_figures", "online_partial_rate", float))
        for table, column, kind in added:
            if column not in self.db.table(table).columns_dict:
                self.db.table(table).add_column(column, kind)
                if (table, column) == ("dossiers", "known"):  # earlier imports took every field as known
                    self.db.execute("UPDATE dossiers SET known = 31, state_at = max(received_at,"
                                    " coalesce(finished_at, ''))")
                if (table, column) == ("dossiers", "waiting_since"):  # stored before waits were deducted
                    rows = self.db.execute("SELECT code, due_at, supplements FROM dossiers"
                                           " WHERE supplements IS NOT NULL").fetchall()
                    self.db.conn.executemany(
                        "UPDATE dossiers SET due_effective_at = ?, supplement_requests = ?, waiting_since = ?"
                        " WHERE code = ?", [(*supplement_clock(due, history).as_columns(), code)
                                            for code, due, history in rows])
        # made when an absent column was stored as "no": now it is unknown (NULL)
        if any(c.notnull for c in self.db.table("dossiers").columns if c.name in ("paid_online", "digitised")):
            self.db.table("dossiers").transform(not_null={"paid_online": False, "digitised": False})
        # made before findings named their unit and check as keys (Datasette shows those keys' labels)
        have = {(fk.column, fk.other_table) for fk in self.db.table("findings").foreign_keys}
        wanted = [(c, t, k) for c, t, k in (("unit", "units", "code"), ("check_id", "checks", "id"))
                  if (c, t) not in have]
        if wanted:
            self.db.table("findings").transform(add_foreign_keys=wanted)

    @classmethod
    def open(cls, config: Config) -> Store:
        store = cls(config.database, config.busy_timeout_seconds)
        store.sync_units(config)
        return store

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.conn:
            yield

    def sync_units(self, config: Config) -> None:
        rows = [{
            "code": u.code, "name": u.name, "kind": u.kind, "aliases": json.dumps(u.aliases, ensure_ascii=False),
            "emails": json.dumps(u.emails), "head_emails": json.dumps(u.head_emails),
            "listing_urls": json.dumps(u.listing_urls),
        } for u in config.units]
        rows.append({"code": CENTRE, "name": unit_label(config, CENTRE), "kind": CENTRE})
        with self.transaction():
            self.db.table("units").upsert_all(rows, pk="code")

    def sync_names(self, checks: Iterable[dict[str, str]], kinds: dict[str, str]) -> None:
        """What people call each check and unit kind, for whoever browses the database."""
        with self.transaction():
            self.db.table("checks").upsert_all(list(checks), pk="id")
            self.db.table("unit_kinds").upsert_all([{"kind": k, "name": v} for k, v in kinds.items()], pk="kind")

    def record_figures(self, run_id: int, rows: Iterable[dict[str, Any]], now: datetime) -> int:
        """Each unit's figures for a period, one row per unit, period and day (the day's last run wins)."""
        stamped = [{**row, "day": now.date().isoformat(), "run_id": run_id, "recorded_at": timestamp(now)}
                   for row in rows]
        with self.transaction():
            self.db.table("unit_figures").upsert_all(stamped, pk=("day", "period", "unit"))
        return len(stamped)

    # --- closed periods ----------------------------------------------------------------------

    def frozen_periods(self) -> set[str]:
        return {row[0] for row in self.db.conn.execute("SELECT period FROM closed_periods")}

    def freeze_period(self, period: Period, run_id: int, rows: list[dict[str, Any]], now: datetime) -> None:
        """A closed period's final figures, per unit: recorded once, never recomputed."""
        at = timestamp(now)
        with self.transaction():
            self.db.table("period_figures").upsert_all(
                [{**row, "run_id": run_id, "frozen_at": at} for row in rows], pk=("period", "unit"))
            self.db.table("closed_periods").insert(
                {"period": period.label, "period_start": period.start.isoformat(),
                 "period_end": period.end.isoformat(), "frozen_at": at, "run_id": run_id, "units": len(rows)},
                replace=True)

    def closed_period(self, label: str) -> dict[str, Any] | None:
        return next(iter(self.db.query("SELECT * FROM closed_periods WHERE period = ?", [label])), None)

    def final_figures(self, label: str) -> dict[str, Figures]:
        return {row["unit"]: Figures.from_row(row["unit"], row)
                for row in self.db.query("SELECT * FROM period_figures WHERE period = ?", [label])}

    # --- runs -------------------------------------------------------------------------------

    def start_run(self, trigger: str, command: str, scope: Scope | None, now: datetime) -> int:
        table = self.db.table("runs")
        with self.transaction():
            table.insert({
                "trigger": trigger, "command": command, "started_at": timestamp(now), "status": "running",
                "pid": os.getpid(),
                "checks": json.dumps(sorted(scope.checks)) if scope else None,
                "units": json.dumps(sorted(scope.units)) if scope else None,
                "period": scope.period if scope else None,
            })
        assert table.last_pk is not None
        return int(table.last_pk)

    def finish_run(self, run_id: int, now: datetime, counts: LifecycleCounts | None = None,
                   error: str | None = None, status: str | None = None) -> None:
        values: dict[str, Any] = {"finished_at": timestamp(now), "status": status or ("failed" if error else "ok"),
                                  "error": error}
        if counts:
            values.update(opened=counts.opened, kept=counts.kept, resolved=counts.resolved, reopened=counts.reopened)
        with self.transaction():
            self.db.table("runs").update(run_id, values)

    def interrupt_runs(self, now: datetime, pids: Iterable[int] | None = None, note: str = "interrupted") -> int:
        """Runs left 'running' by these processes (default: any process not alive) -> 'interrupted'."""
        rows = list(self.db.query("SELECT id, pid FROM runs WHERE status = 'running'"))
        wanted = set(pids) if pids is not None else None
        ids = [r["id"] for r in rows if (r["pid"] in wanted if wanted is not None else not pid_alive(r["pid"]))]
        with self.transaction():
            self.db.conn.executemany("UPDATE runs SET status='interrupted', finished_at=?, error=? WHERE id=?",
                                     [(timestamp(now), note, run_id) for run_id in ids])
        return len(ids)

    # --- findings lifecycle -----------------------------------------------------------------

    def record(self, run_id: int, scope: Scope, produced: Iterable[Finding], now: datetime) -> LifecycleCounts:
        """Open, keep, reopen what was produced; resolve what in scope was not."""
        at = timestamp(now)
        counts = LifecycleCounts()
        existing = self._existing_in_scope(scope)
        events: list[tuple[str, int, str, str, str | None]] = []
        seen: set[str] = set()
        with self.transaction():
            conn = self.db.conn
            for finding in produced:
                if not scope.covers(finding):
                    raise ValueError(f"finding outside the run's scope: {finding.check} {finding.unit}")
                finding_id = fingerprint(finding.check, finding.unit, finding.subject)
                if finding_id in seen:
                    continue
                seen.add(finding_id)
                counts.ids.append(finding_id)
                details = json.dumps(finding.details, ensure_ascii=False, sort_keys=True, default=str)
                status = existing[finding_id][0] if finding_id in existing else self._status_outside_scope(finding_id)
                if status is None:
                    conn.execute(
                        "INSERT INTO findings (id, check_id, unit, subject, title, severity, status, period,"
                        " first_seen, last_seen, details, last_run) VALUES (?,?,?,?,?,?,'open',?,?,?,?,?)",
                        (finding_id, finding.check, finding.unit, finding.subject, finding.title,
                         finding.severity, finding.period, at, at, details, run_id))
                    events.append((finding_id, run_id, at, "opened", None))
                    counts.opened += 1
                elif status == "resolved":
                    conn.execute(
                        "UPDATE findings SET status='open', resolved_at=NULL, muted_reason=NULL, muted_until=NULL,"
                        " muted_at=NULL, last_seen=?, title=?, severity=?, details=?, last_run=? WHERE id=?",
                        (at, finding.title, finding.severity, details, run_id, finding_id))
                    events.append((finding_id, run_id, at, "reopened", None))
                    counts.reopened += 1
                else:
                    conn.execute(
                        "UPDATE findings SET last_seen=?, title=?, severity=?, details=?, last_run=? WHERE id=?",
                        (at, finding.title, finding.severity, details, run_id, finding_id))
                    counts.kept += 1
            gone = [fid for fid, (status, _) in existing.items() if fid not in seen and status != "resolved"]
            conn.executemany("UPDATE findings SET status='resolved', resolved_at=?, last_run=? WHERE id=?",
                             [(at, run_id, fid) for fid in gone])
            events += [(fid, run_id, at, "resolved", SUPERSEDED if scope.judged_periods is not None
                        and existing[fid][1] not in scope.judged_periods else None) for fid in gone]
            counts.resolved = len(gone)
            conn.executemany(
                "INSERT INTO finding_events (finding_id, run_id, at, event, note) VALUES (?,?,?,?,?)", events)
        return counts

    def _existing_in_scope(self, scope: Scope) -> dict[str, tuple[str, str | None]]:
        """id -> (status, period) of the findings the scope covers."""
        if not scope.checks or not scope.units:
            return {}
        checks = sorted(scope.checks)
        units = sorted(scope.units)
        sql = (f"SELECT id, status, period FROM findings WHERE check_id IN ({','.join('?' * len(checks))})"
               f" AND unit IN ({','.join('?' * len(units))})")
        params: list[Any] = [*checks, *units]
        if scope.period is not None:
            sql += " AND period = ?"
            params.append(scope.period)
        return {fid: (status, period) for fid, status, period in self.db.conn.execute(sql, params)}

    def _status_outside_scope(self, finding_id: str) -> str | None:
        row = self.db.conn.execute("SELECT status FROM findings WHERE id = ?", (finding_id,)).fetchone()
        return row[0] if row else None

    # --- muting -----------------------------------------------------------------------------

    def mute(self, finding_id: str, reason: str, until: date | None, now: datetime) -> dict[str, Any] | None:
        """Mute a finding; return the mute it replaces (reason, until), if it was muted already."""
        row = self.db.conn.execute("SELECT status, muted_reason, muted_until FROM findings WHERE id = ?",
                                   (finding_id,)).fetchone()
        if row is None:
            raise UserError(f"no finding with id {finding_id!r} (see `auditbot findings --status all`)")
        if row[0] == "resolved":
            raise UserError(f"finding {finding_id} is resolved; only open findings can be muted")
        if not reason.strip():
            raise UserError("--reason must say why the finding is muted")
        at = timestamp(now)
        note = reason if until is None else f"{reason} (until {until.isoformat()})"
        with self.transaction():
            self.db.conn.execute(
                "UPDATE findings SET status='muted', muted_reason=?, muted_until=?, muted_at=? WHERE id=?",
                (reason, until.isoformat() if until else None, at, finding_id))
            self._event(finding_id, at, "muted", note)
        return {"reason": row[1], "until": row[2]} if row[0] == "muted" else None

    def unmute(self, finding_id: str, now: datetime, note: str | None = None) -> None:
        row = self.db.conn.execute("SELECT status FROM findings WHERE id = ?", (finding_id,)).fetchone()
        if row is None or row[0] != "muted":
            raise UserError(f"finding {finding_id!r} is not muted")
        with self.transaction():
            self._unmute(finding_id, timestamp(now), note)

    def expire_mutes(self, now: datetime) -> list[str]:
        """A mute with an `until` date in the past ends: the finding is open again."""
        today = now.date().isoformat()
        expired = [r[0] for r in self.db.conn.execute(
            "SELECT id FROM findings WHERE status='muted' AND muted_until IS NOT NULL AND muted_until < ?", (today,))]
        if expired:
            with self.transaction():
                for finding_id in expired:
                    self._unmute(finding_id, timestamp(now), "mute expired")
        return expired

    def _unmute(self, finding_id: str, at: str, note: str | None) -> None:
        self.db.conn.execute(
            "UPDATE findings SET status='open', muted_reason=NULL, muted_until=NULL, muted_at=NULL WHERE id=?",
            (finding_id,))
        self._event(finding_id, at, "unmuted", note)

    def _event(self, finding_id: str, at: str, event: str, note: str | None) -> None:
        self.db.conn.execute("INSERT INTO finding_events (finding_id, at, event, note) VALUES (?,?,?,?)",
                             (finding_id, at, event, note))

    # --- reading ----------------------------------------------------------------------------

    def findings(self, units: Iterable[str] | None = None, statuses: Iterable[str] | None = None,
                 checks: Iterable[str] | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM findings WHERE 1=1"
        params: list[Any] = []
        for column, values in (("unit", units), ("status", statuses), ("check_id", checks)):
            if values is not None:
                values = list(values)
                sql += f" AND {column} IN ({','.join('?' * len(values))})"
                params += values
        sql += " ORDER BY unit, check_id, subject"
        return [finding_json(row) for row in self.db.query(sql, params)]

    def events(self, finding_id: str) -> list[dict[str, Any]]:
        return list(self.db.query(
            "SELECT at, event, note, run_id FROM finding_events WHERE finding_id = ? ORDER BY id", [finding_id]))


def last_success(store: Store, job: str) -> str | None:
    """When a daemon job last finished well."""
    row = store.db.execute("SELECT max(started_at) FROM runs WHERE command = ? AND status = 'ok'",
                           [f"job:{job}"]).fetchone()
    return None if row[0] is None else str(row[0])


def finding_json(row: dict[str, Any]) -> dict[str, Any]:
    """The contract's JSON shape for a finding."""
    return {
        "id": row["id"], "check": row["check_id"], "unit": row["unit"], "subject": row["subject"],
        "title": row["title"], "severity": row["severity"], "status": row["status"],
        "first_seen": row["first_seen"], "last_seen": row["last_seen"], "resolved_at": row["resolved_at"],
        "details": json.loads(row["details"] or "{}"),
        **({"muted_reason": row["muted_reason"], "muted_until": row["muted_until"]}
           if row["status"] == "muted" else {}),
    }
