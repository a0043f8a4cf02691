"""Scratch folders of imports (a reading child's staged batches): made with their owner in their name, removed
by their owner, and, when an import was killed before it could remove its own, by the next import.

A folder is `auditbot-import-<pid>-<start>-<random>` in the temporary directory: the owner's process id and
its start time (so a process id used again by another process is not taken for the owner). Only folders
of that shape, of this user, whose owner is gone, are ever removed."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

PREFIX = "auditbot-import-"
_NAME = re.compile(re.escape(PREFIX) + r"(\d+)-(\d+)-")


def _started(pid: int) -> int | None:
    """When process `pid` started (clock ticks after boot); None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    try:
        return int(fields[19])  # the 22nd field of the line; the first two are before the name's ")"
    except (IndexError, ValueError):
        return None


def make() -> Path:
    """A new scratch folder owned by this process."""
    pid = os.getpid()
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{pid}-{_started(pid) or 0}-"))


def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _owner_alive(pid: int, started: int) -> bool:
    now = _started(pid)
    if now is not None:
        return now == started or started == 0
    if os.path.isdir("/proc"):
        return False
    try:  # no /proc to read: whether any process has that id
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def sweep() -> list[Path]:
    """Remove the scratch folders whose owner is gone; the folders removed."""
    removed = []
    try:
        entries = list(os.scandir(tempfile.gettempdir()))
    except OSError:
        return []
    for entry in entries:
        match = _NAME.match(entry.name)
        if not match:
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
        except OSError:
            continue
        if not _owner_alive(int(match.group(1)), int(match.group(2))):
            remove(Path(entry.path))
            removed.append(Path(entry.path))
    return removed
