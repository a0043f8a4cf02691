"""Personal data planted in an export reaches no table, log line, letter or attachment.

README "What auditbot guarantees" points here."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import sqlite3
import zipfile
from pathlib import Path

from aiosmtpd.controller import Controller
from conftest import RULES, Province, province_today
from conftest import run_cli as cli
from hypothesis import HealthCheck, settings
from loopback import Sink, email_rules, free_port

from auditbot.demo.samplegen import make_dossiers, windows_1258_form, write_csv, write_xlsx

UNIT_NAMES = ["Sở Tư pháp", "Sở Xây dựng", "UBND xã Quảng Phú"]
CASES = int(os.environ.get("AUDITBOT_FUZZ_CASES", "120"))  # `AUDITBOT_FUZZ_CASES=2000 make test` digs deeper
FUZZ = settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck))

PLANTED_NAMES = ["Nguyễn Thị Bíẩnxyz", "Trần Văn Qwertyũ"]
PLANTED_IDS = ["038099123457", "001188776655"]
PLANTED_PHONES = ["0987001234", "0912009876"]


def test_planted_personal_data_reaches_no_table_log_email_or_attachment(tmp_path: Path) -> None:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        province = Province(tmp_path)
        province.rules.write_text(RULES.format(extra=email_rules(controller.port)), encoding="utf-8")
        dossiers = list(make_dossiers(40, UNIT_NAMES, province_today(), seed=3))
        planted = [dataclasses.replace(d, citizen=PLANTED_NAMES[i % 2], citizen_id=PLANTED_IDS[i % 2],
                                       phone=PLANTED_PHONES[i % 2]) for i, d in enumerate(dossiers)]
        write_xlsx(province.root / "exports" / "thang-11.xlsx", planted[:20])
        write_csv(province.root / "exports" / "thang-11.csv", planted[20:], encoding="cp1258")
        with (province.root / "exports" / "thang-11.csv").open("a", encoding="cp1258", newline="") as handle:
            # a row the importer rejects (a date that does not exist) carries them too
            bad = ["99", "BAD-ROW-1", "1.000894", "Đăng ký kết hôn", PLANTED_NAMES[0], PLANTED_IDS[0], PLANTED_PHONES[0],
                   "Sở Tư pháp", "Trực tiếp", "31/02/2026", "", "", "Hoàn thành", "0", "", "", ""]
            csv.writer(handle).writerow([windows_1258_form(cell) for cell in bad])
        logs = ""
        for args in (["import", "dossiers"], ["check", "--offline", "--format", "json"],
                     ["report", "--outbox", str(tmp_path / "outbox")], ["report", "--send"]):
            result = cli(province, *args)
            assert result.returncode in (0, 1), (args, result.stderr)
            logs += result.stdout + result.stderr
        with sqlite3.connect(province.db_path) as conn:
            assert conn.execute("SELECT count(*) FROM rejected_rows").fetchone()[0] >= 1
            assert conn.execute("SELECT count(*) FROM dossiers").fetchone()[0] >= 39
        assert sink.received, "letters were sent"
        texts = {"logs": logs}
        for path in [province.db_path, *province.root.glob("audit.db-*")]:
            texts[path.name] = path.read_bytes().decode("utf-8", errors="ignore")
        for rcpts, message in sink.received:
            rcpt = ", ".join(rcpts)
            for part in message.walk():
                payload = part.get_payload(decode=True)
                if not payload:
                    continue
                if part.get_filename():
                    with zipfile.ZipFile(io.BytesIO(payload)) as xlsx:
                        texts[f"xlsx to {rcpt}"] = "".join(xlsx.read(n).decode("utf-8", errors="ignore")
                                                           for n in xlsx.namelist())
                else:
                    texts[f"email to {rcpt}"] = payload.decode("utf-8", errors="ignore")
        for eml in (tmp_path / "outbox").rglob("*.eml"):
            texts[eml.name] = eml.read_bytes().decode("utf-8", errors="ignore")
        assert any(name.startswith("xlsx") for name in texts)
        for secret in [*PLANTED_NAMES, "Biẩnxyz", "Qwertyũ", *PLANTED_IDS, *PLANTED_PHONES]:
            for where, text in texts.items():
                assert secret not in text, f"{secret!r} found in {where}"
    finally:
        controller.stop()
