"""Unit websites -> the procedures they list (name, code, links), politely, page by page, on evidence only.

Reads only the listing URLs in rules.toml and the pagination links on them (same host); records
every fetch. A reading counts as evidence only when it is credible: an HTML page answered 200, not
cut at the size cap, from which a listing was recognised, and not collapsed against the unit's last
good reading. Anything else narrows the checks' scope (the centre gets `source.unreadable`) instead of
resolving or opening a unit's findings. Pages whose rows are built by scripts are read in Chromium.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlparse

import httpx

from auditbot.config.origins import OffLimits, Origins
from auditbot.config.rules import Config, Unit
from auditbot.ops import progress
from auditbot.sources.listings.page import PageError, base_url, loads_scripts, next_page, parse_html
from auditbot.sources.listings.reader import ListedItem, Reading, read_listing
from auditbot.sources.web.bounded import ExchangeError, exchange
from auditbot.sources.web.fetched import Fetched, PageRecord, user_agent
from auditbot.sources.web.network import Reach, failure_kind, sites_reach, store_reach
from auditbot.store import Store
from auditbot.store import listings as listing_rows
from auditbot.words.text import fold, fold_ascii
from auditbot.words.vietnamese import number

MAINTENANCE = ("bao tri", "nang cap he thong", "tam ngung", "maintenance", "under construction",
               "service unavailable", "dang cap nhat du lieu")


CONNECTION_WORDS = (  # what went wrong on the wire, as the unit reads it in its letter
    (("ssl", "certificate", "tls"), "lỗi chứng chỉ TLS"), (("timeout",), "quá thời gian chờ"),
    (("name or service", "nodename", "getaddrinfo", "resolve", "name resolution"), "không phân giải được tên miền"),
    (("refused",), "máy chủ từ chối kết nối"), (("protocol", "disconnect"), "máy chủ ngắt hoặc trả lời sai giao thức"),
)


def connection_words(exc: Exception) -> str:
    said = f"{type(exc).__name__} {exc}".casefold()
    return next((words for keys, words in CONNECTION_WORDS if any(key in said for key in keys)),
                f"lỗi kết nối ({type(exc).__name__})")


class SiteError(Exception):
    """The site answered, but not with a credible listing. `reason` is a short key; the text is for people."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(text)
        self.reason = reason


class NeedsRender(SiteError):
    """The page as served lists nothing but runs scripts: its rows are probably built in the browser."""


@dataclass
class SiteResult:
    unit: str
    url: str
    ok: bool
    items: list[ListedItem] = field(default_factory=list)
    pages: int = 0
    not_modified: int = 0
    error: str | None = None
    reason: str | None = None
    layout: str | None = None
    rendered: bool = False  # read in Chromium
    content_hash: str | None = None
    fresh_pages: list[PageRecord] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)  # each fresh page's reading, skipped rows included
    failure: str | None = None  # how it failed before any answer (network.FAILURES), if it did


def listing_origins(config: Config, extra: Iterable[str] = ()) -> Origins:
    return Origins.of([url for unit in config.units for url in unit.listing_urls] + list(extra))


def make_client(config: Config, origins: Origins,
                transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """Listing requests: identifiable, redirect-following, only ever to the listing sites' own hosts."""

    async def guard(request: httpx.Request) -> None:  # runs before every request, each redirect included
        origins.check(str(request.url))

    seconds = config.listings.timeout_seconds
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent(config), "Accept": "text/html,application/xhtml+xml"},
        timeout=httpx.Timeout(seconds), follow_redirects=True, max_redirects=5,
        transport=transport, event_hooks={"request": [guard]})


