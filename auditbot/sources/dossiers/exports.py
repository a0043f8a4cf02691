"""Dossier exports (CSV/XLSX/XLS/ODS, HTML or XML Spreadsheet under .xls, portal sync JSON) -> the
`dossiers` table, never a citizen's personal data.

Only the columns named in vocabulary/dossiers.py FIELDS are ever read out of a row; everything else (names, ID
numbers, phones, addresses) is left where it was found. A field the export has no column for is unknown
(NULL), never a "no": the figures that need it are then unknown too."""

from __future__ import annotations

import glob
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditbot.config.rules import Config
from auditbot.sources.dossiers.rows import AMOUNTS, MOMENTS, DossierParser
from auditbot.sources.dossiers.sync_json import sync_rows
from auditbot.sources.tabular.common import Rejection
from auditbot.sources.tabular.pipeline import ImportSummary, run_import
from auditbot.sources.tabular.rows import CanonicalRow, Record
from auditbot.store import Store
from auditbot.store.dossiers import COLUMNS, DossierUpserts
from auditbot.words.dossiers import FIELDS, FIGURE_INPUTS, PERSONAL, REQUIRED, SYNC_ONLY

if TYPE_CHECKING:
    from auditbot.sources.dossiers.columns import DossierColumns

EXPORT_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".json", ".xml", ".htm",
                   ".html")


class DossierSpec:
    kind = "dossiers"
    section = "dossiers.columns"
    fields = {**FIELDS, **dict.fromkeys(SYNC_ONLY, ())}  # noqa: RUF012 read, never changed
    required: tuple[str, ...] = REQUIRED
    personal: tuple[str, ...] = PERSONAL
    min_cells = 3
    # a workbook's typed cells the parser reads exactly as it reads their text: a datetime of whole seconds or a
    # date in a moment field (its 'yyyy-mm-dd HH:MM:SS'), a whole non-negative number in an amount (its digits)
    moment_fields = tuple(MOMENTS)
    amount_fields = AMOUNTS

    def __init__(self) -> None:
        self.upserts = DossierUpserts()
        self.older = 0  # rows not applied: the stored state came from a later export
        self.merged = 0  # dossiers already stored under another system's code

    def extra_aliases(self, config: Config) -> dict[str, tuple[str, ...]]:
        return config.dossiers.columns

    def json_rows(self, path: Path) -> tuple[Iterator[CanonicalRow], dict[str, str]]:
        return sync_rows(path)

    def parser(self, config: Config, found: set[str], import_id: int) -> DossierParser:
        return DossierParser(config, found, import_id)

    def columns(self, parser: DossierParser, names: tuple[str, ...]) -> DossierColumns:
        """The same rules a column at a time, for big CSV exports (only the reading child loads the engine)."""
        from auditbot.sources.dossiers.columns import DossierColumns
        return DossierColumns(parser, names)

    def preview(self, record: Record) -> dict[str, Any]:
        return dict(zip(COLUMNS, record))

    def begin(self, conn: sqlite3.Connection) -> None:
        self.upserts.begin(conn)

    def write(self, conn: sqlite3.Connection, batch: list[Record]) -> None:
        self.upserts.write(conn, batch)

    def write_staged(self, conn: sqlite3.Connection, image: bytes) -> int:
        return self.upserts.write_staged(conn, image)

    def finish(self, conn: sqlite3.Connection, summary: ImportSummary, now: datetime) -> None:
        written = self.upserts.finish(conn, summary.extra["import_id"])
        summary.stored, summary.updated, self.older = written.stored, written.updated, written.older
        self.merged = written.merged
        summary.rejections += [
            Rejection(row, summary.columns.get("code", "code"), "dossier_repeated", {}, field="code",
                      params={"code": code, "kept_row": by_row})
            for code, row, by_row in written.superseded]
        summary.unchanged = summary.rows_read - len(summary.rejections) - summary.stored - summary.updated \
            - sum(summary.skipped_because.values())

    def judge(self, summary: ImportSummary, report: dict[str, Any]) -> None:
        known = report.get("known", 0)
        summary.unknown_figures = [figure for figure, bit in FIGURE_INPUTS.items() if known & bit != bit]
        if report.get("stray_heirs"):
            summary.notes.append(f"{report['stray_heirs']} rows name as their new unit one that did not take over"
                                 " theirs (see [[units]] successors): counted for their unit's first successor")
        if self.older:
            summary.notes.append(f"{self.older} rows show an earlier state than the one stored from a later export:"
                                 " the later state is kept")
        if self.merged:
            summary.notes.append(f"{self.merged} dossiers were stored already under another system's code"
                                 " (matched by the other code): one dossier each, its latest state kept")
        if not report.get("sync_columns"):
            summary.notes.append("no sync state column (Đồng bộ DVCQG, TrangThaiDongBoDVC, a last-synced time):"
                                 " whether the portal has these dossiers is unknown")
        valid = summary.rows_read - summary.rejected
        if summary.rows_read and not valid:
            summary.problems.append(f"every one of the {summary.rows_read} rows was rejected")


# --- the import ------------------------------------------------------------------------------

def expand_sources(sources: Iterable[Path]) -> list[Path]:
    """Files, folders (every export inside) and globs -> the export files, in a stable order."""
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files += sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in EXPORT_SUFFIXES)
        elif glob.has_magic(str(source)):
            files += sorted(Path(p) for p in glob.glob(str(source), recursive=True) if Path(p).is_file())
        else:
            files.append(source)
    return files


def import_dossiers(config: Config, store: Store | None, path: Path, now: datetime,
                    dry_run: bool = False) -> ImportSummary:
    """Import one export file in one transaction: all of it (rows stored or rejected) or nothing."""
    return run_import(config, store, path, DossierSpec(), now, dry_run)
