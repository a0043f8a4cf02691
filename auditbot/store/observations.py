"""What the sources observed, read back by name: the queries checks, reports and commands ask.

Each function takes the open database and returns plain rows; none writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import sqlite_utils

from auditbot.domain.supplements import SECOND_REQUEST
from auditbot.store.connection import timestamp
from auditbot.words.dossiers import CLOSED_STATUSES, KNOWN_APOLOGY, KNOWN_RESULT

# each unit's latest listing fetch: one row per listing URL read in it
LATEST_FETCHES = ("SELECT * FROM listing_fetches f"
                  " WHERE batch = (SELECT max(batch) FROM listing_fetches WHERE unit = f.unit)")


def _members(values: Iterable[str]) -> str:
    return json.dumps(sorted(set(values)))


# --- listings ---------------------------------------------------------------------------------

def latest_fetches(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Each listing URL's latest reading: how many items, read how, or why it is no evidence."""
    return list(db.query(f"SELECT * FROM ({LATEST_FETCHES}) ORDER BY id"))


def fully_read_units(db: sqlite_utils.Database) -> list[str]:
    """Units whose latest listing fetch read every one of their sites."""
    return [row["unit"] for row in db.query(f"SELECT unit FROM ({LATEST_FETCHES}) GROUP BY unit HAVING min(ok) = 1")]


def fetched_units(db: sqlite_utils.Database) -> set[str]:
    """Units whose listings were fetched at least once."""
    return {row[0] for row in db.execute("SELECT DISTINCT unit FROM listing_fetches")}


