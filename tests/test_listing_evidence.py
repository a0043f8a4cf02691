"""No violation without evidence: listing pages served on 127.0.0.1 that are not credible (a maintenance
page, a PDF, a page cut at the cap, a reading that collapsed, a hostile server) give the centre a
`source.unreadable` and change no finding of the unit; a page built by scripts is read in Chromium."""

from __future__ import annotations

import csv
import gzip
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import Province, run_cli

RULES = """
[province]
name = "Thử Nghiệm"
timezone = "Asia/Ho_Chi_Minh"

[database]
path = "audit.db"

[[units]]
code = "XA_A"
name = "Xã An"
kind = "xa"
emails = ["an@example.gov.vn"]
listing_urls = ["{site}/xa-a/tthc"]

[[units]]
code = "XA_B"
name = "Xã Bình"
kind = "xa"
emails = ["binh@example.gov.vn"]
listing_urls = ["{site}/xa-b/tthc"]

[sources]
catalogue = "catalogue.csv"

[email]
sender = "kiemsoat.tthc@example.gov.vn"

[catalogue.levels]
"Cấp xã" = ["xa"]

[listings]
timeout_seconds = {timeout}
delay_seconds = 0
max_page_mb = 0.25
render_seconds = 15
"""

CATALOGUE = [
    ("1.000001", "Đăng ký khai sinh"), ("1.000002", "Đăng ký kết hôn"), ("1.000003", "Đăng ký khai tử"),
    ("1.000004", "Chứng thực chữ ký"), ("1.000005", "Cấp bản sao trích lục hộ tịch"),
    ("1.000006", "Đăng ký giám hộ"),
]


def board(names: list[str]) -> str:
    """A commune's posting board as the common case has it: names only, no code, no portal link."""
    rows = "".join(f"<tr><td>{n}</td><td>{name}</td><td>Hộ tịch</td><td>03 ngày làm việc</td></tr>"
                   for n, name in enumerate(names, start=1))
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>TTHC</title></head><body>"
            "<nav><a href='/'>Trang chủ</a></nav><h1>Thủ tục hành chính</h1><table><thead><tr><th>STT</th>"
            f"<th>Tên thủ tục hành chính</th><th>Lĩnh vực</th><th>Thời hạn giải quyết</th></tr></thead><tbody>{rows}"
            "</tbody></table></body></html>")


