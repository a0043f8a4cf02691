"""Benchmark: reading a province's listing pages, against peers measured in the same run.

    python bench/listings.py [--units 200] [--items 500] [--per-page 50] [--keep DIR]

Generates a province of N units, each listing up to M procedures of a 2.000-procedure catalogue over
pages of P items (tables with codes for half the units, lists of names with portal links for the rest),
serves them from a local server on 127.0.0.1, and prints:
  (a) parsing: items per second through auditbot's extractor (encoding sniffed by bs4's UnicodeDammit, lxml tree) against a bare
      lxml XPath extraction of the same pages, which is the floor any extractor on lxml can reach;
  (b) the province: wall time of `auditbot check --checks listing` (fetch, parse, store, match, check),
      first run and a second run where every page answers 304, against fetching the same pages with
      the same client and concurrency and doing nothing with them.
Politeness delay is 0 here (one local server); a real run adds delay_seconds per page per host.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lxml.html

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from auditbot import commands
from auditbot.config.bundled import sample_province
from auditbot.config.rules import load_config
from auditbot.demo.run import SAMPLE_DOMAINS
from auditbot.demo.sites import LoopbackTransport, serve_sites
from auditbot.sources.listings.crawl import listing_origins, make_client, read_sites
from auditbot.sources.listings.page import parse_html
from auditbot.sources.listings.reader import read_listing
from auditbot.words.text import fold_ascii

DOMAIN = "bench.example.gov.vn"
PORTAL = "https://dichvucong.gov.vn/p/home/dvc-tthc-thu-tuc-hanh-chinh-chi-tiet.html?ma_thu_tuc="
FIELDS = ["Hộ tịch", "Chứng thực", "Xây dựng", "Đất đai", "Y tế", "Giáo dục", "Lao động", "Thương mại",
          "Giao thông", "Văn hóa"]
ACTIONS = ["Cấp", "Cấp lại", "Gia hạn", "Điều chỉnh", "Thu hồi", "Đăng ký", "Xác nhận", "Công nhận"]
PAPERS = ["giấy phép", "chứng chỉ", "giấy chứng nhận", "văn bản chấp thuận", "quyết định"]


def catalogue(count: int = 2000) -> list[tuple[str, str]]:
    names = [f"{action} {paper} {field.lower()} nhóm {n}" for n in range(1, 100) for field in FIELDS
             for action in ACTIONS for paper in PAPERS]
    return [(f"1.{100000 + i:06d}", names[i]) for i in range(count)]


def page_html(unit: int, items: list[tuple[str, str]], number: int, last: bool, table: bool) -> str:
    if table:
        rows = "".join(f"<tr><td>{i}</td><td>{code}</td><td><a href=\"{PORTAL}{code}\">{name}</a></td>"
                       f"<td><a href=\"chi-tiet/{code}.html\">Chi tiết</a></td></tr>" for i, (code, name) in items)
        body = f"<table class=\"tthc\"><tr><th>STT</th><th>Mã</th><th>Tên</th><th></th></tr>{rows}</table>"
    else:
        rows = "".join(f"<li><a href=\"{PORTAL}\">{name}</a> <span>(Cấp tỉnh)</span></li>" for _, (_, name) in items)
        body = f"<ul class=\"tthc\">{rows}</ul>"
    pager = "" if last else f"<div class=\"pager\"><a rel=\"next\" href=\"tthc?page={number + 1}\">Trang sau</a></div>"
    menu = "".join(f"<li><a href=\"/muc-{k}\">Mục {k}</a></li>" for k in range(12))
    return (f"<!DOCTYPE html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>TTHC đơn vị {unit}</title>"
            f"</head><body><header><nav><ul>{menu}</ul></nav></header><main><h1>Thủ tục hành chính</h1>{body}"
            f"{pager}</main><footer>Cổng thông tin điện tử</footer></body></html>")


def write_province(root: Path, units: int, items: int, per_page: int) -> list[Path]:
    """Every unit is a commune; the first `items` procedures apply to all of them, and each unit leaves
    out two (two listing.missing findings per unit) and misspells one name (matched through the slip)."""
    procedures = catalogue(max(2000, items))
    with (root / "catalogue.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Mã thủ tục", "Tên thủ tục", "Cấp thực hiện", "Tình trạng"])
        writer.writerows((code, name, "Cấp xã" if i < items else "Cấp huyện", "Còn hiệu lực")
                         for i, (code, name) in enumerate(procedures))
    rng = random.Random(7)
    unit_rows, pages = [], []
    for u in range(units):
        host = f"u{u:03d}.{DOMAIN}"
        unit_rows.append(f'[[units]]\ncode = "U{u:03d}"\nname = "Đơn vị {u}"\nkind = "xa"\n'
                         f'emails = ["u{u}@example.gov.vn"]\nlisting_urls = ["https://{host}/tthc"]\n')
        chosen = procedures[:items]
        rng.shuffle(chosen)
        code, name = chosen[2]
        words = name.split()
        chosen[2] = (code, " ".join([words[0], fold_ascii(words[1]), *words[2:]]))  # "giấy" typed "giay"
        listed = list(enumerate(chosen[2:], start=1))
        chunks = [listed[i:i + per_page] for i in range(0, len(listed), per_page)]
        for number, chunk in enumerate(chunks, start=1):
            path = root / "sites" / host / ("tthc" if number == 1 else f"tthc?page={number}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(page_html(u, chunk, number, number == len(chunks), table=u % 2 == 0), encoding="utf-8")
            pages.append(path)
    (root / "rules.toml").write_text(
        '[province]\nname = "Bench"\ntimezone = "Asia/Ho_Chi_Minh"\n[database]\npath = "bench.db"\n'
        + "\n".join(unit_rows)
        + '\n[sources]\ncatalogue = "catalogue.csv"\n[email]\nsender = "bench@example.gov.vn"\n'
        '[listings]\ndelay_seconds = 0\nconcurrency = 8\n', encoding="utf-8")
    return pages


def parse_auditbot(bodies: list[bytes]) -> int:
    hosts, url = ("dichvucong.gov.vn",), "https://x.example.gov.vn/tthc"
    return sum(len(read_listing(parse_html(body, None), url, url, hosts).items) for body in bodies)


def parse_lxml(bodies: list[bytes]) -> int:
    """The floor: rows and list entries with their text and links, nothing more."""
    count = 0
    for body in bodies:
        tree = lxml.html.fromstring(body)
        tree.make_links_absolute("https://x.example.gov.vn/tthc")
        for node in tree.xpath("//tr[td] | //main//li"):
            text, links = " ".join(node.text_content().split()), node.xpath(".//a/@href")
            count += bool(text and links)
    return count


async def fetch_all(config: Any, transport: LoopbackTransport, urls: list[str]) -> None:
    """The same pages fetched and dropped, as many hosts at a time as auditbot reads."""
    slots = asyncio.Semaphore(config.listings.concurrency)
    async with make_client(config, listing_origins(config), transport) as client:
        async def one(url: str) -> None:
            async with slots:
                _ = (await client.get(url)).content
        await asyncio.gather(*map(one, urls))


def render_cost(pages: int) -> tuple[float, int]:
    """The demo's scripted board (rows built by a script from JSON) read `pages` times in one run:
    static read, then Chromium (started once), every browser request through auditbot's client."""
    root = sample_province()
    config = commands.open_config(root / "rules.toml")
    unit = config.unit("XA_QUANGPHU")
    with serve_sites(root / "sites") as server:
        transport = LoopbackTransport(server.port, SAMPLE_DOMAINS)
        jobs = {f"board-{n}": [(unit, unit.listing_urls[0])] for n in range(pages)}
        start = time.perf_counter()
        results = asyncio.run(read_sites(config, jobs, {}, {}, transport))
        elapsed = time.perf_counter() - start
    assert all(r.ok and r.rendered and len(r.items) == 3 for r in results), [r.error for r in results]
    return elapsed, len(results)


