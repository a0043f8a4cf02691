"""Benchmark: the weekly job's letters for a province, rendered and sent to a local SMTP server.

    python bench/report.py [--units 200] [--overdue 40]

Seeds a store with N units' open findings (--overdue overdue dossiers each, three rate findings,
listing and link findings), then times `auditbot report --send` end to end: 200 digests with their
XLSX annexes, the provincial summary, the outbox ledger and delivery over one SMTP connection to an
aiosmtpd server in its own process on 127.0.0.1. The peer is the floor: the same finished messages
sent again with bare smtplib over one connection (no rendering, no ledger). Target: ≤ 3× the floor.
"""

from __future__ import annotations

import argparse
import smtplib
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from auditbot import commands
from auditbot.checking.types import Finding
from auditbot.config.rules import load_config
from auditbot.domain.clock import local_now
from auditbot.store import Scope, Store
from bench.results import record, verdict

CHECKS = ("dossier.overdue", "rate.digitisation", "rate.online", "rate.online_payment", "listing.missing",
          "link.broken")


def rules(units: int, port: int) -> str:
    blocks = [f'[[units]]\ncode = "U{n:03d}"\nname = "Xã Thử Nghiệm số {n}"\nkind = "{"so" if n < 20 else "xa"}"\n'
              f'emails = ["u{n:03d}@example.gov.vn"]\nhead_emails = ["lanhdao.u{n:03d}@example.gov.vn"]\n'
              for n in range(units)]
    return ('[province]\nname = "Thử Nghiệm"\n' + "".join(blocks) +
            f'[email]\nsender = "kiemsoat@example.gov.vn"\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\n'
            'security = "none"\ncentre = ["centre@example.gov.vn", "lanhdao@example.gov.vn"]\n')


def seed(config_path: Path, overdue: int) -> int:
    config = load_config(config_path)
    store = Store.open(config)
    now = local_now(config)
    count = 0
    for age, share in ((timedelta(weeks=8), 2), (timedelta(hours=1), 1)):  # old findings, then this week's
        at = now - age
        produced = []
        for unit in config.units:
            for n in range(overdue // share):
                produced.append(Finding("dossier.overdue", unit.code, f"{unit.code}-HS-{n:05d}",
                                        f"Hồ sơ {unit.code}-HS-{n:05d} quá hạn {n + 1} ngày", details={
                                            "code": f"{unit.code}-HS-{n:05d}", "procedure_name": "Đăng ký khai sinh",
                                            "received_at": "2026-10-01 08:00:00", "due_at": "2026-10-04 17:00:00",
                                            "days_overdue": n + 1}))
            for check in CHECKS[1:4]:
                produced.append(Finding(check, unit.code, "Q4/2026", f"{check} dưới ngưỡng", details={
                    "period": "Q4/2026", "numerator": 41, "denominator": 70, "rate": 58.57, "threshold": 70}))
            produced.append(Finding("listing.missing", unit.code, "2.000908", "Thủ tục 2.000908 chưa niêm yết",
                                    details={"code": "2.000908", "name": "Cấp bản sao trích lục hộ tịch"}))
            produced.append(Finding("link.broken", unit.code, "1.001193", "Liên kết bị lỗi: HTTP 404",
                                    details={"page": "https://example.gov.vn/tthc"}))
        scope = Scope(frozenset(CHECKS), frozenset(u.code for u in config.units))
        run_id = store.start_run("bench", "check", scope, at)
        store.record(run_id, scope, produced, at)
        store.finish_run(run_id, at)
        count = len(produced)
    store.close()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--overdue", type=int, default=40)
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                               "-c", "aiosmtpd.handlers.Sink"])
    try:
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / "rules.toml"
            path.write_text(rules(args.units, port), encoding="utf-8")
            findings = seed(path, args.overdue)
            time.sleep(0.5)  # the SMTP server is listening by now
            config = load_config(path)
            start = time.perf_counter()
            outcome = commands.report(config, None, send=True)
            wall = time.perf_counter() - start
            assert outcome.delivery is not None and not outcome.delivery.failed, outcome.delivery
            with sqlite3.connect(config.database) as conn:
                messages = [(r, m) for r, m in conn.execute("SELECT recipient, message FROM outbox")]
            start = time.perf_counter()
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                for recipient, message in messages:
                    smtp.sendmail(config.email.sender, [recipient], message)
            floor = time.perf_counter() - start
            size = sum(len(m) for _, m in messages)
    finally:
        server.terminate()
        server.wait()
    print(f"{args.units} units, {findings} open findings, {len(messages)} letters, {size / 1e6:.1f} MB sent")
    print(f"auditbot report --send  {wall:6.2f} s")
    print(f"bare smtplib, same bytes {floor:6.2f} s")
    print(f"ratio auditbot / smtplib: {wall / floor:.2f}  {verdict(wall / floor <= 3.0)} (target ≤ 3)")
    record("letters", {"units": args.units, "letters": len(messages), "megabytes": round(size / 1e6, 1),
                       "auditbot_s": round(wall, 2), "smtplib_s": round(floor, 2), "to_smtplib": round(wall / floor, 2)})


if __name__ == "__main__":
    main()