SCRIPTED = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Bảng niêm yết</title></head><body>
<table id="tb"><thead><tr><th>STT</th><th>Tên thủ tục</th></tr></thead><tbody></tbody></table>
<script src="https://cdn.example.org/jquery.js"></script>
<script>
fetch("/xa-b/data.json").then(r => r.json()).then(names => names.forEach((name, i) => {
  const row = document.createElement("tr");
  row.innerHTML = "<td>" + (i + 1) + "</td><td></td>";
  row.lastChild.textContent = name;
  document.querySelector("#tb tbody").appendChild(row);
}));
</script></body></html>"""


class Routes(BaseHTTPRequestHandler):
    """Each path answers what the test put in server.routes: (status, content type, body, headers)."""

    server: Any

    def do_GET(self) -> None:
        self.server.asked.append(self.path)
        status, kind, body, headers = self.server.routes.get(self.path, (404, "text/html", b"", {}))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Any]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Routes)
    httpd.daemon_threads = True
    httpd.routes, httpd.asked = {}, []  # type: ignore[attr-defined]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


class EvidenceProvince(Province):
    def __init__(self, root: Path, site: str, timeout: float = 5) -> None:
        super().__init__(root)
        self.rules.write_text(RULES.format(site=site, timeout=timeout), encoding="utf-8")
        self.write_catalogue(CATALOGUE)

    def write_catalogue(self, rows: list[tuple[str, str]]) -> None:
        with (self.root / "catalogue.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Mã thủ tục", "Tên thủ tục", "Cấp thực hiện", "Tình trạng"])
            writer.writerows([(code, name, "Cấp xã", "Còn hiệu lực") for code, name in rows])
        assert self.run("import", "catalogue").exit_code == 0

    def findings(self) -> dict[tuple[str, str, str], str]:
        data = self.json("check", "--all", "--checks", "listing,source.unreadable")
        assert isinstance(data, list)
        return {(f["check"], f["unit"], f["subject"]): f["title"] for f in data}


def page(html: str, kind: str = "text/html; charset=utf-8") -> tuple[int, str, bytes, dict[str, str]]:
    return 200, kind, html.encode("utf-8"), {}


@pytest.fixture
def evidence(tmp_path: Path, server: Any) -> EvidenceProvince:
    return EvidenceProvince(tmp_path, f"http://127.0.0.1:{server.server_address[1]}")


NAMES = [name for _, name in CATALOGUE]
DETAIL_PAGE = Path(__file__).parent / "real_pages/dichvucong.angiang.gov.vn/trang-chu/tra-cuu/chi-tiet-thu-tuc-27763.html"


def test_name_only_boards_are_read_and_judged(evidence: EvidenceProvince, server: Any) -> None:
    server.routes["/xa-a/tthc"] = page(board([*NAMES[:4], "Cấp giấy phép tổ chức lễ hội làng"]))
    server.routes["/xa-b/tthc"] = page(board(NAMES))
    found = evidence.findings()
    assert set(found) == {("listing.missing", "XA_A", "1.000005"), ("listing.missing", "XA_A", "1.000006"),
                          ("listing.unknown", "XA_A", "cấp giấy phép tổ chức lễ hội làng")}


@pytest.mark.parametrize(("answer", "reason"), [
    (page("<html><body><h1>Hệ thống đang bảo trì, vui lòng quay lại sau</h1></body></html>"), "trang đang bảo trì"),
    ((200, "application/pdf", b"%PDF-1.7\n" + b"0" * 2000, {}), "tệp PDF, không phải trang HTML"),
    ((200, "application/json", b'{"data": []}', {}), "dữ liệu JSON, không phải trang HTML"),
    (page(board(NAMES * 2000)), "trang lớn hơn 0.25 MB"),
    (page("<html><body><h1>Tin tức</h1><p>Không có nội dung.</p></body></html>"), "không nhận ra danh sách thủ tục"),
    (page(board(NAMES[:2])), "trang thay đổi cấu trúc: 2 thủ tục, lần trước 5"),
    # a real page about one procedure given as the listing URL: its fields and components are no procedures
    (page(DETAIL_PAGE.read_text(encoding="utf-8")), "không nhận ra danh sách thủ tục (trang chi tiết của một thủ tục"),
])
def test_what_is_not_evidence_changes_no_finding(evidence: EvidenceProvince, server: Any,
                                                 answer: tuple[int, str, bytes, dict[str, str]], reason: str) -> None:
    server.routes["/xa-a/tthc"] = page(board(NAMES[:5]))
    server.routes["/xa-b/tthc"] = page(board(NAMES))
    before = evidence.findings()
    assert set(before) == {("listing.missing", "XA_A", "1.000006")}
    server.routes["/xa-a/tthc"] = answer
    after = evidence.findings()
    unreadable = [title for key, title in after.items() if key[0] == "source.unreadable"]
    assert len(unreadable) == 1 and reason in unreadable[0], after
    assert {key for key in after if key[0] != "source.unreadable"} == set(before)  # nothing resolved or opened
    statuses = {row["check_id"]: row["status"] for row in evidence_db(evidence).query(
        "SELECT check_id, status FROM findings WHERE unit = 'XA_A'")}
    assert statuses == {"listing.missing": "open", "source.unreadable": "open"}


def test_an_accepted_reading_becomes_the_baseline(evidence: EvidenceProvince, server: Any) -> None:
    server.routes["/xa-a/tthc"] = page(board(NAMES[:5]))
    server.routes["/xa-b/tthc"] = page(board(NAMES))
    evidence.findings()
    server.routes["/xa-a/tthc"] = page(board(NAMES[:2]))
    assert ("source.unreadable", "XA_A", f"{site(server)}/xa-a/tthc") in evidence.findings()
    accepted = evidence.run("listings", "accept", "XA_A")
    assert accepted.exit_code == 0 and "2 thủ tục: đã chấp nhận làm mốc" in accepted.output
    after = evidence.findings()
    assert set(after) == {("listing.missing", "XA_A", code) for code in ("1.000003", "1.000004", "1.000005",
                                                                         "1.000006")}


def test_a_page_built_by_scripts_is_read_in_chromium_through_the_guard(evidence: EvidenceProvince,
                                                                       server: Any) -> None:
    server.routes["/xa-a/tthc"] = page(board(NAMES))
    server.routes["/xa-b/tthc"] = page(SCRIPTED)
    server.routes["/xa-b/data.json"] = page('["Đăng ký khai sinh", "Đăng ký kết hôn", "Đăng ký khai tử"]',
                                            "application/json")
    before = browsers()
    started = time.monotonic()
    found = evidence.findings()
    assert time.monotonic() - started < 30
    assert set(found) == {("listing.missing", "XA_B", code) for code in ("1.000004", "1.000005", "1.000006")}
    # the browser and its helpers are gone once the run is done (a loaded machine may take a moment to reap them)
    deadline = time.monotonic() + 5
    while browsers() != before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert browsers() == before
    assert "/xa-b/data.json" in server.asked  # the browser's request went through auditbot's own client
    items = [row["name"] for row in evidence_db(evidence).query("SELECT name FROM listing_items WHERE unit = 'XA_B'")]
    assert items == ["Đăng ký khai sinh", "Đăng ký kết hôn", "Đăng ký khai tử"]


def test_listings_shows_what_was_read_and_how_it_matched(evidence: EvidenceProvince, server: Any) -> None:
    server.routes["/xa-a/tthc"] = page(board(["Đăng ký khai sinh", "Đăng ky kết hôn", "Cấp phép lễ hội làng"])
                                       .replace("</tbody>", "<tr><td colspan=4>Lĩnh vực Chứng thực</td></tr></tbody>"))
    result = evidence.run("listings", "XA_A", "--format", "json")
    assert result.exit_code == 0, result.output
    [site_read] = __import__("json").loads(result.stdout)
    assert site_read["credible"] and site_read["layout"] == "table"
    assert [(i["name"], i["match"], i["procedure"]) for i in site_read["items"]] == [
        ("Đăng ký khai sinh", "name", "1.000001"), ("Đăng ky kết hôn", "spelling", "1.000002"),
        ("Cấp phép lễ hội làng", None, None)]
    assert site_read["skipped"] == [{"page": f"{site(server)}/xa-a/tthc", "text": "Lĩnh vực Chứng thực",
                                     "reason": "section row"}]
    table = evidence.run("listings", "XA_A")
    assert "đọc dạng bảng, 1 trang, 3 thủ tục" in table.output and "dòng tiêu đề nhóm" in table.output
    nothing = evidence.run("listings", "XA_A", "--selector", "div.no-such-card")
    assert nothing.exit_code == 1 and "không chọn được thủ tục nào" in nothing.output
    assert evidence_db(evidence)["listing_fetches"].count == 0  # a look, not a run: nothing stored


def test_a_procedure_posted_under_its_former_name_is_outdated(evidence: EvidenceProvince, server: Any) -> None:
    server.routes["/xa-a/tthc"] = page(board(NAMES))
    server.routes["/xa-b/tthc"] = page(board(NAMES))
    assert evidence.findings() == {}
    renamed = [(code, "Đăng ký khai sinh cho trẻ em" if code == "1.000001" else name) for code, name in CATALOGUE]
    evidence.write_catalogue(renamed)
    found = evidence.findings()
    assert set(found) == {("listing.outdated", unit, "1.000001") for unit in ("XA_A", "XA_B")}
    assert found[("listing.outdated", "XA_A", "1.000001")] == (
        "Thủ tục 1.000001 «Đăng ký khai sinh cho trẻ em» đã được sửa đổi, niêm yết chưa cập nhật"
        " (đang niêm yết «Đăng ký khai sinh»)")


BROWSER_MARK = f"AUDITBOT_TEST_BROWSERS={os.getpid()}"  # set below; every process started from here inherits it


def browsers() -> set[int]:
    """Live Chromium processes started from this test process, known by the mark in their environment (which
    an orphaned browser keeps); other processes on the machine, other people's browsers, are none of its business."""
    os.environ["AUDITBOT_TEST_BROWSERS"] = str(os.getpid())
    live = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            pid, rest = stat.read_text().split(" ", 1)
            name, _, fields = rest.rpartition(") ")
            if not name.startswith("(chromium") or fields.startswith("Z"):
                continue
            if BROWSER_MARK.encode() in (stat.parent / "environ").read_bytes().split(b"\0"):
                live.add(int(pid))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return live


