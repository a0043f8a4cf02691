"""Benchmark: auditbot import + rates against pandas and DuckDB on the same generated export.

    python bench/dossiers.py [--rows 1000000] [--xlsx-rows 200000] [--keep DIR] [--sqlite3 PATH]

Generates a province of 200 units and a real-shaped CSV export of N dossiers (title rows, personal-data
columns, Vietnamese statuses), then in this one run times, each in its own process:
  (a) `auditbot import dossiers` + `auditbot rates --by unit`,
  (b) a straightforward pandas script computing the same per-unit figures,
  (c) the same in DuckDB,
  (d) the floor of the design: sqlite3's own C importer (the `sqlite3` CLI's `.import --csv`) storing the same
      rows in a database file, plus one GROUP BY by unit;
checks the three that compute figures agree, and prints the ratios and each one's peak memory. With --xlsx-rows it also
times the import of an XLSX export of that many rows. The peers run under --peer-python, a venv with
pandas and duckdb (`make bench` makes it), so auditbot is timed as deployed, without pandas around.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from auditbot.demo.samplegen import FLAT, TITLE_ROWS, export_row, make_dossiers
from bench.results import record, verdict

PERIOD = ("2026-07-01", "2026-09-30")
END = date(2026, 10, 15)
COUNTS = ("received", "online", "finished", "on_time", "digitised", "fee_paid", "paid_online", "unfinished",
          "overdue_open")

PANDAS = r'''
import sys, json, pandas as pd
path, start, end = sys.argv[1], sys.argv[2] + " 00:00:00", sys.argv[3] + " 23:59:59"
df = pd.read_csv(path, skiprows=6, dtype=str, usecols=["Mã hồ sơ", "Đơn vị tiếp nhận", "Hình thức nộp",
     "Ngày tiếp nhận", "Ngày hẹn trả", "Ngày có kết quả", "Trạng thái", "Phí, lệ phí", "Thanh toán trực tuyến",
     "Đã số hóa kết quả"])
df = df[df["Mã hồ sơ"].notna() & df["Đơn vị tiếp nhận"].notna()]
fmt = "%d/%m/%Y %H:%M"
rec = pd.to_datetime(df["Ngày tiếp nhận"], format=fmt)
due = pd.to_datetime(df["Ngày hẹn trả"], format=fmt)
fin = pd.to_datetime(df["Ngày có kết quả"], format=fmt)
status = df["Trạng thái"].map({"Đã trả kết quả": "finished", "Hoàn thành": "finished", "Đã hoàn thành": "finished",
    "Đang xử lý": "processing", "Đang giải quyết": "processing", "Mới tiếp nhận": "received",
    "Chờ bổ sung": "supplement", "Từ chối": "rejected", "Trả lại hồ sơ": "rejected", "Rút hồ sơ": "withdrawn"})
online = df["Hình thức nộp"].str.startswith("Trực tuyến")
fee = pd.to_numeric(df["Phí, lệ phí"]).fillna(0)
paid = df["Thanh toán trực tuyến"].eq("Có")
dig = df["Đã số hóa kết quả"].eq("Có")
s, e = pd.Timestamp(start), pd.Timestamp(end)
in_period = rec.between(s, e)
done = status.eq("finished") & fin.between(s, e)
closed = status.isin(["finished", "rejected", "withdrawn"]) & (fin.isna() | (fin <= e))
open_at_end = (rec <= e) & ~closed
out = pd.DataFrame({"unit": df["Đơn vị tiếp nhận"], "received": in_period, "online": in_period & online,
    "finished": done, "on_time": done & (due.isna() | (fin <= due)), "digitised": done & dig,
    "fee_paid": in_period & ((fee > 0) | paid), "paid_online": in_period & paid, "unfinished": open_at_end,
    "overdue_open": open_at_end & (due < e)}).groupby("unit").sum()
print(json.dumps({u: {k: int(v) for k, v in row.items()} for u, row in out.iterrows()}))
'''

DUCKDB = r'''
import sys, json, duckdb
path, start, end = sys.argv[1], sys.argv[2] + " 00:00:00", sys.argv[3] + " 23:59:59"
con = duckdb.connect()
rows = con.execute("""
WITH raw AS (SELECT * FROM read_csv(?, skip=6, header=true, all_varchar=true, null_padding=true)),
d AS (
  SELECT "Đơn vị tiếp nhận" AS unit,
    strptime("Ngày tiếp nhận", '%d/%m/%Y %H:%M') AS rec,
    try_strptime("Ngày hẹn trả", '%d/%m/%Y %H:%M') AS due,
    try_strptime("Ngày có kết quả", '%d/%m/%Y %H:%M') AS fin,
    CASE WHEN "Trạng thái" IN ('Đã trả kết quả', 'Hoàn thành', 'Đã hoàn thành') THEN 'finished'
         WHEN "Trạng thái" IN ('Từ chối', 'Trả lại hồ sơ') THEN 'rejected'
         WHEN "Trạng thái" = 'Rút hồ sơ' THEN 'withdrawn' ELSE 'open' END AS status,
    starts_with("Hình thức nộp", 'Trực tuyến') AS online,
    coalesce(try_cast("Phí, lệ phí" AS DOUBLE), 0) AS fee,
    coalesce("Thanh toán trực tuyến" = 'Có', false) AS paid,
    coalesce("Đã số hóa kết quả" = 'Có', false) AS dig
  FROM raw WHERE "Mã hồ sơ" IS NOT NULL AND "Đơn vị tiếp nhận" IS NOT NULL),
