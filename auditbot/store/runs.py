"""The ledger of what ran: check runs and jobs, the one writer lock, and the daemon's own records."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from auditbot.store.connection import Connection, pid_alive, timestamp
from auditbot.store.lifecycle import LifecycleCounts, Scope


class RunLedger(Connection):
    def start_run(self, trigger: str, command: str, scope: Scope | None, now: datetime) -> int:
        table = self.db.table("runs")
        with self.transaction():
            table.insert({
                "trigger": trigger, "command": command, "started_at": timestamp(now), "status": "running",
                "pid": os.getpid(),
                "checks": json.dumps(sorted(scope.checks)) if scope else None,
                "units": json.dumps(sorted(scope.units)) if scope else None,
                "period": scope.period if scope else None,
            })
        assert table.last_pk is not None
        return int(table.last_pk)

    def finish_run(self, run_id: int, now: datetime, counts: LifecycleCounts | None = None,
                   error: str | None = None, status: str | None = None) -> None:
        values: dict[str, Any] = {"finished_at": timestamp(now), "status": status or ("failed" if error else "ok"),
                                  "error": error}
        if counts:
            values.update(opened=counts.opened, kept=counts.kept, resolved=counts.resolved, reopened=counts.reopened)
        with self.transaction():
            self.db.table("runs").update(run_id, values)

    def interrupt_runs(self, now: datetime, pids: Iterable[int] | None = None, note: str = "interrupted") -> int:
        """Runs left 'running' by these processes (default: any process not alive) -> 'interrupted'."""
        rows = list(self.db.query("SELECT id, pid FROM runs WHERE status = 'running'"))
        wanted = set(pids) if pids is not None else None
        ids = [r["id"] for r in rows if (r["pid"] in wanted if wanted is not None else not pid_alive(r["pid"]))]
        with self.transaction():
            self.db.conn.executemany("UPDATE runs SET status='interrupted', finished_at=?, error=? WHERE id=?",
                                     [(timestamp(now), note, run_id) for run_id in ids])
        return len(ids)

    def interrupted_runs(self, limit: int = 5) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT id, command, started_at, finished_at, error FROM runs"
                                  " WHERE status = 'interrupted' ORDER BY id DESC LIMIT ?", [limit]))

    def units_checked_since(self, since: str) -> set[str]:
        """Units whose latest check run since then finished without a failing check."""
        latest: dict[str, str] = {}
        for row in self.db.query(
                "SELECT runs.status, unit.value AS unit FROM runs, json_each(runs.units) AS unit"
                " WHERE runs.command = 'check' AND runs.started_at >= ? AND runs.status != 'running'"
                " ORDER BY runs.id", [since]):
            latest[row["unit"]] = row["status"]
        return {unit for unit, status in latest.items() if status == "ok"}

    # --- the writer lock ----------------------------------------------------------------------

    def claim_lock(self, name: str, pid: int, host: str, purpose: str) -> tuple[int, str, str, str]:
        """Take the lock if it is free; who holds it now (pid, host, purpose, since)."""
        with self.transaction():
            self.db.conn.execute(
                "INSERT INTO locks (name, pid, host, purpose, acquired_at) VALUES (?,?,?,?,datetime('now'))"
                " ON CONFLICT (name) DO NOTHING", (name, pid, host, purpose))
            pid_, host_, purpose_, since = self.db.conn.execute(
                "SELECT pid, host, purpose, acquired_at FROM locks WHERE name = ?", (name,)).fetchone()
        return int(pid_), str(host_), str(purpose_), str(since)

    def release_lock(self, name: str, pid: int) -> None:
        with self.transaction():
            self.db.conn.execute("DELETE FROM locks WHERE name = ? AND pid = ?", (name, pid))

    # --- the daemon -------------------------------------------------------------------------

    def daemon(self) -> dict[str, Any] | None:
        return next(iter(self.db.query("SELECT * FROM daemon WHERE id = 1")), None)

    def daemon_jobs(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM daemon_jobs ORDER BY next_run"))

    def register_daemon(self, pid: int, host: str, at: datetime) -> None:
        with self.transaction():
            self.db.table("daemon").upsert({"id": 1, "pid": pid, "host": host, "started_at": timestamp(at),
                                            "stopped_at": None, "heartbeat_at": None}, pk="id")
            self.db.execute("UPDATE daemon_jobs SET note = NULL")

    def daemon_stopped(self, at: datetime) -> None:
        with self.transaction():
            self.db.table("daemon").update(1, {"stopped_at": timestamp(at)})

    def record_busy_wait(self, seconds: float, at: datetime) -> None:
        with self.transaction():  # (no daemon row yet if it was busy at the very start)
            self.db.execute("UPDATE daemon SET busy_waited_seconds = ?, busy_waited_at = ? WHERE id = 1",
                            [seconds, timestamp(at)])

    def heartbeat(self, at: datetime, jobs: Iterable[tuple[str, str, datetime | None]]) -> None:
        """The daemon is alive; each job's phrase and next run (job, phrase, next run)."""
        with self.transaction():
            self.db.table("daemon").update(1, {"heartbeat_at": timestamp(at)})
            self.db.conn.executemany(
                "INSERT INTO daemon_jobs (job, phrase, next_run) VALUES (?,?,?) ON CONFLICT (job) DO UPDATE"
                " SET phrase = excluded.phrase, next_run = excluded.next_run",
                [(job, phrase, timestamp(next_run) if next_run else None) for job, phrase, next_run in jobs])

    def set_job_state(self, job: str, phrase: str, **values: Any) -> None:
        with self.transaction():
            self.db.table("daemon_jobs").upsert({"job": job, "phrase": phrase, **values}, pk="job")

    def job_failures(self, job: str) -> int:
        """How many of the job's latest runs failed in a row."""
        count = 0
        for (status,) in self.db.execute(
                "SELECT status FROM runs WHERE command = ? AND status != 'running' ORDER BY id DESC LIMIT 100",
                [f"job:{job}"]):
            if status != "failed":
                break
            count += 1
        return count

    def last_success(self, job: str) -> str | None:
        """When a daemon job last finished well."""
        row = self.db.execute("SELECT max(started_at) FROM runs WHERE command = ? AND status = 'ok'",
                              [f"job:{job}"]).fetchone()
        return None if row[0] is None else str(row[0])
