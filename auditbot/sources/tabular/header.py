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
        self.written: dict[str, tuple[str, ...]] = {}  # field -> its aliases as an officer reads them
        for name, aliases in fields.items():
            self.written[name] = tuple(dict.fromkeys((*(extra or {}).get(name, ()), *aliases)))
            for position, alias in enumerate(self.written[name]):
                self.rank.setdefault(header_key(alias), (name, position))

    def match(self, label: str) -> tuple[str, int] | None:
        return self.rank.get(label)

    def names_a_person(self, labels: list[str]) -> bool:
        return any(term in f" {label} " for label in labels for term in self.personal)

    def looked_for(self, name: str) -> str:
        """What the error says was looked for: the header texts a field goes by, and its name in rules.toml."""
        return f"looked for {name}: {', '.join(_quoted(alias) for alias in self.written.get(name, ()))}"

    def fix(self) -> str:
        return f"add the header text under [{self.section}] in rules.toml if it is named differently"


def _quoted(text: str) -> str:
    return f"\u201c{text}\u201d"


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


def _recognised(buffered: list[Row], best: tuple[int, int, dict[str, tuple[int, int, str]], list[list[str]]] | None
                ) -> str:
    """The known headers the rows did name (fewer than two): only cells that are a known header's text are
    quoted, so no data cell (a citizen's name in a file without a header) is ever echoed."""
    if best is None or not best[2]:
        return "found none of these headers"
    index, span, assigned, _ = best
    rows = buffered[index:index + span]
    texts = []
    for name, (_, column, _) in assigned.items():
        cell = next((cells[column] for _, cells in reversed(rows) if column < len(cells) and cells[column]), "")
        texts.append(f"{_quoted(' '.join(str(cell).split()))} ({name}, row {rows[0][0]})")
    return f"found only {', '.join(texts)}"


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
    if not buffered:
        raise InputError(f"{source}: holds no rows at all")
    if best is None or len(best[2]) < 2:
        raise InputError(f"{source}: no header row found in the first {HEADER_SCAN_ROWS} rows",
                         [*(aliases.looked_for(name) for name in required), _recognised(buffered, best),
                          aliases.fix()])
    index, span, assigned, candidates = best
    top_cells = buffered[index][1]
    sub_cells = buffered[index + 1][1] if span == 2 else []

    def written(column: int) -> str:
        for cells in (sub_cells, top_cells):
            if column < len(cells) and cells[column] not in (None, ""):
                return " ".join(str(cells[column]).split())
        return ""

    missing = [name for name in required if name not in assigned]
    if missing:  # the row names at least two known columns: it is the header, and its cells are headers
        header_row = buffered[index][0]
        field_of = {column: name for name, (_, column, _) in assigned.items()}
        field_of |= {column: "a person's: never read" for column, labels in enumerate(candidates)
                     if aliases.names_a_person(labels)}
        found = [f"{_quoted(written(column))} ({field_of.get(column, 'not used')})"
                 for column in range(len(candidates)) if written(column)]
        raise InputError(f"{source}: row {header_row}: header has no column for {', '.join(missing)}",
                         [*(aliases.looked_for(name) for name in missing), f"found: {', '.join(found)}",
                          aliases.fix()])
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