class PoliteFetcher:
    """One host's requests, one at a time with a pause between them; each exchange bounded in time and size."""

    def __init__(self, client: httpx.AsyncClient, config: Config) -> None:
        self.client, self.settings = client, config.listings
        self.limit = int(config.listings.max_page_mb * (1 << 20))
        self.last_request = float("-inf")

    async def get(self, url: str, cached: PageRecord | None) -> Fetched:
        wait = self.last_request + self.settings.delay_seconds - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        headers = {}
        if cached and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        try:
            answer = await exchange(self.client, url, limit=self.limit, seconds=self.settings.timeout_seconds,
                                    headers=headers)
        finally:
            self.last_request = time.monotonic()
        content_type = answer.headers.get("Content-Type", "")
        return Fetched(answer.status, answer.body, _charset(content_type), answer.url, answer.headers.get("ETag"),
                       answer.headers.get("Last-Modified"), content_type)


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return None


def not_a_page(fetched: Fetched) -> str | None:
    """Why this answer is not an HTML page (a PDF, an image, JSON), or None."""
    kind = fetched.content_type.split(";")[0].strip().lower()
    head = fetched.body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"%pdf") or kind == "application/pdf":
        return "tệp PDF, không phải trang HTML"
    if kind.startswith(("image/", "audio/", "video/")) or head.startswith((b"\x89png", b"\xff\xd8", b"gif8")):
        return f"tệp {kind or 'hình ảnh'}, không phải trang HTML"
    if "json" in kind or (not kind.endswith(("html", "xml")) and head[:1] in (b"{", b"[")):
        return "dữ liệu JSON, không phải trang HTML"
    if kind and "html" not in kind and "xml" not in kind and b"<" not in head:
        return f"tệp {kind}, không phải trang HTML"
    return None


def read_page(fetched: Fetched, requested: str, unit: Unit, portal_hosts: tuple[str, ...],
              selector: str | None = None, may_render: bool = False) -> tuple[PageRecord, Reading]:
    """One answered page -> its record; SiteError when it holds no credible listing."""
    if fetched.status >= 300 or fetched.status < 200:
        raise SiteError("http", f"máy chủ trả lời HTTP {fetched.status} cho {requested}")
    refusal = not_a_page(fetched)
    if refusal:
        raise SiteError("not_html", f"{requested}: {refusal}")
    tree = parse_html(fetched.body, fetched.charset)
    scripted = loads_scripts(tree)
    base = base_url(tree, fetched.url)
    next_url = next_page(tree, fetched.url, {requested, fetched.url})
    selector = selector if selector is not None else unit.listing_selector or None
    reading = read_listing(tree, fetched.url, base, portal_hosts, selector)
    if reading.layout == "detail":  # what the centre must fix is the URL in rules.toml, not the unit's page
        raise SiteError("no_listing", f"{requested}: không nhận ra danh sách thủ tục (trang chi tiết của một"
                                      " thủ tục: thành phần hồ sơ, trình tự, lệ phí…)")
    if not reading.items:
        text = fold_ascii(" ".join(" ".join(tree.itertext()).split())[:5000])
        if selector:
            raise SiteError("no_listing", f"{requested}: bộ chọn {selector!r} không chọn được thủ tục nào")
        if may_render and scripted:
            raise NeedsRender("scripted", f"{requested}: trang dựng danh sách bằng JavaScript")
        if any(marker in text for marker in MAINTENANCE):
            raise SiteError("maintenance", f"{requested}: trang đang bảo trì, không có danh sách thủ tục")
        raise SiteError("no_listing", f"{requested}: không nhận ra danh sách thủ tục")
    record = PageRecord(url=requested, unit=unit.code, content_hash=hashlib.sha256(fetched.body).hexdigest(),
                        items=reading.items, next_url=next_url, etag=fetched.etag,
                        last_modified=fetched.last_modified)
    return record, reading


class PageSource(Protocol):
    """What read_site needs: PoliteFetcher for served pages, the Chromium renderer for scripted ones."""

    async def get(self, url: str, cached: PageRecord | None) -> Fetched: ...


