"""What every process that reads a file for an import does to be safe to stop: die with whoever started it,
stay under the memory cap, keep a reader's own backtrace to itself, and be reported in one line when it dies."""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import os
import resource
import signal
import threading
import time
from pathlib import Path

MEMORY_EXIT = 86  # a reading process's exit code when it outgrew [sources] max_memory_mb


def die_with_parent(parent: int) -> None:
    """A reading process must not outlive the one that started it, `parent` (PR_SET_PDEATHSIG = 1; and if
    that one died before this could be asked for, now)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(0)


def cap_memory(megabytes: float) -> None:
    """Address space for this process: what it has now plus the cap. A reader that asks for more gets an
    allocation failure (Rust aborts on one: the parent sees a dead child, not a swapping machine)."""
    try:
        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * resource.getpagesize()
        limit = current + int(megabytes * (1 << 20))
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError):
        pass


def watch_memory(megabytes: float) -> None:
    """A cap on resident memory for a process whose engine reserves far more address space than it uses (an
    address-space cap would stop it at once): past what it has now plus the cap, it exits, in one step."""
    page = resource.getpagesize()

    def resident() -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * page

    try:
        limit = resident() + int(megabytes * (1 << 20))
    except (OSError, ValueError):
        return

    def watch() -> None:
        while True:
            if resident() > limit:
                os._exit(MEMORY_EXIT)
            time.sleep(0.02)

    threading.Thread(target=watch, name="memory-cap", daemon=True).start()


def quiet_stderr() -> None:
    """A reader that aborts prints its own backtrace; the parent already says what happened, in one line."""
    faulthandler.disable()  # it writes to its own copy of stderr (pytest and PYTHONFAULTHANDLER enable it)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def too_big(path: Path, megabytes: float) -> str:
    return f"{path}: reading it needs more than [sources] max_memory_mb = {megabytes:g} MB; not imported"


def stopped(path: Path, code: int | None) -> str:
    """What a reading process that died without a word did, for the import's one line."""
    return (f"{path}: the reader stopped ({_how_it_died(code)}): the file is damaged or declares more than it"
            " holds; not imported")


def _how_it_died(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
