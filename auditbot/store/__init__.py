"""The SQLite database: every table's schema and every query over it, in one package.

connection    opening the file, what makes one unusable, timestamps
schema        the tables, and upgrades of older databases (once per schema version)
lifecycle     a finding's life: opened, kept, resolved, reopened, muted (the one place that decides it)
answers       units' answers to their findings from the letter's link, and the centre's decisions
runs          check runs and jobs, the writer lock, the daemon's records
figures       the one-pass figures query, the day-by-day history, closed periods frozen
observations  named read queries over what the sources observed, for checks, reports and commands
dossiers, catalogue, listings, links, imports, outbox   each source's writes, and what it reads back
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from auditbot.config.rules import Config
from auditbot.domain.lineage import Lineage
from auditbot.store import file_hold
from auditbot.store.answers import AnswerBook, AnswerRefused, Link
from auditbot.store.connection import (
    CENTRE,
    DatabaseUnusable,
    connect,
    daemon_mark,
    is_busy,
    pid_alive,
    timestamp,
    unit_label,
    unusable,
    usable_or_raise,
)
from auditbot.store.figures import FigureHistory
from auditbot.store.lifecycle import (
    SUPERSEDED,
    Finding,
    LifecycleCounts,
    Scope,
    finding_json,
    fingerprint,
)
from auditbot.store.runs import RunLedger
from auditbot.store.schema import migrate

__all__ = ["CENTRE", "SUPERSEDED", "AnswerRefused", "DatabaseUnusable", "Finding", "LifecycleCounts", "Link", "Scope",
           "Store", "daemon_mark", "finding_json", "fingerprint", "is_busy", "pid_alive", "timestamp", "unit_label",
           "unusable"]


class Store(AnswerBook, RunLedger, FigureHistory):
    """One open database. Open it with `Store.open(config)`, as a context manager."""

    _held: file_hold.Identity | None = None

    def __init__(self, path: Path, busy_seconds: float = 30) -> None:
        self.path = path
        exists = usable_or_raise(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db, self._held = connect(path, busy_seconds, create=not exists)
        except sqlite3.DatabaseError as exc:
            raise unusable(path, exc) from None
        try:
            migrate(self.db)
        except BaseException as exc:
            self.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise unusable(path, exc) from None
            raise

    @classmethod
    def open(cls, config: Config) -> Store:
        store = cls(config.database, config.busy_timeout_seconds)
        try:
            store.sync_units(config)
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        self.db.close()
        if self._held is not None:  # after the connection, and once: see store/file_hold.py
            file_hold.release(self._held)
            self._held = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sync_units(self, config: Config) -> None:
        """The units as rules.toml says them, written only when they changed (the daemon opens every second)."""
        rows: list[dict[str, Any]] = [{
            "code": u.code, "name": u.name, "kind": u.kind, "aliases": json.dumps(u.aliases, ensure_ascii=False),
            "emails": json.dumps(u.emails), "head_emails": json.dumps(u.head_emails),
            "listing_urls": json.dumps(u.listing_urls),
            "valid_from": u.valid_from.isoformat() if u.valid_from else None,
            "valid_to": u.valid_to.isoformat() if u.valid_to else None,
            "successors": json.dumps(u.successors) if u.successors else None,
        } for u in config.units]
        rows.append({"code": CENTRE, "name": unit_label(config, CENTRE), "kind": CENTRE, "aliases": None,
                     "emails": None, "head_emails": None, "listing_urls": None, "valid_from": None,
                     "valid_to": None, "successors": None})
        lineage = Lineage.of(config)
        links = {(ancestor, u.code) for u in config.units for ancestor in (u.code, *lineage.ancestors(u.code))}
        stored = {row["code"]: row for row in self.db.query("SELECT * FROM units")}
        linked = set(self.db.execute("SELECT unit, heir FROM unit_lineage").fetchall())
        if all(stored.get(row["code"]) == row for row in rows) and linked == links:
            return
        with self.transaction():
            self.db.table("units").upsert_all(rows, pk="code")
            self.db.execute("DELETE FROM unit_lineage")
            self.db.table("unit_lineage").insert_all([{"unit": a, "heir": h} for a, h in sorted(links)])

    def sync_names(self, checks: Iterable[dict[str, str]], kinds: dict[str, str]) -> None:
        """What people call each check and unit kind, for whoever browses the database."""
        with self.transaction():
            self.db.table("checks").upsert_all(list(checks), pk="id")
            self.db.table("unit_kinds").upsert_all([{"kind": k, "name": v} for k, v in kinds.items()], pk="kind")
