"""A finding's life: opened, kept, resolved, reopened, muted. The one place that decides it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from auditbot.domain.lineage import DISSOLVED
from auditbot.errors import UserError
from auditbot.store.connection import Connection, timestamp

# the event note of a period's finding resolved because a newer period's verdict replaced it: not a fix
SUPERSEDED = "superseded: a later period has closed"


@dataclass(frozen=True)
class Finding:
    """One violation at one unit about one subject."""

    check: str
    unit: str
    subject: str
    title: str
    severity: str = "medium"
    details: dict[str, Any] = field(default_factory=dict)
    period: str | None = None


def fingerprint(check: str, unit: str, subject: str) -> str:
    """Stable across runs: the same violation keeps its id for its whole history."""
    return hashlib.sha1(f"{check}\x1f{unit}\x1f{subject}".encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Scope:
    """What one run covered; only findings inside it may be resolved."""

    checks: frozenset[str]
    units: frozenset[str]
    period: str | None = None
    # the periods a per-period check judged: its open findings of any other period are superseded
    judged_periods: frozenset[str] | None = None

    def covers(self, finding: Finding) -> bool:
        return (finding.check in self.checks and finding.unit in self.units
                and (self.period is None or finding.period == self.period))


@dataclass
class LifecycleCounts:
    opened: int = 0
    kept: int = 0
    resolved: int = 0
    reopened: int = 0
    ids: list[str] = field(default_factory=list)

    def add(self, other: LifecycleCounts) -> None:
        self.opened += other.opened
        self.kept += other.kept
        self.resolved += other.resolved
        self.reopened += other.reopened
        self.ids += other.ids


class FindingsLifecycle(Connection):
    # --- findings lifecycle -----------------------------------------------------------------

    def record(self, run_id: int, scope: Scope, produced: Iterable[Finding], now: datetime) -> LifecycleCounts:
        """Open, keep, reopen what was produced; resolve what in scope was not."""
        at = timestamp(now)
        counts = LifecycleCounts()
        existing = self._existing_in_scope(scope)
        events: list[tuple[str, int, str, str, str | None]] = []
        seen: set[str] = set()
        with self.transaction():
            conn = self.db.conn
            for finding in produced:
                if not scope.covers(finding):
                    raise ValueError(f"finding outside the run's scope: {finding.check} {finding.unit}")
                finding_id = fingerprint(finding.check, finding.unit, finding.subject)
                if finding_id in seen:
                    continue
                seen.add(finding_id)
                counts.ids.append(finding_id)
                details = json.dumps(finding.details, ensure_ascii=False, sort_keys=True, default=str)
                status = existing[finding_id][0] if finding_id in existing else self._status_outside_scope(finding_id)
                if status is None:
                    conn.execute(
                        "INSERT INTO findings (id, check_id, unit, subject, title, severity, status, period,"
                        " first_seen, last_seen, details, last_run) VALUES (?,?,?,?,?,?,'open',?,?,?,?,?)",
                        (finding_id, finding.check, finding.unit, finding.subject, finding.title,
                         finding.severity, finding.period, at, at, details, run_id))
                    events.append((finding_id, run_id, at, "opened", None))
                    counts.opened += 1
                elif status == "resolved":
                    conn.execute(
                        "UPDATE findings SET status='open', resolved_at=NULL, muted_reason=NULL, muted_until=NULL,"
                        " muted_at=NULL, last_seen=?, title=?, severity=?, details=?, last_run=? WHERE id=?",
                        (at, finding.title, finding.severity, details, run_id, finding_id))
                    events.append((finding_id, run_id, at, "reopened", None))
                    counts.reopened += 1
                else:
                    conn.execute(
                        "UPDATE findings SET last_seen=?, title=?, severity=?, details=?, last_run=? WHERE id=?",
                        (at, finding.title, finding.severity, details, run_id, finding_id))
                    counts.kept += 1
            gone = [fid for fid, (status, _) in existing.items() if fid not in seen and status != "resolved"]
            conn.executemany("UPDATE findings SET status='resolved', resolved_at=?, last_run=? WHERE id=?",
                             [(at, run_id, fid) for fid in gone])
            events += [(fid, run_id, at, "resolved", SUPERSEDED if scope.judged_periods is not None
                        and existing[fid][1] not in scope.judged_periods else None) for fid in gone]
            counts.resolved = len(gone)
            conn.executemany(
                "INSERT INTO finding_events (finding_id, run_id, at, event, note) VALUES (?,?,?,?,?)", events)
        return counts

    def hand_over(self, run_id: int, moves: Iterable[tuple[str, str | None]], now: datetime) -> LifecycleCounts:
        """Ended units' findings (id -> the unit taking it over, or None): one passed over keeps its history
        (first seen, mute) under the successor, the old one is resolved; one nobody takes is resolved.
        Both with the reason DISSOLVED, so no letter counts them as fixed."""
        at, counts = timestamp(now), LifecycleCounts()
        conn = self.db.conn
        with self.transaction():
            for finding_id, taker in moves:
                old = next(iter(self.db.query("SELECT * FROM findings WHERE id = ?", [finding_id])), None)
                if old is None:
                    continue
                note = DISSOLVED  # an ended unit's finding, closed or passed on, is no fix
                if taker is not None:
                    new_id = fingerprint(old["check_id"], taker, old["subject"])
                    note = f"{DISSOLVED}; chuyển sang {taker}"
                    if self._status_outside_scope(new_id) is None:
                        conn.execute(
                            "INSERT INTO findings (id, check_id, unit, subject, title, severity, status, period,"
                            " first_seen, last_seen, details, last_run, muted_reason, muted_until, muted_at)"
                            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                            (new_id, old["check_id"], taker, old["subject"], old["title"], old["severity"],
                             old["status"], old["period"], old["first_seen"], at, old["details"], run_id,
                             old["muted_reason"], old["muted_until"], old["muted_at"]))
                        counts.opened += 1
                    else:  # the successor has it already: it has been open since the older sighting
                        conn.execute("UPDATE findings SET first_seen = min(first_seen, ?),"
                                     " status = CASE status WHEN 'resolved' THEN 'open' ELSE status END,"
                                     " resolved_at = NULL WHERE id = ?", (old["first_seen"], new_id))
                    conn.execute("INSERT INTO finding_events (finding_id, run_id, at, event, note) VALUES"
                                 " (?,?,?,'opened',?)", (new_id, run_id, at, f"tiếp nhận từ {old['unit']}: {DISSOLVED}"))
                conn.execute("UPDATE findings SET status = 'resolved', resolved_at = ?, last_run = ? WHERE id = ?",
                             (at, run_id, finding_id))
                conn.execute("INSERT INTO finding_events (finding_id, run_id, at, event, note) VALUES"
                             " (?,?,?,'resolved',?)", (finding_id, run_id, at, note))
                counts.resolved += 1
        return counts

    def _existing_in_scope(self, scope: Scope) -> dict[str, tuple[str, str | None]]:
        """id -> (status, period) of the findings the scope covers."""
        if not scope.checks or not scope.units:
            return {}
        checks = sorted(scope.checks)
        units = sorted(scope.units)
        sql = (f"SELECT id, status, period FROM findings WHERE check_id IN ({','.join('?' * len(checks))})"
               f" AND unit IN ({','.join('?' * len(units))})")
        params: list[Any] = [*checks, *units]
        if scope.period is not None:
            sql += " AND period = ?"
            params.append(scope.period)
        return {fid: (status, period) for fid, status, period in self.db.conn.execute(sql, params)}

    def _status_outside_scope(self, finding_id: str) -> str | None:
        row = self.db.conn.execute("SELECT status FROM findings WHERE id = ?", (finding_id,)).fetchone()
        return row[0] if row else None

    # --- muting -----------------------------------------------------------------------------

    def mute(self, finding_id: str, reason: str, until: date | None, now: datetime) -> dict[str, Any] | None:
        """Mute a finding; return the mute it replaces (reason, until), if it was muted already."""
        row = self.db.conn.execute("SELECT status, muted_reason, muted_until FROM findings WHERE id = ?",
                                   (finding_id,)).fetchone()
        if row is None:
            raise UserError(f"no finding with id {finding_id!r} (see `auditbot findings --status all`)")
        if row[0] == "resolved":
            raise UserError(f"finding {finding_id} is resolved; only open findings can be muted")
        if not reason.strip():
            raise UserError("--reason must say why the finding is muted")
        at = timestamp(now)
        note = reason if until is None else f"{reason} (until {until.isoformat()})"
        with self.transaction():
            self.db.conn.execute(
                "UPDATE findings SET status='muted', muted_reason=?, muted_until=?, muted_at=? WHERE id=?",
                (reason, until.isoformat() if until else None, at, finding_id))
            self._event(finding_id, at, "muted", note)
        return {"reason": row[1], "until": row[2]} if row[0] == "muted" else None

    def unmute(self, finding_id: str, now: datetime, note: str | None = None) -> None:
        row = self.db.conn.execute("SELECT status FROM findings WHERE id = ?", (finding_id,)).fetchone()
        if row is None or row[0] != "muted":
            raise UserError(f"finding {finding_id!r} is not muted")
        with self.transaction():
            self._unmute(finding_id, timestamp(now), note)

    def expire_mutes(self, now: datetime) -> list[str]:
        """A mute with an `until` date in the past ends: the finding is open again."""
        today = now.date().isoformat()
        expired = [r[0] for r in self.db.conn.execute(
            "SELECT id FROM findings WHERE status='muted' AND muted_until IS NOT NULL AND muted_until < ?", (today,))]
        if expired:
            with self.transaction():
                for finding_id in expired:
                    self._unmute(finding_id, timestamp(now), "mute expired")
        return expired

    def _unmute(self, finding_id: str, at: str, note: str | None) -> None:
        self.db.conn.execute(
            "UPDATE findings SET status='open', muted_reason=NULL, muted_until=NULL, muted_at=NULL WHERE id=?",
            (finding_id,))
        self._event(finding_id, at, "unmuted", note)

    def _event(self, finding_id: str, at: str, event: str, note: str | None) -> None:
        self.db.conn.execute("INSERT INTO finding_events (finding_id, at, event, note) VALUES (?,?,?,?)",
                             (finding_id, at, event, note))

    # --- reading ----------------------------------------------------------------------------

    def findings(self, units: Iterable[str] | None = None, statuses: Iterable[str] | None = None,
                 checks: Iterable[str] | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM findings WHERE 1=1"
        params: list[Any] = []
        for column, values in (("unit", units), ("status", statuses), ("check_id", checks)):
            if values is not None:
                values = list(values)
                sql += f" AND {column} IN ({','.join('?' * len(values))})"
                params += values
        sql += " ORDER BY unit, check_id, subject"
        return [finding_json(row) for row in self.db.query(sql, params)]

    def events(self, finding_id: str) -> list[dict[str, Any]]:
        return list(self.db.query(
            "SELECT at, event, note, run_id FROM finding_events WHERE finding_id = ? ORDER BY id", [finding_id]))

    def fixed_since(self, since: str) -> list[dict[str, Any]]:
        """Findings resolved since then because their violation is gone; a closed period's verdict
        replaced by the next one's, or an ended unit's finding closed, is not something the unit fixed."""
        return [finding_json(row) for row in self.db.query(
            "SELECT * FROM findings AS f WHERE status = 'resolved' AND resolved_at >= ? AND NOT EXISTS"
            " (SELECT 1 FROM finding_events AS e WHERE e.finding_id = f.id AND e.event = 'resolved'"
            " AND e.at = f.resolved_at AND (e.note = ? OR e.note LIKE ? || '%'))"
            " ORDER BY unit, check_id, subject", [since, SUPERSEDED, DISSOLVED])]

    def open_at(self, moment: str, excluding: Iterable[str]) -> int:
        """How many findings were open at that moment, leaving out these checks."""
        left_out = sorted(excluding)
        row = self.db.execute(
            "SELECT count(*) FROM findings WHERE first_seen < ? AND (resolved_at IS NULL OR resolved_at >= ?)"
            f" AND check_id NOT IN ({','.join('?' * len(left_out))})", [moment, moment, *left_out]).fetchone()
        return int(row[0])


def finding_json(row: dict[str, Any]) -> dict[str, Any]:
    """The contract's JSON shape for a finding."""
    return {
        "id": row["id"], "check": row["check_id"], "unit": row["unit"], "subject": row["subject"],
        "title": row["title"], "severity": row["severity"], "status": row["status"],
        "first_seen": row["first_seen"], "last_seen": row["last_seen"], "resolved_at": row["resolved_at"],
        "details": json.loads(row["details"] or "{}"),
        **({"muted_reason": row["muted_reason"], "muted_until": row["muted_until"]}
           if row["status"] == "muted" else {}),
    }
