"""The official procedure catalogue (CSV/XLSX) -> `procedures` and the units each applies to."""

from __future__ import annotations

import json
import sqlite3
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import InputError
from ..store import Store, timestamp
from ..text import fold, nfc
from .common import Rejection, UnitResolver, cell_text, file_digest, keep_rejections, within_limit
from .tables import AliasTable, Cell, locate_header, read_rows
from .values import ValueMap, parse_when

FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("Mã thủ tục", "Mã TTHC", "Mã thủ tục hành chính", "Mã số", "Mã"),
    "name": ("Tên thủ tục", "Tên TTHC", "Tên thủ tục hành chính"),
    "field": ("Lĩnh vực",),
    "level": ("Cấp thực hiện", "Cấp", "Cấp thẩm quyền"),
    "unit": ("Cơ quan thực hiện", "Đơn vị thực hiện", "Cơ quan giải quyết"),
    "status": ("Trạng thái", "Tình trạng", "Tình trạng hiệu lực", "Hiệu lực"),
    "effective_from": ("Ngày hiệu lực", "Ngày có hiệu lực", "Hiệu lực từ"),
    "effective_to": ("Ngày hết hiệu lực", "Hiệu lực đến"),
    "decision": ("Quyết định công bố", "Số quyết định", "Quyết định"),
    "abolished_by": ("Quyết định bãi bỏ", "Văn bản bãi bỏ"),
    "portal_id": ("ID Cổng DVCQG", "ID trên Cổng DVCQG", "ID trên Cổng", "ID thủ tục", "Mã trên Cổng",
                  "formalityId", "Mã định danh", "ID"),
}
REQUIRED = ("code", "name", "status")
FIELD_NAMES = tuple(FIELDS)

STATUS_VALUES = {
    "Còn hiệu lực": "in_force", "Đang áp dụng": "in_force", "Có hiệu lực": "in_force", "Đang có hiệu lực": "in_force",
    "Đã bãi bỏ": "abolished", "Bãi bỏ": "abolished", "Bị bãi bỏ": "abolished",
    "Hết hiệu lực": "expired", "Đã hết hiệu lực": "expired",
    "Bị thay thế": "replaced", "Đã thay thế": "replaced", "Được thay thế": "replaced",
}
# the national code is the leading d.dddddd; agency suffixes (1.000110.000.00.00.H01) follow it
NATIONAL_CODE = re.compile(r"\d\.\d{6}")

UPSERT = """
INSERT INTO procedures (code, full_code, name, name_key, field, level, status, effective_from, effective_to,
                        decision, abolished_by, portal_id, units, import_id)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
ON CONFLICT(code) DO UPDATE SET full_code=excluded.full_code, name=excluded.name, name_key=excluded.name_key,
  field=excluded.field, level=excluded.level, status=excluded.status, effective_from=excluded.effective_from,
  effective_to=excluded.effective_to, decision=excluded.decision, abolished_by=excluded.abolished_by,
  portal_id=excluded.portal_id, units=excluded.units, import_id=excluded.import_id
"""


@dataclass
class CatalogueSummary:
    file: str
    rows_read: int = 0
    stored: int = 0
    rejected: int = 0
    skipped: int = 0
    has_portal_ids: bool = True   # the file has a column of the portal's own ids (numeric or UUID)
    rejections: list[Rejection] = field(default_factory=list)