async def read_site(fetcher: PageSource, config: Config, unit: Unit, url: str,
                    cache: dict[str, PageRecord], baseline: int | None, rendered: bool = False,
                    selector: str | None = None) -> SiteResult:
    """Every page of one listing URL, following pagination up to the cap; unchanged pages come from cache."""
    result = SiteResult(unit=unit.code, url=url, ok=False, rendered=rendered)
    digest = hashlib.sha256()
    seen: set[str] = set()
    page: str | None = url
    try:
        while page and page not in seen and result.pages < config.listings.max_pages:
            seen.add(page)
            cached = None if rendered else cache.get(page)
            fetched = await fetcher.get(page, cached)
            if fetched.status == 304 and cached:
                record = cached
                result.not_modified += 1
            else:
                record, reading = read_page(fetched, page, unit, config.portal.hosts, selector,
                                            may_render=not rendered)
                result.fresh_pages.append(record)
                result.readings.append(reading)
                result.layout = reading.layout
            digest.update(record.content_hash.encode())
            result.items += record.items
            result.pages += 1
            page = record.next_url
        if page and page not in seen:  # a half-read listing would make every unread procedure "missing"
            raise SiteError("page_cap", f"nhiều hơn {config.listings.max_pages} trang (max_pages):"
                                        f" dừng trước {page}")
        if baseline and len(result.items) < baseline * config.listings.collapse_ratio:
            raise SiteError("collapsed", f"trang thay đổi cấu trúc: {number(len(result.items))} thủ tục,"
                                         f" lần trước {number(baseline)} ({url})")
    except SiteError as exc:
        result.error, result.reason = str(exc), exc.reason
    except (PageError, ExchangeError) as exc:
        result.error, result.reason, result.failure = f"{exc} ({page})", "unreadable", failure_kind(exc)
    except OffLimits:
        result.error, result.reason = f"trang dẫn đến địa chỉ ngoài các tên miền được phép hỏi ({page})", "off_limits"
    except Exception as exc:  # noqa: BLE001 connection errors, and anything odd: one site must never stop the others
        result.error, result.reason = f"không kết nối được: {connection_words(exc)} ({page})", "connection"
        result.failure = failure_kind(exc)
    else:
        result.ok = True
        result.content_hash = digest.hexdigest()
    progress.advance()
    return result


def site_jobs(config: Config, units: Iterable[str]) -> dict[str, list[tuple[Unit, str]]]:
    jobs: dict[str, list[tuple[Unit, str]]] = {}
    for code in units:
        unit = config.unit(code)
        for url in unit.listing_urls:
            jobs.setdefault(urlparse(url).hostname or url, []).append((unit, url))
    return jobs


async def read_sites(config: Config, jobs: dict[str, list[tuple[Unit, str]]], cache: dict[str, PageRecord],
                     baselines: dict[tuple[str, str], int], transport: httpx.AsyncBaseTransport | None = None,
                     origins: Origins | None = None, selector: str | None = None) -> list[SiteResult]:
    """Hosts in parallel, each host politely in turn; then the scripted pages, one browser for all."""
    origins = origins or listing_origins(config)
    async with make_client(config, origins, transport) as client:
        slots = asyncio.Semaphore(config.listings.concurrency)

        async def read_host(host_jobs: list[tuple[Unit, str]]) -> list[SiteResult]:
            async with slots:
                fetcher = PoliteFetcher(client, config)
                return [await read_site(fetcher, config, unit, url, cache, baselines.get((unit.code, url)),
                                        rendered=False, selector=selector)
                        if not unit.render else SiteResult(unit.code, url, False, reason="scripted")
                        for unit, url in host_jobs]

        results = [site for sites in await asyncio.gather(*(read_host(j) for j in jobs.values())) for site in sites]
        scripted = [index for index, site in enumerate(results) if site.reason == "scripted"]
        if scripted:
            from auditbot.sources.web.render import Renderer  # Playwright loads only when a page needs it
            units = {unit.code: unit for host_jobs in jobs.values() for unit, _ in host_jobs}
            try:
                async with Renderer(config, client, origins) as renderer:
                    for index in scripted:
                        site = results[index]
                        results[index] = await read_site(renderer, config, units[site.unit], site.url, cache,
                                                         baselines.get((site.unit, site.url)), rendered=True,
                                                         selector=selector)
            except ExchangeError as exc:  # no browser to be had: those sites are unreadable, the rest stand
                for index in scripted:
                    results[index].error, results[index].reason = str(exc), "render"
    return results


