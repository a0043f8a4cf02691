"""The header of a real export, found by us: title rows above it, a two-row header with merged group
cells, columns named in the words each system uses, and columns naming a person never taken."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from auditbot.errors import InputError
from auditbot.words.text import fold_ascii

Cell = str | float | int | bool | datetime | date | time | timedelta | None
Row = tuple[int, list[Cell]]  # (row number as the user sees it, cells)

HEADER_SCAN_ROWS = 40


# --- finding the header ---------------------------------------------------------------------

_PARENS = re.compile(r"\(.*?\)|\[.*?\]")


def header_key(label: Cell) -> str:
    if label is None or isinstance(label, (datetime, date, time, timedelta, float, int)):
        return ""
    return fold_ascii(_PARENS.sub(" ", str(label).replace("*", " ")))


@dataclass(frozen=True)
class Header:
    last_row: int                    # data starts after this row number
    columns: dict[str, int]          # canonical field -> column index
    labels: dict[str, str]           # canonical field -> the header text as written
    unmapped: tuple[str, ...]        # header texts we did not use
    width: int                       # cells in the header row: a delimited row with more or fewer is shifted


class AliasTable:
    """Header aliases for each canonical field, most specific first, and the words that mark a column as a
    person's (such a column is never mapped, whatever else its header says: "Người nộp / Đơn vị")."""

    def __init__(self, fields: dict[str, tuple[str, ...]], extra: dict[str, tuple[str, ...]] | None = None,
                 personal: tuple[str, ...] = (), section: str = "dossiers.columns"):
        self.fields = tuple(fields)
        self.section = section
        self.personal = tuple(f" {header_key(term)} " for term in personal)
        self.rank: dict[str, tuple[str, int]] = {}
        for name, aliases in fields.items():
            for position, alias in enumerate((*(extra or {}).get(name, ()), *aliases)):
                self.rank.setdefault(header_key(alias), (name, position))

    def match(self, label: str) -> tuple[str, int] | None:
        return self.rank.get(label)

    def names_a_person(self, labels: list[str]) -> bool:
        return any(term in f" {label} " for label in labels for term in self.personal)


def _row_labels(top: list[Cell], sub: list[Cell] | None) -> list[list[str]]:
    """Candidate labels per column: a sub-header cell, its merged group joined with it, or the top cell."""
    width = max(len(top), len(sub or ()))
    candidates: list[list[str]] = []
    group = ""
    for j in range(width):
        top_label = header_key(top[j]) if j < len(top) else ""
        sub_label = header_key(sub[j]) if sub is not None and j < len(sub) else ""
        group = top_label or (group if sub_label else "")  # a merged group cell is blank after its first column
        labels = [label for label in (sub_label, f"{group} {sub_label}".strip(), top_label) if label]
        candidates.append(list(dict.fromkeys(labels)))
    return candidates


def _assign(candidates: list[list[str]], aliases: AliasTable) -> dict[str, tuple[int, int, str]]:
    """field -> (priority, column, label): each field takes its best-ranked column, each column one field."""
    best: dict[str, tuple[int, int, str]] = {}
    taken: set[int] = set()
    options = sorted(
        (rank[1], column, rank[0], label)
        for column, labels in enumerate(candidates)
        if not aliases.names_a_person(labels)
        for label in labels
        if (rank := aliases.match(label)) is not None
    )
    for priority, column, name, label in options:
        if name not in best and column not in taken:
            best[name] = (priority, column, label)
            taken.add(column)
    return best


def locate_header(rows: Iterator[Row], aliases: AliasTable, required: tuple[str, ...],
                  source: Path) -> tuple[Header, Iterator[Row]]:
    """Scan the first rows for the one naming most known columns; merge a second header row if it helps."""
    buffered: list[Row] = []
    for row in rows:
        buffered.append(row)
        if len(buffered) >= HEADER_SCAN_ROWS:
            break
    best: tuple[int, int, dict[str, tuple[int, int, str]], list[list[str]]] | None = None
    for index, (_, cells) in enumerate(buffered):
        for span in (1, 2):
            sub = buffered[index + 1][1] if span == 2 and index + 1 < len(buffered) else None
            if span == 2 and sub is None:
                continue
            candidates = _row_labels(cells, sub)
            assigned = _assign(candidates, aliases)
            # on a tie the single-row header wins: a title row above a header is not a header group
            if best is None or len(assigned) > len(best[2]) or (len(assigned) == len(best[2]) and span < best[1]):
                best = (index, span, assigned, candidates)
    if best is None or len(best[2]) < 2:
        expected = ", ".join(required)
        raise InputError(f"{source}: no header row found in the first {HEADER_SCAN_ROWS} rows "
                         f"(expected columns for: {expected})")
    index, span, assigned, candidates = best
    top_cells = buffered[index][1]
    sub_cells = buffered[index + 1][1] if span == 2 else []

    def written(column: int) -> str:
        for cells in (sub_cells, top_cells):
            if column < len(cells) and cells[column] not in (None, ""):
                return " ".join(str(cells[column]).split())
        return ""

    missing = [name for name in required if name not in assigned]
    if missing:
        header_row = buffered[index][0]
        raise InputError(f"{source}: row {header_row}: header has no column for {', '.join(missing)}",
                         [f"found: {', '.join(f'{n} = {written(assigned[n][1])!r}' for n in assigned)}",
                          f"add the header text under [{aliases.section}] in rules.toml if it is named differently"])
    used = {column for _, column, _ in assigned.values()}
    unmapped = tuple(written(column) for column, labels in enumerate(candidates) if labels and column not in used)
    last_row = buffered[index + span - 1][0]
    width = max(len(top_cells), len(sub_cells))
    header = Header(last_row=last_row, columns={n: v[1] for n, v in assigned.items()},
                    labels={n: written(v[1]) for n, v in assigned.items()}, unmapped=unmapped, width=width)
    rest = buffered[index + span:]

    def remaining() -> Iterator[Row]:
        yield from rest
        yield from rows

    return header, remaining()
