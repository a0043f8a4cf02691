"""The command line as an officer meets it: one language on the screen (Vietnamese unless rules.toml says
otherwise), files Excel opens as they are, a summary instead of thousands of lines when asked, and a
progress bar on a terminal that never reaches a pipe."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import pty
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
from conftest import Province, province_now
from test_cli_grammar import seed
from test_rates_and_checks import HEADER, dossier

# English an officer used to meet on these screens; as whole words, so "Đang mở" or a unit code never matches
ENGLISH = re.compile(r"\b(UNIT|CHECK|TITLE|STATUS|SINCE|GROUP|RECEIVED|FINISHED|open|resolved|muted|provisional|"
                     r"final|took over|succeeded by|from|to|code|name|kind|letters|new|fixed|escalated|read|stored|"
                     r"rejected|skipped|units|database|daemon|never started|JOB|SCHEDULE|OK|run|until)\b")


def overdue_dossiers(province: Province, count: int = 12) -> None:
    """`count` dossiers past their due date at STP and as many at XA_QP, imported."""
    now = province_now()
    path = province.root / "exports" / "rows.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(dossier(f"H{n}-{tag}", unit=unit, received=(now - timedelta(days=9)).strftime("%d/%m/%Y"),
                                 due=(now - timedelta(days=2)).strftime("%d/%m/%Y"))
                         for n in range(count) for tag, unit in (("STP", "Sở Tư pháp"), ("QP", "Xã Quảng Phú")))
    result = province.run("import", "dossiers", str(path))
    assert result.exit_code == 0, result.output


def people_output(province: Province, *args: str) -> str:
    result = province.run(*args)
    assert result.exit_code in (0, 1), result.output
    return result.stdout + result.stderr


def test_what_an_officer_reads_is_vietnamese_from_edge_to_edge(province: Province) -> None:
    overdue_dossiers(province)
    finding_id = seed(province)["link.mismatch"]
    screens = {
        "check": people_output(province, "check", "--all", "--offline"),
        "findings": people_output(province, "findings", "--status", "all"),
        "rates by kind": people_output(province, "rates", "--by", "kind"),
        "rates by unit": people_output(province, "rates", "--by", "unit"),
        "units": people_output(province, "units", "--all"),
        "report": people_output(province, "report"),
        "status": people_output(province, "status"),
        "validate": people_output(province, "validate"),
        "mute": people_output(province, "mute", finding_id, "--reason", "Đã giải trình", "--until", "31/12/2099"),
        "index": people_output(province, "index", "--by", "kind"),
    }
    for screen, text in screens.items():
        english = sorted(set(ENGLISH.findall(text)))
        assert not english, f"{screen} shows English to an officer: {english}\n{text}"
    assert "Mã  " in screens["check"] and "Đơn vị" in screens["check"] and "Tình trạng" in screens["check"]
    assert "đang mở" in screens["findings"] and "Lượt kiểm tra" in screens["check"]
    kinds = screens["rates by kind"]
    assert "Khối" in kinds and "Tiếp nhận" in kinds and "Sở, ban, ngành" in kinds and "Xã, phường" in kinds
    assert "số liệu tạm tính" in kinds and re.search(r"\d+,\d\d%", kinds)
    assert "Tiếp nhận từ" in screens["units"] and "Đơn vị kế thừa" in screens["units"]
    assert "Đang mở" in screens["report"] and re.search(r"Tuần \d{1,2}/\d{4}: ", screens["report"])  # as letters say
    assert "tiến trình nền: chưa từng chạy" in screens["status"]
    assert "hợp lệ" in screens["validate"] and "3 đơn vị (Sở, ban, ngành; Xã, phường)" in screens["validate"]
    assert "đến ngày 31/12/2099" in screens["mute"]
    # what scripts read stays English
    assert {f["status"] for f in province.json("findings")} == {"open"}


# English the demo and `status`'s schedule used to show, beyond the screens' words above
STEPS_ENGLISH = re.compile(r"\b(every|monday|day|hour|at|wrote|Next|then|imported|serving|checks|ran|figures|"
                           r"weekly|written|under|Database|Browse|Copied|Using|procedures|rows|counts|merged|"
                           r"index|points|demo|error|sample|exports|catalogue)\b")


def english_words(text: str) -> list[str]:
    """The English words an officer reads in `text`, leaving aside what is typed or opened as it is:
    commands (`auditbot …`), paths and addresses, and the check ids (scripts' names, like dossier.overdue)."""
    text = re.sub(r"`[^`]*`|\S*/\S*|--\w+|auditbot(?: [\w-]+)*|\b[a-z_]+\.[a-z_]+\b", " ", text)
    return sorted(set(ENGLISH.findall(text)) | set(STEPS_ENGLISH.findall(text)))


def test_the_demo_speaks_vietnamese_from_its_first_line_to_its_last(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from auditbot.cli import cli

    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path / "demo")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    # a refused row's reason is the importer's own sentence (still English: see `import dossiers`)
    shown = "\n".join(line for line in result.output.splitlines() if not line.startswith("   dòng "))
    assert not english_words(shown), f"the demo shows English to an officer: {english_words(shown)}\n{shown}"
    assert "Đã chép tỉnh mẫu vào" in shown and "8. thư hằng tuần" in shown and "Cơ sở dữ liệu:" in shown
    assert re.search(r"Sở, ban, ngành: [\d.]+ hồ sơ tiếp nhận, trực tuyến \d+,\d\d%", shown)  # a kind by its name


def test_status_says_each_schedule_as_people_say_it(tmp_path: Path) -> None:
    province = Province(tmp_path, extra='[schedule]\nweekly_report = "every monday at 07:30"\n'
                                         'catalogue = "every day at 02:00"\nchecks = "every 1 hour"\n'
                                         'dossiers = "every 5 minutes"\n')
    from auditbot.commands import open_config
    from auditbot.store import Store

    config = open_config(province.rules)
    with Store.open(config) as store:  # each job as the daemon records it when it starts
        for job, phrase in config.schedule.items():
            store.set_job_state(job, phrase)
    text = people_output(province, "status")
    assert not english_words(text), f"status shows English to an officer: {english_words(text)}\n{text}"
    for said in ("thứ Hai hằng tuần lúc 07:30", "hằng ngày lúc 02:00", "mỗi 1 giờ", "mỗi 5 phút"):
        assert said in text, text
    # scripts read the phrase as rules.toml says it
    assert {job["phrase"] for job in province.json("status")["jobs"]} >= {"every monday at 07:30", "every 1 hour"}


def test_a_kind_is_named_as_the_province_calls_it_and_english_is_a_switch(tmp_path: Path) -> None:
    for folder in ("named", "wrong", "english", "bad"):
        (tmp_path / folder).mkdir()
    named = Province(tmp_path / "named", extra='[kinds.so]\nname = "Các sở, ban, ngành tỉnh"\n')
    overdue_dossiers(named)
    assert "Các sở, ban, ngành tỉnh" in named.run("rates", "--by", "kind").stdout
    wrong = Province(tmp_path / "wrong", extra='[kinds.huyen]\nname = "Huyện"\n')
    done = wrong.run("validate")
    assert done.exit_code == 2 and "kinds.huyen: no unit has this kind" in done.output

    english = Province(tmp_path / "english")
    english.rules.write_text(english.rules.read_text(encoding="utf-8").replace(
        "[province]\n", '[province]\nlanguage = "en"\n'), encoding="utf-8")
    overdue_dossiers(english)
    table = english.run("rates", "--by", "kind").stdout
    assert "Received" in table and "Departments" in table and "provisional" in table and "Tiếp nhận" not in table
    bad = Province(tmp_path / "bad")
    bad.rules.write_text(bad.rules.read_text(encoding="utf-8").replace(
        "[province]\n", '[province]\nlanguage = "fr"\n'), encoding="utf-8")
    refused = bad.run("validate")
    assert refused.exit_code == 2 and "province.language: expected one of vi, en, got 'fr'" in refused.output


def test_csv_starts_with_a_bom_so_excel_reads_utf8(province: Province) -> None:
    seed(province)
    for command in (["findings"], ["rates", "--by", "kind"], ["units"]):
        raw = province.run(*command, "--format", "csv").stdout_bytes
        assert raw.startswith(b"\xef\xbb\xbf"), command
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows[0][0] in ("id", "group", "code") and len(rows) > 1
    [row] = list(csv.DictReader(io.StringIO(province.run("findings", "--format", "csv", "--unit", "STP")
                                                   .stdout_bytes.decode("utf-8-sig"))))
    assert row["unit"] == "STP" and row["title"].startswith("Thủ tục 1.000894")


def test_xlsx_has_vietnamese_headings_a_frozen_row_and_typed_cells(province: Province, tmp_path: Path) -> None:
    overdue_dossiers(province)
    assert province.run("check", "--all", "--offline").exit_code == 1
    findings = tmp_path / "vi-pham.xlsx"
    made = province.run("findings", "--format", "xlsx", "--output", str(findings))
    assert made.exit_code == 0 and made.stdout == "", made.output
    sheet = openpyxl.load_workbook(findings).active
    headings = [cell.value for cell in sheet[1]]
    assert headings[:6] == ["Mã", "Đơn vị", "Tên đơn vị", "Mã kiểm tra", "Nội dung", "Tình trạng"]
    assert sheet.freeze_panes == "A2"
    first = dict(zip(headings, sheet[2]))
    assert isinstance(first["Từ ngày"].value, datetime) and first["Từ ngày"].number_format == "dd/mm/yyyy"
    assert first["Tình trạng"].value == "đang mở"

    rates = tmp_path / "ty-le.xlsx"
    assert province.run("rates", "--by", "kind", "--format", "xlsx", "--output", str(rates)).exit_code == 0
    sheet = openpyxl.load_workbook(rates).active
    headings = [cell.value for cell in sheet[1]]
    assert headings[:3] == ["Khối", "Tiếp nhận", "Trực tuyến"] and sheet.freeze_panes == "A2"
    so = dict(zip(headings, sheet[2]))
    assert so["Khối"].value == "Sở, ban, ngành" and so["Tiếp nhận"].value == 12
    assert so["Tiếp nhận"].data_type == "n" and so["Tiếp nhận"].number_format == "#,##0"
    assert so["Quá hạn"].value == 1.0 and so["Quá hạn"].number_format == "0.00%"  # 100% overdue, as a number

    for command in (["units", "--all"], ["index", "--by", "kind"]):
        out = tmp_path / f"{command[0]}.xlsx"
        assert province.run(*command, "--format", "xlsx", "--output", str(out)).exit_code == 0
        book = openpyxl.load_workbook(out).active
        assert book.freeze_panes == "A2" and book["A1"].value in ("Mã", "Khối")


def test_no_output_lands_on_the_database_the_config_or_an_export(province: Province) -> None:
    overdue_dossiers(province)
    export = province.root / "exports" / "rows.csv"
    kept = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in (province.db_path, province.rules, export)}
    for target in kept:
        refused = province.run("findings", "--format", "xlsx", "--output", str(target))
        assert refused.exit_code == 2 and "Error: --output" in refused.stderr, target  # output_files.py says why
    inside = province.run("units", "--format", "xlsx", "--output", str(province.root / "exports" / "don-vi.xlsx"))
    assert inside.exit_code == 2 and "the next run would read it" in inside.stderr
    assert province.run("report", "--period", "2026", "--output", str(province.db_path)).exit_code == 2
    assert {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in kept} == kept
    assert province.run("findings", "--format", "xlsx").exit_code == 2  # nowhere to write it
    assert province.run("findings", "--output", str(province.root / "x.xlsx")).exit_code == 2  # not a workbook


