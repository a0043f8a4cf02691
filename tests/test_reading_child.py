"""The process that reads an import's file starts clean and leaves nothing behind (#39, #43): it holds no
copy of the database file and no SMTP password, a killed import's scratch folder is removed at the next
start (and no live process's), and the same bytes give the same dossier whatever the file's size."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import sqlite_utils
from conftest import Province
from openpyxl import Workbook

from auditbot.sources.dossiers import exports as dossiers
from auditbot.sources.tabular import pipeline, scratch

SECRET = "mật-khẩu-thư-9f3a"
EXPORT = ("Mã hồ sơ,Đơn vị,Ngày tiếp nhận,Trạng thái\n"
          "HS-1,Sở Tư pháp,01/11/2026 08:00,Đang xử lý\n"
          "HS-2,Sở Xây dựng,02/11/2026 08:00,Đang xử lý\n")


def _workbook(path: Path) -> Path:
    book = Workbook()
    for line in EXPORT.splitlines():
        book.active.append(line.split(","))
    book.save(path)
    return path


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_the_reading_child_holds_no_database_file_and_no_smtp_password(tmp_path: Path, monkeypatch, reader_hooks,
                                                                        kind: str) -> None:
    province = Province(tmp_path, extra='[email]\nsender = "kiemsoat@example.gov.vn"\nsmtp_host = "127.0.0.1"\n'
                                         'password_env = "PROVINCE_MAIL_SECRET"')
    monkeypatch.setenv("AUDITBOT_SMTP_PASSWORD", SECRET)
    monkeypatch.setenv("PROVINCE_MAIL_SECRET", SECRET)
    if kind == "xlsx":
        path = _workbook(province.root / "exports" / "ho-so.xlsx")  # a workbook is always read in a child
    else:
        path = province.root / "exports" / "ho-so.csv"
        path.write_text(EXPORT, encoding="utf-8")
        monkeypatch.setattr(pipeline, "PARALLEL_FROM_BYTES", 1)  # as a big export is
    seen = tmp_path / "seen.json"
    monkeypatch.setattr(dossiers, "DossierSpec", functools.partial(reader_hooks.ProbeSpec, str(seen)))
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output
    child = json.loads(seen.read_text(encoding="utf-8"))
    assert child["pid"] != os.getpid()
    database = {str(province.db_path.resolve()) + suffix for suffix in ("", "-wal", "-shm")}
    assert database & set(child["parent_fds"].values())  # the importing process had it open meanwhile
    assert not database & set(child["fds"].values())
    assert not [target for target in child["fds"].values() if target.startswith(str(tmp_path))
                and not target.startswith(str(path))]  # nothing of the province but the file it reads
    names = {entry.split("=", 1)[0] for entry in child["environ"] if entry}
    assert "AUDITBOT_SMTP_PASSWORD" not in names and "PROVINCE_MAIL_SECRET" not in names
    assert not any(SECRET in entry for entry in child["environ"])
    assert sqlite_utils.Database(province.db_path)["dossiers"].count == 2


def _start_time(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[19])


def test_a_killed_imports_scratch_folder_is_removed_at_the_next_start(tmp_path: Path, monkeypatch) -> None:
    """`kill -9` of an import while its child reads: its scratch folder stays behind, and the next import
    removes it; a folder of a live process, or of another prefix, is left alone."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    province = Province(tmp_path)
    path = _workbook(province.root / "exports" / "ho-so.xlsx")
    stuck = ("import sys, reader_hooks; from auditbot.sources import dossiers;"
             " dossiers.DossierSpec = reader_hooks.StuckSpec; from auditbot.cli import cli; cli()")
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONPATH": str(Path(__file__).parent)}
    importing = subprocess.Popen([sys.executable, "-c", stuck, "import", "dossiers", str(path), "--config",
                                  str(province.rules)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(1200):  # its scratch folder is made just before its reading child starts
            if list(temp.glob(f"{scratch.PREFIX}{importing.pid}-*")):
                break
            assert importing.poll() is None, "the import ended before it was killed"
            time.sleep(0.05)
        importing.kill()
    finally:
        importing.kill()
        importing.wait()
    [left] = list(temp.glob(f"{scratch.PREFIX}{importing.pid}-*"))

    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        live = temp / f"{scratch.PREFIX}{alive.pid}-{_start_time(alive.pid)}-busy"
        reused = temp / f"{scratch.PREFIX}{alive.pid}-{_start_time(alive.pid) + 1}-gone"  # that pid, another process
        foreign = temp / "auditbot-bench-keep"
        for folder in (live, reused, foreign):
            folder.mkdir()
            (folder / "batch.db").write_bytes(b"x")
        monkeypatch.setattr(tempfile, "tempdir", str(temp))
        small = province.root / "exports" / "later.csv"
        small.write_text(EXPORT, encoding="utf-8")
        result = province.run("import", "dossiers", str(small))
        assert result.exit_code == 0, result.output
        assert not left.exists() and not reused.exists()
        assert live.is_dir() and foreign.is_dir()
    finally:
        alive.kill()
        alive.wait()


def test_a_line_starting_with_a_bom_is_the_same_dossier_from_a_big_export_and_a_small_one(tmp_path: Path,
                                                                                          monkeypatch) -> None:
    """The columnar engine drops a BOM that starts its input, where csv.reader keeps it: the first data line of
    a big export must be read as it is from a small one."""
    data = (EXPORT.replace("HS-1", "\ufeffBOM-1", 1) + "".join(
        f"HS-{n},Sở Tư pháp,03/11/2026 08:00,Đang xử lý\n" for n in range(3, 40))).encode("utf-8")
    stored = {}
    for size in ("small", "big"):
        if size == "big":
            monkeypatch.setattr(pipeline, "PARALLEL_FROM_BYTES", 1)  # as an export past 8 MB is read
        (tmp_path / size).mkdir()
        province = Province(tmp_path / size)
        path = province.root / "exports" / "ho-so.csv"
        path.write_bytes(data)
        result = province.run("import", "dossiers", str(path))
        assert result.exit_code == 0, result.output
        stored[size] = [row["code"] for row in sqlite_utils.Database(province.db_path).query(
            "SELECT code FROM dossiers ORDER BY source_row")]
    assert stored["big"] == stored["small"]
    assert stored["small"][0] == "\ufeffBOM-1" and len(stored["small"]) == 39
