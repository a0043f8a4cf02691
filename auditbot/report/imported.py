"""What an import says to the officer who ran it: what was read, how the columns were mapped, which
fields the file lacks and which figures it therefore cannot give, and why rows were left out."""

from __future__ import annotations

import json

from auditbot.domain.rates import UNKNOWN_TEXT
from auditbot.sources.tabular.pipeline import ImportSummary

FORMATS = {"csv": "CSV", "workbook": "workbook", "html": "HTML table", "xml-spreadsheet": "XML Spreadsheet 2003",
           "json": "sync JSON"}
SHOWN_REJECTIONS = 5


def summary_lines(summary: ImportSummary) -> list[str]:
    what = "procedures" if summary.kind == "catalogue" else "dossiers"
    if summary.dry_run:
        head = (f"{summary.file} (dry run, nothing written): read {summary.rows_read}, would store {summary.stored}"
                f" {what}, rejected {summary.rejected}, skipped {summary.skipped} title/footer rows")
    elif summary.kind == "catalogue":
        head = (f"{summary.file}: read {summary.rows_read}, stored {summary.stored} procedures,"
                f" rejected {summary.rejected}, skipped {summary.skipped} title/footer rows")
    else:
        head = (f"{summary.file}: read {summary.rows_read}, stored {summary.stored}, updated {summary.updated},"
                f" unchanged {summary.unchanged}, rejected {summary.rejected}, skipped {summary.skipped}"
                f" title/footer rows")
    lines = [head, f"  read as {FORMATS.get(summary.format, summary.format)}; columns: "
             + ", ".join(f"{field} = {label!r}" for field, label in summary.columns.items())]
    if summary.missing:
        lines.append(f"  no column for: {', '.join(summary.missing)}")
    if summary.unknown_figures:
        lines.append(f"  figures it cannot give ({UNKNOWN_TEXT}): {', '.join(summary.unknown_figures)}")
    for reason, count in summary.skipped_because.items():
        lines.append(f"  {count} rows skipped: {reason}")
    for name, count in summary.unknown_units.most_common():
        lines.append(f"  unknown unit {name!r}: {count} rows (add it to a unit's aliases in rules.toml)")
    for rejection in summary.rejections[:SHOWN_REJECTIONS]:
        where = f", column {rejection.column!r}" if rejection.column else ""
        lines.append(f"  row {rejection.row}{where}: {rejection.reason}")
    if summary.rejected > SHOWN_REJECTIONS:
        lines.append(f"  … {summary.rejected - SHOWN_REJECTIONS} more"
                     + ("" if summary.dry_run else " in the rejected_rows table"))
    lines += [f"  {note}" for note in summary.notes]
    if summary.kind == "catalogue" and not summary.extra.get("has_portal_ids", True):
        lines.append("  no column of portal ids (ID, ID trên Cổng DVCQG, formalityId…): links that name a procedure"
                     " by the portal's id can be verified only where the portal page shows the code")
    if summary.dry_run:
        lines.append(f"  first {len(summary.preview)} {what} as they would be stored:")
        lines += [f"    {json.dumps(record, ensure_ascii=False)}" for record in summary.preview]
    return lines
