"""What a portal run leaves behind: the run (asked, reused, deferred, or why the portal was not asked)
and each link's verdict, replacing the one before."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlite_utils

from auditbot.store.connection import timestamp


def record_portal_run(db: sqlite_utils.Database, requested: int, cached: int, tripped: str | None,
                      deferred: dict[str, int], verdicts: Iterable[tuple[Any, ...]], now: datetime,
                      network_down: bool = False) -> None:
    """verdicts: (url, outcome, reason, status, final_url, attempts, page_code). A tripped run stores none:
    what it saw is the portal's trouble (or auditbot's own network's, `network_down`), not the links'."""
    at = timestamp(now)
    with db.conn:
        db.conn.execute("INSERT INTO portal_runs (checked_at, requested, cached, tripped, deferred, network_down)"
                        " VALUES (?,?,?,?,?,?)", (at, requested, cached, tripped, json.dumps(deferred),
                                                  int(network_down)))
        if tripped:
            return
        db.conn.executemany(
            "INSERT OR REPLACE INTO link_checks (url, checked_at, outcome, reason, status, final_url, attempts,"
            " page_code) VALUES (?,?,?,?,?,?,?,?)", [(url, at, *rest) for url, *rest in verdicts])
