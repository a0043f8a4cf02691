"""Print rows as an aligned table, JSON or CSV: the three formats every listing command offers (some also
write an XLSX workbook, see sheets.py)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

FORMATS = ("table", "json", "csv")
BOM = "\ufeff"  # Excel reads a CSV as UTF-8 only when it starts with one (else every Vietnamese letter breaks)


def format_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--format", "output_format", type=click.Choice(FORMATS), default="table",
                        show_default=True, help="Output format.")(fn)


def sheet_format_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--format with xlsx besides, and the --output FILE a workbook is written to."""
    fn = click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
                      help="With --format xlsx: the workbook to write.")(fn)
    return click.option("--format", "output_format", type=click.Choice((*FORMATS, "xlsx")), default="table",
                        show_default=True, help="Output format (xlsx: a workbook at --output).")(fn)


def render(rows: Sequence[dict[str, Any]], output_format: str, columns: Sequence[str],
           table_cells: Callable[[dict[str, Any]], Sequence[str]] | None = None,
           headers: Sequence[str] | None = None) -> str:
    """JSON and CSV carry plain values; the table shows `table_cells(row)` under `headers`."""
    if output_format == "json":
        return json.dumps(list(rows), ensure_ascii=False, indent=2)
    if output_format == "csv":
        buffer = io.StringIO(BOM)
        buffer.seek(0, io.SEEK_END)
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_cell(row.get(c)) for c in columns])
        return buffer.getvalue().rstrip("\n")
    cells = [list(table_cells(row)) if table_cells else [str(row.get(c, "")) for c in columns] for row in rows]
    return table(list(headers or columns), cells)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # never a formula when opened in a spreadsheet
    return "" if value is None else value


def table(headers: list[str], rows: list[list[str]], width: int | None = None) -> str:
    """Aligned columns as wide as the terminal allows: when the rows do not fit, the widest columns (titles,
    errors) are cut with "…" until they do. Piped output (no terminal) is never cut."""
    natural = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    room = (width or terminal_width()) - 2 * (len(headers) - 1)
    widths = list(natural)
    while room > 0 and sum(widths) > room:
        widest = max(range(len(widths)), key=widths.__getitem__)
        if widths[widest] <= MIN_CUT:
            break
        widths[widest] = max(MIN_CUT, widths[widest] - (sum(widths) - room))
    clipped = [[c if len(c) <= w else c[: w - 1] + "…" for c, w in zip(row, widths)] for row in rows]
    lines = ["  ".join(h[:w].ljust(w) for h, w in zip(headers, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in clipped]
    return "\n".join(lines)


MIN_CUT = 16  # a column is never cut narrower than this (better a wrapped line than unreadable words)


def terminal_width() -> int:
    if not sys.stdout.isatty():
        return 1 << 30  # piped to a file or grep: whole values
    return shutil.get_terminal_size().columns
