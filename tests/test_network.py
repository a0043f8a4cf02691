"""auditbot's own outage is not the units' fault: with no way out (host names under .invalid that no
resolver knows, canaries on closed loopback ports), one centre finding and no unit judged; one unit's
own dead domain while the canaries answer is still that unit's note."""

from __future__ import annotations

import csv
import email
import email.policy
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from loopback import email_rules, free_port

from auditbot import commands
from auditbot.cli import cli
from auditbot.config.rules import Config, load_config
from auditbot.demo.sites import LoopbackTransport

DOMAIN = "thu-nghiem.invalid"  # RFC 2606: never resolves, wherever the test runs
CATALOGUE = {"1.000001": "Đăng ký khai sinh", "1.000002": "Đăng ký kết hôn", "1.000003": "Đăng ký khai tử",
             "1.000004": "Đăng ký giám hộ"}
POSTED = ("1.000001", "1.000002", "1.000003")  # 1.000004 is missing everywhere
UNREADABLE_NOTE = "không đọc được trang niêm yết"  # the unit letter's note (templates/digest.txt)


class Sites(BaseHTTPRequestHandler):
    """Every commune's listing page, whatever the host: three of the four procedures, no portal link."""

    def do_GET(self) -> None:
        rows = "".join(f"<tr><td>{n}</td><td>{code}</td><td>{CATALOGUE[code]}</td></tr>"
                       for n, code in enumerate(POSTED, 1))
        body = (f"<html><body><h1>Thủ tục hành chính</h1><table><tr><th>STT</th><th>Mã</th><th>Tên thủ tục</th></tr>"
                f"{rows}</table></body></html>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def sites() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sites)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


class Network:
    """A province of communes whose sites live under .invalid (served on loopback only through the test's
    transport: "the network is up"), and whose canaries are closed loopback ports unless told otherwise."""

    UNITS = ("XA_A", "XA_B", "XA_C", "XA_D")

    def __init__(self, root: Path, port: int, home: str | None = None, urls: dict[str, str] | None = None,
                 extra: str = "") -> None:
        self.root, self.port = root, port
        closed, other = free_port(), free_port()
        home = home or f"http://127.0.0.1:{closed}/"
        host = home.split("/")[2]
        urls = {code: f"http://{code.lower().replace('_', '-')}.{DOMAIN}/tthc" for code in self.UNITS} | (urls or {})
        units = "".join(f'[[units]]\ncode = "{code}"\nname = "Xã {code[-1]}"\nkind = "xa"\n'
                        f'emails = ["{code.lower()}@example.gov.vn"]\nlisting_urls = ["{url}"]\n'
                        for code, url in urls.items())
        self.rules = root / "rules.toml"
        self.rules.write_text(
            f'[province]\nname = "Thử Nghiệm"\n[database]\npath = "audit.db"\n{units}'
            f'[sources]\ncatalogue = "catalogue.csv"\n[listings]\ndelay_seconds = 0\ntimeout_seconds = 5\n'
            f'[portal]\nhome = "{home}"\nhosts = ["{host}", "dichvucong.gov.vn"]\n'
            f'[network]\ncanaries = ["http://127.0.0.1:{other}/"]\ntimeout_seconds = 5\n'
            f'{email_rules(free_port())}{extra}', encoding="utf-8")
        with (root / "catalogue.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Mã thủ tục", "Tên thủ tục", "Cấp thực hiện", "Tình trạng"])
            writer.writerows((code, name, "Cấp xã", "Còn hiệu lực") for code, name in CATALOGUE.items())
        self.config: Config = load_config(self.rules, commands.known_check_ids)
        commands.import_catalogue_file(self.config, None)

    def check(self, *units: str, up: bool) -> None:
        """`check` now; `up`: the sites' names reach the loopback server, as they would with a network."""
        transport = LoopbackTransport(self.port, (DOMAIN,)) if up else None
        result = commands.check(self.config, list(units), not units, None, transport=transport)
        assert not result.errors, result.errors

    def run(self, *args: str) -> Any:
        return CliRunner().invoke(cli, [*args, "--config", str(self.rules)], catch_exceptions=False)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with sqlite3.connect(self.root / "audit.db") as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql, params)]

    def findings(self, *, centre: bool) -> dict[tuple[str, str, str], str]:
        """(check, unit, subject) -> status, of the centre's own findings or of the units'."""
        return {(r["check_id"], r["unit"], r["subject"]): r["status"]
                for r in self.query("SELECT * FROM findings") if (r["unit"] == "_centre") == centre}

    def unit_events(self) -> int:
        return len(self.query("SELECT e.id FROM finding_events e JOIN findings f ON f.id = e.finding_id"
                              " WHERE f.unit != '_centre'"))


