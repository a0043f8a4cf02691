from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

import auditbot.store as store_module
from auditbot.checking.types import Finding
from auditbot.errors import UserError
from auditbot.store import DatabaseUnusable, Scope, Store, daemon_mark, fingerprint

T0 = datetime(2026, 11, 2, 5, 0)


def finding(unit: str = "STP", subject: str = "HS-1", check: str = "dossier.overdue") -> Finding:
    return Finding(check=check, unit=unit, subject=subject, title=f"Hồ sơ {subject} quá hạn", details={"n": 1})


def run(store: Store, scope: Scope, produced: list[Finding], when: datetime):
    run_id = store.start_run("test", "check", scope, when)
    counts = store.record(run_id, scope, produced, when)
    store.finish_run(run_id, when, counts)
    return counts


@pytest.fixture
def store(tmp_path):
    store = Store(tmp_path / "audit.db")
    yield store
    store.close()


SCOPE = Scope(frozenset({"dossier.overdue"}), frozenset({"STP", "SXD"}))


def status_of(path, finding_id: str) -> dict:
    return sqlite_utils.Database(path)["findings"].get(finding_id)


def test_lifecycle_open_keep_resolve_reopen(store, tmp_path) -> None:
    fid = fingerprint("dossier.overdue", "STP", "HS-1")
    counts = run(store, SCOPE, [finding()], T0)
    assert (counts.opened, counts.kept) == (1, 0)
    row = status_of(tmp_path / "audit.db", fid)
    assert row["status"] == "open" and row["first_seen"] == "2026-11-02 05:00:00"

    counts = run(store, SCOPE, [finding()], T0 + timedelta(days=1))
    row = status_of(tmp_path / "audit.db", fid)
    assert counts.kept == 1 and counts.opened == 0
    assert row["first_seen"] == "2026-11-02 05:00:00" and row["last_seen"] == "2026-11-03 05:00:00"

    counts = run(store, SCOPE, [], T0 + timedelta(days=2))
    row = status_of(tmp_path / "audit.db", fid)
    assert counts.resolved == 1 and row["status"] == "resolved" and row["resolved_at"] == "2026-11-04 05:00:00"

    counts = run(store, SCOPE, [finding()], T0 + timedelta(days=3))
    row = status_of(tmp_path / "audit.db", fid)
    assert counts.reopened == 1 and row["status"] == "open" and row["resolved_at"] is None
    assert row["first_seen"] == "2026-11-02 05:00:00"
    assert [e["event"] for e in store.events(fid)] == ["opened", "resolved", "reopened"]


def test_run_outside_scope_touches_nothing(store, tmp_path) -> None:
    run(store, SCOPE, [finding("STP"), finding("SXD", "HS-9")], T0)
    # a later run covering only SXD, and another covering only a different check, produce nothing
    run(store, Scope(frozenset({"dossier.overdue"}), frozenset({"SXD"})), [], T0 + timedelta(days=1))
    run(store, Scope(frozenset({"rate.online"}), frozenset({"STP", "SXD"})), [], T0 + timedelta(days=1))
    stp = status_of(tmp_path / "audit.db", fingerprint("dossier.overdue", "STP", "HS-1"))
    sxd = status_of(tmp_path / "audit.db", fingerprint("dossier.overdue", "SXD", "HS-9"))
    assert stp["status"] == "open" and stp["last_seen"] == "2026-11-02 05:00:00"
    assert sxd["status"] == "resolved"


def test_period_scoped_findings_only_resolve_in_their_period(store, tmp_path) -> None:
    q3 = Finding("rate.online", "STP", "Q3/2026", "Tỷ lệ trực tuyến thấp", period="Q3/2026")
    run(store, Scope(frozenset({"rate.online"}), frozenset({"STP"}), "Q3/2026"), [q3], T0)
    run(store, Scope(frozenset({"rate.online"}), frozenset({"STP"}), "Q4/2026"), [], T0 + timedelta(days=1))
    assert status_of(tmp_path / "audit.db", fingerprint("rate.online", "STP", "Q3/2026"))["status"] == "open"


def test_a_finding_outside_the_declared_scope_is_refused(store) -> None:
    with pytest.raises(ValueError):
        run(store, SCOPE, [finding("XA_QP")], T0)


def test_mute_unmute_and_expiry(store, tmp_path) -> None:
    fid = fingerprint("dossier.overdue", "STP", "HS-1")
    run(store, SCOPE, [finding()], T0)
    store.mute(fid, "Sở đã giải trình", date(2026, 11, 10), T0)
    assert status_of(tmp_path / "audit.db", fid)["status"] == "muted"
    # still tracked while muted: produced again it stays muted, last_seen moves
    run(store, SCOPE, [finding()], T0 + timedelta(days=1))
    row = status_of(tmp_path / "audit.db", fid)
    assert row["status"] == "muted" and row["last_seen"] == "2026-11-03 05:00:00"
    assert store.expire_mutes(datetime(2026, 11, 10, 23, 0)) == []
    assert store.expire_mutes(datetime(2026, 11, 11, 0, 1)) == [fid]
    assert status_of(tmp_path / "audit.db", fid)["status"] == "open"
    store.mute(fid, "tạm hoãn", None, T0)
    store.unmute(fid, T0)
    assert status_of(tmp_path / "audit.db", fid)["status"] == "open"
    assert [e["event"] for e in store.events(fid)] == ["opened", "muted", "unmuted", "muted", "unmuted"]
    with pytest.raises(UserError):
        store.mute("nope", "x", None, T0)
    with pytest.raises(UserError):
        store.mute(fid, "  ", None, T0)


