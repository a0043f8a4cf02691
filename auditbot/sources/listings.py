"""Unit websites -> the procedures they list (name, code, links), politely, page by page.

Reads only the listing URLs in rules.toml and the pagination links on them (same host); records
every fetch, so a site that could not be read narrows the checks' scope instead of resolving findings.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlparse

import httpx

from ..config import Config, Unit
from ..store import Store, timestamp
from ..text import fold
from .listing_html import ListedItem, PageError, extract_items, next_page, parse_html
from .origins import OffLimits, Origins

MAX_BODY = 5 << 20  # a listing page larger than this is cut: no real listing needs more


class SiteError(Exception):
    """The site answered, but not with a listing page."""


@dataclass
class PageRecord:
    """What one page gave; kept so that next time an unchanged page costs a 304 and no parsing."""
    url: str
    unit: str
    content_hash: str
    items: list[ListedItem]
    next_url: str | None
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class SiteResult:
    unit: str
    url: str
    ok: bool
    items: list[ListedItem] = field(default_factory=list)
    pages: int = 0
    not_modified: int = 0
    error: str | None = None
    content_hash: str | None = None
    fresh_pages: list[PageRecord] = field(default_factory=list)


@dataclass
class Fetched:
    status: int
    body: bytes
    charset: str | None
    url: str
    etag: str | None
    last_modified: str | None


def user_agent(config: Config) -> str:
    """Every request auditbot makes names it and whom to write to."""
    return f"auditbot/0.1 (TTHC compliance audit; +mailto:{config.email.sender or 'no contact configured'})"


def make_client(config: Config, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """Listing requests: identifiable, bounded, redirect-following, only ever to the listing sites' own hosts."""
    origins = Origins.of(url for unit in config.units for url in unit.listing_urls)

    def guard(request: httpx.Request) -> None:  # runs before every request, each redirect included
        origins.check(str(request.url))

    return httpx.Client(
        headers={"User-Agent": user_agent(config), "Accept": "text/html,application/xhtml+xml"},
        timeout=httpx.Timeout(config.listings.timeout_seconds), follow_redirects=True, max_redirects=5,
        transport=transport, event_hooks={"request": [guard]})


class PoliteFetcher:
    """One host's requests, one at a time with a pause between them; bodies and time capped."""

    def __init__(self, client: httpx.Client, delay: float, timeout: float) -> None:
        self.client, self.delay, self.timeout = client, delay, timeout
        self.last_request = float("-inf")

    def get(self, url: str, cached: PageRecord | None) -> Fetched:
        wait = self.last_request + self.delay - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        headers = {}
        if cached and cached.etag:
            headers["If-None-Match"] = cached.etag
        if cached and cached.last_modified:
            headers["If-Modified-Since"] = cached.last_modified
        deadline = time.monotonic() + self.timeout  # a server trickling bytes must not hold the run
        try:
            with self.client.stream("GET", url, headers=headers) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= MAX_BODY:
                        break
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("page took too long", request=response.request)
                return Fetched(response.status_code, bytes(body[:MAX_BODY]), response.charset_encoding,
                               str(response.url), response.headers.get("ETag"), response.headers.get("Last-Modified"))
        finally:
            self.last_request = time.monotonic()


def parse_page(fetched: Fetched, requested: str, unit: Unit, portal_hosts: tuple[str, ...]) -> PageRecord:
    tree = parse_html(fetched.body, fetched.charset)
    return PageRecord(
        url=requested, unit=unit.code, content_hash=hashlib.sha256(fetched.body).hexdigest(),
        items=extract_items(tree, fetched.url, portal_hosts, unit.listing_selector or None),
        next_url=next_page(tree, fetched.url, {requested, fetched.url}),
        etag=fetched.etag, last_modified=fetched.last_modified)


