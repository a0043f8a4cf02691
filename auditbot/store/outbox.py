"""The outbox ledger: every letter queued once per week, report and recipient, with its delivery state
(pending, sending, sent, failed, unconfirmed), so no letter is sent twice and none is lost; and each full
weekly report's record of the letters it could not make."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlite_utils

from auditbot.store.connection import timestamp

UNSENT = ("pending", "failed")


def queue_letters(db: sqlite_utils.Database, rows: Iterable[tuple[str, str, str, str, str, bytes]],
                  now: datetime) -> None:
    """(week, report, recipient, role, subject, message): a letter already sent is never replaced."""
    with db.conn:
        db.conn.executemany(
            "INSERT INTO outbox (week, report, recipient, role, subject, message, status, queued_at)"
            " VALUES (?,?,?,?,?,?,'pending',?) ON CONFLICT (week, report, recipient) DO UPDATE SET"
            " role=excluded.role, subject=excluded.subject, message=excluded.message"
            " WHERE outbox.status != 'sent'", [(*row, timestamp(now)) for row in rows])


def mark_interrupted_sends(db: sqlite_utils.Database, note: str) -> None:
    """Letters a stopped process was sending: the server may have them; a person decides (note + their id)."""
    with db.conn:
        db.conn.execute("UPDATE outbox SET status = 'unconfirmed', last_error = ? || id || '`'"
                        " WHERE status = 'sending'", [note])


def unsent_letters(db: sqlite_utils.Database, reports: list[str] | None = None,
                   letter_ids: list[int] | None = None) -> list[dict[str, Any]]:
    sql = f"SELECT * FROM outbox WHERE status IN ({','.join('?' * len(UNSENT))})"
    params: list[Any] = list(UNSENT)
    if reports is not None:
        sql += f" AND report IN ({','.join('?' * len(reports))})"
        params += reports
    if letter_ids is not None:
        sql += f" AND id IN ({','.join('?' * len(letter_ids))})"
        params += letter_ids
    return list(db.query(sql + " ORDER BY id", params))


def letter(db: sqlite_utils.Database, letter_id: int) -> dict[str, Any] | None:
    return next(iter(db.query("SELECT id, status, recipient, week, report, sent_at FROM outbox WHERE id = ?",
                              [letter_id])), None)


def unconfirmed_letters(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT id, week, recipient, subject, last_error FROM outbox WHERE status = 'unconfirmed'"
                         " ORDER BY id"))


def mark_letter(db: sqlite_utils.Database, letter_id: int, **values: Any) -> None:
    with db.conn:
        db.table("outbox").update(letter_id, values)


def record_letter_report(db: sqlite_utils.Database, week: str, failed: dict[str, str], now: datetime) -> None:
    """A full weekly report was made: the units whose letter could not be (code -> what went wrong)."""
    with db.conn:
        db.table("letter_reports").insert({"week": week, "made_at": timestamp(now),
                                           "failed": json.dumps(failed, ensure_ascii=False)})