def fetch_listings(config: Config, store: Store, units: Iterable[str], now: datetime,
                   transport: httpx.AsyncBaseTransport | None = None) -> Reach | None:
    """Read every listing URL of the given units and record what was read, and whether auditbot's own
    network let it read (None when no site was asked)."""
    jobs = site_jobs(config, units)
    codes = [unit.code for host_jobs in jobs.values() for unit, _ in host_jobs]
    with progress.steps("units", len(codes)):
        results = asyncio.run(read_sites(config, jobs, load_pages(store, codes), baselines(store, codes), transport))
    reach = sites_reach(config, unit_failures(results).values(), transport)
    if reach is not None and not reach.reachable:  # our outage: what failed says nothing of the units' sites
        for site in results:  # a page Chromium could not open went out through the same network
            if site.failure or (site.rendered and not site.ok):
                site.reason = "network"
    store_results(store, results, now)
    if reach is not None:
        store_reach(store, reach, now)
    return reach


def unit_failures(results: Iterable[SiteResult]) -> dict[str, str | None]:
    """Each unit's way of failing before any answer (the first of its sites' that did), or None."""
    ways: dict[str, str | None] = {}
    for site in results:
        ways[site.unit] = ways.get(site.unit) or site.failure
    return ways


def load_pages(store: Store, units: list[str]) -> dict[str, PageRecord]:
    pages = {}
    for row in listing_rows.stored_pages(store.db, units):
        items = [ListedItem(**item) for item in json.loads(row.pop("items"))]
        pages[row["url"]] = PageRecord(items=items, **row)
    return pages


def baselines(store: Store, units: list[str]) -> dict[tuple[str, str], int]:
    """Each listing URL's item count in its last good reading, or the one an officer accepted since."""
    return listing_rows.baselines(store.db, units)


def accept_reading(store: Store, unit: str, now: datetime) -> list[dict[str, Any]]:
    """An officer confirms the unit's latest reading: each URL's count becomes its baseline, where that
    reading recognised a listing (a collapse is accepted; a page that failed to answer is not)."""
    rows = listing_rows.latest_reading(store.db, unit)
    for row in rows:
        row["accepted"] = bool(row["items"]) and row["reason"] in (None, "collapsed")
    listing_rows.accept_baselines(store.db, unit, [(row["url"], row["items"]) for row in rows if row["accepted"]],
                                  now)
    return rows


def store_results(store: Store, results: list[SiteResult], now: datetime) -> None:
    """Every fetch is recorded; a unit's items are replaced only when every one of its sites was read."""
    by_unit: dict[str, list[SiteResult]] = {}
    for result in results:
        by_unit.setdefault(result.unit, []).append(result)
    listing_rows.record_readings(store.db, [listing_rows.UnitReading(
        unit,
        [(site.url, int(site.ok), site.pages, site.not_modified, len(site.items), site.error, site.content_hash,
          site.reason, site.layout, int(site.rendered)) for site in sites],
        [(page.url, page.etag, page.last_modified, page.content_hash,
          json.dumps([item.__dict__ for item in page.items], ensure_ascii=False), page.next_url)
         for site in sites for page in site.fresh_pages],
        [(item.name, fold(item.name), item.code, json.dumps(item.links, ensure_ascii=False), item.page,
          item.section) for site in sites for item in site.items] if all(site.ok for site in sites) else None,
    ) for unit, sites in by_unit.items()], now)