@pytest.fixture
def network(tmp_path: Path, sites: int) -> Network:
    return Network(tmp_path, sites)


def test_our_outage_is_one_centre_finding_and_no_unit_is_opened_or_resolved(network: Network, tmp_path: Path) -> None:
    network.check(up=True)
    before = network.findings(centre=False)
    assert ("listing.missing", "XA_A", "1.000004") in before and set(before.values()) == {"open"}
    assert not any(check == "source.unreadable" for check, _, _ in before)
    events = network.unit_events()

    network.check(up=False)  # no name resolves, no canary answers

    assert network.findings(centre=False) == before  # nothing opened, nothing resolved: every unit is out of scope
    assert network.unit_events() == events
    [outage] = [f for f in json.loads(network.run("findings", "--format", "json").stdout) if f["unit"] == "_centre"]
    assert outage["check"] == "network.unavailable"
    details = outage["details"]
    assert (details["units_failed"], details["units_asked"], details["failure"]) == (4, 4, "dns")
    assert [c["failure"] for c in details["canaries"]] == ["refused", "refused"]
    assert "không phân giải được tên miền" in outage["title"] and "4/4 đơn vị" in outage["title"]

    out = tmp_path / "out"
    assert network.run("report", "--outbox", str(out)).exit_code == 0
    letters = {path.name.split("--")[0]: email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                   .get_body(("plain",)).get_content() for path in out.rglob("*.eml")}
    summary = letters.pop("summary")
    assert "Hệ thống kiểm soát không kết nối được ra ngoài" in summary  # the centre hears of it
    assert set(letters) == set(Network.UNITS)  # the units' open findings still go out
    for unit, text in letters.items():
        assert UNREADABLE_NOTE not in text and "kiểm tra lại trang" not in text, unit


def test_an_unreadable_page_from_before_the_outage_stays_open(tmp_path: Path, sites: int) -> None:
    gone = "http://xa-d.khong-con.invalid/tthc"  # not served even while the network is up
    network = Network(tmp_path, sites, urls={"XA_D": gone})
    network.check(up=True)  # only XA_D fails: one unit of four is no pattern, no canary is asked
    assert network.findings(centre=False)[("source.unreadable", "XA_D", gone)] == "open"
    assert not network.query("SELECT * FROM network_checks WHERE canaries != '[]'")
    before = network.findings(centre=False)

    network.check(up=False)

    assert network.findings(centre=False) == before
    assert set(network.findings(centre=True)) == {("network.unavailable", "_centre", "network")}


def test_one_unit_whose_own_domain_is_gone_is_still_its_note(tmp_path: Path, sites: int) -> None:
    urls = {code: f"http://127.0.0.1:{sites}/{code}/tthc" for code in Network.UNITS}
    dead = "http://xa-c.khong-con.invalid/tthc"
    network = Network(tmp_path, sites, home=f"http://127.0.0.1:{sites}/", urls={**urls, "XA_C": dead})

    network.check(up=False)  # the real network, such as it is: loopback answers, .invalid does not resolve
    assert network.findings(centre=False)[("source.unreadable", "XA_C", dead)] == "open"
    assert not network.findings(centre=True)

    network.check("XA_C", up=False)  # alone, it is every unit asked: the canaries are asked, and answer
    [canaries] = [json.loads(r["canaries"]) for r in network.query("SELECT * FROM network_checks WHERE canaries != '[]'")]
    assert canaries[0] == {"url": f"http://127.0.0.1:{sites}/", "failure": None}
    assert network.findings(centre=False)[("source.unreadable", "XA_C", dead)] == "open"
    assert not network.findings(centre=True)


