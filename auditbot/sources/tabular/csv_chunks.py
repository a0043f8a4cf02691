"""A big CSV export cut into chunks of whole records that a columnar reader reads exactly as `csv.reader` does.

The columnar reader (polars) and Python's `csv.reader` agree on a line that is *regular*: fields either
unquoted without a quote, CR or NUL, or quoted with doubled inner quotes, all on one line. A chunk whose lines
are all regular is handed over with each line's width counted here: the lines that have the header's width go
to the columnar reader, the others (blank lines, shifted rows) are read the exact way one by one. At the first
chunk with any irregular line (a cell with a line break, a stray quote, a bare CR, an overlong field) the rest
of the file is read the exact way from that record on: never a guess about where a record ends."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

CHUNK_BYTES = 8 << 20
MAX_LINE = 1 << 20  # csv.field_size_limit in formats.py: a longer line is left to the reader that refuses it


@dataclass
class Chunk:
    offset: int                      # the byte where its first record starts
    first: int                       # and that record's number
    numbers: list[int]               # record numbers of the lines in `text`, in order
    text: bytes                      # the lines that have the header's width, each ending in a newline
    odd: list[tuple[int, bytes]]     # (record number, line) of the others: blank, shorter or longer


@dataclass
class Rest:
    offset: int                      # the byte where the first record not yet read starts
    number: int                      # its record number


def _regular(delimiter: bytes) -> re.Pattern[bytes]:
    d = re.escape(delimiter)
    field = rb'(?:[^"\r\n\x00' + d + rb']*|"(?:[^"\r\n\x00]|"")*")'
    return re.compile(field + rb"(?:" + d + field + rb")*\r?")


_QUOTED = re.compile(rb'"(?:[^"\r\n\x00]|"")*"')


def data_offset(path: Path, encoding: str, delimiter: str, records: int) -> int | None:
    """The byte where record `records + 1` starts, as `csv.reader` counts records; None if the header's
    records cannot be told apart line by line (a bare CR) or the encoding is not one a columnar reader reads."""
    if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig") or records < 0:
        return None
    consumed = 0
    with path.open("rb") as raw:
        decoder = codecs.getincrementaldecoder(encoding)()

        def lines() -> Iterator[str]:
            nonlocal consumed
            for line in raw:
                consumed += len(line)
                yield decoder.decode(line)

        reader = csv.reader(lines(), delimiter=delimiter)
        try:
            for _ in range(records):
                next(reader)
        except (csv.Error, StopIteration, UnicodeDecodeError):
            return None
    return consumed


def chunks(handle: IO[bytes], delimiter: str, width: int, first_number: int,
           size: int | None = None) -> Iterator[Chunk | Rest]:
    """From the handle's position (a record's start) to the end of the file: chunks, then a `Rest` if one
    chunk is not regular throughout. The reader of a chunk must refuse a line with more cells than `width`
    (a line one cell longer and another one shorter add up to the right count)."""
    sep = delimiter.encode()
    regular = _regular(sep)
    size = size or CHUNK_BYTES
    number = first_number
    while True:
        offset = handle.tell()
        data = handle.read(size)
        if not data:
            return
        if not data.endswith(b"\n"):
            tail = handle.readline(MAX_LINE + 1)
            if len(tail) > MAX_LINE:
                yield Rest(offset, number)
                return
            data += tail if tail.endswith(b"\n") else tail + b"\n"  # the last record may have no newline
        inside = 0  # delimiters inside quoted cells
        if b"\x00" in data or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
            yield Rest(offset, number)
            return
        if b'"' in data:
            quoted = [line for line in data.split(b"\n") if b'"' in line]
            if not all(regular.fullmatch(line) for line in quoted):
                yield Rest(offset, number)
                return
            inside = sum(line.count(sep) - _QUOTED.sub(b"", line).count(sep) for line in quoted)
        count = data.count(b"\n")
        if data.count(sep) - inside == count * (width - 1):  # every line has the header's width
            yield Chunk(offset, number, list(range(number, number + count)), data, [])
        else:
            lines = data.split(b"\n")[:-1]
            widths = [(_QUOTED.sub(b"", line) if b'"' in line else line).count(sep) + 1 for line in lines]
            keep = [i for i, w in enumerate(widths) if w == width]
            yield Chunk(offset, number, [number + i for i in keep], b"".join(lines[i] + b"\n" for i in keep),
                        [(number + i, lines[i]) for i, w in enumerate(widths) if w != width])
        number += count


def odd_cells(line: bytes, encoding: str, delimiter: str) -> list[str]:
    """A regular line's cells, read the exact way."""
    return next(csv.reader([line.decode(encoding)], delimiter=delimiter), [])
