"""The dashboard's SQL, rewritten to stay fast over years of findings, still answers what it says it does:
each reshaped query against its plain definition, on findings placed on the boundaries that matter."""

from __future__ import annotations

import random
import re
import sqlite3
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest
import yaml

from auditbot.store import Store

# "open at the end of each of the last 26 weeks, by family": the chart's meaning, as the plain join
WEEKLY_DEFINITION = """
WITH RECURSIVE weeks(week_start) AS (
  SELECT date(auditbot_now(), '-6 days', 'weekday 1')
  UNION ALL SELECT date(week_start, '-7 days') FROM weeks WHERE week_start > date(auditbot_now(), '-175 days')
)
SELECT w.week_start AS week, strftime('%d/%m', w.week_start) AS label,
  coalesce(c.family_name, f.check_id) AS family, count(*) AS open
FROM weeks w
JOIN findings f ON f.first_seen < date(w.week_start, '+7 days')
  AND (f.resolved_at IS NULL OR f.resolved_at >= date(w.week_start, '+7 days'))
JOIN units u ON u.code = f.unit
LEFT JOIN checks c ON c.id = f.check_id
WHERE 1 = 1 [[ AND u.name = :unit ]]
GROUP BY w.week_start, family
ORDER BY w.week_start, family
"""
NOW = datetime(2026, 11, 25, 9, 30)
CHECKS = ("dossier.overdue", "link.broken", "rate.online", "listing.missing")


def chart_sql(name: str) -> str:
    text = resources.files("auditbot.templates").joinpath("datasette.yaml").read_text("utf-8")
    return str(yaml.safe_load(text)["plugins"]["datasette-dashboards"]["tong-quan"]["charts"][name]["query"])


def filled(sql: str, unit: str | None) -> tuple[str, dict[str, str]]:
    """The SQL as datasette-dashboards sends it: the optional parts kept only when the filter is set."""
    return re.sub(r"\[\[(.*?)\]\]", r"\1" if unit else "", sql, flags=re.S), {"unit": unit} if unit else {}


def moment(rng: random.Random) -> str:
    """A time in the last ~200 days, often exactly on a Monday's midnight or a second either side of it."""
    at = NOW - timedelta(days=rng.randrange(200), seconds=rng.randrange(86400))
    if rng.random() < 0.4:
        monday = (at - timedelta(days=at.weekday())).replace(hour=0, minute=0, second=0)
        at = monday + timedelta(seconds=rng.choice((-1, 0, 1)))
    return at.strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("history") / "audit.db"
    Store(path).close()
    rng = random.Random(766)
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany("INSERT INTO units (code, name, kind) VALUES (?, ?, ?)",
                         [("STP", "Sở Tư pháp", "so"), ("XA_A", "Xã A", "xa"), ("XA_B", "Xã B", "xa")])
        conn.executemany("INSERT INTO checks (id, title, family, family_name) VALUES (?, ?, ?, ?)",
                         [(c, c, c.split(".")[0], c.split(".")[0].title()) for c in CHECKS[:-1]])  # one unnamed
        rows = []
        for n in range(1500):
            found = moment(rng)
            fixed = moment(rng) if rng.random() < 0.7 else None
            if fixed is not None and fixed < found and rng.random() < 0.9:
                found, fixed = fixed, found  # a few stay inconsistent: fixed before found
            status = "resolved" if fixed else rng.choice(("open", "open", "muted"))
            rows.append((f"f{n}", rng.choice(CHECKS), rng.choice(("STP", "XA_A", "XA_B")), f"s{n}", "t",
                         "medium", status, found, fixed or found, fixed))
        conn.executemany("INSERT INTO findings (id, check_id, unit, subject, title, severity, status, first_seen,"
                         " last_seen, resolved_at) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    conn.close()
    return path


@pytest.mark.parametrize("days_later", [0, 3, 5, 6, 40])
@pytest.mark.parametrize("unit", [None, "Xã A"])
def test_weekly_chart_counts_what_the_plain_join_counts(history: Path, days_later: int, unit: str | None) -> None:
    conn = sqlite3.connect(history)
    now = (NOW - timedelta(days=days_later)).strftime("%Y-%m-%d %H:%M:%S")
    conn.create_function("auditbot_now", 0, lambda: now)
    expected = conn.execute(*filled(WEEKLY_DEFINITION, unit)).fetchall()
    assert len({week for week, *_ in expected}) >= 20  # the sample spans the chart's weeks
    assert conn.execute(*filled(chart_sql("weekly"), unit)).fetchall() == expected