def timed(action, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = action(*args)
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--per-page", type=int, default=50)
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        pages = write_province(root, args.units, args.items, args.per_page)
        bodies = [page.read_bytes() for page in pages]
        print(f"{args.units} units × {args.items} items, {len(pages)} pages, "
              f"{sum(map(len, bodies)) / 1e6:.1f} MB of HTML")

        ours, found = timed(parse_auditbot, bodies)
        floor, floor_found = timed(parse_lxml, bodies)
        print(f"parse  auditbot {found / ours:10,.0f} items/s ({ours:.2f} s)   bare lxml "
              f"{floor_found / floor:10,.0f} items/s ({floor:.2f} s)   ratio {ours / floor:.2f}")
        assert found == floor_found == args.units * (args.items - 2), (found, floor_found)

        config = load_config(root / "rules.toml")
        commands.import_catalogue_file(config, None)
        # the sites live in their own process, as real ones would: their work is not counted against ours
        server = subprocess.Popen([sys.executable, "-m", "auditbot.demo.sites", str(root / "sites")],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            transport = LoopbackTransport(int(server.stdout.readline()), (DOMAIN,))
            first, result = timed(commands.check, config, [], True, ["listing"], "bench", False, transport)
            again, _ = timed(commands.check, config, [], True, ["listing"], "bench", False, transport)
            urls = [f"https://{p.parent.name}/{p.name}" for p in pages]
            fetch_only, _ = timed(asyncio.run, fetch_all(config, transport, urls))
        finally:
            server.terminate()
        assert len(result.findings) == 2 * args.units, len(result.findings)  # the two left out, nothing else
        print(f"check  first run {first:.2f} s   unchanged (304) {again:.2f} s   fetch only {fetch_only:.2f} s"
              f"   ratio first/fetch {first / fetch_only:.2f}   unchanged/first {again / first:.2f}")
        one, _ = render_cost(1)
        ten, count = render_cost(10)
        print(f"render one scripted page, Chromium started for it: {one:.2f} s   {count} pages in one browser:"
              f" {ten:.2f} s ({ten / count:.2f} s a page)")


if __name__ == "__main__":
    main()
