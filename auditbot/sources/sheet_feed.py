"""A big XLSX export read on two cores: a feeder process inflates the sheet and keeps the mapped columns'
cells (`SheetStream.fields`, one core), while the reading child types the rows it has already sent (the
other). Alone, the child did both in turn.

The feeder is forked once the header is found and before the columnar engine starts: the engine's threads
do not survive a fork. It streams batches of rows down a pipe (its writes wait while the child is behind,
so neither holds more than a batch or two) and says how it ended: at the sheet's end, at a row the stream is
not sure of (calamine reads on from there, in the child), or with the error an import reports. It dies with
the child, and under the same memory cap."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import InputError
from . import children
from .rows import Counts, Record, TableSpec, find_header
from .sheet_stream import Fields, SheetStream, open_sheet
from .workbook import NOT_STREAMED, check_grid, streamed_then_calamine

BATCH_ROWS = 10_000  # rows sent and typed together: the columnar rules' cost per call is paid once for this many


def read_sheet(path: Path, spec: TableSpec, config: Config, import_id: int,
               on_header: Callable[[dict[str, str], list[str]], None],
               on_batch: Callable[[list[Record]], None], on_stage: Callable[[bytes], None],
               scratch: Path) -> Counts | None:
    """The import's counts, or None when the workbook is not one the stream reads (the row path reads it)."""
    with ExitStack() as stack:
        try:
            sheet = stack.enter_context(open_sheet(path))
        except NOT_STREAMED:
            return None
        header, _ = find_header(streamed_then_calamine(path, sheet), path, spec, config)
        if not sheet.kept:
            return None  # calamine read another sheet
        feed = stack.enter_context(Feed(path, sheet, config.max_memory_mb))
        from .sheet_columnar import type_sheet  # the engine starts here, after the fork

        return type_sheet(path, header, feed, spec, config, import_id, on_header, on_batch, on_stage, scratch)
    return None  # not reached: the stack does not swallow exceptions


class Feed:
    """The child's end of the feeder: batches of the sheet's rows from row `first` on, then how it ended
    (`complete`: it read to the sheet's end; `last`: the last row it read whole)."""

    def __init__(self, path: Path, sheet: SheetStream, megabytes: float) -> None:
        self.path, self.sheet = path, sheet.name
        self.complete, self.last = True, 0
        ours, theirs = Pipe()
        pid = os.fork()
        if pid == 0:
            ours.close()
            _feed(path, sheet, theirs, megabytes)
        theirs.close()
        self.pid: int | None = pid
        self.conn = ours

    def batches(self, first: int, columns: tuple[int, ...], kinds: bytes) -> Iterator[Fields]:
        """The kept columns' cells (see `SheetStream.fields`), at least BATCH_ROWS rows a batch but the last."""
        self.conn.send((first, columns, kinds))
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):
                raise self._died() from None
            if message[0] == "batch":
                yield message[1]
            elif message[0] == "end":
                _, self.complete, self.last = message
                return
            elif message[0] == "refused":
                raise InputError(message[1])
            elif message[0] == "memory":
                raise MemoryError
            else:
                raise InputError(f"{self.path}: import stopped ({message[1]})")

    def _died(self) -> Exception:
        _, status = os.waitpid(self.pid, 0) if self.pid else (0, 0)
        self.pid = None
        code = os.waitstatus_to_exitcode(status)
        return MemoryError() if code == children.MEMORY_EXIT else InputError(children.stopped(self.path, code))

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close()
        if self.pid:
            os.kill(self.pid, signal.SIGKILL)  # done with it, or stopped early: either way nothing more is read
            os.waitpid(self.pid, 0)
            self.pid = None


def _feed(path: Path, sheet: SheetStream, conn: Connection, megabytes: float) -> None:
    """The feeder: never returns."""
    try:
        children.die_with_parent()
        children.watch_memory(megabytes)
        first, columns, kinds = conn.recv()
        sheet.restart()
        gathered = _Gathered()

        def send() -> None:
            if gathered.rows:
                conn.send(("batch", gathered.take()))

        complete = True
        try:
            for piece in sheet.fields(first, columns, kinds):
                check_grid(path, sheet.name, piece.width, sheet.last)
                if gathered.add(piece) >= BATCH_ROWS:
                    send()
        except NOT_STREAMED:
            complete = False  # the child reads on with calamine after sheet.last, the last row read whole
        send()
        conn.send(("end", complete, sheet.last))
    except InputError as exc:
        _say(conn, ("refused", str(exc)))
    except MemoryError:
        _say(conn, ("memory",))
    except BaseException as exc:  # noqa: BLE001 - said in one word, never a cell's content
        _say(conn, ("stopped", type(exc).__name__))
    finally:
        os._exit(0)


def _say(conn: Connection, message: tuple[Any, ...]) -> None:
    try:
        conn.send(message)
    except (OSError, ValueError):
        pass  # the child is gone: nobody is listening


class _Gathered:
    """Pieces gathered into one batch."""

    def __init__(self) -> None:
        self.pieces: list[Fields] = []
        self.rows = 0

    def add(self, piece: Fields) -> int:
        self.pieces.append(piece)
        self.rows += piece.plain + len(piece.odd)
        return self.rows

    def take(self) -> Fields:
        pieces, self.pieces, self.rows = self.pieces, [], 0
        return Fields(b"".join(piece.lines for piece in pieces), sum(piece.plain for piece in pieces),
                      [row for piece in pieces for row in piece.odd], max(piece.width for piece in pieces))
