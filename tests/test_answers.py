"""Units answer their findings from the letter's link; the centre decides; the next letter and Datasette say so.

A real `auditbot serve` on loopback, the link read from an .eml `report --outbox` wrote, headless Chromium
(Debian's, through Playwright) clicking the page's forms, and plain HTTP for what a hostile client sends.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import h2load
import httpx
import pytest
from browser import chromium
from conftest import Province, province_now
from loopback import free_port
from test_serve import start_server, stop

from auditbot.config.rules import load_config
from auditbot.store import Store

HOSTILE = '<script>alert("x")</script><b>đậm</b>'


@dataclass
class Site:
    province: Province
    base: str
    ids: dict[str, str]          # dossier code -> finding id
    links: dict[str, str]        # unit -> its link from the .eml
    process: subprocess.Popen[str]


def add_overdue(province: Province, unit: str, code: str, days_late: int) -> None:
    now = province_now()
    received = now - timedelta(days=days_late + 3)
    with Store.open(load_config(province.rules)) as store:
        store.db.table("dossiers").insert({
            "code": code, "unit": unit, "procedure_code": "1.000894", "procedure_name": "Đăng ký kết hôn",
            "received_at": f"{received:%Y-%m-%d %H:%M:%S}",
            "due_at": f"{now - timedelta(days=days_late):%Y-%m-%d %H:%M:%S}", "status": "processing", "known": 31})


def finish(province: Province, code: str) -> None:
    """The unit finishes the dossier; the next export brings it (here: written as an import would)."""
    with sqlite3.connect(province.db_path) as db:
        db.execute("UPDATE dossiers SET status = 'finished', finished_at = ? WHERE code = ?",
                   (f"{province_now():%Y-%m-%d %H:%M:%S}", code))


def letters(province: Province, folder: Path) -> dict[str, str]:
    """unit code -> the plain text of its letter, from the .eml files `report --outbox` wrote."""
    result = province.run("report", "--outbox", str(folder))
    assert result.exit_code == 0, result.output
    texts = {}
    for path in folder.rglob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(("plain",))
        assert body is not None
        texts[path.name.split("--")[0]] = body.get_content()
    return texts


def link_in(text: str) -> str:
    found = re.search(r"http://127\.0\.0\.1:\d+/tra-loi/[A-Za-z0-9_-]+", text)
    assert found, "the letter carries the unit's link"
    return found[0]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    port = free_port()
    province = Province(tmp_path, f'[answers]\nbase_url = "http://127.0.0.1:{port}"\nlink_days = 7\n'
                                  'requests_per_minute = 30\nmax_reason_chars = 500\n[serve]\nrequest_seconds = 2\n'
                                  '[email]\nsender = "kiemsoat@example.gov.vn"\ncentre = ["centre@example.gov.vn"]\n')
    add_overdue(province, "STP", "HS-1", 5)
    add_overdue(province, "STP", "HS-2", 4)
    add_overdue(province, "SXD", "HS-9", 3)
    for unit in ("STP", "SXD"):
        assert province.run("check", unit, "--checks", "dossier.overdue", "--offline").exit_code == 1
    ids = {f["subject"]: f["id"] for f in province.json("findings")}  # type: ignore[union-attr]
    texts = letters(province, tmp_path / "week1")
    links = {unit: link_in(texts[unit]) for unit in ("STP", "SXD")}
    process = start_server(province, port)
    try:
        yield Site(province, f"http://127.0.0.1:{port}", ids, links, process)
    finally:
        if process.returncode is None:  # a test may have stopped it to read its log
            stop(process)


def answers_rows(province: Province) -> list[dict[str, Any]]:
    with sqlite3.connect(province.db_path) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM answers ORDER BY id")]


def form_of(page: str, finding_id: str) -> dict[str, str]:
    block = page[page.index(f'id="f-{finding_id}"'):]
    nonce = re.search(r'name="nonce" value="([^"]+)"', block)
    assert nonce, "an open finding offers its forms"
    return {"finding": finding_id, "nonce": nonce[1]}


def test_a_unit_answers_from_its_letter_and_the_centre_decides(site: Site, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    province, stp = site.province, site.links["STP"]
    finish(province, "HS-1")  # the unit did fix HS-1 before saying so
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        page.goto(stp)
        assert "Sở Tư pháp" in page.content() and "HS-1" in page.content() and "HS-2" in page.content()
        assert "HS-9" not in page.content()  # another unit's finding is not on this unit's page
        assert page.evaluate("document.scripts.length") == 0

        fixed = page.locator(f"#f-{site.ids['HS-1']}")
        fixed.locator("summary", has_text="Đã khắc phục").click()
        fixed.locator("button", has_text="Báo đã khắc phục").click()
        assert "Đã ghi nhận phản hồi" in page.content()

        disputed = page.locator(f"#f-{site.ids['HS-2']}")
        disputed.locator("summary", has_text="Không đồng ý").click()
        form = disputed.locator("form", has=page.locator("input[value=disagree]"))
        form.locator("textarea[name=reason]").fill(f"Hồ sơ đã trả kết quả trên hệ thống khác {HOSTILE}")
        form.locator("input[name=link]").fill("https://stp.example.gov.vn/minh-chung")
        form.locator("button", has_text="Gửi ý kiến không đồng ý").click()
        assert "Đã ghi nhận phản hồi" in page.content()

        deadline = time.monotonic() + 240  # the re-check runs beside the server (a limit, not a timing)
        while "đã kiểm tra lại — đã hết" not in page.content() and time.monotonic() < deadline:
            time.sleep(1)
            page.goto(stp)
        text = page.inner_text("body")
        assert "đã kiểm tra lại — đã hết" in page.inner_text(f"#a-{site.ids['HS-1']}")  # no longer open, still told
        assert "đang chờ Trung tâm xem xét" in text
        browser.close()

    rows = answers_rows(province)
    assert [(r["finding_id"], r["kind"]) for r in rows] == [(site.ids["HS-1"], "fixed"), (site.ids["HS-2"], "disagree")]
    assert rows[0]["recheck_result"] == "gone" and rows[0]["answered_by"].startswith("link ")
    assert rows[1]["reason"].endswith(HOSTILE) and rows[1]["status"] == "pending"

    pending = httpx.get(f"{site.base}/audit/answers_pending.json?_shape=objects", timeout=30).json()["rows"]
    assert [r["Mã vi phạm"] for r in pending] == [site.ids["HS-2"]]

    listed = province.json("answers", "--status", "pending")
    assert [a["id"] for a in listed] == [rows[1]["id"]]  # type: ignore[index]
    decided = province.run("answers", "accept", str(rows[1]["id"]), "--reason", "Đơn vị có minh chứng đúng",
                           "--false-finding", "--by", "can-bo-a")
    assert decided.exit_code == 0, decided.output
    again = province.run("answers", "accept", str(rows[1]["id"]), "--reason", "lần hai", "--false-finding")
    assert again.exit_code == 2 and "only pending answers" in again.output

    decided_row = answers_rows(province)[1]
    assert (decided_row["decision"], decided_row["decided_by"]) == ("false_finding", "can-bo-a")
    muted = province.json("findings", "--status", "muted")
    assert [f["id"] for f in muted] == [site.ids["HS-2"]]  # type: ignore[index]

    texts = letters(province, tmp_path / "week2")
    stp_letter = texts["STP"]
    assert "đơn vị báo đã khắc phục ngày" in stp_letter and "đã kiểm tra lại — đã hết" in stp_letter
    assert "Trung tâm chấp nhận, xác định phát hiện sai: Đơn vị có minh chứng đúng" in stp_letter
    told = stp_letter.split("PHẢN HỒI CỦA ĐƠN VỊ (2)\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(told) == 2 and all(line.startswith("  - ") for line in told)  # one answer a line
    summary = texts["summary"]
    assert "PHÁT HIỆN SAI" in summary, summary
    assert "Hồ sơ quá hạn chưa giải quyết: 1/3 vi phạm (33,33%), 1 bị đơn vị phản đối" in summary

    # Datasette reads through a connection per thread, each open all along: every one of them sees the decision
    for _ in range(9):
        rows = httpx.get(f"{site.base}/audit/false_findings.json?_shape=objects", timeout=30).json()["rows"]
        row = next(r for r in rows if r["Mã kiểm tra"] == "dossier.overdue")
        assert (row["Số vi phạm"], row["Đơn vị không đồng ý"], row["Trung tâm xác nhận sai"]) == (3, 1, 1)
        assert httpx.get(f"{site.base}/audit/answers_pending.json?_shape=objects", timeout=30).json()["rows"] == []
        shown = httpx.get(f"{site.base}/audit/answers.json?_shape=objects&_sort=id", timeout=30).json()["rows"]
        assert [(a["finding_id"], a["kind"], a["recheck_result"], a["decision"]) for a in shown] == [
            (site.ids["HS-1"], "fixed", "gone", None), (site.ids["HS-2"], "disagree", None, "false_finding")]
        table = httpx.get(f"{site.base}/audit/answers", timeout=30).text  # a unit's link is text, not a link to click
        assert "https://stp.example.gov.vn/minh-chung" in table and 'href="https://stp.example.gov.vn' not in table


def test_another_units_link_cannot_see_or_answer_and_an_expired_one_gets_nothing(site: Site) -> None:
    stp_page = httpx.get(site.links["STP"], timeout=30).text
    form = form_of(stp_page, site.ids["HS-1"])
    sxd = httpx.get(site.links["SXD"], timeout=30)
    assert sxd.status_code == 200 and site.ids["HS-1"] not in sxd.text and "Sở Xây dựng" in sxd.text
    # STP's finding and STP's own form, posted through SXD's link: refused, nothing stored
    posted = httpx.post(site.links["SXD"], data={**form, "kind": "fixed"}, timeout=30)
    assert posted.status_code == 303 and posted.headers["location"].endswith("ket-qua=form")
    assert answers_rows(site.province) == []

    with sqlite3.connect(site.province.db_path) as db:
        db.execute("UPDATE answer_links SET expires_at = '2000-01-01 00:00:00'")
    for link in (site.links["STP"], site.base + "/tra-loi/" + "x" * 43):
        gone = httpx.get(link, timeout=30)
        assert gone.status_code == 404 and "không còn hiệu lực" in gone.text
        assert "Sở Tư pháp" not in gone.text and site.ids["HS-1"] not in gone.text
    refused = httpx.post(site.links["STP"], data={**form, "kind": "fixed"}, timeout=30)
    assert refused.status_code == 404 and answers_rows(site.province) == []


def test_hostile_posts_are_refused_or_bounded_and_nothing_is_stored_twice(site: Site) -> None:
    link, finding = site.links["STP"], site.ids["HS-2"]
    form = form_of(httpx.get(link, timeout=30).text, finding)
    disagree = {**form, "kind": "disagree"}

    huge = httpx.post(link, data={**disagree, "reason": "a " * 500_000}, timeout=60)
    assert huge.status_code == 413
    long = httpx.post(link, data={**disagree, "reason": "dài " * 200}, timeout=30)
    assert long.status_code == 400 and "lý do dài quá 500 ký tự" in long.text
    short = httpx.post(link, data={**disagree, "reason": "sai"}, timeout=30)
    assert short.status_code == 400 and short.text.count("lý do cần ít nhất 4 từ") == 1  # beside the form only
    kept = short.text[short.text.index(f'id="f-{finding}"'):]
    kept = kept[:kept.index('<div class="finding"') if '<div class="finding"' in kept else len(kept)]
    assert "Nội dung đã nhập được giữ lại" in kept and "<details open>\n<summary>Không đồng ý" in kept
    assert ">sai</textarea>" in kept  # what the unit typed, in the form it used, with a fresh nonce
    assert form_of(short.text, finding)["nonce"] != form["nonce"]
    forged = httpx.post(link, data={**disagree, "reason": "một lý do đủ dài ở đây"}, timeout=30,
                        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert forged.status_code == 403
    invented = httpx.post(link, data={**disagree, "nonce": "n" * 32, "reason": "một lý do đủ dài ở đây"}, timeout=30)
    assert invented.headers["location"].endswith("ket-qua=form")
    assert answers_rows(site.province) == []  # none of those stored anything

    reason = f"Trang đã niêm yết đủ thủ tục {HOSTILE}"
    first = httpx.post(link, data={**disagree, "reason": reason}, timeout=30)
    replay = httpx.post(link, data={**disagree, "reason": reason}, timeout=30)
    assert first.headers["location"].endswith("ket-qua=sent")
    assert replay.headers["location"].endswith("ket-qua=form")
    stored = answers_rows(site.province)
    assert len(stored) == 1 and stored[0]["reason"] == reason

    refused = site.province.run("answers", "refuse", str(stored[0]["id"]), "--reason", f"Chưa đủ {HOSTILE}")
    assert refused.exit_code == 0, refused.output
    page = httpx.get(link, timeout=30)
    assert "Trung tâm không chấp nhận: Chưa đủ &lt;script&gt;" in page.text and "<script>" not in page.text
    assert page.headers["referrer-policy"] == "same-origin" and "default-src 'none'" in page.headers[
        "content-security-policy"]

    statuses = [httpx.get(link, timeout=30).status_code for _ in range(40)]  # a burst on one link
    assert 429 in statuses and statuses.count(200) < 30
    assert len(answers_rows(site.province)) == 1


def test_answers_lists_as_json_and_a_decision_needs_a_reason(site: Site) -> None:
    assert site.province.json("answers") == []
    missing = site.province.run("answers", "refuse", "99", "--reason", "không có")
    assert missing.exit_code == 2 and "no answer with id 99" in missing.output
    centre = httpx.get(f"{site.base}/tra-loi/trung-tam", timeout=30)  # no password, no deciding on the web
    assert centre.status_code == 403 and "chưa đặt mật khẩu" in centre.text


def test_a_look_at_the_letters_issues_no_link(province: Province) -> None:
    province.rules.write_text(province.rules.read_text(encoding="utf-8")
                              + '\n[answers]\nbase_url = "https://tthc.example.gov.vn/"\n', encoding="utf-8")
    add_overdue(province, "STP", "HS-1", 5)
    province.run("check", "STP", "--checks", "dossier.overdue", "--offline")
    assert province.run("report").exit_code == 0
    with sqlite3.connect(province.db_path) as db:
        assert db.execute("SELECT count(*) FROM answer_links").fetchone()[0] == 0


def test_answers_keys_are_checked(province: Province) -> None:
    province.rules.write_text(province.rules.read_text(encoding="utf-8")
                              + '\n[answers]\nbase_url = "javascript:alert(1)"\nlink_days = 0\ncolour = 1\n',
                              encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "auditbot.cli", "validate", "--config", str(province.rules)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    for key in ("answers.base_url", "answers.link_days", "answers.colour"):
        assert key in done.stdout + done.stderr


def test_a_claimed_fix_still_there_an_extension_and_silent_units_reach_the_letters(tmp_path: Path) -> None:
    from auditbot import commands

    province = Province(tmp_path, '[answers]\nbase_url = "https://tthc.example.gov.vn"\nremind_after_days = 3\n'
                                  '[email]\nsender = "kiemsoat@example.gov.vn"\ncentre = ["centre@example.gov.vn"]\n')
    add_overdue(province, "STP", "HS-1", 5)
    add_overdue(province, "STP", "HS-2", 4)
    add_overdue(province, "SXD", "HS-9", 3)
    for unit in ("STP", "SXD"):
        province.run("check", unit, "--checks", "dossier.overdue", "--offline")
    with sqlite3.connect(province.db_path) as db:  # found ten days ago: past remind_after_days
        db.execute("UPDATE findings SET first_seen = datetime(first_seen, '-10 days')")
    ids = {f["subject"]: f["id"] for f in province.json("findings")}  # type: ignore[union-attr]
    config = load_config(province.rules)
    now = province_now()
    with Store.open(config) as store:
        link = store.link_of(store.issue_link("STP", "2026-W50", now, 7), now)
        assert link is not None and link.unit == "STP"
        fixed = store.answer(link, ids["HS-1"], store.issue_form(link, ids["HS-1"], now), "fixed", None, None, None, now)
        later = now.date() + timedelta(days=20)
        extension = store.answer(link, ids["HS-2"], store.issue_form(link, ids["HS-2"], now), "extension",
                                 "Chờ hệ thống một cửa cập nhật kết quả", None, later, now)
    assert commands.recheck_answer(config, fixed) == "still_open"  # HS-1 was not finished: the claim fails
    assert commands.recheck_answer(config, fixed) is None  # checked once; nothing queued twice
    accepted = province.run("answers", "accept", str(extension), "--reason", "Đồng ý gia hạn", "--by", "can-bo-b")
    assert accepted.exit_code == 0, accepted.output
    muted = province.json("findings", "--status", "muted")
    assert [(f["id"], f["muted_until"]) for f in muted] == [(ids["HS-2"], later.isoformat())]  # type: ignore[index]

    texts = letters(province, tmp_path / "out")
    assert "đã kiểm tra lại — còn" in texts["STP"]
    assert f"Trung tâm chấp nhận, tạm bỏ qua đến {later:%d/%m/%Y}: Đồng ý gia hạn" in texts["STP"]
    assert "https://tthc.example.gov.vn/tra-loi/" in texts["STP"]
    silent = texts["summary"].split("ĐƠN VỊ CHƯA PHẢN HỒI VI PHẠM TỒN QUÁ 3 NGÀY", 1)[1].split("\n\n", 1)[0]
    assert "Sở Xây dựng: 1 vi phạm" in silent and "Sở Tư pháp" not in silent


def test_the_centre_decides_on_the_web_behind_its_login(tmp_path: Path) -> None:
    hashed = subprocess.run([sys.executable, "-m", "auditbot.cli", "password-hash"], input="mật-khẩu-2\n",
                            capture_output=True, text=True, check=True).stdout.strip()
    port = free_port()
    province = Province(tmp_path, f'[answers]\nbase_url = "http://127.0.0.1:{port}"\n')
    add_overdue(province, "STP", "HS-1", 5)
    province.run("check", "STP", "--checks", "dossier.overdue", "--offline")
    finding = province.json("findings")[0]["id"]  # type: ignore[index]
    config, now = load_config(province.rules), province_now()
    with Store.open(config) as store:
        link = store.link_of(store.issue_link("STP", "2026-W50", now, 7), now)
        assert link is not None
        answer = store.answer(link, finding, store.issue_form(link, finding, now), "disagree",
                              f"Thủ tục đã niêm yết đầy đủ {HOSTILE}", None, None, now)
    centre = f"http://127.0.0.1:{port}/tra-loi/trung-tam"
    process = start_server(province, port, env={"AUDITBOT_SERVE_PASSWORD_HASH": hashed})
    try:
        anonymous = httpx.get(centre, timeout=30)
        assert anonymous.status_code == 403 and "đăng nhập" in anonymous.text and "HS-1" not in anonymous.text
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as officer:
            login = officer.get("/-/login").text
            token = re.search(r'name="csrftoken" value="([^"]+)"', login)
            assert token
            logged = officer.post("/-/login", data={"username": "trungtam", "password": "mật-khẩu-2",
                                                    "csrftoken": token[1]})
            assert any(c.startswith("ds_actor=") and "HttpOnly" in c for c in logged.headers.get_list("set-cookie"))
            page = officer.get("/tra-loi/trung-tam")
            assert page.status_code == 200 and "Sở Tư pháp" in page.text and "&lt;script&gt;" in page.text
            assert "<script>" not in page.text
            csrf = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
            assert csrf
            decision = {"answer": str(answer), "decision": "refuse", "reason": "Trang chưa có thủ tục này"}
            for odd in ({"answer": "²"}, {"answer": "9" * 30}, {"decision": "mute", "until": "garbage"},
                        {"decision": "mute", "until": "2000-01-01"}, {"decision": "mute", "until": "9999-12-31"}):
                refused = officer.post("/tra-loi/trung-tam", data={**decision, **odd, "csrftoken": csrf[1]})
                assert refused.headers["location"].endswith("ket-qua=invalid"), odd
            forged = officer.post("/tra-loi/trung-tam", data=decision)  # no CSRF token: Datasette refuses it
            assert forged.status_code == 403 and answers_rows(province)[0]["status"] == "pending"
            done = officer.post("/tra-loi/trung-tam", data={**decision, "csrftoken": csrf[1]})
            assert done.status_code == 303 and done.headers["location"].endswith("ket-qua=decided")
            again = officer.post("/tra-loi/trung-tam", data={**decision, "csrftoken": csrf[1]})
            assert again.headers["location"].endswith("ket-qua=invalid")  # decided once only
    finally:
        stop(process)
    row = answers_rows(province)[0]
    assert (row["status"], row["decision"], row["decided_by"], row["decision_reason"]) == (
        "refused", "refused", "trungtam", "Trang chưa có thủ tục này")


def test_reloading_the_page_keeps_only_the_newest_forms(province: Province) -> None:
    add_overdue(province, "STP", "HS-1", 5)
    province.run("check", "STP", "--checks", "dossier.overdue", "--offline")
    finding = province.json("findings")[0]["id"]  # type: ignore[index]
    config, now = load_config(province.rules), province_now()
    with Store.open(config) as store:
        link = store.link_of(store.issue_link("STP", "2026-W50", now, 7), now)
        assert link is not None
        nonces = [store.issue_form(link, finding, now) for _ in range(50)]
        assert store.db.execute("SELECT count(*) FROM answer_forms").fetchone()[0] == 20
        with pytest.raises(Exception, match="form"):  # the oldest was dropped
            store.answer(link, finding, nonces[0], "fixed", None, None, None, now)
        assert store.answer(link, finding, nonces[-1], "fixed", None, None, None, now) > 0


def resident_kb(process: subprocess.Popen[str], field: str) -> int:
    """VmRSS or VmHWM of a process this test started, in kB."""
    status = Path(f"/proc/{process.pid}/status").read_text(encoding="utf-8")
    found = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    assert found, status
    return int(found[1])


def test_a_flood_of_1000_requests_a_second_is_refused_or_bounded_and_units_still_answer(site: Site,
                                                                                       tmp_path: Path) -> None:
    """Wrong tokens, a leaked link's page and a replayed form of it, 1.000 requests a second in all (h2load,
    an open loop); meanwhile another unit answers as usual. The full minute is bench/answers_flood.py."""
    leaked = site.links["SXD"]
    form = form_of(httpx.get(leaked, timeout=30).text, site.ids["HS-9"])
    replayed = tmp_path / "replayed.form"
    replayed.write_text(urlencode({**form, "kind": "fixed"}), encoding="ascii")
    seconds = 10
    before = resident_kb(site.process, "VmRSS")
    floods = h2load.flood([h2load.Stream(site.base + "/tra-loi/" + "x" * 43, 500, clients=10),
                           h2load.Stream(leaked, 300, body=replayed),
                           h2load.Stream(leaked, 200)], seconds)
    try:
        time.sleep(2)
        page = httpx.get(site.links["STP"], timeout=30)  # a unit with its own link, during the flood
        assert page.status_code == 200
        answer = {**form_of(page.text, site.ids["HS-2"]), "kind": "disagree",
                  "reason": "Hồ sơ đã trả kết quả đúng hạn trên hệ thống khác"}
        sent = httpx.post(site.links["STP"], data=answer, timeout=30)
        assert sent.status_code == 303 and sent.headers["location"].endswith("ket-qua=sent")
    finally:
        outcomes = [h2load.outcome(process, seconds) for process in floods]
    for outcome in outcomes:  # every request answered, none failed on our side
        assert outcome.done == outcome.total > 0 and outcome.errored == outcome.timeout == 0, outcome
        assert outcome.statuses["5xx"] == 0, outcome
    wrong, posts, pages = outcomes
    assert wrong.statuses["4xx"] == wrong.done  # 404, then 429 once the client has guessed enough
    # the leaked link's own limit (30 a minute, the form's page included): the rest were turned away, 429
    assert posts.statuses["3xx"] + pages.statuses["2xx"] <= 30 and posts.statuses["4xx"] and pages.statuses["4xx"]
    stored = answers_rows(site.province)
    assert sorted((r["finding_id"], r["kind"]) for r in stored) == sorted(
        [(site.ids["HS-9"], "fixed"), (site.ids["HS-2"], "disagree")])  # the replay once, the unit's answer kept
    assert resident_kb(site.process, "VmHWM") - before < 64 * 1024  # bounded: nothing grows with the flood
    assert "đang chờ Trung tâm xem xét" in httpx.get(site.links["STP"], timeout=30).text  # still serving


def test_what_no_form_of_the_page_sends_gets_a_clear_answer_never_an_error(site: Site) -> None:
    link, finding = site.links["STP"], site.ids["HS-2"]
    form = form_of(httpx.get(link, timeout=30).text, finding)
    not_utf8 = httpx.post(link, content=b"finding=\xff\xfe&kind=fixed",
                          headers={"content-type": "application/x-www-form-urlencoded"}, timeout=30)
    assert not_utf8.status_code == 400 and "UTF-8" in not_utf8.text
    for path in ("/-/login", link):  # Datasette's pages too: asgi-csrf and Datasette decode every post strictly
        for cookie in ({}, {"ds_csrftoken": "x"}):
            for kind in ("application/x-www-form-urlencoded", "text/plain", ""):
                odd = httpx.post(site.base + path if path.startswith("/") else path, content=b"a=\xff",
                                 cookies=cookie, timeout=30, headers={"content-type": kind} if kind else {})
                assert odd.status_code == 400, (path, cookie, kind)
    for page in ("/audit/findings", "/audit/findings.json", "/audit/false_findings", "/audit"):
        posted = httpx.post(site.base + page, data={"a": "b"}, timeout=30)  # Datasette met it with a 500
        assert posted.status_code == 405 and posted.headers["allow"] == "GET, HEAD", page
    for target in (link, f"{site.base}/", f"{site.base}/-/login", f"{site.base}/audit/findings"):
        for method in ("PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "PROPFIND"):
            other = httpx.request(method, target, timeout=30)
            assert other.status_code == 405 and other.headers["allow"] == "GET, HEAD, POST", (method, target)
    disagree = {**form, "kind": "disagree", "reason": "Trang của đơn vị đã niêm yết thủ tục này"}
    for hidden in ("\u061cexe.gnp", "\u2060x", "\u00adx", "\U000e0041"):  # reordering, joiners, soft hyphens, tags
        sneaky = httpx.post(link, data={**disagree, "link": f"https://good.gov.vn/{hidden}"}, timeout=30)
        assert sneaky.status_code == 400 and "liên kết kèm theo phải" in sneaky.text, hidden
    trick = httpx.post(link, data={**disagree, "link": "https://stp.example.gov.vn/\x1b]0;PWNED\x07\x1b[31m"},
                       timeout=30)
    assert trick.status_code == 400 and "liên kết kèm theo phải" in trick.text  # a terminal would obey it
    assert "\x1b" not in trick.text and "PWNED" in trick.text  # given back without the controls
    reordered = "Trang \u202egnp.exe\u202c\u061c của\u00ad đơn vị\x9b\U000e0041 đã\u3164 niêm yết thủ tục này"
    sent = httpx.post(link, data={**disagree, "reason": reordered}, timeout=30)
    assert sent.headers["location"].endswith("ket-qua=sent")
    assert answers_rows(site.province)[0]["reason"] == "Trang gnp.exe của đơn vị đã niêm yết thủ tục này"
    files = httpx.post(f"{site.base}/-/login", files={"a": ("a.txt", b"1")}, cookies={"x": "1"}, timeout=30)
    assert files.status_code == 415  # no page takes a file; Datasette's CSRF check never parses one
    assert all(r.status_code < 500 for r in (not_utf8, trick, sent, files))


def test_a_fixed_finding_is_re_checked_once_then_not_again_for_a_while(site: Site) -> None:
    link, finding = site.links["STP"], site.ids["HS-1"]
    first = httpx.post(link, data={**form_of(httpx.get(link, timeout=30).text, finding), "kind": "fixed"}, timeout=30)
    assert first.headers["location"].endswith("ket-qua=sent")
    deadline = time.monotonic() + 120  # the re-check runs beside the server (a limit, not a timing)
    while answers_rows(site.province)[0]["status"] == "rechecking" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert answers_rows(site.province)[0]["recheck_result"] == "still_open"  # HS-1 was not finished
    again = httpx.post(link, data={**form_of(httpx.get(link, timeout=30).text, finding), "kind": "fixed"}, timeout=30)
    assert again.headers["location"].endswith("ket-qua=recently")  # each re-check reads the unit's sources
    assert "xin báo lại sau 15 phút" in httpx.get(site.base + again.headers["location"], timeout=30).text
    assert len(answers_rows(site.province)) == 1


def test_connections_that_never_finish_their_headers_are_closed_and_units_still_answer(site: Site) -> None:
    """Slowloris: connections dripping half a request, headers or body, are each closed after [serve]
    request_seconds (2 here), whatever they were answered meanwhile; the server's log holds no traceback."""
    port = int(site.base.rsplit(":", 1)[1])
    starts = [b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n",  # headers never finished
              b"POST /-/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4000\r\n\r\na=",  # nor a body
              b"POST " + urlsplit(site.links["STP"]).path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Length: 4000\r\n\r\n",
              b"POST /tra-loi/" + b"x" * 43 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4000\r\n\r\n"]
    held = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(60)]
    try:
        for n, connection in enumerate(held):
            connection.sendall(starts[n % len(starts)])
        assert httpx.get(site.links["STP"], timeout=30).status_code == 200  # served meanwhile
        for connection in held:
            connection.sendall(b"X-Drip: 1\r\n")  # still sending, never finishing
        closed = [_until_closed(connection) for connection in held]  # each within the 30 s socket time-out
        assert closed == [True] * len(held)
    finally:
        for connection in held:
            connection.close()
    assert httpx.get(site.links["STP"], timeout=30).status_code == 200
    assert "Traceback" not in stop(site.process)  # closing them wrote nothing to the log