class ProcedureParser:
    """A catalogue row -> a `procedures` record, with the unit codes it applies to."""

    def __init__(self, config: Config) -> None:
        self.status = ValueMap("status", STATUS_VALUES, config.catalogue_settings.statuses)
        self.units = UnitResolver(config)
        self.kinds = {fold(level): kinds for level, kinds in config.catalogue_settings.levels.items()}
        self.units_of_kind: dict[str, list[str]] = {}
        for unit in config.units:
            self.units_of_kind.setdefault(unit.kind, []).append(unit.code)

    def applies_to(self, unit_name: str, level: str) -> list[str]:
        """The unit the row names, else every unit of the kinds its level names."""
        if unit_name:
            code = self.units(unit_name)
            if code is None:
                raise LookupError(unit_name)
            return [code]
        codes: list[str] = []
        for part in re.split(r"[,;/]", level):
            for kind in self.kinds.get(fold(part), ()):
                codes += self.units_of_kind.get(kind, [])
        return sorted(set(codes))

    def parse(self, cells: list[Cell], import_id: int, row: int, labels: dict[str, str]) -> tuple[Any, ...] | Rejection:
        values = dict(zip(FIELD_NAMES, cells))
        column = "code"
        try:
            full_code = cell_text(values["code"])
            match = NATIONAL_CODE.match(full_code)
            if not match:
                raise ValueError(f"{full_code!r} is not a procedure code like 1.001234")
            column = "name"
            name = nfc(cell_text(values["name"]))
            if not name:
                raise ValueError("the procedure name is empty")
            column = "status"
            status = self.status(values["status"])
            if status is None:
                raise ValueError("the status is empty")
            column = "effective_from"
            effective_from = parse_when(values["effective_from"])
            column = "effective_to"
            effective_to = parse_when(values["effective_to"], end_of_day=True)
            column = "unit"
            units = self.applies_to(cell_text(values["unit"]), cell_text(values["level"]))
        except LookupError as exc:
            return Rejection(row, labels.get("unit", "unit"), f"unknown unit {exc.args[0]!r}", _fields(cells))
        except ValueError as exc:
            return Rejection(row, labels.get(column, column), str(exc), _fields(cells))
        return (match.group(), full_code, name, fold(name), cell_text(values["field"]) or None,
                cell_text(values["level"]) or None, status, effective_from, effective_to,
                cell_text(values["decision"]) or None, cell_text(values["abolished_by"]) or None,
                cell_text(values["portal_id"]).lower() or None, json.dumps(units), import_id)


def _fields(cells: list[Cell]) -> dict[str, str]:
    return {name: cell_text(cells[i])[:200] for i, name in enumerate(FIELD_NAMES) if cell_text(cells[i])}


def keep_former_names(conn: sqlite3.Connection, records: dict[str, tuple[Any, ...]], at: str) -> None:
    """A procedure renamed by this import keeps its former name: a site still posting it is out of date,
    not posting something unknown."""
    current = {code: record[3] for code, record in records.items()}  # (code, full_code, name, name_key, ...)
    stored = conn.execute("SELECT code, name, name_key FROM procedures WHERE code IN (SELECT value FROM json_each(?))",
                          [json.dumps(list(current))]).fetchall()
    conn.executemany("INSERT OR IGNORE INTO procedure_former_names (code, name, name_key, replaced_at)"
                     " VALUES (?,?,?,?)", [(code, name, key, at) for code, name, key in stored if key != current[code]])
    conn.executemany("DELETE FROM procedure_former_names WHERE code = ? AND name_key = ?", current.items())


def import_catalogue(config: Config, store: Store, path: Path, now: datetime) -> CatalogueSummary:
    """One catalogue file in one transaction; rows are upserted by national procedure code."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    sha256 = file_digest(within_limit(path, config.max_file_mb))
    aliases = AliasTable(FIELDS, config.catalogue_settings.columns)
    header, rows = locate_header(read_rows(path), aliases, REQUIRED, path)
    positions = [header.columns.get(name, -1) for name in FIELD_NAMES]
    parser = ProcedureParser(config)
    summary = CatalogueSummary(file=str(path), has_portal_ids="portal_id" in header.columns)
    conn = store.db.conn
    with conn:
        import_id = conn.execute(
            "INSERT INTO imports (kind, file, sha256, size, imported_at) VALUES ('catalogue', ?, ?, ?, ?)",
            (str(path), sha256, path.stat().st_size, timestamp(now))).lastrowid
        assert import_id is not None
        records: dict[str, tuple[Any, ...]] = {}
        for number, raw in rows:
            if not any(raw):
                continue
            raw = [*raw, None]
            cells = [raw[p] if p < len(raw) else None for p in positions]
            if not cells[0] and sum(1 for c in cells if c not in (None, "")) < 2:
                summary.skipped += 1
                continue
            summary.rows_read += 1
            parsed = parser.parse(cells, import_id, number, header.labels)
            if isinstance(parsed, Rejection):
                summary.rejections.append(parsed)
            elif parsed[0] in records:
                summary.rejections.append(Rejection(
                    records[parsed[0]][-1], header.labels.get("code", "code"),
                    f"procedure {parsed[0]} listed again at row {number}; that row kept", {}))
                records[parsed[0]] = (*parsed, number)
            else:
                records[parsed[0]] = (*parsed, number)
        keep_former_names(conn, records, timestamp(now))
        conn.executemany(UPSERT, [record[:-1] for record in records.values()])
        summary.stored = len(records)
        summary.rejected = len(summary.rejections)
        keep_rejections(conn, "catalogue", path, sha256, summary.rejections)
        conn.execute("UPDATE imports SET rows_read=?, stored=?, rejected=?, skipped=? WHERE id=?",
                     (summary.rows_read, summary.stored, summary.rejected, summary.skipped, import_id))
    return summary
