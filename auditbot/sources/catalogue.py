"""The official procedure catalogue (CSV/XLSX/…) -> `procedures` and the units each applies to.

The national catalogue names implementing agencies generically ("Ủy ban nhân dân cấp xã", "Sở Tư pháp",
"Cục …"), often several per cell, and may have no status or level column at all. A named unit is that
unit; a generic commune or district agency is every unit of the kinds its level maps to; an agency of
another government (a ministry's department) is nobody here, and that is no error."""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from auditbot.config.rules import Config
from auditbot.domain.clock import local_now
from auditbot.domain.lineage import Lineage
from auditbot.errors import InputError
from auditbot.sources.tabular.cell_values import ValueMap, parse_when
from auditbot.sources.tabular.common import Reason, Rejection, UnitResolver, cell_text
from auditbot.sources.tabular.header import Cell
from auditbot.sources.tabular.pipeline import ImportSummary, run_import
from auditbot.sources.tabular.rows import CanonicalRow, Record, mapped_fields
from auditbot.store import Store
from auditbot.store.imports import keep_former_names, track_owners, upsert_procedures
from auditbot.words.catalogue import FIELDS, STATUS_VALUES
from auditbot.words.codes import NATIONAL_CODE
from auditbot.words.text import fold, fold_ascii, nfc, without_controls

REQUIRED = ("code", "name")
FIELD_NAMES = tuple(FIELDS)
INDEX = {name: i for i, name in enumerate(FIELD_NAMES)}


# "Ủy ban nhân dân cấp xã", "UBND xã, phường, thị trấn", "Chủ tịch Ủy ban nhân dân cấp huyện": an agency
# named by its level alone, not one office. Folded text: the head, then nothing but level words.
_GENERIC_HEAD = re.compile(r"^(?:chu tich )?(?:uy ban nhan dan|ubnd)\b")
# (the provincial committee itself, "UBND cấp tỉnh", is no department: it stands for no unit kind)
_LEVEL_WORDS = {
    "Cấp xã": ("xa", "phuong", "thi tran", "dac khu"),
    "Cấp huyện": ("huyen", "quan", "thi xa", "thanh pho thuoc tinh"),
}
_FILLER = re.compile(r"\b(?:cap|va|thanh pho)\b|[,;/&()-]")

# "Quyết định số 1234/QĐ-UBND ngày 15/5/2025": the decision's date, from its own words
_DECISION_DAY = re.compile(r"\bngay (\d{1,2}) (\d{1,2}) (\d{4})\b")  # folded: the separators are spaces


def decision_day(text: str) -> str | None:
    """The date a decision's text gives ("… ngày 15/5/2025" -> 2025-05-15 00:00:00); None if none or not real."""
    match = _DECISION_DAY.search(fold_ascii(text))
    if match is None:
        return None
    try:
        return parse_when("/".join(match.groups()))
    except ValueError:
        return None


def online_level(text: str) -> str | None:
    """The procedure's level of online service: full ("toàn trình", the old "mức độ 4"), partial
    ("một phần", "mức độ 3") or none (information only); None when the cell says nothing."""
    key = fold_ascii(text)
    if not key:
        return None
    if "toan trinh" in key or re.fullmatch(r"(muc do )?4", key):
        return "full"
    if "mot phan" in key or re.fullmatch(r"(muc do )?3", key):
        return "partial"
    return "none"


def generic_level(agency: str) -> str | None:
    """The level an agency named only by its level stands for ("UBND cấp xã" -> "Cấp xã"), else None."""
    key = fold_ascii(agency)
    head = _GENERIC_HEAD.match(key)
    if not head:
        return None
    rest = _FILLER.sub(" ", key[head.end():])
    for level, words in _LEVEL_WORDS.items():
        remaining = rest
        for word in sorted(words, key=len, reverse=True):
            remaining = re.sub(rf"\b{word}\b", " ", remaining)
        if not remaining.strip() and rest.strip():
            return level
    return None