def test_runs_are_recorded(store, tmp_path) -> None:
    run(store, SCOPE, [finding(), finding("SXD", "HS-2")], T0)
    runs = list(sqlite_utils.Database(tmp_path / "audit.db")["runs"].rows)
    assert runs[0]["status"] == "ok" and runs[0]["opened"] == 2 and runs[0]["trigger"] == "test"
    assert runs[0]["units"] == '["STP", "SXD"]'
    journal = sqlite_utils.Database(tmp_path / "audit.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert journal == "wal"


def test_the_schema_runs_once_per_version_and_unchanged_units_are_not_rewritten(province, monkeypatch) -> None:
    """The daemon opens the database every second: an open must not re-run the schema or rewrite the units."""
    from dataclasses import replace

    from auditbot.config.rules import load_config
    from auditbot.store import schema

    config = load_config(province.rules)
    with Store.open(config) as first:
        version = first.db.execute("PRAGMA user_version").fetchone()[0]
    assert version == schema.SCHEMA_VERSION
    monkeypatch.setattr(schema, "SCHEMA", "THIS IS NOT SQL")  # would fail if it ran again
    with Store.open(config) as again:
        assert again.db.conn.total_changes == 0  # units as rules.toml says them already: nothing written
        assert {row["code"] for row in again.db.query("SELECT code FROM units")} >= {u.code for u in config.units}
    first_unit = config.units[0]
    renamed = replace(config, units=[replace(first_unit, name=first_unit.name + " (mới)"), *config.units[1:]])
    with Store.open(renamed) as changed:
        assert changed.db["units"].get(first_unit.code)["name"].endswith("(mới)")


def _with_leftover_wal(path) -> sqlite3.Connection:
    """A database in WAL mode whose -wal holds its first page, left open so the -wal stays beside it."""
    Store(path).close()
    held = sqlite3.connect(path)
    held.execute("PRAGMA wal_autocheckpoint = 0")
    held.execute("CREATE TABLE extra (x)")  # a schema change: page 1 goes into the -wal
    held.commit()
    assert Path(f"{path}-wal").stat().st_size > 0
    return held


def test_a_database_deleted_between_the_look_and_the_open_is_never_recreated(tmp_path, monkeypatch) -> None:
    path = tmp_path / "audit.db"
    held = _with_leftover_wal(path)
    daemon_mark(path).write_text("{}", encoding="utf-8")
    looked = store_module.usable_or_raise

    def look_then_delete(target):
        exists = looked(target)
        target.unlink()  # what a person or a script does while the daemon is between the two steps
        return exists

    monkeypatch.setattr(store_module, "usable_or_raise", look_then_delete)
    try:
        with pytest.raises(DatabaseUnusable, match="the database is missing, though the daemon has run on it"):
            Store(path)
    finally:
        held.close()
    assert not path.exists()  # SQLite would have made a new one, filled from the deleted file's -wal


def test_garbage_beside_a_deleted_databases_wal_is_refused_as_not_sqlite(tmp_path) -> None:
    path = tmp_path / "audit.db"
    held = _with_leftover_wal(path)
    path.unlink()  # deleted under a live connection: its -wal and -shm stay, with a valid first page
    path.write_bytes(b"this is not SQLite " * 1000)  # then something else written in its place
    held.close()
    assert Path(f"{path}-wal").exists()
    with pytest.raises(DatabaseUnusable, match="not a usable SQLite database"):
        Store(path)  # SQLite alone would read the garbage as the deleted database, from its -wal
    assert path.read_bytes() == b"this is not SQLite " * 1000  # never written over


def _write_in_another_process(path: Path, value: int, keep_open: bool) -> subprocess.Popen[str]:
    """Another process writes one row; with `keep_open` its connection stays (the WAL is not folded back)."""
    code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('INSERT INTO t VALUES (?)', "
            "(int(sys.argv[2]),)); c.commit(); print('written', flush=True)\n"
            "if sys.argv[3] == 'keep': sys.stdin.read()\nc.close()")
    writer = subprocess.Popen([sys.executable, "-c", code, str(path), str(value), "keep" if keep_open else "close"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline() == "written\n"
    return writer


def test_opening_a_store_never_drops_the_locks_of_this_process_s_other_connections(tmp_path) -> None:
    """serve's Datasette reads through connections of its own while each answer opens a Store: reading the
    header with open() and close() dropped their locks, another process's last close then deleted the WAL
    under them, and they read an old snapshot for ever."""
    path = tmp_path / "audit.db"
    with Store(path) as store:
        store.db.execute("CREATE TABLE t (x INTEGER)")
        store.db.conn.commit()
    with Store(path) as keeper:  # as serve holds one for Datasette's connections
        reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)  # as Datasette's threads read
        assert reader.execute("SELECT count(*) FROM t").fetchone() == (0,)
        Store(path).close()  # an answer's store opens and closes beside them
        first = _write_in_another_process(path, 1, keep_open=False)
        first.communicate(timeout=60)
        assert first.returncode == 0
        assert Path(f"{path}-wal").exists()  # this process's locks still stand: the WAL was not deleted
        second = _write_in_another_process(path, 2, keep_open=True)
        try:
            assert reader.execute("SELECT count(*) FROM t").fetchone() == (2,)  # the newest, not a snapshot
            keeper.db.execute("INSERT INTO t VALUES (3)")
            keeper.db.conn.commit()
            assert reader.execute("SELECT count(*) FROM t").fetchone() == (3,)
        finally:
            second.communicate(timeout=60)
            reader.close()