def evidence_db(evidence: EvidenceProvince) -> Any:
    import sqlite_utils
    return sqlite_utils.Database(evidence.db_path)


def site(server: Any) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


# --- hostile servers ---------------------------------------------------------------------------------

def trickle(connection: socket.socket, head: bytes, then: bytes) -> None:
    """Send `head` at once, then `then` one byte every 0,2 s, for as long as the client listens."""
    try:
        connection.recv(4096)
        connection.sendall(head)
        for byte in then:
            connection.sendall(bytes([byte]))
            time.sleep(0.2)
    except OSError:
        pass
    finally:
        connection.close()


def nested_gzip() -> bytes:
    inner = gzip.compress(b"<html><body>" + b" " * (64 << 20), compresslevel=9)  # 64 MB of page
    return gzip.compress(inner, compresslevel=9)  # a few KB on the wire


@pytest.fixture
def hostile() -> Iterator[str]:
    """A raw server: /status trickles its status line, /headers its headers; /gzip is a nested gzip bomb."""
    listener = socket.create_server(("127.0.0.1", 0))
    bomb = nested_gzip()
    assert len(bomb) < 200_000

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            request = connection.recv(4096, socket.MSG_PEEK)
            if b"/xa-a/" in request:  # slow status line
                job = (b"H", b"TTP/1.1 200 OK\r\n\r\n" + b"x" * 1000)
            elif b"/xa-b/" in request:  # slow headers
                job = (b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"y" * 1000)
            else:
                head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip, gzip\r\n"
                        b"Content-Length: " + str(len(bomb)).encode() + b"\r\n\r\n")
                job = (head + bomb, b"")
            threading.Thread(target=trickle, args=(connection, *job), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_hostile_servers_are_cut_at_the_deadline_and_the_cap(tmp_path: Path, hostile: str) -> None:
    province = EvidenceProvince(tmp_path, hostile, timeout=1)
    text = province.rules.read_text(encoding="utf-8")
    province.rules.write_text(text + '\n[[units]]\ncode = "XA_C"\nname = "Xã Cát"\nkind = "xa"\n'
                              f'emails = ["cat@example.gov.vn"]\nlisting_urls = ["{hostile}/xa-c/tthc"]\n',
                              encoding="utf-8")
    started = time.monotonic()
    found = province.findings()
    elapsed = time.monotonic() - started
    assert elapsed < 3 * 1 + 4, elapsed  # three sites on one host, one after another, each cut at 1 s
    reasons = {unit: title for (check, unit, _), title in found.items() if check == "source.unreadable"}
    assert "quá 1 giây chưa trả lời xong" in reasons["XA_A"]  # status line one byte at a time
    assert "quá 1 giây chưa trả lời xong" in reasons["XA_B"]  # headers one byte at a time
    assert "trang lớn hơn 0.25 MB (sau giải nén)" in reasons["XA_C"]  # 64 MB inside a few KB
    assert {check for check, _, _ in found} == {"source.unreadable"}


def test_reading_listings_draws_progresson_a_terminal_and_nothing_into_a_pipe(evidence: EvidenceProvince,
                                                                               server: Any) -> None:
    import re
    import subprocess
    import sys

    from test_cli_people import on_a_terminal

    server.routes["/xa-a/tthc"] = page(board(NAMES))
    args = ["check", "--all", "--checks", "listing", "--config", str(evidence.rules)]
    code, screen = on_a_terminal(args)
    assert code in (0, 1), screen
    assert "Đang đọc trang niêm yết" in screen and re.search(r"\b(\d+)/\1\b", screen), screen  # every page counted
    piped = subprocess.run([sys.executable, "-m", "auditbot.cli", *args], capture_output=True, text=True, timeout=120)
    assert piped.returncode in (0, 1) and "Đang đọc" not in piped.stderr and "\r" not in piped.stderr


# --- what a page built by scripts cannot make the browser do -------------------------------------------

def scripted(build: str, before: str = "") -> str:
    """A posting board whose rows a script builds: `before` runs first, then `build` fills the table."""
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Bảng niêm yết</title></head><body>"
            "<table id='tb'><thead><tr><th>STT</th><th>Tên thủ tục</th></tr></thead><tbody></tbody></table>"
            f"<script>const tbody = document.querySelector('#tb tbody');\n{before}\n{build}</script></body></html>")


