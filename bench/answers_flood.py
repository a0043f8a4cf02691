"""Benchmark: the units' answer page under a flood of 1.000 requests a second for a minute.

    python bench/answers_flood.py [--seconds 60] [--rate 1000]

The sample province (`auditbot demo` in a scratch folder) with [answers] base_url set, its letters written to
the outbox so that each unit has a link, and `auditbot serve` on 127.0.0.1. Debian's h2load sends at a fixed
rate (an open loop): half wrong tokens, and a leaked link's page and a replayed form of it. Meanwhile another
unit opens its own page 18 times. The peer is that same page on the same server, idle, timed just
before the flood. Targets: the rate offered is served, every request answered and none 5xx; the unit's
page takes ≤ 10× its idle time (median); serve's peak memory ≤ 400 MB; the replayed form is stored once.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
import h2load  # noqa: E402  (tests/h2load.py: the same driver the hostile-input test uses)

from bench.results import record, verdict  # noqa: E402

READS_IDLE, READS_FLOODED = 10, 18  # together under a link's 30 requests a minute
LINK = re.compile(r"http://127\.0\.0\.1:\d+/tra-loi/[A-Za-z0-9_-]+")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def auditbot(folder: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "auditbot", *args], cwd=folder, check=True, stdout=subprocess.DEVNULL)


def province(folder: Path, port: int) -> dict[str, str]:
    """The sample province, audited, with its letters' links: unit code -> link."""
    auditbot(folder.parent, "demo", "--dir", str(folder), "-q")
    rules = folder / "rules.toml"
    text = rules.read_text(encoding="utf-8")
    rules.write_text(text.replace('# base_url = "https://tthc.example.gov.vn"', f'base_url = "http://127.0.0.1:{port}"'),
                     encoding="utf-8")
    auditbot(folder, "report", "--config", str(rules), "--outbox", str(folder / "letters"))
    links = {}
    for path in sorted((folder / "letters").rglob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(("plain",))
        found = LINK.search(body.get_content()) if body is not None else None
        if found:
            links[path.name.split("--")[0]] = found[0]
    assert len(links) >= 2, "the sample's letters carry links"
    return links


def serve(folder: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "auditbot", "serve", "--port", str(port), "--config",
                                str(folder / "rules.toml")], cwd=folder, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/-/versions.json", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("serve did not answer within 60 s")


def page_seconds(client: httpx.Client, link: str) -> float:
    started = time.perf_counter()
    answer = client.get(link)
    assert answer.status_code == 200, answer.status_code
    return time.perf_counter() - started


def peak_kb(process: subprocess.Popen[bytes]) -> int:
    status = Path(f"/proc/{process.pid}/status").read_text(encoding="utf-8")
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found[1]) if found else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--rate", type=int, default=1000, help="requests a second, all streams together")
    args = parser.parse_args()
    assert args.rate % 100 == 0, "--rate in hundreds: it is split over the streams' connections"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="auditbot-flood-") as scratch:
        folder = Path(scratch) / "province"
        links = province(folder, port)
        (leaked_unit, leaked), (unit, own) = sorted(links.items())[:2]
        process = serve(folder, port)
        try:
            with httpx.Client(timeout=30) as client:
                page = client.get(leaked).text
                finding = re.search(r'name="finding" value="([0-9a-f]{12})"', page)
                nonce = re.search(r'name="nonce" value="([^"]+)"', page)
                assert finding and nonce, "the leaked link's page offers a form"
                form = Path(scratch) / "replayed.form"
                form.write_text(urlencode({"finding": finding[1], "nonce": nonce[1], "kind": "fixed"}), encoding="ascii")
                idle = [page_seconds(client, own) for _ in range(READS_IDLE)]
                streams = [h2load.Stream(f"http://127.0.0.1:{port}/tra-loi/{'x' * 43}", args.rate // 2, clients=10),
                           h2load.Stream(leaked, args.rate * 3 // 10, body=form),
                           h2load.Stream(leaked, args.rate // 5)]
                started = time.monotonic()
                floods = h2load.flood(streams, args.seconds)
                during = []
                while time.monotonic() - started < args.seconds - 1 and len(during) < READS_FLOODED:
                    during.append(page_seconds(client, own))
                    time.sleep(max(0.0, (args.seconds - 2) / READS_FLOODED - during[-1]))
                outcomes = [h2load.outcome(f, args.seconds) for f in floods]
        finally:
            peak = peak_kb(process)
            process.terminate()
            process.wait(timeout=30)
        with sqlite3.connect(folder / "var" / "auditbot.db") as db:
            stored = db.execute("SELECT count(*) FROM answers WHERE finding_id = ?", (finding[1],)).fetchone()[0]

    served = sum(o.done for o in outcomes) / args.seconds
    failed = sum(o.errored + o.timeout + o.statuses["5xx"] + (o.total - o.done) for o in outcomes)
    slowdown = statistics.median(during) / statistics.median(idle)
    print(f"flood: {args.rate} requests/s offered for {args.seconds} s (wrong tokens, {leaked_unit}'s leaked link"
          f" and a replayed form); {unit}'s own page read {len(during)} times meanwhile")
    print(f"served: {served:.0f} requests/s ({served / args.rate:.2f} of the rate offered)"
          f"  {verdict(served >= 0.95 * args.rate)} (target ≥ 0.95)")
    print(f"failed on our side (errors, time-outs, 5xx, unanswered): {failed}  {verdict(failed == 0)} (target 0)")
    print(f"{unit}'s page, median: idle {statistics.median(idle) * 1000:.1f} ms, flooded"
          f" {statistics.median(during) * 1000:.1f} ms; ratio {slowdown:.2f}  {verdict(slowdown <= 10)} (target ≤ 10)")
    print(f"serve's peak memory: {peak / 1024:.0f} MB  {verdict(peak <= 400 * 1024)} (target ≤ 400 MB)")
    print(f"the replayed form stored: {stored} time(s)  {verdict(stored == 1)} (target 1)")
    record("answers_flood", {"rate_offered": args.rate, "seconds": args.seconds, "rate_served": round(served),
                             "failed": failed, "page_idle_ms": round(statistics.median(idle) * 1000, 1),
                             "page_flooded_ms": round(statistics.median(during) * 1000, 1),
                             "page_slowdown": round(slowdown, 2), "peak_mb": round(peak / 1024),
                             "replay_stored": stored})


if __name__ == "__main__":
    main()