def test_the_network_back_resolves_the_centre_finding_and_changes_nothing_else(network: Network) -> None:
    network.check(up=True)
    before = network.findings(centre=False)
    network.check(up=False)
    assert network.findings(centre=True) == {("network.unavailable", "_centre", "network"): "open"}

    network.check(up=True)

    assert network.findings(centre=True) == {("network.unavailable", "_centre", "network"): "resolved"}
    assert network.findings(centre=False) == before
    state = json.loads(network.run("status", "--format", "json").stdout)
    assert state["network"]["reachable"] is True and state["network"]["cause"] is None
    assert "mạng: kết nối bình thường" in network.run("status").stdout


def test_a_link_run_with_the_portal_and_canaries_unreachable_blames_no_link(network: Network) -> None:
    network.check(up=True)  # the listings are read (no portal link is posted: link.missing, nothing to ask)
    with sqlite3.connect(network.root / "audit.db") as conn:  # now every item links its portal page
        conn.execute("UPDATE listing_items SET links = json_array('https://dichvucong.gov.vn/thu-tuc-hanh-chinh/'"
                     " || code)")
    commands.gather_links(network.config)  # the daemon's links job: the home first, refused

    run = network.query("SELECT tripped, network_down FROM portal_runs ORDER BY id DESC LIMIT 1")[0]
    assert run["network_down"] == 1
    found = commands.check(network.config, [], True, ["link", "portal", "network"], offline=True)
    checks = {f["check"] for f in found.findings}
    assert "link.broken" not in checks and "portal.unavailable" not in checks
    assert "network.unavailable" in checks


def test_the_daemon_warns_and_status_shows_the_outage(network: Network) -> None:
    with network.rules.open("a", encoding="utf-8") as handle:
        handle.write('[schedule]\nlistings = "every 1 second"\n')
    process = subprocess.Popen([sys.executable, "-m", "auditbot.cli", "run", "--config", str(network.rules)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _job_runs(network, "warning"):
            assert time.monotonic() < deadline and process.poll() is None, "no listings run recorded"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=30)
    assert "WARNING" in log and "job listings: auditbot's own network is down" in log, log
    assert "job listings ok" not in log
    [run] = _job_runs(network, "warning")[:1]
    assert "4/4 units' sites failed alike (dns)" in run["error"]

    shown = network.run("status")
    assert "MẠNG: hệ thống kiểm soát không kết nối được ra ngoài" in shown.stdout
    assert "4/4 đơn vị không đọc được trang niêm yết" in shown.stdout
    state = json.loads(network.run("status", "--format", "json").stdout)
    assert state["network"]["reachable"] is False and state["network"]["failure"] == "dns"
    assert [job["last_status"] for job in state["jobs"]] == ["warning"]


def _job_runs(network: Network, status: str) -> list[dict[str, Any]]:
    try:
        return network.query("SELECT * FROM runs WHERE command = 'job:listings' AND status = ?", (status,))
    except sqlite3.OperationalError:  # the daemon has not made the database yet
        return []


def test_sites_that_take_the_connection_and_never_answer_are_theirs_not_our_outage(tmp_path: Path, sites: int) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (the kernel's backlog), never answers
        urls = {code: f"http://127.0.0.1:{silent.getsockname()[1]}/{code}/tthc" for code in Network.UNITS}
        network = Network(tmp_path, sites, urls=urls)
        network.rules.write_text(network.rules.read_text(encoding="utf-8").replace(
            "timeout_seconds = 5\n[portal]", "timeout_seconds = 0.5\n[portal]"), encoding="utf-8")
        network.config = load_config(network.rules, commands.known_check_ids)
        network.check(up=False)  # every site times out, every canary is refused: but the sites were reached
    assert {unit for check, unit, _ in network.findings(centre=False) if check == "source.unreadable"} \
        == set(Network.UNITS)
    assert not network.findings(centre=True)


def test_canaries_are_validated(tmp_path: Path, sites: int) -> None:
    network = Network(tmp_path, sites)
    network.rules.write_text(network.rules.read_text(encoding="utf-8").replace(
        'canaries = ["http', 'canaries = ["ftp://gov.vn/", "http'), encoding="utf-8")
    result = network.run("validate")
    assert result.exit_code == 2
    assert "network.canaries: 'ftp://gov.vn/' is not an http(s) address" in result.output
