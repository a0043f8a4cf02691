"""Requests auditbot must never make: listing pages and redirects cannot send it elsewhere, and the link
checker asks the portal only.

README "What auditbot guarantees" points here."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import RULES, Province
from conftest import run_cli as cli
from hypothesis import HealthCheck, settings

from auditbot.config.origins import Origins
from auditbot.config.rules import load_config
from auditbot.demo.sites import LoopbackTransport
from auditbot.sources.portal import check_urls

UNIT_NAMES = ["Sở Tư pháp", "Sở Xây dựng", "UBND xã Quảng Phú"]
CASES = int(os.environ.get("AUDITBOT_FUZZ_CASES", "120"))  # `AUDITBOT_FUZZ_CASES=2000 make test` digs deeper
FUZZ = settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck))

class Recorder(ThreadingHTTPServer):
    def __init__(self, routes: dict[str, tuple[int, dict[str, str], str]]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.routes, self.seen, self.hosts = routes, [], []  # type: ignore[var-annotated]
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()


class Handler(BaseHTTPRequestHandler):
    server: Recorder

    def do_GET(self) -> None:
        self.server.seen.append(self.path)
        self.server.hosts.append(self.headers.get("Host") or "")
        status, headers, body = self.server.routes.get(self.path.split("?")[0], (404, {}, "không có"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        data = body.encode()
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def trap() -> Iterator[Recorder]:
    server = Recorder({})
    yield server
    server.shutdown()
    server.server_close()


def test_listing_pages_cannot_send_auditbot_elsewhere(tmp_path: Path, trap: Recorder) -> None:
    t = trap.port
    page = f"""<html><body><table>
      <tr><td>1.000894</td><td><a href="https://dichvucong.gov.vn/thu-tuc-hanh-chinh/1.000894">Đăng ký kết hôn</a></td></tr>
      <tr><td>1.001193</td><td><a href="http://127.0.0.1:{t}/steal">Đăng ký khai sinh</a></td></tr>
      <tr><td>2.001035</td><td><a href="file:///etc/passwd">Chứng thực chữ ký</a></td></tr>
      <tr><td>2.000908</td><td><a href="http://10.0.0.1/admin">Cấp bản sao trích lục hộ tịch</a></td></tr>
    </table><a rel="next" href="http://127.0.0.1:{t}/tthc?page=2">Trang sau</a></body></html>"""
    site = Recorder({"/tthc": (200, {}, page), "/moved": (302, {"Location": f"http://127.0.0.1:{t}/stolen"}, ""),
                     "/to-file": (302, {"Location": "file:///etc/passwd"}, "")})
    try:
        rules = RULES.format(extra="").replace(
            'emails = ["stp@example.gov.vn"]', f'emails = ["stp@example.gov.vn"]\nlisting_urls = ["http://127.0.0.1:{site.port}/tthc"]'
        ).replace('emails = ["sxd@example.gov.vn"]', f'emails = ["sxd@example.gov.vn"]\nlisting_urls = ["http://127.0.0.1:{site.port}/moved", "http://127.0.0.1:{site.port}/to-file"]')
        province = Province(tmp_path)
        province.rules.write_text(rules + '\n[listings]\ndelay_seconds = 0\n', encoding="utf-8")
        result = cli(province, "check", "--checks", "listing,source", "--format", "json")
        assert result.returncode in (0, 1), result.stderr
        assert trap.seen == [], f"auditbot asked a host rules.toml never named: {trap.seen}"
        assert sorted(site.seen) == ["/moved", "/to-file", "/tthc"]
        findings = json.loads(result.stdout)
        unreadable = [f for f in findings if f["check"] == "source.unreadable"]
        assert sorted((f["unit"], f["subject"].rsplit("/", 1)[1]) for f in unreadable) == [("SXD", "moved"), ("SXD", "to-file")]
        assert all(f["details"]["error"].startswith("trang dẫn đến địa chỉ ngoài các tên miền được phép hỏi")
                   for f in unreadable)
    finally:
        site.shutdown()
        site.server_close()


def test_only_the_portals_own_hosts_and_ports_are_allowed() -> None:
    portal = Origins.of(hosts=["dichvucong.gov.vn"])
    assert portal.allows("https://dichvucong.gov.vn/thu-tuc-hanh-chinh/1.000894")
    for url in ("https://dichvucong.gov.vn:8443/x", "http://127.0.0.1/", "file:///etc/passwd", "ftp://dichvucong.gov.vn/",
                "https://evil.example/", "https://dichvucong.gov.vn.evil.example/", "http://[::1]/", "not a url"):
        assert not portal.allows(url), url
    sites = Origins.of(urls=["http://stp.example.gov.vn/tthc", "http://127.0.0.1:8123/x"])
    assert sites.allows("https://www.stp.example.gov.vn/tthc?page=2") and sites.allows("http://127.0.0.1:8123/y")
    assert not sites.allows("http://127.0.0.1:8124/y") and not sites.allows("http://sxd.example.gov.vn/")


def test_the_link_checker_asks_the_portal_only(tmp_path: Path) -> None:
    """A portal redirect to another host, or a posted link on another port, is judged without a request."""
    portal = Recorder({"/": (200, {}, "Cổng DVCQG"),
                       "/thu-tuc-hanh-chinh/1.000001": (302, {"Location": "https://trap.example.gov.vn/steal"}, ""),
                       "/thu-tuc-hanh-chinh/1.000003": (200, {}, "<div>Đăng ký kết hôn</div>")})
    try:
        config = load_config(Province(tmp_path).rules)
        transport = LoopbackTransport(portal.port, ("dichvucong.gov.vn", "example.gov.vn"))
        urls = ["https://dichvucong.gov.vn/thu-tuc-hanh-chinh/1.000001",
                "https://dichvucong.gov.vn:8443/thu-tuc-hanh-chinh/1.000002",
                "https://dichvucong.gov.vn/thu-tuc-hanh-chinh/1.000003"]
        results, tripped = asyncio.run(check_urls(config, urls, transport))
        assert tripped is None
        verdicts = {r.url.rsplit("/", 1)[1]: (r.outcome, r.reason) for r in results}
        assert verdicts == {"1.000001": ("broken", "off_portal"), "1.000002": ("broken", "off_portal"),
                            "1.000003": ("ok", None)}
        assert set(portal.hosts) == {"dichvucong.gov.vn"}, portal.hosts  # never trap.example.gov.vn, never :8443
        assert sorted(portal.seen) == ["/", "/thu-tuc-hanh-chinh/1.000001", "/thu-tuc-hanh-chinh/1.000003"]
    finally:
        portal.shutdown()
        portal.server_close()