ROWS_FROM_JSON = """fetch("/xa-b/data.json").then(r => r.json()).then(names => names.forEach((name, i) => {
  const row = document.createElement("tr");
  row.innerHTML = "<td>" + (i + 1) + "</td><td></td>";
  row.lastChild.textContent = name;
  tbody.appendChild(row);
}));"""

OWN_CONNECTIONS = """
function attempt(what, open) { try { open(); } catch (error) { console.log(what, "refused:", error.name); } }
attempt("preconnect", () => document.head.insertAdjacentHTML("beforeend",
  '<link rel="preconnect" href="http://127.0.0.1:TCP_PORT"><link rel="dns-prefetch" href="//stun.example.org">'));
attempt("websocket", () => new WebSocket("ws://127.0.0.1:TCP_PORT/socket"));
attempt("webtransport", () => new WebTransport("https://127.0.0.1:UDP_PORT/transport"));
attempt("beacon", () => navigator.sendBeacon("http://127.0.0.1:TCP_PORT/beacon", "x"));
attempt("fetch", () => fetch("http://127.0.0.1:TCP_PORT/steal", {mode: "no-cors"}).catch(() => null));
// a fresh frame's own RTCPeerConnection, in case the page's was taken away
const frame = document.createElement("iframe");
document.body.appendChild(frame);
let gathered = Promise.resolve();
attempt("webrtc", () => {
  const Peer = frame.contentWindow.RTCPeerConnection || window.RTCPeerConnection;
  const peer = new Peer({iceServers: [{urls: "stun:127.0.0.1:UDP_PORT"},
    {urls: ["turn:127.0.0.1:UDP_PORT?transport=udp", "turn:127.0.0.1:TCP_PORT?transport=tcp"], username: "u", credential: "p"}]});
  peer.createDataChannel("rows");
  gathered = new Promise(done => { peer.onicegatheringstatechange = () => peer.iceGatheringState === "complete" && done(); });
  peer.createOffer().then(offer => peer.setLocalDescription(offer));
});
"""