def failed_fetches(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """The listing URLs whose latest reading failed."""
    return list(db.query(f"SELECT unit, url, error, fetched_at FROM ({LATEST_FETCHES}) WHERE NOT ok"))


def unread_for_our_network(db: sqlite_utils.Database) -> set[str]:
    """Units whose latest listing fetch failed on auditbot's own network: nobody can say anything of them."""
    return {row[0] for row in db.execute(f"SELECT DISTINCT unit FROM ({LATEST_FETCHES}) WHERE reason = 'network'")}


def listing_items(db: sqlite_utils.Database, unit: str) -> list[dict[str, Any]]:
    """The unit's listed items as last read in full, in page order."""
    return list(db.query("SELECT * FROM listing_items WHERE unit = ? ORDER BY id", [unit]))


def first_listings(db: sqlite_utils.Database, units: Iterable[str]) -> list[dict[str, Any]]:
    """When each item was first seen on each unit's complete reading (code '' when the page gave none)."""
    return list(db.query("SELECT unit, name_key, code, seen_at FROM listing_first_seen"
                         " WHERE unit IN (SELECT value FROM json_each(?))", [_members(units)]))


def complete_readings(db: sqlite_utils.Database, units: Iterable[str]) -> dict[str, list[str]]:
    """When each unit's sites were all read (every fetch of the batch succeeded), oldest first."""
    found: dict[str, list[str]] = {}
    for row in db.query("SELECT unit, max(fetched_at) AS at FROM listing_fetches"
                        " WHERE unit IN (SELECT value FROM json_each(?))"
                        " GROUP BY unit, batch HAVING min(ok) = 1 ORDER BY at", [_members(units)]):
        found.setdefault(row["unit"], []).append(row["at"])
    return found


def decided_procedures(db: sqlite_utils.Database, start: str, end: str) -> list[dict[str, Any]]:
    """Procedures in force whose publication decision is dated within [start, end]."""
    return list(db.query("SELECT code, name, name_key, units, decided_at FROM procedures"
                         " WHERE status = 'in_force' AND decided_at BETWEEN ? AND ? ORDER BY code", [start, end]))


def posted_links(db: sqlite_utils.Database, units: Iterable[str]) -> list[tuple[str, str]]:
    """(unit, url) of every link the units' listings carry, once each, in listing order."""
    return [(row["unit"], row["url"]) for row in db.query(
        "SELECT DISTINCT listing_items.unit, link.value AS url FROM listing_items, json_each(listing_items.links)"
        " AS link WHERE listing_items.unit IN (SELECT value FROM json_each(?)) ORDER BY listing_items.id",
        [_members(units)])]


# --- the catalogue ----------------------------------------------------------------------------

def procedures(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM procedures"))


def former_names(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    """(code, folded name) of the names procedures had before the catalogue renamed them."""
    return [(code, key) for code, key in db.execute("SELECT code, name_key FROM procedure_former_names")]


def ended_ownerships(db: sqlite_utils.Database) -> dict[tuple[str, str], str]:
    """(procedure, unit) -> the day a catalogue stopped naming that unit as the procedure's owner, for
    units that own it no longer."""
    return {(code, unit): until for code, unit, until in db.execute(
        "SELECT code, unit, max(until) FROM procedure_owners o WHERE until IS NOT NULL AND NOT EXISTS"
        " (SELECT 1 FROM procedure_owners p WHERE p.code = o.code AND p.unit = o.unit AND p.until IS NULL)"
        " GROUP BY code, unit")}


# --- the portal links -------------------------------------------------------------------------

def link_results(db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
    """Each portal link's latest verdict, by URL."""
    return {row["url"]: row for row in db.query("SELECT * FROM link_checks")}


def fresh_link_urls(db: sqlite_utils.Database, since: datetime) -> set[str]:
    """Links with a verdict (broken or fine, not unknown) given since then: not asked again."""
    return {row[0] for row in db.execute(
        "SELECT url FROM link_checks WHERE checked_at >= ? AND outcome != 'unknown'", [timestamp(since)])}


def latest_portal_run(db: sqlite_utils.Database) -> dict[str, Any] | None:
    return next(iter(db.query("SELECT * FROM portal_runs ORDER BY id DESC LIMIT 1")), None)


def latest_network_check(db: sqlite_utils.Database) -> dict[str, Any] | None:
    """The latest run's verdict on auditbot's own way out (canaries as JSON), or None before any."""
    return next(iter(db.query("SELECT * FROM network_checks ORDER BY id DESC LIMIT 1")), None)


def network_down_since(db: sqlite_utils.Database) -> str | None:
    """When the current outage began: the first of the latest run of verdicts saying down; None when up."""
    row = db.execute("SELECT min(checked_at) FROM network_checks WHERE NOT reachable AND id >"
                     " (SELECT coalesce(max(id), 0) FROM network_checks WHERE reachable)").fetchone()
    return None if row[0] is None else str(row[0])


# --- dossiers ---------------------------------------------------------------------------------

def overdue_dossiers(db: sqlite_utils.Database, units: Iterable[str], now: datetime) -> Iterator[dict[str, Any]]:
    """Dossiers not closed whose due date, after the time waited for the citizen's papers, has passed (an
    open request stops the clock), or with a second request for papers."""
    at = timestamp(now)
    closed = ",".join("?" * len(CLOSED_STATUSES))
    yield from db.query(
        "SELECT code, unit, procedure_code, procedure_name, received_at, due_at, supplements, heir FROM dossiers"
        f" WHERE unit IN (SELECT value FROM json_each(?)) AND status NOT IN ({closed}) AND due_at IS NOT NULL"
        " AND (coalesce(supplement_requests, 0) >= ?"
        " OR coalesce(due_effective_at, due_at) < min(?, coalesce(waiting_since, ?)))",
        [_members(units), *CLOSED_STATUSES, SECOND_REQUEST, at, at])


def unsynced_dossiers(db: sqlite_utils.Database, units: Iterable[str], before: datetime) -> Iterator[dict[str, Any]]:
    """Dossiers whose export says the portal lacks their latest state (not synced, or synced before it)
    since before `before`; dossiers whose export says nothing of their sync state are never among them."""
    yield from db.query(
        "SELECT code, unit, heir, procedure_code, procedure_name, received_at, status, state_at, synced_at,"
        " coalesce(system, '') AS system FROM dossiers WHERE unit IN (SELECT value FROM json_each(?))"
        " AND synced IS NOT NULL AND (synced = 0 OR synced_at < state_at) AND state_at < ?",
        [_members(units), timestamp(before)])


def units_with_sync_state(db: sqlite_utils.Database) -> list[tuple[str, str | None]]:
    """(unit, heir) of the dossiers whose export said whether the portal has them."""
    return [(row[0], row[1]) for row in db.execute("SELECT DISTINCT unit, heir FROM dossiers WHERE synced IS NOT NULL")]


def disagreeing_systems(db: sqlite_utils.Database, units: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Dossiers two systems last saw in different states (one still open, the other closed, or closed
    differently), each system's word as a JSON list."""
    closed = ",".join("?" * len(CLOSED_STATUSES))
    yield from db.query(
        "SELECT d.code, d.unit, d.heir, d.procedure_code, d.procedure_name, d.received_at,"
        " json_group_array(json_object('system', s.system, 'status', s.status, 'state_at', s.state_at)) AS states"
        " FROM dossiers d JOIN dossier_states s ON s.code = d.code"
        " WHERE d.unit IN (SELECT value FROM json_each(?)) GROUP BY d.code"
        f" HAVING count(DISTINCT CASE WHEN s.status IN ({closed}) THEN s.status ELSE 'open' END) > 1",
        [_members(units), *CLOSED_STATUSES])


def portal_counts(db: sqlite_utils.Database, units: Iterable[str]) -> list[dict[str, Any]]:
    """The portal's published monthly counts of these units ([sync] portal_figures)."""
    return list(db.query("SELECT * FROM portal_counts WHERE unit IN (SELECT value FROM json_each(?))"
                         " ORDER BY unit, substr(month, 4) || substr(month, 1, 2)", [_members(units)]))


def online_receipts(db: sqlite_utils.Database, units: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Online dossiers whose export gave their submission time or receipt deadline."""
    yield from db.query(
        "SELECT code, unit, procedure_code, procedure_name, received_at, submitted_at, receipt_due_at, heir"
        " FROM dossiers WHERE unit IN (SELECT value FROM json_each(?)) AND channel = 'online'"
        " AND (submitted_at IS NOT NULL OR receipt_due_at IS NOT NULL)", [_members(units)])


def overdue_without_apology(db: sqlite_utils.Database, units: Iterable[str], now: datetime) -> Iterator[dict[str, Any]]:
    """Overdue dossiers (finished after their due time, or open past it as `overdue_dossiers` counts them)
    with neither an apology slip nor a new appointment date, where the export carries those columns."""
    at = timestamp(now)
    closed = ",".join("?" * len(CLOSED_STATUSES))
    yield from db.query(
        "SELECT code, unit, procedure_code, procedure_name, received_at, coalesce(due_effective_at, due_at) AS due_at,"
        " finished_at, status, heir FROM dossiers"
        " WHERE unit IN (SELECT value FROM json_each(?)) AND known & ? AND apologised = 0 AND due_at IS NOT NULL"
        " AND ((status = 'finished' AND finished_at > coalesce(due_effective_at, due_at))"
        f" OR (status NOT IN ({closed}) AND (coalesce(supplement_requests, 0) >= ?"
        " OR coalesce(due_effective_at, due_at) < min(?, coalesce(waiting_since, ?)))))",
        [_members(units), KNOWN_APOLOGY, *CLOSED_STATUSES, SECOND_REQUEST, at, at])


def due_soon(db: sqlite_utils.Database, units: Iterable[str], now: datetime, until: datetime) -> list[dict[str, Any]]:
    """Open dossiers due after `now` and by `until` (the time waited for papers deducted), soonest first:
    codes, procedures and due times only."""
    closed = ",".join("?" * len(CLOSED_STATUSES))
    return list(db.query(
        "SELECT code, unit, procedure_code, procedure_name, coalesce(due_effective_at, due_at) AS due_at, heir"
        f" FROM dossiers WHERE unit IN (SELECT value FROM json_each(?)) AND status NOT IN ({closed})"
        " AND waiting_since IS NULL AND coalesce(supplement_requests, 0) < ?"
        " AND coalesce(due_effective_at, due_at) > ? AND coalesce(due_effective_at, due_at) <= ?"
        " ORDER BY due_at, code",
        [_members(units), *CLOSED_STATUSES, SECOND_REQUEST, timestamp(now), timestamp(until)]))


def finished_without_result(db: sqlite_utils.Database, units: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Finished, with no result reference and no digitised result, where the export says both."""
    yield from db.query(
        "SELECT code, unit, procedure_code, procedure_name, received_at, finished_at, heir FROM dossiers"
        " WHERE unit IN (SELECT value FROM json_each(?)) AND status = 'finished' AND result_ref IS NULL"
        " AND digitised = 0 AND known & ?", [_members(units), KNOWN_RESULT])


def shared_results(db: sqlite_utils.Database) -> Iterator[dict[str, Any]]:
    """Every dossier whose result reference another dossier also carries, with how many share it."""
    yield from db.query(
        "SELECT result_ref, code, unit, heir, count(*) OVER (PARTITION BY result_ref) AS shared_by FROM dossiers"
        " WHERE result_ref IN (SELECT result_ref FROM dossiers WHERE result_ref IS NOT NULL"
        " GROUP BY result_ref HAVING count(*) > 1) ORDER BY result_ref, code")


def dossiers_after_transfer(db: sqlite_utils.Database, units: Iterable[str],
                            ended: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    """Dossiers a unit received on or after the day its procedure passed to another owner."""
    if not ended:
        return []
    moved = json.dumps([[code, unit, until] for (code, unit), until in ended.items()])
    return list(db.query(
        "WITH moved AS (SELECT value ->> 0 AS code, value ->> 1 AS unit, value ->> 2 AS until FROM json_each(?))"
        " SELECT d.code, d.unit, d.procedure_code, d.procedure_name, d.received_at, m.until AS transferred_on"
        " FROM dossiers d JOIN moved m ON m.code = d.procedure_code AND m.unit = d.unit"
        " WHERE d.received_at >= m.until AND d.unit IN (SELECT value FROM json_each(?))"
        " AND d.procedure_code IN (SELECT code FROM moved) ORDER BY d.unit, d.received_at, d.code",
        [moved, _members(units)]))


def imported_files(db: sqlite_utils.Database, kind: str) -> set[str]:
    """The content digests of the files of this kind imported before."""
    return {row[0] for row in db.execute("SELECT sha256 FROM imports WHERE kind = ?", [kind])}


def imports_with_rejections(db: sqlite_utils.Database, since: str) -> list[dict[str, Any]]:
    return list(db.query("SELECT file, imported_at, rows_read, rejected FROM imports"
                         " WHERE rejected > 0 AND imported_at >= ? ORDER BY imported_at", [since]))


# --- auditbot's own health --------------------------------------------------------------------

def failing_jobs(db: sqlite_utils.Database, at_least: int) -> list[dict[str, Any]]:
    """The daemon's jobs whose latest `at_least` runs or more failed in a row."""
    return list(db.query("SELECT job, failures, last_error FROM daemon_jobs WHERE failures >= ?", [at_least]))


def latest_letter_report(db: sqlite_utils.Database) -> dict[str, Any] | None:
    """The latest full weekly report: its week, and the units whose letter could not be made (JSON)."""
    return next(iter(db.query("SELECT * FROM letter_reports ORDER BY id DESC LIMIT 1")), None)


# --- the 766 index ------------------------------------------------------------------------------

def latest_unit_index(db: sqlite_utils.Database, unit: str) -> list[dict[str, Any]]:
    """The unit's index as its latest checks run recorded it (the running period), indicator by indicator."""
    return list(db.query(
        "SELECT * FROM unit_index WHERE unit = :unit AND (day, period) = (SELECT day, period FROM unit_index"
        " WHERE unit = :unit ORDER BY recorded_at DESC LIMIT 1) ORDER BY rowid", {"unit": unit}))


# --- online services in use (Biểu mẫu 7, 6.2) -------------------------------------------------

def online_services_used(db: sqlite_utils.Database, start: str, end: str, units: Iterable[str]) -> dict[str, int]:
    """How many of the catalogue's online services (full or partial) had dossiers received in [start, end]
    at these units (`used`), how many of them had one received online (`used_online`), and how many had
    a dossier whose channel the export gives (`channel_known`: with none, `used_online` is unknown)."""
    row = next(iter(db.query(
        "SELECT count(DISTINCT d.procedure_code) AS used,"
        " count(DISTINCT CASE WHEN d.known & 1 AND d.channel = 'online' THEN d.procedure_code END) AS used_online,"
        " count(DISTINCT CASE WHEN d.known & 1 THEN d.procedure_code END) AS channel_known"
        " FROM dossiers d JOIN procedures p ON p.code = d.procedure_code"
        " WHERE p.online_level IN ('full', 'partial') AND d.received_at BETWEEN ? AND ?"
        " AND d.unit IN (SELECT value FROM json_each(?))", [start, end, _members(units)])))
    return {name: int(row[name] or 0) for name in ("used", "used_online", "channel_known")}


def catalogue_columns(db: sqlite_utils.Database) -> set[str]:
    """The catalogue fields the latest catalogue import found (status, level, …): what the catalogue says at all."""
    row = db.execute("SELECT summary FROM imports WHERE kind = 'catalogue' AND summary IS NOT NULL"
                     " ORDER BY id DESC LIMIT 1").fetchone()
    return set(json.loads(row[0]).get("columns", {})) if row else set()
