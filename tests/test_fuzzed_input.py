"""Bad input, fuzzed: exports, listing pages and rules.toml made up by hypothesis are imported, read or
refused with a clear error; never a crash, never a row unaccounted for.

README "What auditbot guarantees" points here."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import RULES, Province, province_today
from conftest import run_cli as cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditbot import commands
from auditbot.config.rules import load_config
from auditbot.demo.samplegen import FLAT, TITLE_ROWS, make_dossiers, write_csv
from auditbot.errors import ConfigError, UserError
from auditbot.sources.listings.page import PageError, parse_html
from auditbot.sources.listings.reader import read_listing

UNIT_NAMES = ["Sở Tư pháp", "Sở Xây dựng", "UBND xã Quảng Phú"]
CASES = int(os.environ.get("AUDITBOT_FUZZ_CASES", "120"))  # `AUDITBOT_FUZZ_CASES=2000 make test` digs deeper
FUZZ = settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck))

CELL = st.one_of(
    st.text(max_size=30), st.sampled_from(["=1+1", "=HYPERLINK(\"http://x\")", "+cmd|' /C calc'!A0", "@SUM(1)",
                                          "31/02/2026", "2026-13-45", "32/10/2026 25:61", "", " ", "\x00", "NaN",
                                          "Đã trả kết quả", "Trực tuyến", "Sở Tư pháp", "1e308", "-0"]),
    st.text(min_size=5000, max_size=40000).map(lambda s: s[:40000]),
    st.integers(), st.floats(allow_nan=True))
HEADER = st.lists(st.sampled_from([*FLAT, "Mã hồ sơ", "Mã hồ sơ", "", "Cột lạ", "Ngày tiếp nhận"]), min_size=0,
                  max_size=20)


def import_file(province: Province, path: Path) -> tuple[commands.ImportOutcome, dict[str, int]]:
    config = load_config(province.rules)
    outcome = commands.import_dossier_files(config, [path])
    with sqlite3.connect(province.db_path) as conn:
        counts = {"rejected_rows": conn.execute("SELECT count(*) FROM rejected_rows WHERE file = ?",
                                                [str(path)]).fetchone()[0]}
    return outcome, counts


def assert_accounted(path: Path, outcome: commands.ImportOutcome, counts: dict[str, int]) -> None:
    """Either one clear error naming the file, or every row read is stored, updated, unchanged or rejected."""
    if outcome.errors:
        assert len(outcome.errors) == 1 and str(path) in outcome.errors[0] and "Traceback" not in outcome.errors[0]
        return
    (summary,) = outcome.summaries
    assert summary.rows_read == summary.stored + summary.updated + summary.unchanged + summary.rejected
    assert counts["rejected_rows"] >= summary.rejected  # kept with their reason (earlier imports of a same name too)
    assert all(r.reason for r in summary.rejections)


@FUZZ
@given(header=HEADER, rows=st.lists(st.lists(CELL, max_size=20), max_size=25),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1258"]),
       delimiter=st.sampled_from([",", ";", "\t", "|"]), title_rows=st.integers(0, 8))
def test_fuzzed_csv_exports_are_imported_or_refused_clearly(tmp_path_factory: pytest.TempPathFactory, header: list[str],
                                                            rows: list[list[Any]], encoding: str, delimiter: str,
                                                            title_rows: int) -> None:
    province = Province(tmp_path_factory.mktemp("fuzz"))
    path = province.root / "exports" / "fuzz.csv"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    for _ in range(title_rows):
        writer.writerow(["DANH SÁCH HỒ SƠ"])
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    path.write_bytes(buffer.getvalue().encode(encoding, errors="replace"))
    assert_accounted(path, *import_file(province, path))


@FUZZ
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".csv", ".xlsx", ".xls", ".ods", ".json", ".txt"]))
def test_random_bytes_never_crash_an_importer(tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str) -> None:
    province = Province(tmp_path_factory.mktemp("bytes"))
    path = province.root / f"random{suffix}"
    path.write_bytes(data)
    assert_accounted(path, *import_file(province, path))
    config = load_config(province.rules)
    try:
        commands.import_catalogue_file(config, path)
    except UserError as exc:
        assert str(path) in str(exc)


@FUZZ
@given(drop=st.sets(st.integers(0, len(FLAT) - 1), max_size=6), shift=st.integers(0, 3),
       duplicate=st.booleans(), seed=st.integers(0, 1000))
def test_real_shaped_exports_with_broken_headers(tmp_path_factory: pytest.TempPathFactory, drop: set[int], shift: int,
                                                 duplicate: bool, seed: int) -> None:
    """Columns missing, shifted right, a duplicated header row: imported as far as it makes sense, or refused."""
    province = Province(tmp_path_factory.mktemp("shaped"))
    dossiers = list(make_dossiers(30, UNIT_NAMES, province_today(), seed=seed))
    path = province.root / "exports" / "shaped.csv"
    write_csv(path, dossiers, seed=seed)
    lines = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    keep = [i for i in range(len(FLAT)) if i not in drop]
    rebuilt = [[""] * shift + ([line[i] for i in keep if i < len(line)] if len(line) >= len(FLAT) else line)
               for line in lines]
    if duplicate:
        rebuilt.insert(len(TITLE_ROWS) + 5, rebuilt[len(TITLE_ROWS)])  # the header row again among the data
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rebuilt)
    outcome, counts = import_file(province, path)
    assert_accounted(path, outcome, counts)
    if not drop and not outcome.errors:
        assert outcome.summaries[0].stored + outcome.summaries[0].rejected == 30 + duplicate  # a repeated header row is read, and rejected


HTML_PIECES = st.sampled_from([
    "<table>", "</table>", "<tr>", "<td>", "</td>", "<li>", "<a href='https://dichvucong.gov.vn/thu-tuc-hanh-chinh/1.000894'>",
    "<a href='javascript:alert(1)'>", "<a href='file:///etc/passwd'>", "<a href='http://10.0.0.1/'>", "</a>",
    "<script>document.write('<td>')</script>", "<base href='http://127.0.0.1:1/'>", "&#x0;", "&amp;", "&#xD800;",
    "Đăng ký khai sinh", "1.000894", "<!--", "-->", "<![CDATA[", "<svg><a href='x'>", "<style>td{}</style>",
    "\x00", "\ufeff", "<meta charset='windows-1258'>", "<div class='the-tthc'>", "</div>", "<p>" * 50])


@FUZZ
@given(pieces=st.lists(st.one_of(HTML_PIECES, st.text(max_size=20)), max_size=80), raw=st.binary(max_size=512),
       selector=st.sampled_from([None, "div.the-tthc", "tr", "a[href]"]))
def test_hostile_listing_pages_give_items_or_a_clear_error(pieces: list[str], raw: bytes, selector: str | None) -> None:
    for body in ("".join(pieces).encode("utf-8", errors="replace"), raw):
        try:
            tree = parse_html(body, None)
            url = "https://stp.example.gov.vn/tthc"
            items = read_listing(tree, url, url, ("dichvucong.gov.vn",), selector).items
        except PageError as exc:
            assert str(exc)
            continue
        for item in items:
            assert isinstance(item.name, str) and item.name == item.name.strip()
            assert all(link.startswith(("http://", "https://")) for link in item.links), item.links


TOML_VALUE = st.recursive(
    st.one_of(st.text(max_size=10), st.integers(), st.floats(allow_nan=False), st.booleans()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=3)),
    max_leaves=6)


def toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if value == value and abs(value) != float("inf") else "0"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_literal(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_literal(v)}" for k, v in value.items()) + "}"


KEYS = ["province.name", "province.timezone", "database.path", "thresholds.online_min", "thresholds.min_dossiers",
        "email.smtp_port", "email.security", "schedule.checks", "portal.concurrency", "listings.max_pages",
        "serve.port", "sources.max_file_mb", "report.top_units", "checks.disabled", "dossiers.period"]


@FUZZ
@given(changes=st.dictionaries(st.sampled_from(KEYS), TOML_VALUE, max_size=4), junk=st.text(max_size=40))
def test_fuzzed_rules_toml_is_loaded_or_refused_with_key_paths(tmp_path_factory: pytest.TempPathFactory,
                                                               changes: dict[str, Any], junk: str) -> None:
    root = tmp_path_factory.mktemp("rules")
    text = RULES.format(extra="")
    for key, value in changes.items():
        table, name = key.split(".")
        text += f"\n[{table}]\n{name} = {toml_literal(value)}\n" if f"[{table}]" not in text else ""
    for variant in (text, text + "\n" + junk):
        (root / "rules.toml").write_text(variant, encoding="utf-8")
        try:
            load_config(root / "rules.toml")
        except ConfigError as exc:
            assert str(exc) and "Traceback" not in str(exc)


def test_a_1_gb_export_is_refused_unread_and_the_others_import(province: Province) -> None:
    huge = province.root / "exports" / "ca-nam.csv"
    with huge.open("wb") as handle:
        handle.truncate(1 << 30)  # sparse: 1 GB on paper, nothing on disk
    write_csv(province.root / "exports" / "thang-11.csv", list(make_dossiers(20, UNIT_NAMES, province_today())))
    started = time.monotonic()
    result = cli(province, "import", "dossiers")
    assert result.returncode == 2
    assert f"{huge}: 1,024 MB is more than [sources] max_file_mb = 512 MB; not read" in result.stderr
    assert "thang-11.csv: đọc 20 dòng, lưu mới 20" in result.stdout
    assert time.monotonic() - started < 30  # refused from its size, not after reading a gigabyte
