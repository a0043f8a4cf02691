"""A big XLSX export read on two cores: a feeder process inflates the sheet and keeps the mapped columns'
cells (`SheetStream.fields`, one core), while the reading child types the rows it has already sent (the
other). Alone, the child did both in turn.

The feeder is forked once the header is found and before the columnar engine starts: the engine's threads
do not survive a fork. It starts reading at once, and streams batches of rows down a pipe, up to AHEAD
batches ahead of the child (then it waits: neither holds more than that), and says how it ended: at the
sheet's end, at a row the stream is not sure of (calamine reads on from there, in the child), or with the
error an import reports. It dies with the child, and under the same memory cap."""

from __future__ import annotations

import os
import queue
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from auditbot.config.rules import Config
from auditbot.errors import InputError
from auditbot.sources.tabular import reading_process as children
from auditbot.sources.tabular.rows import Counts, Record, Shaper, TableSpec, find_header
from auditbot.sources.tabular.sheet_stream import Fields, SheetStream, open_sheet
from auditbot.sources.tabular.workbook import NOT_STREAMED, check_grid, streamed_then_calamine

BATCH_ROWS = 10_000  # rows sent and typed together: the columnar rules' cost per call is paid once for this many
AHEAD = 8            # batches the feeder may read ahead of the child (while it starts the engine, say)
TEXT, MOMENT, AMOUNT = 0, 1, 2  # which cells of a field have a text twin (see _sheetxml.c)


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
        names = [name for name, aliases in spec.fields.items() if aliases]
        kinds = bytes(MOMENT if name in spec.moment_fields else AMOUNT if name in spec.amount_fields  # type: ignore[attr-defined]
                      else TEXT for name in names)
        projection = (header.last_row + 1, tuple(Shaper(header, spec, strict=False).positions), kinds)
        feed = stack.enter_context(Feed(path, sheet, config.max_memory_mb, projection))
        from auditbot.sources.tabular.sheet_columnar import (
            type_sheet,  # the engine starts here, after the fork, while the feeder reads
        )

        return type_sheet(path, header, feed, spec, config, import_id, on_header, on_batch, on_stage, scratch)
    return None  # not reached: the stack does not swallow exceptions


class Feed:
    """The child's end of the feeder, which reads the sheet's rows from `projection`'s first row on, keeping its
    columns' cells (`SheetStream.fields`): their batches, then how it ended (`complete`: it read to the sheet's
    end; `last`: the last row it read whole)."""

    def __init__(self, path: Path, sheet: SheetStream, megabytes: float,
                 projection: tuple[int, tuple[int, ...], bytes]) -> None:
        self.path, self.sheet = path, sheet.name
        self.complete, self.last = True, 0
        ours, theirs = Pipe(duplex=False)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            ours.close()
            children.die_with_parent(parent)
            _feed(path, sheet, theirs, megabytes, projection)
        theirs.close()
        self.pid: int | None = pid
        self.conn = ours

    def batches(self) -> Iterator[Fields]:
        """At least BATCH_ROWS rows a batch, but the last."""
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


def _feed(path: Path, sheet: SheetStream, conn: Connection, megabytes: float,
          projection: tuple[int, tuple[int, ...], bytes]) -> None:
    """The feeder: never returns. Its messages are sent by a thread of their own, so that reading goes on
    while the child is busy, up to AHEAD batches."""
    outbox: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=AHEAD)

    def post() -> None:
        try:
            while (message := outbox.get()) is not None:
                conn.send(message)
        except (OSError, ValueError):
            pass  # the child is gone: nobody is listening (and it kills this process)

    sender = threading.Thread(target=post, name="feeder-post")
    try:
        children.watch_memory(megabytes)
        sender.start()
        sheet.restart()
        gathered = _Gathered()

        def send() -> None:
            if gathered.rows:
                outbox.put(("batch", gathered.take()))

        complete = True
        try:
            for piece in sheet.fields(*projection):
                check_grid(path, sheet.name, piece.width, sheet.last)
                if gathered.add(piece) >= BATCH_ROWS:
                    send()
        except NOT_STREAMED:
            complete = False  # the child reads on with calamine after sheet.last, the last row read whole
        send()
        outbox.put(("end", complete, sheet.last))
    except InputError as exc:
        outbox.put(("refused", str(exc)))
    except MemoryError:
        outbox.put(("memory",))
    except BaseException as exc:  # noqa: BLE001 - said in one word, never a cell's content
        outbox.put(("stopped", type(exc).__name__))
    finally:
        outbox.put(None)
        if sender.is_alive():
            sender.join()
        os._exit(0)


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
