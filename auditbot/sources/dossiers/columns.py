"""Dossier rows typed a column at a time, with the same rules `DossierParser.parse` applies to one row.

A value's rule runs once per distinct value (a province has a few hundred units, statuses and fees, a few
thousand procedures), and the shapes nine cells in ten have (a dossier code in plain ASCII, a moment as
'dd/mm/yyyy HH:MM' or 'yyyy-mm-dd HH:MM:SS', a result code) are recognised by the engine itself. A row any
rule is not sure of — a rejection to word, a skip to count, a unit whose name depends on the date, a
supplement or a successor to read — is *doubtful*: it goes to `DossierParser.parse` itself. So a record
made here is the record the parser would make, and every message is the parser's own."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from functools import lru_cache, partial
from typing import Any

import polars as pl

from auditbot.sources.dossiers.rows import (
    MOMENTS,
    PLACEHOLDER_REFS,
    SYNC_FIELDS,
    DossierParser,
    national_code,
    procedure_name,
    result_reference,
)
from auditbot.sources.tabular.cell_values import parse_amount, parse_when
from auditbot.store.dossiers import COLUMNS
from auditbot.words.dossiers import KNOWN_APOLOGY, KNOWN_BITS, KNOWN_DIGITISED, KNOWN_PAYMENT, NOT_RECEIVED

SCHEMA: dict[str, Any] = dict.fromkeys(COLUMNS, pl.String) | dict.fromkeys(("paid_online", "digitised", "import_id", "source_row", "known", "inputs_digitised", "documents", "documents_digitised", "documents_reused", "supplement_requests", "synced", "apologised"), pl.Int64) | {"fee": pl.Float64}

SUBMISSION_AND_APOLOGY = ("submitted_at", "receipt_due_at", "apology_at", "apology_slip", "new_due_at")
_DOUBT = object()  # a rule's answer when the row must go to the parser
_PLAIN_CODE = r"^[!-~]+$"  # printable ASCII, no space: nothing for strip() or without_controls() to change
_PLAIN_REF = r"^[!-\[\]-~]{1,64}$"  # an identifier result_reference keeps as written (no space or backslash)
_FILE_LIKE = r"://|\.[A-Za-z0-9]{2,5}$"
_DAY = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})|([0-9]{4})-([0-9]{2})-([0-9]{2})")
_CLOCK = re.compile(r" ([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?")


@lru_cache(maxsize=1 << 14)  # a few hundred days a year
def _day(text: str | None) -> str | None:
    """'dd/mm/yyyy' or 'yyyy-mm-dd' of a real day in years every date rule reads alike -> 'yyyy-mm-dd'."""
    match = _DAY.fullmatch(text or "")
    if not match:
        return None
    day, month, year, year2, month2, day2 = match.groups()
    year, month, day = (year, month, day) if year else (year2, month2, day2)
    try:
        return date(int(year), int(month), int(day)).isoformat() if year >= "1000" else None
    except ValueError:
        return None


@lru_cache(maxsize=1 << 12)  # 1.440 minutes a day
def _clock(text: str | None) -> str | None:
    """' HH:MM' or ' HH:MM:SS' of a real time -> ' HH:MM:SS'."""
    match = _CLOCK.fullmatch(text or "")
    if not match or match.group(1) >= "24" or match.group(2) >= "60" or (match.group(3) or "00") >= "60":
        return None
    return f" {match.group(1)}:{match.group(2)}:{match.group(3) or '00'}"


def _answers(values: list[Any], rule: Callable[[Any], Any]) -> tuple[dict[Any, Any], list[Any]]:
    """The rule's answer for each distinct value, and the values whose rows must go to the parser."""
    answers: dict[Any, Any] = {}
    doubtful: list[Any] = []
    for value in values:
        try:
            answer = rule(value)
        except ValueError:
            answer = _DOUBT
        if answer is _DOUBT:
            doubtful.append(value)
        else:
            answers[value] = answer
    return answers, doubtful


