"""What an import says to the officer who ran it: what was read, how the columns were mapped, which
fields the file lacks and which figures it therefore cannot give, and why rows were left out."""

from __future__ import annotations

import json
from typing import Any

from auditbot.domain.rates import UNKNOWN_TEXT
from auditbot.report.wording import Words
from auditbot.sources.tabular.common import Rejection
from auditbot.sources.tabular.pipeline import ImportSummary
from auditbot.words.catalogue import FIELDS as CATALOGUE_FIELDS
from auditbot.words.dossiers import FIELDS as DOSSIER_FIELDS
from auditbot.words.vietnamese import number

SHOWN_REJECTIONS = 5


def header_name(kind: str, field: str) -> str:
    """A field as the officer looks for it in the file: its first header alias, e.g. "Ngày tiếp nhận"."""
    aliases = (CATALOGUE_FIELDS if kind == "catalogue" else DOSSIER_FIELDS).get(field, ())
    return aliases[0] if aliases else field


def reason_text(reasons: Words, rejection: Rejection) -> str:
    """A rejection's reason in the officer's words (templates/reasons.toml), its numbers as people write them."""
    params: dict[str, Any] = {name: number(value) if type(value) is int and not name.endswith("row") else value
                              for name, value in rejection.params.items()}
    if "found" in params:
        params["found"] = reasons.known("found", params["found"])
    return reasons(f"imports.{rejection.reason}", **params)


def summary_lines(words: Words, reasons: Words, summary: ImportSummary, every_rejection: bool = False) -> list[str]:
    """The first line is the summary (all `-q` prints); the rest is the detail (`-v`: every rejection kept)."""
    shown = len(summary.rejections) if every_rejection else SHOWN_REJECTIONS
    what = words("lines.import_what_catalogue" if summary.kind == "catalogue" else "lines.import_what_dossiers")
    counts = {"file": summary.file, "read": number(summary.rows_read), "stored": number(summary.stored),
              "rejected": number(summary.rejected), "skipped": number(summary.skipped)}
    if summary.dry_run:
        head = words("lines.import_dry_run", what=what, **counts)
    elif summary.kind == "catalogue":
        head = words("lines.import_catalogue", **counts)
    else:
        head = words("lines.import_dossiers", updated=number(summary.updated), unchanged=number(summary.unchanged),
                     **counts)
    lines = [head, words("lines.import_columns", format=words.known("formats", summary.format),
                         columns=", ".join(f"{field} = {label!r}" for field, label in summary.columns.items()))]
    if summary.missing:
        lines.append(words("lines.import_missing", fields=", ".join(
            repr(header_name(summary.kind, field)) for field in summary.missing)))
    if summary.unknown_figures:
        lines.append(words("lines.import_unknown_figures", unknown=UNKNOWN_TEXT,
                           figures=", ".join(summary.unknown_figures)))
    for reason, count in summary.skipped_because.items():
        lines.append(words("lines.import_skipped", count=number(count), reason=words.known("reasons", reason)))
    for name, count in summary.unknown_units.most_common():
        lines.append(words("lines.import_unknown_unit", name=name, count=number(count)))
    for rejection in summary.rejections[:shown]:
        where = words("lines.import_rejection_column", column=rejection.column) if rejection.column else ""
        lines.append(words("lines.import_rejection", row=rejection.row, where=where, reason=reason_text(reasons, rejection)))
    if summary.rejected > shown:
        lines.append(words("lines.import_more", count=number(summary.rejected - shown))
                     + ("" if summary.dry_run else words("lines.import_more_table")))
    lines += [f"  {note}" for note in summary.notes]
    if summary.kind == "catalogue" and not summary.extra.get("has_portal_ids", True):
        lines.append(words("lines.import_no_portal_ids"))
    if summary.dry_run:
        lines.append(words("lines.import_preview", count=len(summary.preview), what=what))
        lines += [f"    {json.dumps(record, ensure_ascii=False)}" for record in summary.preview]
    return lines
