"""The first hour of a new user: the help's quick start as typed, the demo folder self-consistent, `init`
for a real province, the systemd unit from the package."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import Province
from test_daemon import wait_for

from auditbot.cli import cli
from auditbot.demo.run import prepare_workspace


@pytest.fixture
def no_smtp_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUDITBOT_SMTP_PASSWORD", raising=False)


def beat(database: Path) -> bool:
    """Whether the daemon's loop has begun (its first heartbeat is written once its signal handlers are set)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT heartbeat_at FROM daemon").fetchone()[0] is not None
    except (sqlite3.OperationalError, TypeError):  # not created yet
        return False


def invoke(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def test_the_demo_folder_validates_and_its_daemon_starts_without_an_smtp_password(tmp_path, no_smtp_password) -> None:
    prepare_workspace(tmp_path)
    code, output = invoke("validate", "--config", tmp_path / "rules.toml")
    assert code == 0, output
    assert "Mẫu: 9 đơn vị" in output
    # the daemon starts (it only writes its letters to the outbox) and stops cleanly on SIGTERM
    env = {k: v for k, v in os.environ.items() if k not in ("AUDITBOT_SMTP_PASSWORD", "AUDITBOT_CONFIG")}
    process = subprocess.Popen([sys.executable, "-m", "auditbot.cli", "run", "--config", str(tmp_path / "rules.toml")],
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        wait_for(lambda: beat(tmp_path / "var" / "auditbot.db") or process.poll() is not None)
        assert process.poll() is None, process.communicate(timeout=30)[1]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


def test_report_send_with_outbox_delivery_writes_the_letters_and_asks_no_password(tmp_path, no_smtp_password) -> None:
    province = Province(tmp_path, extra='[email]\ndelivery = "outbox"\noutbox = "letters"\nusername = "kiemsoat"\n'
                                        'sender = "kiemsoat@example.gov.vn"\ncentre = ["centre@example.gov.vn"]\n')
    assert province.run("validate").exit_code == 0
    result = province.run("report", "--send")
    assert result.exit_code == 0, result.output
    letters = sorted((tmp_path / "letters").rglob("*.eml"))
    assert [p.name for p in letters] == ["summary--centre@example.gov.vn.eml"]
    assert f"đã ghi 1 tệp .eml vào {letters[0].parent}" in result.stderr


def test_the_daemons_weekly_report_with_outbox_delivery_writes_the_letters(tmp_path, no_smtp_password) -> None:
    from auditbot.commands import open_config
    from auditbot.ops.daemon import job_actions

    province = Province(tmp_path, extra='[email]\ndelivery = "outbox"\noutbox = "letters"\n'
                                        'centre = ["centre@example.gov.vn"]\n')
    note = job_actions(open_config(province.rules))["weekly_report"]()
    [letter] = (tmp_path / "letters").rglob("*.eml")
    assert note == f"1 letter(s) written under {letter.parent}"


def test_smtp_delivery_still_needs_its_password_and_its_server(tmp_path, no_smtp_password) -> None:
    province = Province(tmp_path, extra='[email]\nsmtp_host = "mail.example.gov.vn"\nusername = "kiemsoat"\n')
    result = province.run("validate")
    assert result.exit_code == 2  # a mail server named: letters are sent, so the login must work
    assert "email.username: [email] username is set but $AUDITBOT_SMTP_PASSWORD is empty" in result.output
    province = Province(tmp_path, extra='[email]\ndelivery = "smtp"\n')
    result = province.run("validate")
    assert result.exit_code == 2
    assert 'email.smtp_host: is required when delivery = "smtp"' in result.output
    province = Province(tmp_path, extra='[email]\ndelivery = "post"\n')
    assert "email.delivery: expected one of smtp, outbox, got 'post'" in province.run("validate").output


def test_an_online_check_in_the_demo_folder_reads_the_demos_own_sites(tmp_path) -> None:
    prepare_workspace(tmp_path)
    rules = tmp_path / "rules.toml"
    assert invoke("import", "catalogue", "--config", rules)[0] == 0
    code, output = invoke("check", "STP", "SXD", "SNNMT", "--checks", "listing,link,source", "--format", "csv",
                          "--config", rules)
    assert code == 1, output
    found = {tuple(line.split(",")[1:4]) for line in output.splitlines()[1:]}
    # what the sample's own pages hold, read from them on loopback; nothing about names that do not resolve
    assert {("listing.missing", "STP", "2.000908"), ("listing.expired", "SXD", "1.008003"),
            ("source.unreadable", "SNNMT", "https://snnmt.example.gov.vn/tthc")} <= found, output
    assert not any(check.startswith(("source.", "network.", "portal.")) and unit != "SNNMT"
                   for check, unit, _ in found), output


def quick_start(help_text: str, title: str) -> list[str]:
    """The commands of one block of `auditbot --help`, as a person would type them."""
    block = help_text.split(title, 1)[1].split("\n\n", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("(")]


def test_the_helps_quick_start_works_as_typed(tmp_path) -> None:
    typed = quick_start(invoke("--help")[1], "Quick start on the bundled sample province:")
    assert typed[0] == "auditbot demo" and len(typed) >= 3
    env = {k: v for k, v in os.environ.items() if k not in ("AUDITBOT_SMTP_PASSWORD", "AUDITBOT_CONFIG")}
    where = tmp_path
    for line in typed:
        words = line.split()
        if words[0] == "cd":
            where = where / words[1]
            continue
        assert words[0] == "auditbot"
        done = subprocess.run([sys.executable, "-m", "auditbot.cli", *words[1:]], cwd=where, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode in (0, 1), f"{line}: {done.stderr}"  # check: 1 when something is open
        assert "Error" not in done.stderr and done.stdout.strip(), f"{line}: {done.stderr}"
        if words[1] == "demo":  # it says how to go on from where the person stands
            assert "Tiếp theo: cd auditbot-demo, rồi chạy: auditbot check STP" in done.stdout
            assert "thêm --config auditbot-demo/rules.toml vào mỗi lệnh" in done.stdout


def test_init_writes_a_province_that_validates_and_never_overwrites(tmp_path, no_smtp_password) -> None:
    folder = tmp_path / "thanh-hoa"
    code, output = invoke("init", folder, "--province", "Thanh Hóa")
    assert code == 0, output
    assert f"đã ghi {folder / 'rules.toml'}" in output and f"đã ghi {folder / 'units.csv'}" in output
    code, output = invoke("validate", "--config", folder / "rules.toml")
    assert code == 0, output
    assert "Thanh Hóa: 2 đơn vị (Sở, ban, ngành; Xã, phường)" in output
    units = (folder / "units.csv").read_bytes()
    assert units.startswith("\ufeffcode (Mã đơn vị),name (Tên đơn vị),".encode()) and "Sở Tư pháp tỉnh Thanh Hóa".encode() in units
    rules = (folder / "rules.toml").read_text(encoding="utf-8")
    assert 'name = "Thanh Hóa"' in rules and 'delivery = "outbox"' in rules and rules.count("\n#") > 5
    # a second init, or one where either file is there, writes nothing and names what is in the way
    (folder / "units.csv").write_text("code,name\n", encoding="utf-8")
    (folder / "rules.toml").unlink()
    code, output = invoke("init", folder)
    assert code == 2 and f"{folder / 'units.csv'}: already there, and never overwritten" in output
    assert not (folder / "rules.toml").exists() and (folder / "units.csv").read_text(encoding="utf-8") == "code,name\n"
    code, output = invoke("init", tmp_path / "other", "--province", 'Tỉnh "X", Y')
    assert code == 2 and "--province" in output and not (tmp_path / "other").exists()


def test_the_helps_real_province_steps_work_as_typed(tmp_path, monkeypatch, no_smtp_password) -> None:
    monkeypatch.chdir(tmp_path)
    typed = quick_start(invoke("--help")[1], "A real province:")
    assert typed[0].startswith("auditbot init") and typed[-1].startswith("auditbot validate")
    for line in typed:
        code, output = invoke(*line.split()[1:])
        assert code == 0, f"{line}: {output}"


def test_the_systemd_unit_ships_in_the_package_and_never_restarts_on_a_config_error() -> None:
    code, output = invoke("systemd-unit")
    assert code == 0
    settings = dict(line.split("=", 1) for line in output.splitlines() if "=" in line and not line.startswith("#"))
    assert "2" in settings["RestartPreventExitStatus"].split()  # rules.toml is wrong: a person must fix it
    assert "3" in settings["RestartPreventExitStatus"].split()
    assert settings["Restart"] == "on-failure" and settings["ExecStart"].endswith("auditbot run --config"
                                                                                  " /etc/auditbot/rules.toml")
    repository = Path(__file__).parents[1] / "contrib" / "auditbot.service"  # the repository's path still holds it
    assert repository.read_text(encoding="utf-8") == output


def test_inits_units_sheet_keeps_its_vietnamese_notes_as_excel_saves_it(tmp_path) -> None:
    folder = tmp_path / "tinh"
    assert invoke("init", folder, "--province", "Thanh Hóa")[0] == 0
    text = (folder / "units.csv").read_text(encoding="utf-8-sig")
    assert text.startswith("code (Mã đơn vị),name (Tên đơn vị),kind (Loại")  # the key, then what it holds
    # saved again by Excel as plain "CSV" on a Vietnamese PC (Windows-1258): still read, notes and all
    header = text.splitlines()[0]
    (folder / "units.csv").write_bytes(header.encode("cp1258", errors="ignore") + b"\r\n"
                                       + b"STP,S\xf5\xd2 T\xfd ph\xe1p,so,,a@example.gov.vn\r\n"
                                       + b"XA_MAU,X\xe3 M\xe2\xecu,xa,,b@example.gov.vn\r\n")
    code, output = invoke("validate", "--config", folder / "rules.toml")
    assert code == 0, output
    assert "Thanh Hóa: 2 đơn vị (Sở, ban, ngành; Xã, phường)" in output
