"""One daemon per database: an exclusive flock on the mark file beside it.

The kernel releases the lock however the process ends (SIGTERM, kill -9, a crash), so a stale lock
never blocks a restart. The file keeps who holds it, for the refusal message; it stays after the
daemon stops, as the record that a daemon has run on this database (see `store.daemon_mark`).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from auditbot.errors import UserError
from auditbot.store import daemon_mark


class AlreadyRunning(UserError):
    exit_code = 3


@contextmanager
def only_daemon(database: Path, started_at: str) -> Iterator[None]:
    mark = daemon_mark(database)
    fd = os.open(mark, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(f"another `auditbot run` is already running on {database}: {holder(mark)};"
                                 " stop it first (one daemon per database)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                  "started_at": started_at}).encode(), 0)
        yield
    finally:
        os.close(fd)


def holder(mark: Path) -> str:
    try:
        who = json.loads(mark.read_text(encoding="utf-8"))
        return f"pid {who['pid']} on {who['host']}, started {who['started_at']}"
    except (OSError, ValueError, KeyError, TypeError):
        return f"its process holds {mark}"