class DossierColumns:
    """A frame of canonical dossier cells (strings, null for a field the export has no column for) ->
    the records it is sure of, and which rows are doubtful."""

    schema = SCHEMA

    def __init__(self, parser: DossierParser, names: tuple[str, ...]) -> None:
        self.parser = parser
        self.names = names
        # field -> (the rule for one value, the type of its answers)
        self.rules: dict[str, tuple[Callable[[Any], Any], Any]] = {
            "status": (self._status, pl.String), "unit": (self._unit, pl.String),
            "channel": (parser.channel, pl.String), "fee": (parse_amount, pl.Float64),
            "paid_online": (parser.boolean, pl.Boolean), "digitised": (parser.boolean, pl.Boolean),
            "procedure_code": (national_code, pl.String), "procedure_name": (procedure_name, pl.String)}

    def _unit(self, written: str | None) -> object:
        text = (written or "").strip()
        named = self.parser.units.named(text) if text else ()
        # a unit that never ended and has no successor; any other needs the row's date or its heir column
        if len(named) == 1 and named[0] in self.parser.timeless and named[0] not in self.parser.succeeded:
            return named[0]
        return _DOUBT

    def _status(self, written: str | None) -> object:
        status = self.parser.status(written)
        return _DOUBT if status is None or status == NOT_RECEIVED else status

    def records(self, cells: pl.DataFrame, numbers: pl.Series) -> tuple[pl.DataFrame, list[int]]:
        """(records in SCHEMA, positions of the rows the parser must see)."""
        parser = self.parser
        distinct = cells.select(
            *(pl.col(name).unique().implode() for name in self.rules),
            *(pl.col(name).str.slice(0, 10).unique().implode().alias(f"{name}:day") for name in MOMENTS),
            *(pl.col(name).str.slice(10).unique().implode().alias(f"{name}:clock") for name in MOMENTS),
        ).row(0, named=True)
        columns: list[pl.Expr] = [pl.col("code"), pl.lit(numbers).alias("source_row")]
        sure = pl.col("code").str.contains(_PLAIN_CODE)
        for name, (rule, dtype) in self.rules.items():
            answers, doubtful = _answers(distinct[name], rule)
            columns.append(pl.col(name).replace_strict(answers, default=None, return_dtype=dtype))
            if doubtful:
                sure &= ~pl.col(name).is_in(doubtful, nulls_equal=True)
        for name in MOMENTS:
            days = {value: _day(value) for value in distinct[f"{name}:day"]}
            clocks = {value: _clock(value) for value in distinct[f"{name}:clock"]}
            fast = pl.concat_str(pl.col(name).str.slice(0, 10).replace_strict(days, default=None, return_dtype=pl.String),
                                 pl.col(name).str.slice(10).replace_strict(clocks, default=None, return_dtype=pl.String))
            columns += [fast.alias(f"{name}:fast"), pl.col(name).alias(f"{name}:raw")]
        reference = pl.col("result_ref")
        plain = (reference.str.contains(_PLAIN_REF) & ~reference.str.contains(_FILE_LIKE)
                 & ~reference.str.to_lowercase().is_in(sorted(PLACEHOLDER_REFS))).fill_null(False)
        columns += [plain.alias("plain_ref"), reference]
        for name in ("supplement_requested_at", *SUBMISSION_AND_APOLOGY, *SYNC_FIELDS):  # the parser reads them
            if name in cells.columns:
                sure &= pl.col(name).fill_null("").str.strip_chars().eq("")
        frame = cells.select(*columns, sure.fill_null(False).alias("sure"))

        # the other shapes of moment (a bare date, 2026-10-31T14:30, an Excel serial): the parser's own rule,
        # once per distinct value
        moments, sure = [], pl.col("sure")
        for name, end_of_day in MOMENTS.items():
            slow = frame.filter(pl.col(f"{name}:fast").is_null())[f"{name}:raw"].unique().to_list()
            answers, doubtful = _answers(slow, partial(parse_when, end_of_day=end_of_day))
            moments.append(pl.col(f"{name}:fast").fill_null(pl.col(f"{name}:raw").replace_strict(
                answers, default=None, return_dtype=pl.String)).alias(name))
            if doubtful:
                sure &= ~pl.col(f"{name}:raw").is_in(doubtful, nulls_equal=True)
        frame = frame.with_columns(*moments, sure.alias("sure"))
        odd_refs = frame.filter(~pl.col("plain_ref"))["result_ref"].unique().to_list()
        known = parser.column_known
        frame = frame.with_columns(
            result_ref=pl.when("plain_ref").then("result_ref").otherwise(pl.col("result_ref").replace_strict(
                {value: result_reference(value) for value in odd_refs}, default=None, return_dtype=pl.String)),
            sure=pl.col("sure") & pl.col("received_at").is_not_null()
            & ~((pl.col("status") == "finished") & pl.col("finished_at").is_null()).fill_null(True))
        doubtful_rows = frame["sure"].not_().arg_true().to_list()
        frame = frame.filter("sure").with_columns(
            paid_online=pl.col("paid_online").cast(pl.Int64).fill_null(0) if known & KNOWN_PAYMENT else None,
            digitised=pl.col("digitised").cast(pl.Int64).fill_null(0) if known & KNOWN_DIGITISED else None,
            apologised=pl.lit(0, pl.Int64) if known & KNOWN_APOLOGY else None,  # its apology cells are blank
            import_id=pl.lit(parser.import_id),
            known=pl.when(pl.col("channel").is_null()).then(known & ~KNOWN_BITS["channel"]).otherwise(known),
            state_at=pl.max_horizontal("received_at", pl.col("finished_at").fill_null("")))
        frame = frame.select(
            [pl.col(c).cast(SCHEMA[c]) if c in frame.columns else pl.lit(None, SCHEMA[c]).alias(c) for c in COLUMNS])
        for value in frame["known"].unique().to_list():
            parser.seen_known |= value
        return frame, doubtful_rows
