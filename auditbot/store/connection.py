"""Opening the database file, and what makes one unusable: the pieces every part of the store shares."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import sqlite_utils

from auditbot.config.rules import Config
from auditbot.errors import UserError
from auditbot.store import file_hold

SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite 3 database file
CENTRE = "_centre"  # operator findings are addressed to the centre, not to a unit


class DatabaseUnusable(UserError):
    """The database is gone, damaged or not writable: nothing runs on it. Its own exit code, so systemd
    restarts the daemon with a backoff while a person restores the file."""

    exit_code = 5


def daemon_mark(database: Path) -> Path:
    """Written beside the database by the first `auditbot run`: from then on a missing database is an
    accident to repair, never a reason to start an empty one."""
    return database.with_name(database.name + ".daemon")


def usable_or_raise(path: Path) -> bool:
    """Refuse a database a person must repair; return whether it exists (only a first start creates one)."""
    if not path.exists():
        mark = daemon_mark(path)
        if mark.exists():
            raise DatabaseUnusable(f"{path}: the database is missing, though the daemon has run on it ({mark});"
                                   f" restore it from a backup, or delete {mark.name} to start an empty one")
        return False
    if not os.access(path, os.R_OK | os.W_OK) or not os.access(path.parent, os.W_OK):
        raise DatabaseUnusable(f"{path}: the database (or its folder) is not writable for this user;"
                               " auditbot records every run, so it needs both")
    if not _sqlite_header(path):
        # judged before SQLite opens it: a -wal left beside it by a deleted database would lend it a valid
        # first page, and SQLite would run on the garbage as if it were that database
        raise DatabaseUnusable(f"{path}: not a usable SQLite database (it does not begin with SQLite's header);"
                               " restore it from a backup")
    return True


def _sqlite_header(path: Path) -> bool:
    """Whether the file is empty (SQLite writes it on first use) or begins as every SQLite database does."""
    try:
        with file_hold.LOCK:
            start = file_hold.read_start(path, len(SQLITE_HEADER))
    except OSError:
        return True  # unreadable is SQLite's to report, in its own words
    return start in (b"", SQLITE_HEADER)


def unusable(path: Path, exc: sqlite3.DatabaseError) -> sqlite3.DatabaseError | DatabaseUnusable:
    """A busy database is waited out by whoever asked; anything else about the file is a person's job."""
    if is_busy(exc):
        return exc
    try:  # deleted or replaced since it was opened: say which, as for a file found so at the start
        usable_or_raise(path)
    except DatabaseUnusable as problem:
        return problem
    return DatabaseUnusable(f"{path}: not a usable SQLite database ({exc}); restore it from a backup")


def is_busy(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


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


def timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def unit_label(config: Config, code: str) -> str:
    """A unit's name as people know it; the centre for operator findings."""
    if code == CENTRE:
        return "Trung tâm Phục vụ hành chính công"
    try:
        return config.unit(code).name
    except KeyError:
        return code


def connect(path: Path, busy_seconds: float, *, create: bool) -> tuple[sqlite_utils.Database, file_hold.Identity]:
    """Open the database, and hold its file for this process (store/file_hold.py) until `file_hold.release`.

    `create` only where `usable_or_raise` found none to keep. Otherwise mode=rw: a file deleted since it was
    looked at stays deleted (SQLite would make a new one and fill it from the deleted file's leftover -wal),
    and the open fails instead."""
    uri = f"{path.absolute().as_uri()}?mode={'rwc' if create else 'rw'}"
    with file_hold.LOCK:
        # check_same_thread off: an import stores batches on a second thread while the first parses
        conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
        try:
            held = file_hold.hold(path)
        except OSError as exc:  # gone between SQLite's open and ours: said as for a file found gone
            conn.close()
            raise sqlite3.OperationalError(f"unable to open database file ({exc.strerror})") from None
    db = sqlite_utils.Database(conn)
    try:
        db.conn.execute(f"PRAGMA busy_timeout = {int(busy_seconds * 1000)}")
        db.enable_wal()
        db.conn.execute("PRAGMA synchronous = NORMAL")
        db.conn.execute("PRAGMA cache_size = -65536")  # 64 MB: imports touch the whole dossiers index
    except BaseException:
        db.close()
        file_hold.release(held)
        raise
    return db, held


class Connection:
    """An open database; the parts of the store are methods over it."""

    db: sqlite_utils.Database

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.conn:
            yield
