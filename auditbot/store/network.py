"""What a network verdict leaves behind: one row per run that could tell whether auditbot reached the world."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

import sqlite_utils

from auditbot.store.connection import timestamp


def record_reach(db: sqlite_utils.Database, source: str, reachable: bool, asked: int, failed: int,
                 failure: str | None, canaries: Iterable[tuple[str, str | None]], now: datetime) -> None:
    """canaries: (url, how it failed or None when it answered), empty when none was asked."""
    with db.conn:
        db.conn.execute(
            "INSERT INTO network_checks (checked_at, source, reachable, asked, failed, failure, canaries)"
            " VALUES (?,?,?,?,?,?,?)",
            (timestamp(now), source, int(reachable), asked, failed, failure,
             json.dumps([{"url": url, "failure": way} for url, way in canaries])))
