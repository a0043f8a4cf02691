"""What every process that reads a file for an import does to be safe to stop: start clean (a new interpreter
that inherits no open file but its pipe and no secret from the environment), die with whoever started it,
stay under the memory cap, keep a reader's own backtrace to itself, and be reported in one line when it dies."""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import os
import pickle
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection, Pipe
from pathlib import Path
from typing import Any

MEMORY_EXIT = 86  # a reading process's exit code when it outgrew [sources] max_memory_mb
DEFAULT_SECRETS = ("AUDITBOT_SMTP_PASSWORD",)


def clean_environment(secrets: Iterable[str]) -> dict[str, str]:
    """This process's environment without the named secrets (the SMTP password's variable), and with the
    folder auditbot is imported from first on the path, so the new interpreter reads with the same code."""
    hidden = {*DEFAULT_SECRETS, *secrets}
    env = {name: value for name, value in os.environ.items() if name not in hidden}
    home = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(part for part in (home, env.get("PYTHONPATH", "")) if part)
    return env


def start_reader(module: str, secrets: Iterable[str]) -> tuple[subprocess.Popen[bytes], Connection]:
    """A new interpreter running `python -m module`, given the write end of a pipe (its fd number as the one
    argument); returns the process and the read end. Its job follows with `send_job`: until then the child
    imports what it reads with, while this process does its own work. Not a fork: the child holds no copy
    of the database connection, its file or anything else this process has open (only the pipe is passed),
    and its environment has no secret in it."""
    reader, writer = Pipe(duplex=False)
    try:
        process = subprocess.Popen([sys.executable, "-m", module, str(writer.fileno())], stdin=subprocess.PIPE,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   env=clean_environment(secrets), close_fds=True, pass_fds=(writer.fileno(),))
    except BaseException:
        reader.close()
        raise
    finally:
        writer.close()  # the child holds the only writer: its death is an end of file here
    return process, reader


def send_job(process: subprocess.Popen[bytes], job: tuple[Any, ...]) -> None:
    """The child's job, pickled on its stdin (see reader_job)."""
    assert process.stdin is not None
    try:
        process.stdin.write(pickle.dumps(job))
        process.stdin.close()
    except OSError:
        pass  # it died before reading its job: the read end says so


def reader_job(argv: list[str]) -> tuple[tuple[Any, ...], Connection]:
    """In the child: its job and the write end of its pipe (see start_reader)."""
    job = pickle.load(sys.stdin.buffer)
    return job, Connection(int(argv[1]), readable=False)


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


@contextlib.contextmanager
def address_space(megabytes: float) -> Iterator[None]:
    """Within the block, address space for this process is what it has now plus `megabytes`: a reader that
    asks for more gets an allocation failure at once, before it touches a page. The limit before it is put
    back after (an engine started later reserves far more address space than it uses)."""
    before = resource.getrlimit(resource.RLIMIT_AS)
    try:
        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * resource.getpagesize()
        limit = current + int(megabytes * (1 << 20))
        if before[1] != resource.RLIM_INFINITY:
            limit = min(limit, before[1])
        resource.setrlimit(resource.RLIMIT_AS, (limit, before[1]))
    except (OSError, ValueError):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, before)


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