def read_site(fetcher: PoliteFetcher, config: Config, unit: Unit, url: str,
              cache: dict[str, PageRecord]) -> SiteResult:
    """Every page of one listing URL, following pagination up to the cap; unchanged pages come from cache."""
    result = SiteResult(unit=unit.code, url=url, ok=False)
    digest = hashlib.sha256()
    seen: set[str] = set()
    page: str | None = url
    try:
        while page and page not in seen and result.pages < config.listings.max_pages:
            seen.add(page)
            cached = cache.get(page)
            fetched = fetcher.get(page, cached)
            if fetched.status == 304 and cached:
                record = cached
                result.not_modified += 1
            elif fetched.status >= 300:
                raise SiteError(f"HTTP {fetched.status} for {page}")
            else:
                record = parse_page(fetched, page, unit, config.portal.hosts)
                result.fresh_pages.append(record)
            digest.update(record.content_hash.encode())
            result.items += record.items
            result.pages += 1
            page = record.next_url
        if page and page not in seen:  # a half-read listing would make every unread procedure "missing"
            raise SiteError(f"more than {config.listings.max_pages} pages (max_pages): stopped before {page}")
    except (SiteError, PageError, OffLimits) as exc:
        result.error = str(exc)
    except httpx.TimeoutException:
        result.error = f"timed out after {config.listings.timeout_seconds:g} s: {page}"
    except Exception as exc:  # connection errors, and anything odd: one site must never stop the others
        result.error = f"{type(exc).__name__}: {exc} ({page})"
    else:
        result.ok = True
        result.content_hash = digest.hexdigest()
    return result


def fetch_listings(config: Config, store: Store, units: Iterable[str], now: datetime,
                   transport: httpx.BaseTransport | None = None) -> list[SiteResult]:
    """Read every listing URL of the given units, hosts in parallel, each host politely in turn."""
    jobs: dict[str, list[tuple[Unit, str]]] = {}
    for code in units:
        unit = config.unit(code)
        for url in unit.listing_urls:
            jobs.setdefault(urlparse(url).hostname or url, []).append((unit, url))
    cache = load_pages(store, [unit.code for host_jobs in jobs.values() for unit, _ in host_jobs])
    with make_client(config, transport) as client:
        def read_host(host_jobs: list[tuple[Unit, str]]) -> list[SiteResult]:
            fetcher = PoliteFetcher(client, config.listings.delay_seconds, config.listings.timeout_seconds)
            return [read_site(fetcher, config, unit, url, cache) for unit, url in host_jobs]

        pool = ThreadPoolExecutor(max_workers=config.listings.concurrency)
        try:
            results = [site for sites in pool.map(read_host, jobs.values()) for site in sites]
        finally:  # interrupted (the daemon stopping): do not wait for a hanging site; fetches store nothing
            pool.shutdown(wait=False, cancel_futures=True)
    store_results(store, results, now)
    return results


def load_pages(store: Store, units: list[str]) -> dict[str, PageRecord]:
    pages = {}
    for row in store.db.query(
            "SELECT * FROM listing_pages WHERE unit IN (SELECT value FROM json_each(?))", [json.dumps(units)]):
        items = [ListedItem(**item) for item in json.loads(row.pop("items"))]
        row.pop("fetched_at")
        pages[row["url"]] = PageRecord(items=items, **row)
    return pages


def store_results(store: Store, results: list[SiteResult], now: datetime) -> None:
    """Every fetch is recorded; a unit's items are replaced only when every one of its sites was read."""
    at = timestamp(now)
    conn = store.db.conn
    by_unit: dict[str, list[SiteResult]] = {}
    for result in results:
        by_unit.setdefault(result.unit, []).append(result)
    with conn:
        batch = conn.execute("SELECT coalesce(max(batch), 0) + 1 FROM listing_fetches").fetchone()[0]
        for unit, sites in by_unit.items():
            conn.executemany(
                "INSERT INTO listing_fetches (batch, unit, url, fetched_at, ok, pages, not_modified, items, error,"
                " content_hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(batch, unit, site.url, at, int(site.ok), site.pages, site.not_modified, len(site.items), site.error,
                  site.content_hash) for site in sites])
            conn.executemany(
                "INSERT OR REPLACE INTO listing_pages (url, unit, etag, last_modified, content_hash, items, next_url,"
                " fetched_at) VALUES (?,?,?,?,?,?,?,?)",
                [(page.url, unit, page.etag, page.last_modified, page.content_hash,
                  json.dumps([item.__dict__ for item in page.items], ensure_ascii=False), page.next_url, at)
                 for site in sites for page in site.fresh_pages])
            if all(site.ok for site in sites):
                conn.execute("DELETE FROM listing_items WHERE unit = ?", (unit,))
                conn.executemany(
                    "INSERT INTO listing_items (unit, name, name_key, code, links, page, seen_at) VALUES (?,?,?,?,?,?,?)",
                    [(unit, item.name, fold(item.name), item.code, json.dumps(item.links, ensure_ascii=False),
                      item.page, at) for site in sites for item in site.items])
