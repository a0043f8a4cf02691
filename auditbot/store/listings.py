"""What listing reads leave behind: every fetch, each page's validators and items (so an unchanged page
costs a 304), each unit's items as last read in full, and the baselines a collapse is judged by."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from auditbot.store.connection import timestamp


@dataclass
class UnitReading:
    """One unit's sites as read in one batch; `items` is None unless every site was read."""

    unit: str
    # (url, ok, pages, not_modified, items, error, content_hash, reason, layout, rendered)
    fetches: list[tuple[Any, ...]]
    # (url, etag, last_modified, content_hash, items as JSON, next_url)
    pages: list[tuple[Any, ...]]
    # (name, name_key, code, links as JSON, page, section)
    items: list[tuple[Any, ...]] | None


def record_readings(db: sqlite_utils.Database, readings: Iterable[UnitReading], now: datetime) -> None:
    """Every fetch is recorded, in one batch; a unit's items are replaced only when all its sites were read."""
    at = timestamp(now)
    conn = db.conn
    with conn:
        batch = conn.execute("SELECT coalesce(max(batch), 0) + 1 FROM listing_fetches").fetchone()[0]
        for reading in readings:
            unit = reading.unit
            conn.executemany(
                "INSERT INTO listing_fetches (batch, unit, url, fetched_at, ok, pages, not_modified, items, error,"
                " content_hash, reason, layout, rendered) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(batch, unit, url, at, *rest) for url, *rest in reading.fetches])
            conn.executemany(
                "INSERT OR REPLACE INTO listing_pages (url, unit, etag, last_modified, content_hash, items, next_url,"
                " fetched_at) VALUES (?,?,?,?,?,?,?,?)",
                [(url, unit, *rest, at) for url, *rest in reading.pages])
            if reading.items is not None:
                conn.execute("DELETE FROM listing_items WHERE unit = ?", (unit,))
                conn.executemany(
                    "INSERT INTO listing_items (unit, name, name_key, code, links, page, seen_at, section)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    [(unit, name, key, code, links, page, at, section)
                     for name, key, code, links, page, section in reading.items])
                conn.executemany(
                    "INSERT OR IGNORE INTO listing_first_seen (unit, name_key, code, seen_at) VALUES (?,?,?,?)",
                    [(unit, key, code or "", at) for _, key, code, *_ in reading.items])


def stored_pages(db: sqlite_utils.Database, units: Iterable[str]) -> list[dict[str, Any]]:
    """The units' pages as last fetched: validators, content hash, items (JSON), next page."""
    return list(db.query("SELECT url, unit, etag, last_modified, content_hash, items, next_url FROM listing_pages"
                         " WHERE unit IN (SELECT value FROM json_each(?))", [json.dumps(sorted(set(units)))]))


def baselines(db: sqlite_utils.Database, units: Iterable[str]) -> dict[tuple[str, str], int]:
    """Each listing URL's item count in its last good reading, or the one an officer accepted since."""
    rows = db.query(  # an acceptance made in the same second as a reading is the later of the two
        "SELECT unit, url, items FROM (SELECT *, row_number() OVER"
        " (PARTITION BY unit, url ORDER BY at DESC, accepted DESC) AS latest FROM ("
        "  SELECT unit, url, items, fetched_at AS at, 0 AS accepted FROM listing_fetches WHERE ok"
        "  UNION ALL SELECT unit, url, items, accepted_at, 1 FROM listing_baselines)"
        " WHERE unit IN (SELECT value FROM json_each(?))) WHERE latest = 1", [json.dumps(sorted(set(units)))])
    return {(row["unit"], row["url"]): row["items"] for row in rows if row["items"]}


def latest_reading(db: sqlite_utils.Database, unit: str) -> list[dict[str, Any]]:
    """The unit's latest fetch, one row per listing URL: url, items, reason, error."""
    return list(db.query(
        "SELECT url, items, reason, error FROM listing_fetches f WHERE unit = ?"
        " AND batch = (SELECT max(batch) FROM listing_fetches WHERE unit = f.unit)", [unit]))


def accept_baselines(db: sqlite_utils.Database, unit: str, counts: Iterable[tuple[str, int]], now: datetime) -> None:
    """An officer's word: these item counts are the unit's listing now (url, items)."""
    with db.conn:
        db.conn.executemany("INSERT INTO listing_baselines (unit, url, items, accepted_at) VALUES (?,?,?,?)",
                            [(unit, url, items, timestamp(now)) for url, items in counts])
