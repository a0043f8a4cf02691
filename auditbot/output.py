"""Print rows as an aligned table, JSON or CSV: the three formats every listing command offers."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from typing import Any

import click

FORMATS = ("table", "json", "csv")


def format_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--format", "output_format", type=click.Choice(FORMATS), default="table",
                        show_default=True, help="Output format.")(fn)


def render(rows: Sequence[dict[str, Any]], output_format: str, columns: Sequence[str],
           table_cells: Callable[[dict[str, Any]], Sequence[str]] | None = None,
           headers: Sequence[str] | None = None) -> str:
    """JSON and CSV carry plain values; the table shows `table_cells(row)` under `headers`."""
    if output_format == "json":
        return json.dumps(list(rows), ensure_ascii=False, indent=2)
    if output_format == "csv":
        buffer = io.StringIO()
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


def table(headers: list[str], rows: list[list[str]], max_width: int = 70) -> str:
    clipped = [[c if len(c) <= max_width else c[: max_width - 1] + "…" for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in clipped)) if clipped else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in clipped]
    return "\n".join(lines)