def test_quiet_prints_a_summary_and_verbose_adds_detail(province: Province) -> None:
    overdue_dossiers(province, count=30)
    loud = province.run("check", "--all", "--offline")
    quiet = province.run("check", "--all", "--offline", "-q")
    assert loud.exit_code == quiet.exit_code == 1
    assert len(loud.stdout.splitlines()) > 30
    assert quiet.stdout == "" and 1 <= len(quiet.stderr.splitlines()) <= 2
    assert "Lượt kiểm tra" in quiet.stderr and re.search(r"STP \d+", quiet.stderr)
    assert len(province.run("rates", "-q").stdout.splitlines()) == 1
    assert province.run("units", "--quiet").stdout.strip() == "3 đơn vị"
    assert province.run("check", "-q", "-v").exit_code == 2  # one or the other
    assert province.json("findings", "-q")  # what a script asked for is still printed
    path = province.root / "exports" / "rows.csv"
    assert len(province.run("import", "dossiers", str(path), "-q").stdout.splitlines()) == 1
    verbose = province.run("check", "STP", "--offline", "-v")
    assert "dossier.overdue: 30" in verbose.stderr  # the detail
    assert re.search(r"INFO +auditbot.commands: checking 1 unit\(s\)", verbose.stderr)  # and the log lines, timed