@pytest.mark.parametrize("layers", ["all", "flags alone"])
def test_a_scripted_page_opens_no_connection_but_through_auditbots_client(
        evidence: EvidenceProvince, server: Any, layers: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """WebRTC (STUN and TURN to an IP literal), WebSocket, WebTransport, preconnect, beacons: a listener on
    another port of 127.0.0.1 hears nothing, and the page is still read. "flags alone" takes the page's
    RTCPeerConnection back, so that Chromium's own switches are tried without the script that removes it."""
    if layers == "flags alone":
        from auditbot.sources.web import render
        monkeypatch.setattr(render, "NO_OWN_CONNECTIONS", "")
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    tcp = socket.create_server(("127.0.0.1", 0))
    try:
        before = OWN_CONNECTIONS.replace("UDP_PORT", str(udp.getsockname()[1])).replace(
            "TCP_PORT", str(tcp.getsockname()[1]))
        server.routes["/xa-a/tthc"] = page(board(NAMES))
        build = "gathered.then(() => {" + ROWS_FROM_JSON + "});"
        server.routes["/xa-b/tthc"] = page(scripted(build, before=before))
        server.routes["/xa-b/data.json"] = page('["Đăng ký khai sinh", "Đăng ký kết hôn", "Đăng ký khai tử"]',
                                                "application/json")
        found = evidence.findings()
        udp.setblocking(False)
        tcp.setblocking(False)
        with pytest.raises(BlockingIOError):
            print("UDP datagram from the browser:", udp.recvfrom(4096))
        with pytest.raises(BlockingIOError):
            print("TCP connection from the browser:", tcp.accept())
        assert set(found) == {("listing.missing", "XA_B", code) for code in ("1.000004", "1.000005", "1.000006")}
        assert "/xa-b/data.json" in server.asked
    finally:
        udp.close()
        tcp.close()


POPUPS = """for (let i = 0; i < 5; i++) window.open("/xa-b/popup?" + i);
window.open("http://127.0.0.1:9/elsewhere");
const link = document.createElement("a");
link.href = "/xa-b/popup-tab"; link.target = "_blank"; document.body.appendChild(link); link.click();"""


def test_a_page_that_opens_popups_is_read_without_a_traceback(evidence: EvidenceProvince, server: Any) -> None:
    """window.open on the page's own site and elsewhere, and a link opened in a new tab by the script: no popup
    is fetched, the page itself is read, and the officer's terminal shows no traceback."""
    server.routes["/xa-a/tthc"] = page(board(NAMES))
    server.routes["/xa-b/tthc"] = page(scripted(ROWS_FROM_JSON, before=POPUPS))
    server.routes["/xa-b/data.json"] = page('["Đăng ký khai sinh", "Đăng ký kết hôn", "Đăng ký khai tử"]',
                                            "application/json")
    result = run_cli(evidence, "check", "--all", "--checks", "listing,source.unreadable", "--format", "json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "playwright" not in result.stderr, result.stderr
    found = {(f["check"], f["unit"], f["subject"]) for f in json.loads(result.stdout)}
    assert found == {("listing.missing", "XA_B", code) for code in ("1.000004", "1.000005", "1.000006")}
    assert not [path for path in server.asked if "popup" in path]


def test_popups_past_the_blocker_are_refused_quietly(evidence: EvidenceProvince, server: Any,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """With Chromium's popup blocker off (as Playwright leaves it), each popup's first request, which comes from
    no frame yet, is refused: nothing fetched, the page read, nothing raised in the route handler."""
    from auditbot.sources.web import render
    monkeypatch.setattr(render, "POPUPS_BLOCKED", [], raising=False)  # before it existed, the blocker was off
    server.routes["/xa-a/tthc"] = page(board(NAMES))
    server.routes["/xa-b/tthc"] = page(scripted(ROWS_FROM_JSON, before=POPUPS))
    server.routes["/xa-b/data.json"] = page('["Đăng ký khai sinh", "Đăng ký kết hôn", "Đăng ký khai tử"]',
                                            "application/json")
    with caplog.at_level(logging.INFO):
        found = evidence.findings()
    assert set(found) == {("listing.missing", "XA_B", code) for code in ("1.000004", "1.000005", "1.000006")}
    assert not [path for path in server.asked if "popup" in path]
    refused = [r.getMessage() for r in caplog.records if "refused a request" in r.getMessage()]
    assert any("/xa-b/popup?0" in message for message in refused), refused  # the blocker was off indeed
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_a_page_built_bigger_than_the_cap_is_refused_as_too_big(evidence: EvidenceProvince, server: Any) -> None:
    """A 4 KB page whose script builds 60.000 rows is bigger, built, than a served page may be (0,25 MB here);
    one whose script makes 100.000 empty text nodes is tiny serialized but has more nodes than such a page
    could. Each is the centre's finding, and nothing of the unit's."""
    province = evidence.rules.read_text(encoding="utf-8")
    evidence.rules.write_text(province.replace("render_seconds = 15", "render_seconds = 180"), encoding="utf-8")
    rows = """const rows = [];
for (let i = 1; i <= 60000; i++) rows.push("<tr><td>" + i + "</td><td>Đăng ký khai sinh</td></tr>");
tbody.innerHTML = rows.join("");"""
    empty = """for (const [i, name] of ["Đăng ký khai sinh", "Đăng ký kết hôn"].entries()) {
  tbody.insertAdjacentHTML("beforeend", "<tr><td>" + (i + 1) + "</td><td>" + name + "</td></tr>");
}
const cell = tbody.querySelector("td");
for (let i = 0; i < 100000; i++) cell.appendChild(document.createTextNode(""));"""
    server.routes["/xa-a/tthc"] = page(scripted(empty))
    server.routes["/xa-b/tthc"] = page(scripted(rows))
    assert all(len(body) < 4096 for _, _, body, _ in server.routes.values())
    found = evidence.findings()
    assert {key[:2] for key in found} == {("source.unreadable", "XA_A"), ("source.unreadable", "XA_B")}, found
    titles = {unit: title for (_, unit, _), title in found.items()}
    assert "trang dựng bằng JavaScript có hơn 65.536 nút HTML" in titles["XA_A"]
    assert "trang lớn hơn 0.25 MB (sau khi chạy JavaScript)" in titles["XA_B"]
    assert evidence_db(evidence)["listing_items"].count == 0


def test_a_page_whose_script_never_ends_is_cut_and_the_next_page_is_read(evidence: EvidenceProvince,
                                                                          server: Any) -> None:
    """A script that keeps the page busy for ever costs its budget (render_seconds) and no more: the centre
    hears the page was too slow, and the next page is read in the same browser."""
    server.routes["/xa-a/tthc"] = page(scripted("while (true) {}"))
    server.routes["/xa-b/tthc"] = page(SCRIPTED)
    server.routes["/xa-b/data.json"] = page('["Đăng ký khai sinh", "Đăng ký kết hôn", "Đăng ký khai tử"]',
                                            "application/json")
    found = evidence.findings()
    assert set(found) == {("source.unreadable", "XA_A", f"{site(server)}/xa-a/tthc")} | {
        ("listing.missing", "XA_B", code) for code in ("1.000004", "1.000005", "1.000006")}
    assert "trang dựng bằng JavaScript quá 15 giây chưa xong" in found[("source.unreadable", "XA_A",
                                                                          f"{site(server)}/xa-a/tthc")]