class ProcedureParser:
    """A catalogue row -> a `procedures` record, with the unit codes it applies to."""

    def __init__(self, config: Config, found: set[str], import_id: int) -> None:
        settings = config.catalogue_settings
        self.status = ValueMap("status", STATUS_VALUES, settings.statuses, section="catalogue.statuses")
        self.units = UnitResolver(config)
        self.lineage = Lineage.of(config)
        self.today = local_now(config).date()
        self.import_id = import_id
        self.has_status = "status" in found
        self.kinds_of_level = {fold_ascii(level): kinds for level, kinds in settings.levels.items()}
        self.agencies = {fold_ascii(name): kinds for name, kinds in settings.agencies.items()}
        self.units_of_kind: dict[str, list[str]] = {}
        for unit in config.units:
            if unit.alive(self.today):  # a level's procedures are today's units' (not merged communes')
                self.units_of_kind.setdefault(unit.kind, []).append(unit.code)
        self.elsewhere: Counter[str] = Counter()  # agencies that are no unit of this province
        self.split_owners: Counter[str] = Counter()  # ended units named as owner, whose successors are several
        self.applying = 0

    def _of_kinds(self, kinds: tuple[str, ...]) -> list[str]:
        return [code for kind in kinds for code in self.units_of_kind.get(kind, ())]

    def applies_to(self, agencies: str, level: str) -> list[str]:
        """Each agency the cell names: a unit, or a generic agency's units; no agency: its level's units.
        An agency text that names nobody here never falls back to the level (that would charge every
        department with another office's procedure)."""
        named = [part.strip() for part in re.split(r"[\n;]+", agencies) if part.strip()]
        if not named:
            return sorted({code for part in re.split(r"[,;/]", level)
                           for code in self._of_kinds(self.kinds_of_level.get(fold_ascii(part), ()))})
        codes: set[str] = set()
        for agency in named:
            key = fold_ascii(agency)
            if key in self.agencies:
                codes.update(self._of_kinds(self.agencies[key]))
            elif units := self.units.named(agency):
                if (unit := self._owner_today(agency, units)) is not None:
                    codes.add(unit)
            elif (generic := generic_level(agency)) is not None:
                codes.update(self._of_kinds(self.kinds_of_level.get(fold_ascii(generic), ())))
            else:
                self.elsewhere[" ".join(agency.split())[:120]] += 1
        return sorted(codes)

    def _owner_today(self, agency: str, named: tuple[str, ...]) -> str | None:
        """The unit so named today; for one that has ended, the one unit that took over from it (a unit
        split among several is reported: which of them owns the procedure is the catalogue's to say)."""
        if (unit := self.units(agency, self.today)) is not None:
            return unit
        ended = max((self.lineage.units[code] for code in named), key=lambda unit: unit.valid_to or self.today)
        if len(ended.successors) == 1:
            return self.lineage.heir(ended.code, self.today)
        self.split_owners[ended.code] += 1
        return None

    def parse(self, cells: list[Cell], row: int) -> Record | Rejection | str:
        column = "code"
        try:
            full_code = cell_text(cells[0])
            match = NATIONAL_CODE.match(full_code)
            if not match:
                raise Reason("not_a_procedure_code", value=full_code)
            column = "name"
            name = nfc(" ".join(without_controls(cell_text(cells[1])).split()))
            if not name:
                raise Reason("name_empty")
            column = "status"
            status = self.status(cells[INDEX["status"]]) if self.has_status else "in_force"
            if status is None:
                raise Reason("status_empty")
            column = "effective_from"
            effective_from = parse_when(cells[INDEX["effective_from"]])
            column = "effective_to"
            effective_to = parse_when(cells[INDEX["effective_to"]], end_of_day=True)
            column = "decided_at"
            decided_at = parse_when(cells[INDEX["decided_at"]]) or decision_day(cell_text(cells[INDEX["decision"]]))
        except ValueError as exc:
            return Rejection.of(row, exc, mapped_fields(FIELD_NAMES, cells), column)
        if status == "pending" and effective_from is not None:
            status = "in_force"  # in force from its start date: effective_from says when
        units = self.applies_to(cell_text(cells[INDEX["unit"]]), cell_text(cells[INDEX["level"]]))
        self.applying += bool(units)
        return (match.group(), full_code, name, fold(name), cell_text(cells[INDEX["field"]]) or None,
                cell_text(cells[INDEX["level"]]) or None, status, effective_from, effective_to,
                cell_text(cells[INDEX["decision"]]) or None, cell_text(cells[INDEX["abolished_by"]]) or None,
                cell_text(cells[INDEX["portal_id"]]).lower() or None, json.dumps(units),
                online_level(cell_text(cells[INDEX["online_level"]])), decided_at, self.import_id, row)

    def report(self) -> dict[str, Any]:
        return {"elsewhere": dict(self.elsewhere.most_common(10)), "agencies_elsewhere": len(self.elsewhere),
                "applying": self.applying, "split_owners": dict(self.split_owners)}