def _until_closed(connection: socket.socket) -> bool:
    """Whether the server closes the connection (reading past anything it answered first)."""
    while chunk := connection.recv(4096):
        assert len(chunk) <= 4096
    return True


def test_a_database_locked_by_another_process_gets_a_busy_page_not_an_error(tmp_path: Path) -> None:
    port = free_port()
    province = Province(tmp_path, f'[answers]\nbase_url = "http://127.0.0.1:{port}"\n')
    province.rules.write_text(province.rules.read_text(encoding="utf-8").replace(
        "[database]\n", "[database]\nbusy_timeout_seconds = 1\n"), encoding="utf-8")
    add_overdue(province, "STP", "HS-1", 5)
    province.run("check", "STP", "--checks", "dossier.overdue", "--offline")
    config, now = load_config(province.rules), province_now()
    with Store.open(config) as store:
        token = store.issue_link("STP", "2026-W50", now, 7)
    process = start_server(province, port)
    try:
        link = f"http://127.0.0.1:{port}/tra-loi/{token}"
        assert httpx.get(link, timeout=30).status_code == 200
        holder = sqlite3.connect(province.db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # a long import, say, holds the write lock
        try:
            busy = httpx.get(link, timeout=30)  # the page writes its forms' nonces
            assert busy.status_code == 503 and busy.headers["retry-after"] == "60" and "Hệ thống đang bận" in busy.text
            wrong = httpx.get(f"http://127.0.0.1:{port}/tra-loi/{'x' * 43}", timeout=30)
            assert wrong.status_code == 404  # a wrong token needs no database
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert httpx.get(link, timeout=30).status_code == 200
    finally:
        output = stop(process)
    assert "Traceback" not in output


def test_the_unit_reads_the_date_the_centre_decided_not_the_one_it_asked(province: Province, tmp_path: Path) -> None:
    province.rules.write_text(province.rules.read_text(encoding="utf-8")
                              + '\n[answers]\nbase_url = "https://tthc.example.gov.vn/"\n', encoding="utf-8")
    add_overdue(province, "STP", "HS-1", 5)
    province.run("check", "STP", "--checks", "dossier.overdue", "--offline")
    finding = province.json("findings")[0]["id"]  # type: ignore[index]
    config, now = load_config(province.rules), province_now()
    asked, decided = (now + timedelta(days=200)).date(), (now + timedelta(days=30)).date()
    with Store.open(config) as store:
        link = store.link_of(store.issue_link("STP", "2026-W50", now, 7), now)
        assert link is not None
        answer = store.answer(link, finding, store.issue_form(link, finding, now), "extension",
                              "Cần thêm thời gian để sửa trang niêm yết", None, asked, now)
    for wrong, said in (("01/01/2000", "is in the past"), ((now + timedelta(days=400)).strftime("%d/%m/%Y"),
                                                           "must be after today and within 366 days")):
        refused = province.run("answers", "accept", str(answer), "--reason", "Đồng ý", "--until", wrong)
        assert refused.exit_code == 2 and said in refused.output
    accepted = province.run("answers", "accept", str(answer), "--reason", "Chỉ đến cuối tháng sau",
                            "--until", f"{decided:%d/%m/%Y}")
    assert accepted.exit_code == 0, accepted.output
    assert answers_rows(province)[0]["decided_until"] == decided.isoformat()
    letter = letters(province, tmp_path / "out")["STP"]
    assert f"Trung tâm chấp nhận, tạm bỏ qua đến {decided:%d/%m/%Y}: Chỉ đến cuối tháng sau" in letter
    assert f"{asked:%d/%m/%Y}: Chỉ" not in letter


def test_a_rate_limit_remembers_a_bounded_number_of_clients() -> None:
    """Each wrong token counts against its client's address; addresses an attacker invents (a forwarded
    header, an IPv6 range) share one quota past the bound, and the memory stays put."""
    from auditbot.browse.answer_guards import MAX_KEYS, RateLimit

    limit = RateLimit(60)
    allowed = [limit.allow(f"10.0.{n // 256}.{n % 256}") for n in range(MAX_KEYS + 500)]
    assert all(allowed[:MAX_KEYS]) and len(limit.seen) == MAX_KEYS + 1
    assert allowed[MAX_KEYS:].count(True) == 60  # the newcomers' shared quota, then 429
    assert limit.allow("10.0.0.1") is True  # a client already remembered keeps its own


def test_many_findings_fixed_at_once_are_one_re_check_and_the_next_waits_its_turn(province: Province) -> None:
    """Ten dossiers fixed, or five links: each claim would read the unit's sources again. One run settles
    every claim on that unit and check made before it began; a later claim waits out the pause, queued."""
    from auditbot import commands

    for code in ("HS-1", "HS-2", "HS-3"):
        add_overdue(province, "STP", code, 5)
    province.run("check", "STP", "--checks", "dossier.overdue", "--offline")
    ids = {f["subject"]: f["id"] for f in province.json("findings")}  # type: ignore[union-attr]
    config, now = load_config(province.rules), province_now()
    with Store.open(config) as store:
        link = store.link_of(store.issue_link("STP", "2026-W50", now, 7), now)
        assert link is not None
        claims = [store.answer(link, ids[code], store.issue_form(link, ids[code], now), "fixed", None, None, None, now)
                  for code in ("HS-1", "HS-2")]
    finish(province, "HS-1")
    assert commands.recheck_answer(config, claims[0]) == "gone"
    assert commands.recheck_answer(config, claims[1]) is None  # settled by the same run: HS-2 is still late
    later = province_now() + timedelta(seconds=1)
    with Store.open(config) as store:
        third = store.answer(link, ids["HS-3"], store.issue_form(link, ids["HS-3"], later), "fixed", None, None, None,
                             later)
    assert commands.recheck_answer(config, third) == "queued"  # the same sources were read moments ago
    with sqlite3.connect(province.db_path) as db:
        runs = db.execute("SELECT count(*) FROM runs WHERE trigger = 'answer'").fetchone()[0]
        results = db.execute("SELECT recheck_result FROM answers ORDER BY id").fetchall()
    assert runs == 1 and results == [("gone",), ("still_open",), (None,)]
