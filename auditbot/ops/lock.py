"""One writer at a time: a lock row in SQLite shared by `auditbot check`, imports, `report --send` and
the daemon's jobs, so an officer's ad-hoc run and the daemon never write the same findings or send
the same letters at once. The second one waits, then says clearly who holds the lock. A lock held by
a process that no longer exists (kill -9) is taken over.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from auditbot.errors import UserError
from auditbot.store import Store, pid_alive

NAME = "writer"
_depth = [0]  # this process's depth: a daemon job calling `check` does not wait for itself


class Busy(UserError):
    exit_code = 3


@contextmanager
def writer_lock(store: Store, purpose: str, wait_seconds: float) -> Iterator[None]:
    if _depth[0]:
        _depth[0] += 1
        try:
            yield
        finally:
            _depth[0] -= 1
        return
    _acquire(store, purpose, wait_seconds)
    _depth[0] = 1
    try:
        yield
    finally:
        _depth[0] = 0
        store.release_lock(NAME, os.getpid())


def _acquire(store: Store, purpose: str, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    me, host = os.getpid(), socket.gethostname()
    while True:
        pid, holder_host, holder_purpose, since = store.claim_lock(NAME, me, host, purpose)
        if pid == me and holder_host == host:
            return
        if holder_host == host and not pid_alive(pid):
            store.release_lock(NAME, pid)  # its process is gone: the lock is stale
            continue
        if time.monotonic() >= deadline:
            raise Busy(f"a run is in progress ({holder_purpose}, process {pid} on {holder_host},"
                       f" since {since} UTC); try again when it has finished")
        time.sleep(0.5)

