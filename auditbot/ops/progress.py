"""Progress of long work (rows imported, listing pages read, links checked, letters made), drawn as a bar on
a terminal and nowhere else.

The work says how far it is through `steps(...)`; only the command line installs a bar, and only when
stderr is a terminal: in a pipe, a file, a test or the daemon's log the steps cost one lookup and draw
nothing (a redrawn line in a log is noise).
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any, TextIO

import click

Advance = Callable[[int], None]
# what: rows | units | links | letters; total: None when unknown (an export's rows); fields: for the label
BarMaker = Callable[[str, int | None, dict[str, Any]], AbstractContextManager[Advance]]

_maker: ContextVar[BarMaker | None] = ContextVar("auditbot_progress", default=None)
_advance: ContextVar[Advance | None] = ContextVar("auditbot_progress_step", default=None)


@contextmanager
def steps(what: str, total: int | None = None, **fields: Any) -> Iterator[None]:
    """The work inside the block calls `advance(n)` after each n steps (asyncio tasks it starts see it too)."""
    maker = _maker.get()
    if maker is None:
        yield
        return
    with maker(what, total, fields) as bar:
        token = _advance.set(bar)
        try:
            yield
        finally:
            _advance.reset(token)


def advance(done: int = 1) -> None:
    bar = _advance.get()
    if bar is not None:
        bar(done)


def on_terminal(label: Callable[[str, dict[str, Any]], str], stream: TextIO | None = None) -> AbstractContextManager[Any]:
    """Bars for the work done inside the block, when `stream` (stderr) is a terminal; nothing otherwise."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return nullcontext()
    return _installed(_bars(label, stream))


@contextmanager
def _installed(maker: BarMaker) -> Iterator[None]:
    token = _maker.set(maker)
    try:
        yield
    finally:
        _maker.reset(token)


def _bars(label: Callable[[str, dict[str, Any]], str], stream: TextIO) -> BarMaker:
    @contextmanager
    def bar(what: str, total: int | None, fields: dict[str, Any]) -> Iterator[Advance]:
        # an unknown total (rows still being read) counts up with the bar moving, without a percentage
        items: Any = range(total) if total is not None else itertools.count()
        with click.progressbar(items, label=label(what, fields), file=stream, show_pos=True,
                               show_eta=total is not None) as progress:
            yield progress.update

    return bar