f AS (
  SELECT *, rec BETWEEN ?::TIMESTAMP AND ?::TIMESTAMP AS in_period,
    status = 'finished' AND fin BETWEEN ?::TIMESTAMP AND ?::TIMESTAMP AS done,
    rec <= ?::TIMESTAMP AND NOT (status <> 'open' AND (fin IS NULL OR fin <= ?::TIMESTAMP)) AS open_at_end
  FROM d)
SELECT unit, count_if(in_period), count_if(in_period AND online), count_if(done),
  count_if(done AND (due IS NULL OR fin <= due)), count_if(done AND dig), count_if(in_period AND (fee > 0 OR paid)),
  count_if(in_period AND paid), count_if(open_at_end), count_if(open_at_end AND due < ?::TIMESTAMP)
FROM f GROUP BY unit
""", [path, start, end, start, end, end, end, end]).fetchall()
keys = ["received", "online", "finished", "on_time", "digitised", "fee_paid", "paid_online", "unfinished", "overdue_open"]
print(json.dumps({r[0]: dict(zip(keys, map(int, r[1:]))) for r in rows}))
'''


# the floor: SQLite's own C code storing every row of the export and counting them by unit, no typing at all
FLOOR_SQL = 'SELECT "Đơn vị tiếp nhận", count(*) FROM export WHERE "Mã hồ sơ" IS NOT NULL GROUP BY 1'


def province(root: Path, units: int = 200) -> tuple[Path, list[str], dict[str, str]]:
    names, codes, lines = [], {}, []
    for n in range(units):
        kind, name = ("so", f"Sở Ngành {n:03d}") if n < 30 else ("xa", f"Xã Bình Minh {n:03d}")
        code = f"U{n:03d}"
        names.append(name)
        codes[name] = code
        lines.append(f"{code},{name},{kind},,u{n}@example.gov.vn")
    (root / "units.csv").write_text("code,name,kind,aliases,emails\n" + "\n".join(lines) + "\n", encoding="utf-8")
    rules = root / "rules.toml"
    rules.write_text('units_file = "units.csv"\n[province]\nname = "Bench"\n[database]\npath = "bench.db"\n',
                     encoding="utf-8")
    return rules, names, codes


def write_csv_export(path: Path, rows: int, names: list[str]) -> None:
    import random

    rng = random.Random(1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        for title in TITLE_ROWS:
            writer.writerow([title])
        writer.writerow(FLAT)
        for number, dossier in enumerate(make_dossiers(rows, names, END, days=120, seed=5), start=1):
            writer.writerow(export_row(number, dossier, rng))
        writer.writerow([f"Tổng cộng: {rows} hồ sơ"])


def write_xlsx_export(path: Path, rows: int, names: list[str]) -> None:
    import random

    from openpyxl import Workbook

    rng = random.Random(2)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Danh sách hồ sơ")
    for title in TITLE_ROWS:
        sheet.append([title])
    sheet.append(FLAT)
    for number, dossier in enumerate(make_dossiers(rows, names, END, days=120, seed=6), start=1):
        sheet.append(export_row(number, dossier, rng, excel_dates=True))
    workbook.save(path)


def generate(path: Path, write: Callable[[Path], None]) -> None:
    """The export at `path`, written unless a kept folder already has it (the generation is seeded: the
    same rows every time); written aside first, so a stopped run never leaves half an export to reuse."""
    if path.exists():
        return
    partial = path.with_name(f"partial-{path.name}")
    write(partial)
    partial.replace(path)


def run_measured(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, the child's own peak resident MB (from wait4) and its stdout."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout = process.stdout.read() if process.stdout else ""
    stderr = process.stderr.read() if process.stderr else ""
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{stderr}")
    return elapsed, usage.ru_maxrss / 1024, stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000, help="0 to skip the XLSX import")
    parser.add_argument("--keep", type=Path, default=None,
                        help="work in this folder and keep it (exports already generated there are reused)")
    parser.add_argument("--peer-python", default=sys.executable, help="interpreter that has pandas and duckdb")
    parser.add_argument("--sqlite3", default="sqlite3", help="the sqlite3 command-line shell (Debian's sqlite3)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="auditbot-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    rules, names, codes = province(root)
    export = root / f"export-{args.rows}.csv"
    started = time.perf_counter()
    generate(export, lambda path: write_csv_export(path, args.rows, names))
    print(f"generated {args.rows:,} rows ({export.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.1f} s")
    (root / "bench.db").unlink(missing_ok=True)

    auditbot = [sys.executable, "-m", "auditbot.cli"]
    t_import, m_import, out = run_measured([*auditbot, "import", "dossiers", str(export), "--config", str(rules)])
    print(out.strip().splitlines()[0])
    t_rates, m_rates, rates_json = run_measured([*auditbot, "rates", "--by", "unit", "--from", PERIOD[0], "--to", PERIOD[1],
                                                 "--format", "json", "--config", str(rules)])
    ours = {row["group"]: {k: row[k] for k in COUNTS} for row in json.loads(rates_json)}
    t_pandas, m_pandas, pandas_json = run_measured([args.peer_python, "-c", PANDAS, str(export), *PERIOD])
    t_duck, m_duck, duck_json = run_measured([args.peer_python, "-c", DUCKDB, str(export), *PERIOD])
    floor_db = root / "floor.db"
    floor_db.unlink(missing_ok=True)
    t_floor, m_floor, _ = run_measured([args.sqlite3, str(floor_db), f".import --csv --skip {len(TITLE_ROWS)} "
                                        f"{export} export", FLOOR_SQL])
    floor_db.unlink(missing_ok=True)
    by_code = lambda figures: {codes[name]: value for name, value in json.loads(figures).items()}  # noqa: E731
    pandas_figures, duck_figures = by_code(pandas_json), by_code(duck_json)
    ours = {code: value for code, value in ours.items() if any(value.values())}
    agree = ours == pandas_figures == duck_figures
    total = t_import + t_rates
    print(f"\n{'':28}{'seconds':>10}{'peak MB':>10}")
    print(f"{'auditbot import':28}{t_import:10.2f}{m_import:10.0f}")
    print(f"{'auditbot rates --by unit':28}{t_rates:10.2f}{m_rates:10.0f}")
    print(f"{'auditbot end to end':28}{total:10.2f}{max(m_import, m_rates):10.0f}")
    print(f"{'pandas':28}{t_pandas:10.2f}{m_pandas:10.0f}")
    print(f"{'duckdb':28}{t_duck:10.2f}{m_duck:10.0f}")
    print(f"{'sqlite3 .import + GROUP BY':28}{t_floor:10.2f}{m_floor:10.0f}")
    to_pandas, to_duck, to_floor = total / t_pandas, total / t_duck, total / t_floor
    print(f"\nratio auditbot / pandas: {to_pandas:.2f}  {verdict(to_pandas <= 1.0)} (target ≤ 1,0)")
    print(f"ratio auditbot / duckdb: {to_duck:.2f}  {verdict(to_duck <= 3.0)} (target ≤ 3)")
    print(f"ratio auditbot / sqlite3 .import (the floor): {to_floor:.2f}  {verdict(to_floor <= 1.5)} (target ≤ 1,5)")
    print(f"peak memory of the import: {m_import:.0f} MB  {verdict(m_import <= 400)} (target ≤ 400 MB)")
    print(f"figures agree (auditbot = pandas = duckdb, {len(ours)} units): {agree}")
    figures = {"rows": args.rows, "auditbot_s": round(total, 2), "import_s": round(t_import, 2),
               "rates_s": round(t_rates, 2), "pandas_s": round(t_pandas, 2), "duckdb_s": round(t_duck, 2),
               "sqlite3_s": round(t_floor, 2), "to_pandas": round(to_pandas, 2), "to_duckdb": round(to_duck, 2),
               "to_sqlite3": round(to_floor, 2), "import_peak_mb": round(m_import),
               "agree": agree}
    if not agree:
        for code in sorted(set(ours) | set(pandas_figures)):
            if ours.get(code) != pandas_figures.get(code) or ours.get(code) != duck_figures.get(code):
                print(code, ours.get(code), pandas_figures.get(code), duck_figures.get(code))
                break
    if args.xlsx_rows:
        xlsx = root / f"export-{args.xlsx_rows}.xlsx"
        generate(xlsx, lambda path: write_xlsx_export(path, args.xlsx_rows, names))
        (root / "bench.db").unlink(missing_ok=True)  # a first load, as the CSV's was
        t_xlsx, m_xlsx, out = run_measured([*auditbot, "import", "dossiers", str(xlsx), "--config", str(rules)])
        per_row = (t_xlsx / args.xlsx_rows) / (t_import / args.rows)
        print(f"\nXLSX {args.xlsx_rows:,} rows: import {t_xlsx:.2f} s, peak {m_xlsx:.0f} MB — {out.strip().splitlines()[0]}")
        print(f"XLSX time per row / CSV's: {per_row:.2f}  {verdict(per_row <= 3.0)} (target ≤ 3)")
        print(f"XLSX peak memory: {m_xlsx:.0f} MB  {verdict(m_xlsx <= 400)} (target ≤ 400 MB)")
        figures.update({"xlsx_rows": args.xlsx_rows, "xlsx_s": round(t_xlsx, 2), "xlsx_per_row_to_csv": round(per_row, 2),
                        "xlsx_peak_mb": round(m_xlsx)})
    record("dossiers", figures)
    sys.exit(0 if agree else 1)


if __name__ == "__main__":
    main()