class CatalogueSpec:
    kind = "catalogue"
    section = "catalogue.columns"
    fields = FIELDS
    required: tuple[str, ...] = REQUIRED
    personal: tuple[str, ...] = ()
    min_cells = 2

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.repeats: list[Rejection] = []

    def extra_aliases(self, config: Config) -> dict[str, tuple[str, ...]]:
        return config.catalogue_settings.columns

    def json_rows(self, path: Path) -> tuple[Iterator[CanonicalRow], dict[str, str]]:
        raise InputError(f"{path}: a catalogue is a table (CSV or a spreadsheet), not JSON")

    def parser(self, config: Config, found: set[str], import_id: int) -> ProcedureParser:
        return ProcedureParser(config, found, import_id)

    def preview(self, record: Record) -> dict[str, Any]:
        return {"code": record[0], "name": record[2], "status": record[6], "units": json.loads(record[12])}

    def begin(self, conn: sqlite3.Connection) -> None:
        self.records.clear()
        self.repeats.clear()

    def write(self, conn: sqlite3.Connection, batch: list[Record]) -> None:
        for record in batch:  # a code listed twice: the later row is kept, the earlier reported
            if record[0] in self.records:
                self.repeats.append(Rejection(self.records[record[0]][-1], "", "procedure_repeated", {}, field="code",
                                              params={"code": record[0], "kept_row": record[-1]}))
            self.records[record[0]] = record

    def finish(self, conn: sqlite3.Connection, summary: ImportSummary, now: datetime) -> None:
        # (code, full_code, name, name_key, ...): each procedure's folded name now
        keep_former_names(conn, {code: record[3] for code, record in self.records.items()},
                          now.isoformat(" ", "seconds"))
        track_owners(conn, {code: (json.loads(record[12]), record[14]) for code, record in self.records.items()},
                     now.date().isoformat())
        upsert_procedures(conn, [record[:-1] for record in self.records.values()])
        summary.stored = len(self.records)
        for repeat in self.repeats:
            repeat.column = summary.columns.get("code", "code")
        summary.rejections += self.repeats

    def judge(self, summary: ImportSummary, report: dict[str, Any]) -> None:
        summary.extra["has_portal_ids"] = "portal_id" in summary.columns
        if "status" not in summary.columns:
            summary.notes.append("no status column: every procedure is taken as in force (the national catalogue"
                                 " lists the procedures in force)")
        if report.get("agencies_elsewhere"):
            named = ", ".join(f"{name!r} ({count})" for name, count in report["elsewhere"].items())
            summary.notes.append(f"{report['agencies_elsewhere']} agencies are no unit of this province"
                                 f" (e.g. {named}); add a unit's aliases or [catalogue.agencies] if one is")
        for code, count in report.get("split_owners", {}).items():
            summary.notes.append(f"{count} procedures name as owner {code}, which has ended and was split among"
                                 " several units: they apply to none of them until the catalogue names the new owner")
        valid = summary.rows_read - summary.rejected
        if valid and not report.get("applying"):
            summary.problems.append(
                f"none of the {valid} procedures applies to any unit: the file has no level column"
                " and no agency this province has; listing.missing cannot be checked (map the file's levels"
                " under [catalogue.levels] or its agencies under [catalogue.agencies])")
        elif summary.rows_read and not valid:
            summary.problems.append(f"every one of the {summary.rows_read} rows was rejected")


def import_catalogue(config: Config, store: Store | None, path: Path, now: datetime,
                     dry_run: bool = False) -> ImportSummary:
    """One catalogue file in one transaction; rows are upserted by national procedure code."""
    return run_import(config, store, path, CatalogueSpec(), now, dry_run)
