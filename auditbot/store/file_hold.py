"""One descriptor per database file per process, for reading its header without breaking SQLite's locks.

Closing any descriptor of a file drops every POSIX lock the process holds on it, SQLite's included
(sqlite.org/howtocorrupt.html, 2.2). A header read by open() and close() while a connection of this process
is on the file (Datasette's threads in `serve`, a second Store in the daemon) lets another process's last
close delete the WAL under that connection: it then reads an old snapshot until it is closed, or writes over
a WAL it no longer sees. So connections are opened under `LOCK` and the file is then held open here until the
last Store of this process closes it; a header read while it is held reads through that descriptor.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

LOCK = threading.Lock()  # opening a connection and reading a header never interleave
_HELD: dict[tuple[int, int], list[int]] = {}  # (device, inode) -> [descriptor, Stores holding it]

Identity = tuple[int, int]


def identity(path: Path) -> Identity:
    found = path.stat()
    return found.st_dev, found.st_ino


def read_start(path: Path, size: int) -> bytes:
    """The first `size` bytes of the file; the caller holds `LOCK`. OSError when it cannot be read."""
    held = _HELD.get(identity(path))
    if held is not None:
        return os.pread(held[0], size, 0)
    # no connection of this process is on this file (each one is held from its opening), so closing is safe
    with path.open("rb") as handle:
        return handle.read(size)


def hold(path: Path) -> Identity:
    """Keep the file open for one more Store; the caller holds `LOCK` and has just connected."""
    key = identity(path)
    held = _HELD.get(key)
    if held is None:
        # held open, the inode cannot be reused by another file while its key is here
        _HELD[key] = [os.open(path, os.O_RDONLY | os.O_CLOEXEC), 1]
    else:
        held[1] += 1
    return key


def release(key: Identity) -> None:
    """One Store fewer; the descriptor closes with the last, after its connection closed."""
    with LOCK:
        held = _HELD.get(key)
        if held is None:
            return
        held[1] -= 1
        if held[1] == 0:
            del _HELD[key]
            os.close(held[0])
