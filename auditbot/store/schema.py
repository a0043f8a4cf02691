"""Every table auditbot keeps, and how a database made by an earlier version is brought up to them.

The script and the upgrades run once per schema version (PRAGMA user_version), not on every open: the
daemon's heartbeat opens the database every second. Change SCHEMA or `_upgrade`: raise SCHEMA_VERSION.
"""

from __future__ import annotations

import sqlite_utils

from auditbot.domain.supplements import supplement_clock

SCHEMA_VERSION = 9

# a unit's figures for a period: the day-by-day history and a closed period's frozen final share them
FIGURE_COLUMNS = """\
  received INTEGER, online INTEGER, finished INTEGER, on_time INTEGER, late INTEGER, digitised INTEGER,
  fee_paid INTEGER, paid_online INTEGER, unfinished INTEGER, overdue_open INTEGER,
  online_rate REAL, on_time_rate REAL, digitisation_rate REAL, online_payment_rate REAL, overdue_rate REAL,
  digitisation_min REAL, online_min REAL, online_payment_min REAL, overdue_max REAL,
  channel_known INTEGER, due_known INTEGER, digitised_known INTEGER, payment_known INTEGER,
  unfinished_due_known INTEGER, online_full INTEGER, online_partial INTEGER, full_known INTEGER,
  partial_known INTEGER, online_full_rate REAL, online_partial_rate REAL,
  digitised_both INTEGER, reused INTEGER, both_known INTEGER, reuse_known INTEGER,"""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS units (
  code TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
  aliases TEXT, emails TEXT, head_emails TEXT, listing_urls TEXT,
  valid_from TEXT, valid_to TEXT, successors TEXT  -- a unit's life, and who took over after it
);
-- each unit with itself and every unit whose business came to it (merged, abolished): a unit's history
-- pages and charts take in its predecessors' rows through this
CREATE TABLE IF NOT EXISTS unit_lineage (
  unit TEXT NOT NULL, heir TEXT NOT NULL, PRIMARY KEY (heir, unit)
);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY, trigger TEXT NOT NULL, command TEXT, checks TEXT, units TEXT, period TEXT,
  started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL,
  opened INTEGER DEFAULT 0, kept INTEGER DEFAULT 0, resolved INTEGER DEFAULT 0, reopened INTEGER DEFAULT 0,
  error TEXT
);
CREATE TABLE IF NOT EXISTS checks (
  id TEXT PRIMARY KEY, title TEXT NOT NULL, family TEXT NOT NULL, family_name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS unit_kinds (kind TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS findings (
  id TEXT PRIMARY KEY, check_id TEXT NOT NULL REFERENCES checks(id), unit TEXT NOT NULL REFERENCES units(code),
  subject TEXT NOT NULL,
  title TEXT NOT NULL, severity TEXT NOT NULL, status TEXT NOT NULL, period TEXT,
  first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, resolved_at TEXT, details TEXT,
  muted_reason TEXT, muted_until TEXT, muted_at TEXT, last_run INTEGER
);
CREATE INDEX IF NOT EXISTS findings_scope ON findings (check_id, unit, status);
-- what `serve` asks of years of findings (templates/datasette.yaml), each answered from an index alone:
-- open or fixed lately, open at each week's end, found again and again
CREATE INDEX IF NOT EXISTS findings_found ON findings (status, first_seen, unit, check_id);
CREATE INDEX IF NOT EXISTS findings_fixed ON findings (resolved_at, check_id, first_seen, unit, status);
CREATE INDEX IF NOT EXISTS findings_seen ON findings (first_seen, check_id, unit, resolved_at);
CREATE INDEX IF NOT EXISTS findings_kinds ON findings (unit, check_id, period, first_seen);
CREATE TABLE IF NOT EXISTS finding_events (
  id INTEGER PRIMARY KEY, finding_id TEXT NOT NULL REFERENCES findings(id), run_id INTEGER,
  at TEXT NOT NULL, event TEXT NOT NULL, note TEXT
);
CREATE INDEX IF NOT EXISTS finding_events_finding ON finding_events (finding_id);
CREATE INDEX IF NOT EXISTS finding_events_reopened ON finding_events (finding_id) WHERE event = 'reopened';
CREATE TABLE IF NOT EXISTS dossiers (
  code TEXT PRIMARY KEY, unit TEXT NOT NULL, procedure_code TEXT, procedure_name TEXT,
  received_at TEXT NOT NULL, due_at TEXT, finished_at TEXT, status TEXT NOT NULL, channel TEXT,
  fee REAL, paid_online INTEGER, digitised INTEGER, result_ref TEXT,
  import_id INTEGER, source_row INTEGER,
  known INTEGER, state_at TEXT, inputs_digitised INTEGER, documents INTEGER, documents_digitised INTEGER,
  documents_reused INTEGER, supplements TEXT,
  due_effective_at TEXT, supplement_requests INTEGER, waiting_since TEXT,  -- from supplements (supplements.py)
  heir TEXT,  -- the unit that took over, as the export names it (for [dossiers] rollup = "named")
  synced INTEGER, synced_at TEXT,  -- whether the portal has its latest state (NULL: the export does not say)
  system TEXT, alt_code TEXT,  -- the system its stored state came from (NULL: the province's), its other code
  -- an online dossier's submission and receipt deadline; an overdue one's apology (1/0; NULL: the export
  -- has no apology column) and new appointment date
  submitted_at TEXT, receipt_due_at TEXT, apologised INTEGER, new_due_at TEXT
);
CREATE INDEX IF NOT EXISTS dossiers_result_ref ON dossiers (result_ref) WHERE result_ref IS NOT NULL;
CREATE INDEX IF NOT EXISTS dossiers_alt_code ON dossiers (alt_code) WHERE alt_code IS NOT NULL;
-- what each system last said about a dossier ('' the province's own): two disagreeing is sync.status_mismatch
CREATE TABLE IF NOT EXISTS dossier_states (
  code TEXT NOT NULL, system TEXT NOT NULL, status TEXT NOT NULL, due_at TEXT, finished_at TEXT,
  state_at TEXT NOT NULL, import_id INTEGER, PRIMARY KEY (code, system)
);
-- the portal's published counts for a unit and month (the files of [sync] portal_figures)
CREATE TABLE IF NOT EXISTS portal_counts (
  unit TEXT NOT NULL, month TEXT NOT NULL, received INTEGER, finished INTEGER, on_time INTEGER, overdue INTEGER,
  file TEXT NOT NULL, read_at TEXT NOT NULL, PRIMARY KEY (unit, month)
);
CREATE TABLE IF NOT EXISTS procedures (
  code TEXT PRIMARY KEY, full_code TEXT, name TEXT NOT NULL, name_key TEXT NOT NULL, field TEXT, level TEXT,
  status TEXT NOT NULL, effective_from TEXT, effective_to TEXT, decision TEXT, abolished_by TEXT,
  portal_id TEXT, units TEXT NOT NULL, import_id INTEGER, online_level TEXT,
  decided_at TEXT  -- the publication decision's date: the 766 index's "published on time" counts from it
);
-- who has owned each procedure since when, as successive catalogues said: a procedure delegated to
-- another unit ends one ownership (until) and starts another (since); NULL since: before auditbot knew
CREATE TABLE IF NOT EXISTS procedure_owners (
  code TEXT NOT NULL, unit TEXT NOT NULL, since TEXT, until TEXT
);
CREATE INDEX IF NOT EXISTS procedure_owners_code ON procedure_owners (code, unit);
CREATE TABLE IF NOT EXISTS procedure_former_names (
  code TEXT NOT NULL, name TEXT NOT NULL, name_key TEXT NOT NULL, replaced_at TEXT NOT NULL,
  PRIMARY KEY (code, name_key)
);
CREATE TABLE IF NOT EXISTS listing_fetches (
  id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, unit TEXT NOT NULL, url TEXT NOT NULL, fetched_at TEXT NOT NULL,
  ok INTEGER NOT NULL,
  pages INTEGER, not_modified INTEGER, items INTEGER, error TEXT, content_hash TEXT, reason TEXT, layout TEXT,
  rendered INTEGER
);
CREATE TABLE IF NOT EXISTS listing_baselines (
  id INTEGER PRIMARY KEY, unit TEXT NOT NULL, url TEXT NOT NULL, items INTEGER NOT NULL, accepted_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS listing_pages (
  url TEXT PRIMARY KEY, unit TEXT NOT NULL, etag TEXT, last_modified TEXT, content_hash TEXT NOT NULL,
  items TEXT NOT NULL, next_url TEXT, fetched_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS listing_fetches_unit ON listing_fetches (unit, batch);
CREATE TABLE IF NOT EXISTS listing_items (
  id INTEGER PRIMARY KEY, unit TEXT NOT NULL, name TEXT NOT NULL, name_key TEXT NOT NULL, code TEXT,
  links TEXT, page TEXT, seen_at TEXT NOT NULL, section TEXT
);
CREATE INDEX IF NOT EXISTS listing_items_unit ON listing_items (unit);
-- when each item was first seen on a unit's complete reading (code '' when the page gives none): the
-- 766 index's "published on time" compares it with the publication decision's date
CREATE TABLE IF NOT EXISTS listing_first_seen (
  unit TEXT NOT NULL, name_key TEXT NOT NULL, code TEXT NOT NULL, seen_at TEXT NOT NULL,
  PRIMARY KEY (unit, name_key, code)
);
CREATE TABLE IF NOT EXISTS link_checks (
  url TEXT PRIMARY KEY, checked_at TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT, status INTEGER,
  final_url TEXT, attempts INTEGER, page_code TEXT
);
CREATE TABLE IF NOT EXISTS portal_runs (
  id INTEGER PRIMARY KEY, checked_at TEXT NOT NULL, requested INTEGER, cached INTEGER, tripped TEXT, deferred TEXT,
  network_down INTEGER  -- 1: tripped because auditbot's own network was down, not the portal
);
-- each run's verdict on auditbot's own way out (sources/network.py): the latest says whether it is down
CREATE TABLE IF NOT EXISTS network_checks (
  id INTEGER PRIMARY KEY, checked_at TEXT NOT NULL, source TEXT NOT NULL, reachable INTEGER NOT NULL,
  asked INTEGER NOT NULL, failed INTEGER NOT NULL, failure TEXT,
  canaries TEXT NOT NULL  -- [{"url", "failure"}], [] when the answers were evidence enough
);
CREATE TABLE IF NOT EXISTS imports (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL, size INTEGER,
  imported_at TEXT NOT NULL, rows_read INTEGER, stored INTEGER, updated INTEGER, unchanged INTEGER,
  rejected INTEGER, skipped INTEGER, unknown_units TEXT, format TEXT, summary TEXT, covered_to TEXT
);
CREATE TABLE IF NOT EXISTS rejected_rows (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL, row INTEGER,
  column_name TEXT, reason TEXT NOT NULL, fields TEXT,
  params TEXT  -- what the reason's words name (JSON); reason is a code of templates/reasons.toml
);
CREATE INDEX IF NOT EXISTS rejected_rows_file ON rejected_rows (sha256);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY, week TEXT NOT NULL, report TEXT NOT NULL, recipient TEXT NOT NULL, role TEXT NOT NULL,
  subject TEXT NOT NULL, message BLOB NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT, next_attempt_at TEXT, queued_at TEXT NOT NULL, sent_at TEXT,
  UNIQUE (week, report, recipient)
);
CREATE TABLE IF NOT EXISTS locks (
  name TEXT PRIMARY KEY, pid INTEGER NOT NULL, host TEXT NOT NULL, purpose TEXT, acquired_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS daemon (
  id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER, host TEXT, started_at TEXT, heartbeat_at TEXT, stopped_at TEXT,
  busy_waited_seconds REAL, busy_waited_at TEXT
);
CREATE TABLE IF NOT EXISTS unit_figures (
  day TEXT NOT NULL, period TEXT NOT NULL, unit TEXT NOT NULL REFERENCES units(code), kind TEXT,
  run_id INTEGER, recorded_at TEXT NOT NULL, period_start TEXT, period_end TEXT,
{FIGURE_COLUMNS}
  PRIMARY KEY (day, period, unit)
);
CREATE INDEX IF NOT EXISTS unit_figures_unit ON unit_figures (unit, day);
-- the dashboard's lines: each period's figures as they stood on its last day
CREATE INDEX IF NOT EXISTS unit_figures_period_end ON unit_figures (unit, day) WHERE period_end = day;
CREATE TABLE IF NOT EXISTS period_figures (
  period TEXT NOT NULL, unit TEXT NOT NULL REFERENCES units(code), kind TEXT,
  run_id INTEGER, frozen_at TEXT NOT NULL, period_start TEXT, period_end TEXT,
{FIGURE_COLUMNS}
  PRIMARY KEY (period, unit)
);
CREATE TABLE IF NOT EXISTS closed_periods (
  period TEXT PRIMARY KEY, period_start TEXT NOT NULL, period_end TEXT NOT NULL, frozen_at TEXT NOT NULL,
  run_id INTEGER, units INTEGER NOT NULL
);
-- the 766 index per unit, indicator by indicator, every checks run: the history the dashboard charts
CREATE TABLE IF NOT EXISTS unit_index (
  day TEXT NOT NULL, period TEXT NOT NULL, unit TEXT NOT NULL REFERENCES units(code), kind TEXT,
  indicator TEXT NOT NULL, name TEXT NOT NULL, group_key TEXT NOT NULL, group_name TEXT NOT NULL,
  numerator INTEGER, denominator INTEGER, rate REAL, points REAL, max_points REAL, state TEXT NOT NULL,
  advice TEXT,  -- "đạt 80% số hóa hồ sơ: +1,50 điểm"
  run_id INTEGER, recorded_at TEXT NOT NULL,
  PRIMARY KEY (day, period, unit, indicator)
);
CREATE INDEX IF NOT EXISTS unit_index_unit ON unit_index (unit, day);
CREATE TABLE IF NOT EXISTS letter_reports (
  id INTEGER PRIMARY KEY, week TEXT NOT NULL, made_at TEXT NOT NULL, failed TEXT NOT NULL
);
-- a unit's link from its weekly letter: only the token's sha256 is kept; a new one each week, each expiring
CREATE TABLE IF NOT EXISTS answer_links (
  token_hash TEXT PRIMARY KEY, unit TEXT NOT NULL, week TEXT NOT NULL, issued_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answer_links_unit ON answer_links (unit, week);
-- each form the answer page showed, usable once: a replayed or forged post names none still unused
CREATE TABLE IF NOT EXISTS answer_forms (
  nonce_hash TEXT PRIMARY KEY, token_hash TEXT NOT NULL, finding_id TEXT NOT NULL, issued_at TEXT NOT NULL,
  used_at TEXT
);
CREATE INDEX IF NOT EXISTS answer_forms_link ON answer_forms (token_hash, finding_id);
-- what a unit said of one of its findings, and what the centre decided (store/answers.py)
CREATE TABLE IF NOT EXISTS answers (
  id INTEGER PRIMARY KEY, finding_id TEXT NOT NULL REFERENCES findings(id), unit TEXT NOT NULL,
  check_id TEXT NOT NULL,
  kind TEXT NOT NULL,            -- fixed | disagree | extension
  reason TEXT, link TEXT, until TEXT,
  answered_at TEXT NOT NULL, answered_by TEXT NOT NULL,  -- "link <week>": the letter's link it came through
  status TEXT NOT NULL,          -- rechecking | checked | pending | accepted | refused
  rechecked_at TEXT, recheck_result TEXT,  -- gone | still_open | failed
  decided_at TEXT, decided_by TEXT,
  decision TEXT,                 -- muted | false_finding | refused
  decision_reason TEXT,
  decided_until TEXT             -- the end of a mute the centre accepted (it may differ from the date asked)
);
CREATE INDEX IF NOT EXISTS answers_finding ON answers (finding_id, id);
-- one answer at a time per finding: a second waits until the first is checked or decided
CREATE UNIQUE INDEX IF NOT EXISTS answers_one_open ON answers (finding_id) WHERE status IN ('rechecking', 'pending');
CREATE TABLE IF NOT EXISTS daemon_jobs (
  job TEXT PRIMARY KEY, phrase TEXT NOT NULL, next_run TEXT, last_started TEXT, last_finished TEXT,
  last_status TEXT, last_error TEXT, failures INTEGER NOT NULL DEFAULT 0, note TEXT
);
"""


def migrate(db: sqlite_utils.Database) -> None:
    """Create what is missing and upgrade what is old, once per schema version."""
    if db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    _upgrade_sync_columns(db)  # before the script: its index needs the column
    db.executescript(SCHEMA)
    _upgrade(db)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _upgrade(db: sqlite_utils.Database) -> None:
    """Bring databases made by earlier versions up to SCHEMA."""
    added = (("runs", "pid", int),  # made before runs knew their process
             ("listing_fetches", "reason", str), ("listing_fetches", "layout", str),  # before credibility
             ("listing_fetches", "rendered", int),
             ("link_checks", "page_code", str), ("portal_runs", "deferred", str),  # before evidence from pages
             ("listing_items", "section", str),
             ("daemon", "busy_waited_seconds", float), ("daemon", "busy_waited_at", str),  # before busy waits
             ("daemon_jobs", "note", str), ("procedures", "online_level", str),
             ("imports", "format", str), ("imports", "summary", str), ("imports", "covered_to", str),  # before one import pipeline
             *(("dossiers", column, kind) for column, kind in (
                 ("known", int), ("state_at", str), ("inputs_digitised", int), ("documents", int),
                 ("documents_digitised", int), ("documents_reused", int), ("supplements", str),
                 ("due_effective_at", str), ("supplement_requests", int), ("waiting_since", str))),
             *(("unit_figures", column, int) for column in (
                 "channel_known", "due_known", "digitised_known", "payment_known", "unfinished_due_known",
                 "online_full", "online_partial", "full_known", "partial_known")),
             ("unit_figures", "online_full_rate", float), ("unit_figures", "online_partial_rate", float),
             *((table, column, int) for table in ("unit_figures", "period_figures")  # before the 766 index
               for column in ("digitised_both", "reused", "both_known", "reuse_known")),
             ("procedures", "decided_at", str),
             ("units", "valid_from", str), ("units", "valid_to", str), ("units", "successors", str),  # before
             ("dossiers", "heir", str),  # units had lives
             ("portal_runs", "network_down", int),  # before auditbot told its own outage from the portal's
             ("dossiers", "submitted_at", str), ("dossiers", "receipt_due_at", str),  # before late receipts
             ("dossiers", "apologised", int), ("dossiers", "new_due_at", str),  # and apologies
             ("rejected_rows", "params", str),  # before reasons were codes
             ("answers", "decided_until", str))  # before the centre's date was kept beside the unit's
    for table, column, kind in added:
        if column not in db.table(table).columns_dict:
            db.table(table).add_column(column, kind)
            if (table, column) == ("dossiers", "known"):  # earlier imports took every field as known
                db.execute("UPDATE dossiers SET known = 31, state_at = max(received_at, coalesce(finished_at, ''))")
            if (table, column) == ("dossiers", "waiting_since"):  # stored before waits were deducted
                rows = db.execute(
                    "SELECT code, due_at, supplements FROM dossiers WHERE supplements IS NOT NULL").fetchall()
                db.conn.executemany(
                    "UPDATE dossiers SET due_effective_at = ?, supplement_requests = ?, waiting_since = ?"
                    " WHERE code = ?", [(*supplement_clock(due, history).as_columns(), code)
                                        for code, due, history in rows])
    # made when an absent column was stored as "no": now it is unknown (NULL)
    if any(c.notnull for c in db.table("dossiers").columns if c.name in ("paid_online", "digitised")):
        db.table("dossiers").transform(not_null={"paid_online": False, "digitised": False})
    # made before findings named their unit and check as keys (Datasette shows those keys' labels)
    have = {(fk.column, fk.other_table) for fk in db.table("findings").foreign_keys}
    wanted = [(c, t, k) for c, t, k in (("unit", "units", "code"), ("check_id", "checks", "id"))
              if (c, t) not in have]
    if wanted:
        db.table("findings").transform(add_foreign_keys=wanted)


def _upgrade_sync_columns(db: sqlite_utils.Database) -> None:
    """Dossiers stored before sync reconciliation: nothing was known of their sync state (NULL)."""
    if "dossiers" not in db.table_names():
        return
    have = db.table("dossiers").columns_dict
    for column in ("synced", "synced_at", "system", "alt_code"):
        if column not in have:
            db.table("dossiers").add_column(column, int if column == "synced" else str)
