"""Benchmark: the portal link checker against the ideal, on a local portal with injected latency.

    python bench/links.py [--urls 5000] [--latency 0.05] [--flaky 0.05]

A portal stand-in runs in its own process on 127.0.0.1: every procedure page answers after
`--latency` seconds, and a `--flaky` share of first requests answers 503 (fine on retry). auditbot
checks the N distinct URLs (what 40.000 posted links deduplicate to) with per-host concurrency 4 and
no rate cap, and the bench prints its wall time against the ideal N × latency ÷ concurrency, the
requests the server saw, and how many links were wrongly called broken (must be 0).
Not yet measured here: lychee and LinkChecker on the same list (issue 5 names them as peers).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from auditbot.config import load_config  # noqa: E402
from auditbot.localsites import LoopbackTransport  # noqa: E402
from auditbot.sources.portal import check_urls  # noqa: E402


def serve(latency: float, flaky: float) -> None:
    """The stand-in: prints its port, then answers until killed; the last line of stderr counts requests."""
    rng, failed = random.Random(1), set()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall

        def do_GET(self) -> None:
            time.sleep(latency)
            status = 200
            if self.path != "/" and self.path not in failed and rng.random() < flaky:
                failed.add(self.path)
                status = 503
            body = b"<div id='chi-tiet-tthc'></div>"
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            Handler.count += 1

        def log_message(self, format: str, *args: Any) -> None:
            pass

    Handler.count = 0  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print(Handler.count, file=sys.stderr, flush=True)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--urls", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--flaky", type=float, default=0.05)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.latency, args.flaky)
    with tempfile.TemporaryDirectory() as scratch:
        rules = Path(scratch) / "rules.toml"
        rules.write_text('[province]\nname = "Bench"\ntimezone = "Asia/Ho_Chi_Minh"\n[[units]]\ncode = "U"\n'
                         'name = "U"\nkind = "xa"\nemails = ["u@example.gov.vn"]\n[email]\nsender = "b@example.gov.vn"\n'
                         "[portal]\nrate_per_second = 100000\nbackoff_seconds = 0.1\n", encoding="utf-8")
        config = load_config(rules)
    config = dataclasses.replace(config, portal=dataclasses.replace(config.portal, breaker_window=10_000))
    urls = [f"https://dichvucong.gov.vn/thu-tuc-hanh-chinh/{1_000_000 + n}" for n in range(args.urls)]
    server = subprocess.Popen([sys.executable, __file__, "--serve", "--latency", str(args.latency),
                               "--flaky", str(args.flaky)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        transport = LoopbackTransport(int(server.stdout.readline()), ("dichvucong.gov.vn",))
        start = time.perf_counter()
        results, tripped = asyncio.run(check_urls(config, urls, transport))
        wall = time.perf_counter() - start
    finally:
        server.send_signal(2)
        _, err = server.communicate(timeout=30)
    requests = int(err.strip().splitlines()[-1])
    ideal = args.urls * args.latency / config.portal.concurrency
    broken = sum(r.outcome == "broken" for r in results)
    print(f"{args.urls} URLs, latency {args.latency * 1000:.0f} ms, {args.flaky:.0%} first answers 503,"
          f" concurrency {config.portal.concurrency}")
    print(f"auditbot {wall:.2f} s   ideal {ideal:.2f} s   ratio {wall / ideal:.3f}   requests {requests}"
          f" (URLs + retries + canary)   false broken {broken}   breaker {tripped or 'not tripped'}")


if __name__ == "__main__":
    main()
