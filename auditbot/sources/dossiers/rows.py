"""One row of a dossier export -> a `dossiers` record, or the reason it cannot be one: the rules every
way of reading an export applies (dossier_columns.py applies the same ones a column at a time)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from functools import lru_cache
from typing import Any

from auditbot.config.rules import Config
from auditbot.domain.lineage import Lineage
from auditbot.domain.supplements import NO_HISTORY, supplement_clock
from auditbot.sources.tabular.cell_values import ValueMap, parse_amount, parse_when
from auditbot.sources.tabular.common import Reason, Rejection, UnitResolver, cell_text
from auditbot.sources.tabular.header import Cell
from auditbot.sources.tabular.rows import Record, mapped_fields
from auditbot.words.codes import NATIONAL_CODE
from auditbot.words.dossiers import (
    BOOLEAN_VALUES,
    CHANNEL_VALUES,
    FIELDS,
    KNOWN_APOLOGY,
    KNOWN_BITS,
    KNOWN_PAYMENT,
    NOT_RECEIVED,
    STATUS_VALUES,
    SYNC_ONLY,
    SYNC_VALUES,
)
from auditbot.words.text import nfc, without_controls

FIELD_NAMES = (*FIELDS, *SYNC_ONLY)
TABULAR = tuple(FIELDS)
INDEX = {name: i for i, name in enumerate(FIELD_NAMES)}
# the fields read as moments (True: a bare date is the day's end) and as amounts
MOMENTS = {"received_at": False, "due_at": True, "finished_at": False}
AMOUNTS = ("fee",)
# what a row says of its sync state and of the system it comes from (a row with any goes to the parser)
SYNC_FIELDS = ("sync_flag", "synced_at", "system", "alt_code")
PLACEHOLDER_REFS = {"", "0", "-", "--", ".", "x", "không", "khong", "n/a", "na", "null", "none"}

# a result reference is an identifier: one token, no file extension, no scheme, not too long
_NOT_AN_IDENTIFIER = re.compile(r"\s|\\|://|\.[A-Za-z0-9]{2,5}$")
MAX_REFERENCE = 64

def result_reference(value: Cell) -> str | None:
    """What identifies a result: a code or id as written; a path, file name or prose (which can carry the
    citizen's name) only as a digest, equal for equal values, never readable."""
    text = value.strip() if type(value) is str else cell_text(value)
    if len(text) <= 4 and text.casefold() in PLACEHOLDER_REFS:
        return None
    if len(text) <= MAX_REFERENCE and not _NOT_AN_IDENTIFIER.search(text):
        return text
    return "tệp#" + hashlib.sha256(" ".join(text.split()).casefold().encode()).hexdigest()[:16]


@lru_cache(maxsize=1 << 14)
def national_code(value: Cell) -> str | None:
    """MaTTHC as the catalogue knows it: 1.001193.000.00.00.H31 -> 1.001193."""
    text = cell_text(value)
    match = NATIONAL_CODE.match(text)
    return match.group() if match else (text or None)


@lru_cache(maxsize=1 << 14)  # a province has a few thousand procedures: a name repeats on most rows
def procedure_name(value: Cell) -> str | None:
    return nfc(without_controls(cell_text(value))) or None


def _fields(cells: list[Cell]) -> dict[str, str]:
    """A rejected row's mapped fields, its result reference reduced as it would be stored."""
    fields = mapped_fields(TABULAR, cells)
    if "result_ref" in fields:
        fields["result_ref"] = result_reference(cells[INDEX["result_ref"]]) or ""
    return fields


class DossierParser:
    """One row of canonical-field cells -> a `dossiers` record, or the reason it cannot be one."""

    def __init__(self, config: Config, found: set[str], import_id: int) -> None:
        values = config.dossiers.values
        self.status = ValueMap("status", STATUS_VALUES, values.get("status"))
        self.channel = ValueMap("channel", CHANNEL_VALUES, values.get("channel"))
        self.boolean = ValueMap("boolean", BOOLEAN_VALUES, values.get("boolean"), blank=False)
        self.sync = ValueMap("sync", SYNC_VALUES, values.get("sync"))
        self.units = UnitResolver(config)
        self.timeless = {unit.code for unit in config.units if unit.valid_from is None and unit.valid_to is None}
        self.lineage = Lineage.of(config)
        self.succeeded = {code for code, life in self.lineage.units.items() if life.successors}
        self.import_id = import_id
        # a tabular export knows a field when it has its column; a sync record says so itself (last cell)
        self.column_known = 0
        for name, bit in KNOWN_BITS.items():
            if name in found:
                self.column_known |= bit
        if {"fee", "paid_online"} <= found:
            self.column_known |= KNOWN_PAYMENT
        else:
            self.column_known &= ~KNOWN_PAYMENT
        self.seen_known = 0
        self.sync_columns = bool({"sync_flag", "synced_at"} & found)
        self.stray_heirs = 0  # rows naming as the new unit one that did not take over theirs

    def parse(self, cells: list[Cell], row: int) -> Record | Rejection | str:
        column = "code"
        try:
            code = without_controls(cells[0].strip() if type(cells[0]) is str else cell_text(cells[0]))
            if not code:
                raise Reason("code_empty")
            column = "status"
            status = self.status(cells[7])
            if status is None:
                raise Reason("status_empty")
            if status == NOT_RECEIVED:
                return "registered online, not received yet"
            column = "unit"
            unit_name = cells[3].strip() if type(cells[3]) is str else cell_text(cells[3])
            if not unit_name:
                raise Reason("unit_empty")
            named = self.units.named(unit_name)
            if not named:
                return Rejection(row, "", "unknown_unit", _fields(cells), field="unit", unknown_unit=unit_name,
                                 params={"unit": unit_name})
            column = "received_at"
            received_at = parse_when(cells[4])
            if received_at is None:
                raise Reason("received_empty")
            column = "unit"
            unit = named[0] if named[0] in self.timeless and len(named) == 1 else \
                self.units.on(unit_name, date.fromisoformat(received_at[:10]))[0]
            if unit is None:  # a unit that had ended by the day the dossier was received
                raise self.units.on(unit_name, date.fromisoformat(received_at[:10]))[1] or Reason("unit_empty")
            column = "due_at"
            due_at = parse_when(cells[5], end_of_day=True)
            column = "finished_at"
            finished_at = parse_when(cells[6])
            if status == "finished" and finished_at is None:
                raise Reason("finished_without_date")
            column = "channel"
            channel = self.channel(cells[8])
            column = "fee"
            fee = parse_amount(cells[9])
            column = "paid_online"
            paid_online = self.boolean(cells[10])
            column = "digitised"
            digitised = self.boolean(cells[11])
            column = "sync_flag"
            synced = self.sync(cells[INDEX["sync_flag"]])
            column = "synced_at"
            synced_at = parse_when(cells[INDEX["synced_at"]])
            column = "submitted_at"
            submitted_at = parse_when(cells[INDEX["submitted_at"]])
            if submitted_at is not None and submitted_at > received_at:
                raise Reason("submitted_after_received")
            column = "receipt_due_at"
            receipt_due_at = parse_when(cells[INDEX["receipt_due_at"]], end_of_day=True)
            column = "apology_at"
            apology_at = parse_when(cells[INDEX["apology_at"]])
            column = "new_due_at"
            new_due_at = parse_when(cells[INDEX["new_due_at"]], end_of_day=True)
            column = "apology_slip"
            apology_slip = self._apology_slip(cells[INDEX["apology_slip"]])
        except ValueError as exc:
            return Rejection.of(row, exc, _fields(cells), column)
        if synced_at is not None and synced is None:
            synced = True  # a last-synced time with no flag: it was synced then
        system = procedure_name(cells[INDEX["system"]])
        alt_code = without_controls(cell_text(cells[INDEX["alt_code"]])) or None
        sync = cells[INDEX["inputs_digitised"]:INDEX["known"]] if len(cells) > INDEX["known"] else [None] * 5
        supplements = sync[4]
        if supplements is None and cells[INDEX["supplement_requested_at"]] not in (None, ""):
            try:  # one request in two columns: the same history the sync payload's list gives
                supplements = json.dumps([{"requested_at": parse_when(cells[INDEX["supplement_requested_at"]]),
                                           "received_at": parse_when(cells[INDEX["supplement_received_at"]])}])
            except ValueError as exc:
                return Rejection.of(row, exc, _fields(cells), "supplement_requested_at")
        known = cells[INDEX["known"]] if len(cells) > INDEX["known"] and cells[INDEX["known"]] is not None \
            else self.column_known
        assert isinstance(known, int)
        if channel is None:
            known &= ~KNOWN_BITS["channel"]
        self.seen_known |= known
        state_at = max(received_at, finished_at or "")
        if isinstance(supplements, str):
            state_at = max([state_at, *re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", supplements)])
        paid = int(bool(paid_online)) if known & KNOWN_PAYMENT else None
        heir = self._heir(unit, cells[INDEX["successor_unit"]], received_at) if unit in self.succeeded else None
        apologised = int(bool(apology_at or new_due_at or apology_slip)) if known & KNOWN_APOLOGY else None
        clock = NO_HISTORY if not isinstance(supplements, str) else supplement_clock(due_at, supplements)
        return (code, unit, national_code(cells[1]), procedure_name(cells[2]),
                received_at, due_at,
                finished_at, status, channel, fee, paid,
                int(bool(digitised)) if known & KNOWN_BITS["digitised"] else None,
                result_reference(cells[12]), self.import_id, row, known, state_at, *sync[:4], supplements,
                *clock.as_columns(), heir, None if synced is None else int(bool(synced)), synced_at, system,
                alt_code if alt_code != code else None,
                submitted_at, receipt_due_at, apologised, new_due_at)

    def _apology_slip(self, cell: Cell) -> bool:
        """Whether the slip column says one was issued: its number or a yes (its text is never kept)."""
        try:
            return bool(self.boolean(cell))  # blank, "Không", "Chưa": none
        except ValueError:
            return True  # a slip number or any other mark

    def _heir(self, unit: str, cell: Cell, received_at: str) -> str | None:
        """The successor the row names for its unit, if it is one of the unit's successors (else counted)."""
        written = cell_text(cell)
        if not written:
            return None
        heir = self.units(written, date.fromisoformat(received_at[:10]))
        if heir in self.lineage.descendants(unit):
            return heir
        self.stray_heirs += 1
        return None

    def report(self) -> dict[str, Any]:
        return {"known": self.seen_known, "stray_heirs": self.stray_heirs, "sync_columns": self.sync_columns}
