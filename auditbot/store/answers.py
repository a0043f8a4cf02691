"""Units answering their findings from the letter's link, and the centre's decisions: kept with who and when.

A link's token and a form's nonce are never stored, only their sha256: the database read in Datasette
must not hand out a way to answer for a unit. One answer at a time is open per finding (an index says so).
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from auditbot.errors import UserError
from auditbot.store.connection import CENTRE, timestamp
from auditbot.store.lifecycle import FindingsLifecycle

KINDS = ("fixed", "disagree", "extension")
DECISIONS = ("muted", "false_finding", "refused")
FORMS_KEPT = 20  # unused forms per link and finding
# a unit's sources for one check are read again at most this often on its word ("fixed" again on the same
# finding is refused meanwhile; other findings' answers wait for the next re-check, which settles them all)
RECHECK_PAUSE = timedelta(minutes=15)
MAX_MUTE_DAYS = 366  # an accepted answer mutes for at most a year; a false finding is closed for good


class AnswerRefused(Exception):
    """An answer that is not taken: the reason is a key the page words in Vietnamese."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Link:
    unit: str
    token_hash: str
    week: str


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class AnswerBook(FindingsLifecycle):
    """Answers sit on the findings' lifecycle: an accepted one mutes its finding."""

    # --- links and forms --------------------------------------------------------------------

    def issue_link(self, unit: str, week: str, now: datetime, days: int) -> str:
        """A new link for the unit's letter (the old ones work until they expire); returns the token."""
        token = secrets.token_urlsafe(32)
        at = timestamp(now)
        with self.transaction():
            self.db.conn.execute("DELETE FROM answer_forms WHERE token_hash IN"
                                 " (SELECT token_hash FROM answer_links WHERE expires_at < ?)", (at,))
            self.db.conn.execute("DELETE FROM answer_links WHERE expires_at < ?", (at,))
            self.db.conn.execute(
                "INSERT INTO answer_links (token_hash, unit, week, issued_at, expires_at) VALUES (?,?,?,?,?)",
                (digest(token), unit, week, at, timestamp(now + timedelta(days=days))))
        return token

    def link_of(self, token: str, now: datetime) -> Link | None:
        """The unit a token answers for, while it has not expired; None for a wrong or old one."""
        row = self.db.conn.execute("SELECT unit, token_hash, week FROM answer_links WHERE token_hash = ?"
                                   " AND expires_at >= ?", (digest(token), timestamp(now))).fetchone()
        return Link(*row) if row else None

    def live_link_hashes(self, now: datetime) -> set[str]:
        """The hashes of the tokens not yet expired (the page keeps them in memory, so a flood of wrong
        tokens never reaches the database)."""
        return {row[0] for row in self.db.conn.execute(
            "SELECT token_hash FROM answer_links WHERE expires_at >= ?", (timestamp(now),))}

    def issue_form(self, link: Link, finding_id: str, now: datetime) -> str:
        """A nonce for one form of the page: good once, for this link and this finding only. The newest
        FORMS_KEPT unused ones stay good (a page opened in several tabs); older ones are dropped, so reloading
        the page all day grows nothing."""
        nonce = secrets.token_urlsafe(24)
        with self.transaction():
            self.db.conn.execute("INSERT INTO answer_forms (nonce_hash, token_hash, finding_id, issued_at)"
                                 " VALUES (?,?,?,?)", (digest(nonce), link.token_hash, finding_id, timestamp(now)))
            self.db.conn.execute(
                "DELETE FROM answer_forms WHERE token_hash = ? AND finding_id = ? AND used_at IS NULL AND rowid NOT IN"
                " (SELECT rowid FROM answer_forms WHERE token_hash = ? AND finding_id = ? AND used_at IS NULL"
                " ORDER BY rowid DESC LIMIT ?)", (link.token_hash, finding_id, link.token_hash, finding_id, FORMS_KEPT))
        return nonce

    # --- answering --------------------------------------------------------------------------

    def answerable(self, unit: str) -> list[dict[str, Any]]:
        """The unit's open findings (operator findings are the centre's, never a unit's), each with its
        latest answer."""
        findings = [dict(row) for row in self.db.query(
            "SELECT id, check_id, subject, title, first_seen FROM findings WHERE unit = ? AND status = 'open'"
            " ORDER BY check_id, subject", [unit])]
        latest = self.latest_answers([f["id"] for f in findings])
        return [{**f, "answer": latest.get(f["id"])} for f in findings]

    def answer(self, link: Link, finding_id: str, nonce: str, kind: str, reason: str | None, url: str | None,
               until: date | None, now: datetime) -> int:
        """Store one answer, spending its form's nonce in the same transaction: a replayed post finds it spent."""
        if kind not in KINDS:
            raise AnswerRefused("kind")
        at = timestamp(now)
        conn = self.db.conn
        try:
            with self.transaction():
                spent = conn.execute(
                    "UPDATE answer_forms SET used_at = ? WHERE nonce_hash = ? AND token_hash = ? AND finding_id = ?"
                    " AND used_at IS NULL", (at, digest(nonce), link.token_hash, finding_id)).rowcount
                if spent != 1:
                    raise AnswerRefused("form")
                finding = conn.execute("SELECT check_id FROM findings WHERE id = ? AND unit = ? AND status = 'open'",
                                       (finding_id, link.unit)).fetchone()
                if finding is None:
                    raise AnswerRefused("finding")
                if kind == "fixed" and conn.execute(
                        "SELECT 1 FROM answers WHERE finding_id = ? AND kind = 'fixed' AND answered_at > ?",
                        (finding_id, timestamp(now - RECHECK_PAUSE))).fetchone():
                    raise AnswerRefused("recently")  # re-checked moments ago: the unit's sites are not hammered
                cursor = conn.execute(
                    "INSERT INTO answers (finding_id, unit, check_id, kind, reason, link, until, answered_at,"
                    " answered_by, status) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (finding_id, link.unit, finding[0], kind, reason, url, until.isoformat() if until else None,
                     at, f"link {link.week}", "rechecking" if kind == "fixed" else "pending"))
                conn.execute("INSERT INTO finding_events (finding_id, at, event, note) VALUES (?,?,'answered',?)",
                             (finding_id, at, kind))
        except sqlite3.IntegrityError:
            raise AnswerRefused("open") from None  # one answer is already waiting for this finding
        return int(cursor.lastrowid or 0)

    def queued_rechecks(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.query("SELECT * FROM answers WHERE status = 'rechecking' ORDER BY id")]

    def rechecked_since(self, unit: str, check_id: str, since: datetime) -> bool:
        """Whether a unit's word already had this check run again for it since then."""
        return self.db.conn.execute(
            "SELECT 1 FROM answers WHERE unit = ? AND check_id = ? AND rechecked_at > ? AND recheck_result != 'failed'",
            (unit, check_id, timestamp(since))).fetchone() is not None

    def record_recheck(self, answer_id: int, result: str, now: datetime) -> None:
        """gone: the re-check found it fixed; still_open: it did not; failed: it could not judge (our side or
        a source that could not be read), which says nothing of the unit."""
        with self.transaction():
            self.db.conn.execute("UPDATE answers SET status = 'checked', rechecked_at = ?, recheck_result = ?"
                                 " WHERE id = ? AND status = 'rechecking'", (timestamp(now), result, answer_id))

    # --- the centre's decisions -------------------------------------------------------------

    def decide(self, answer_id: int, accept: bool, reason: str, by: str, now: datetime,
               until: date | None = None, false_finding: bool = False) -> dict[str, Any]:
        """Accept (mute the finding until the date, or for good as a false finding) or refuse, with a reason."""
        row = next(iter(self.db.query("SELECT * FROM answers WHERE id = ?", [answer_id])), None)
        if row is None:
            raise UserError(f"no answer with id {answer_id} (see `auditbot answers`)")
        if row["status"] != "pending":
            raise UserError(f"answer {answer_id} is {row['status']}: only pending answers are decided")
        if not reason.strip():
            raise UserError("--reason must say why (the unit reads it)")
        if accept and false_finding and row["kind"] != "disagree":
            raise UserError(f"answer {answer_id} asks for more time; only a disagreement closes a false finding")
        if accept and not false_finding:
            until = until or (date.fromisoformat(row["until"]) if row["until"] else None)
            if until is None:
                raise UserError("--until is needed: a mute accepted from an answer ends on a date",
                                ["or --false-finding for a finding the unit showed to be wrong"])
            if not now.date() < until <= now.date() + timedelta(days=MAX_MUTE_DAYS):
                raise UserError(f"--until must be after today and within {MAX_MUTE_DAYS} days, got {until:%d/%m/%Y}")
        decision = "refused" if not accept else "false_finding" if false_finding else "muted"
        at = timestamp(now)
        if accept:  # the mute machinery keeps its own event; a false finding is muted for good
            note = f"phát hiện sai: {reason}" if false_finding else reason
            self.mute(row["finding_id"], note, None if false_finding else until, now)
        with self.transaction():
            self.db.conn.execute(
                "UPDATE answers SET status = ?, decided_at = ?, decided_by = ?, decision = ?, decision_reason = ?,"
                " decided_until = ? WHERE id = ?", ("accepted" if accept else "refused", at, by, decision, reason,
                                                    until.isoformat() if decision == "muted" and until else None,
                                                    answer_id))
            self.db.conn.execute("INSERT INTO finding_events (finding_id, at, event, note) VALUES (?,?,?,?)",
                                 (row["finding_id"], at, "answer " + decision, f"{by}: {reason}"))
        return {**dict(row), "status": "accepted" if accept else "refused", "decision": decision,
                "decision_reason": reason, "decided_by": by, "decided_at": at,
                "decided_until": until.isoformat() if decision == "muted" and until else None}

    # --- reading ----------------------------------------------------------------------------

    def answers(self, status: str | None = None) -> list[dict[str, Any]]:
        """Answers with the title of the finding each is about (what the centre weighs before deciding)."""
        sql, params = "SELECT a.*, f.title AS finding_title FROM answers a LEFT JOIN findings f ON f.id = a.finding_id", []
        if status is not None:
            sql, params = sql + " WHERE a.status = ?", [status]
        return [dict(r) for r in self.db.query(sql + " ORDER BY a.id", params)]

    def latest_answers(self, finding_ids: list[str]) -> dict[str, dict[str, Any]]:
        if not finding_ids:
            return {}
        latest: dict[str, dict[str, Any]] = {}
        for start in range(0, len(finding_ids), 500):
            chunk = finding_ids[start:start + 500]
            for row in self.db.query(
                    f"SELECT * FROM answers WHERE finding_id IN ({','.join('?' * len(chunk))}) ORDER BY id", chunk):
                latest[row["finding_id"]] = dict(row)
        return latest

    def answers_to_tell(self, unit: str, since: str) -> list[dict[str, Any]]:
        """What the unit's next letter says of its answers: each finding's latest answer, when it is still open
        (waiting for a re-check or the centre) or something happened to it since then."""
        return [dict(r) for r in self.db.query(
            "SELECT a.*, f.title, f.status AS finding_status FROM answers a JOIN findings f ON f.id = a.finding_id"
            " WHERE a.unit = ? AND a.id = (SELECT max(id) FROM answers b WHERE b.finding_id = a.finding_id)"
            " AND (a.status IN ('rechecking', 'pending') OR max(a.answered_at, coalesce(a.rechecked_at, ''),"
            " coalesce(a.decided_at, '')) >= ?) ORDER BY a.check_id, f.subject", [unit, since])]

    def unanswered(self, older_than: str, excluding: list[str]) -> list[dict[str, Any]]:
        """Units with open findings first seen before then that no answer ever spoke of."""
        left_out = [*excluding, ""]
        return [dict(r) for r in self.db.query(
            "SELECT f.unit, count(*) AS count, min(f.first_seen) AS oldest FROM findings f"
            " WHERE f.status = 'open' AND f.first_seen < ? AND f.unit <> ?"
            f" AND f.check_id NOT IN ({','.join('?' * len(left_out))})"
            " AND NOT EXISTS (SELECT 1 FROM answers a WHERE a.finding_id = f.id)"
            " GROUP BY f.unit ORDER BY f.unit", [older_than, CENTRE, *left_out])]

    def false_findings(self) -> list[dict[str, Any]]:
        """Per check with a disputed finding: findings, disputed, accepted as false (the view's figures)."""
        return [dict(r) for r in self.db.query(
            "SELECT f.check_id, count(DISTINCT f.id) AS findings,"
            " count(DISTINCT CASE WHEN a.kind = 'disagree' THEN f.id END) AS disputed,"
            " count(DISTINCT CASE WHEN a.decision = 'false_finding' THEN f.id END) AS false_findings"
            " FROM findings f LEFT JOIN answers a ON a.finding_id = f.id WHERE f.unit <> ?"
            " GROUP BY f.check_id HAVING disputed > 0 ORDER BY f.check_id", [CENTRE])]