def _write_export(province: Province, rows: int) -> Path:
    path = province.root / "exports" / "lon.csv"
    now = province_now()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(dossier(f"P{n}", received=(now - timedelta(days=3)).strftime("%d/%m/%Y"),
                                 due=(now + timedelta(days=5)).strftime("%d/%m/%Y")) for n in range(rows))
    return path


def on_a_terminal(args: list[str]) -> tuple[int, str]:
    """Run the CLI with its stdout and stderr on a pseudo-terminal, as an officer's shell does."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "auditbot.cli", *args], stdin=subprocess.DEVNULL,
                               stdout=terminal, stderr=terminal, env={**os.environ, "COLUMNS": "120"})
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    return process.wait(timeout=120), seen.decode("utf-8", "replace")


def test_progress_is_drawnon_a_terminal_and_never_into_a_pipe(province: Province) -> None:
    path = _write_export(province, 2000)
    code, screen = on_a_terminal(["import", "dossiers", str(path), "--config", str(province.rules)])
    assert code == 0, screen
    assert "Đang đọc lon.csv" in screen and "\r" in screen and "2000" in screen  # rows counted up to the end
    code, screen = on_a_terminal(["report", "--config", str(province.rules)])
    assert code == 0 and "Đang lập thư" in screen and "3/3" in screen, screen  # a letter for each unit
    code, screen = on_a_terminal(["import", "dossiers", str(path), "-q", "--config", str(province.rules)])
    assert code == 0 and "Đang đọc" not in screen  # -q: no bar either

    piped = subprocess.run([sys.executable, "-m", "auditbot.cli", "import", "dossiers", str(path), "--config",
                            str(province.rules)], capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and "Đang đọc" not in piped.stderr + piped.stdout and "\r" not in piped.stderr
    assert "đọc 2.000 dòng" in piped.stdout


def test_every_word_the_code_asks_for_is_in_the_word_list_in_both_languages() -> None:
    """A word the CLI names but templates/cli.toml lacks would stop a command with a KeyError."""
    import tomllib
    import unicodedata

    root = Path(__file__).parents[1]
    listed = {f"{section}.{key}": entry
              for section, table in tomllib.loads((root / "templates" / "cli.toml").read_text(encoding="utf-8")).items()
              for key, entry in table.items()}
    for key, entry in listed.items():
        assert set(entry) == {"vi", "en"}, key
        assert unicodedata.is_normalized("NFC", entry["vi"]), key
    code = "".join(path.read_text(encoding="utf-8") for path in (root / "auditbot").rglob("*.py"))
    asked = set(re.findall(r"""words\(\s*f?["']([a-z_]+\.[a-z_]+)["']""", code))
    assert asked and asked <= set(listed), sorted(asked - set(listed))
    for family in ("headers.group_", "statuses.", "progress."):  # the ids made from values
        assert any(key.startswith(family) for key in listed), family
