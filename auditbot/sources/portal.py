"""National-portal links -> one result per distinct procedure-page URL: fast, polite, and never
"broken" because the portal itself is having a bad hour.

Each distinct URL is asked once per run, and not at all while a stored result is younger than
`[portal] cache_hours`. Requests go through one gate per host (concurrency and start rate), the
timeout runs from when a request really starts, redirects are followed by hand with a loop guard,
bodies are read only as far as `max_body_kb`. Transient failures are retried with backoff; 403, 429
and the firewall's page mean "slow down" (Retry-After honoured). A canary request and a window of
recent answers make the circuit breaker: once tripped, nothing is stored and the run says why.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from auditbot.config.origins import Origins
from auditbot.config.rules import Config, PortalSettings
from auditbot.domain.portal_urls import PortalUrls, reason_words
from auditbot.ops import progress
from auditbot.sources.web.fetched import user_agent
from auditbot.sources.web.network import Reach, failure_kind, portal_reach, store_reach
from auditbot.store import Store, observations
from auditbot.store.links import record_portal_run
from auditbot.words.codes import CODE, CODE_IN_TEXT

MAX_REDIRECTS = 5
PAGE_CODE = re.compile(rf"{CODE_IN_TEXT.pattern}(?![\d])")
LABELLED_CODE = re.compile(r"(?:Mã thủ tục|Mã TTHC|Mã số)\s*(?:<[^>]*>\s*)*:?\s*(?:<[^>]*>\s*)*(" + CODE + ")",
                           re.IGNORECASE)
SLOW_DOWN = {403, 429}


@dataclass
class LinkResult:
    url: str
    outcome: str                  # ok | broken | unknown (no verdict: slowed down to the end, breaker)
    reason: str | None = None     # dns | refused | tls | timeout | http_404 | redirect_home | redirect_loop | ...
    status: int | None = None
    final_url: str | None = None
    attempts: int = 0
    transient: bool = False       # worth retrying: timeout, connection failure, 5xx, slow down
    retry_after: float | None = None
    page_code: str | None = None  # the national code the page itself names, when it names one


@dataclass
class PortalRun:
    requested: int = 0            # distinct URLs asked this run
    cached: int = 0               # distinct URLs answered from stored results
    tripped: str | None = None    # why the breaker stopped the run
    results: list[LinkResult] = field(default_factory=list)
    deferred: dict[str, int] = field(default_factory=dict)  # unit -> links left for later runs (over the caps)
    reach: Reach | None = None    # whether auditbot's own network was up, when the portal's home failed


class HostGate:
    """At most `concurrency` requests in flight and `rate` starts per second, paused on Retry-After."""

    def __init__(self, concurrency: int, rate: float) -> None:
        self.slots = asyncio.Semaphore(concurrency)
        self.interval = 1 / rate
        self.next_start = 0.0
        self.paused_until = 0.0
        self.lock = asyncio.Lock()

    async def __aenter__(self) -> None:
        await self.slots.acquire()
        async with self.lock:
            start = max(time.monotonic(), self.next_start, self.paused_until)
            self.next_start = start + self.interval
        await asyncio.sleep(max(0.0, start - time.monotonic()))

    async def __aexit__(self, *exc: object) -> None:
        self.slots.release()

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)


class Breaker:
    def __init__(self, window: int, failure_rate: float) -> None:
        self.recent: deque[bool] = deque(maxlen=window)
        self.failure_rate = failure_rate
        self.tripped: str | None = None

    def record(self, result: LinkResult) -> None:
        """One URL's final answer: still failing after its retries counts against the portal."""
        self.recent.append(result.transient)
        if len(self.recent) == self.recent.maxlen and sum(self.recent) >= self.failure_rate * len(self.recent):
            self.tripped = (f"{sum(self.recent)}/{len(self.recent)} lần hỏi gần nhất bị lỗi (lần cuối:"
                            f" {reason_words(result.reason, result.status)} tại {result.url})")


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(tz=parsedate_to_datetime(value).tzinfo))
                   .total_seconds())
    except (TypeError, ValueError):
        return None


def code_named(page: str) -> str | None:
    """The national code a procedure page shows as its own: the one labelled "Mã thủ tục" (or "Mã TTHC",
    "Mã số"), else the only code on the page; None when the page is silent or names several."""
    labelled = LABELLED_CODE.search(page)
    if labelled:
        return labelled.group(1)
    codes = set(PAGE_CODE.findall(page))
    return codes.pop() if len(codes) == 1 else None


def _connect_reason(exc: Exception) -> str:
    text = str(exc).lower()
    if failure_kind(exc) == "dns" or "nodename" in text or "getaddrinfo" in text or "resolve" in text:
        return "dns"
    if failure_kind(exc) == "tls" or "ssl" in text or "certificate" in text or "tls" in text:
        return "tls"
    return "refused"


class LinkChecker:
    def __init__(self, settings: PortalSettings, client: httpx.AsyncClient) -> None:
        self.settings, self.client = settings, client
        self.gates: dict[str, HostGate] = {}
        self.breaker = Breaker(settings.breaker_window, settings.breaker_failure_rate)
        self.origins = Origins.of(hosts=settings.hosts)

    def gate(self, url: str) -> HostGate:
        host = urlsplit(url).hostname or ""
        if host not in self.gates:
            self.gates[host] = HostGate(self.settings.concurrency, self.settings.rate_per_second)
        return self.gates[host]

    async def check(self, url: str) -> LinkResult:
        """One URL, retried while the failure is transient; no verdict once the breaker has tripped."""
        result = LinkResult(url, "unknown", "breaker")
        for attempt in range(self.settings.retries + 1):
            if self.breaker.tripped:
                return LinkResult(url, "unknown", "breaker", attempts=attempt)
            result = await self._follow(url)
            result.attempts = attempt + 1
            if not result.transient:
                break
            if result.retry_after is not None and result.retry_after > self.settings.max_retry_after_seconds:
                # a day-long wait is the portal asking us to stop: the centre hears of it, nobody sleeps a day
                self.breaker.tripped = (f"Cổng yêu cầu chờ {result.retry_after:.0f} giây (Retry-After) tại {url},"
                                        " quá giới hạn max_retry_after_seconds")
                return LinkResult(url, "unknown", "breaker", result.status, attempts=attempt + 1)
            if result.retry_after is not None:
                self.gate(url).pause(result.retry_after)
            if attempt < self.settings.retries:
                await asyncio.sleep(result.retry_after or self.settings.backoff_seconds * 2 ** attempt)
        self.breaker.record(result)  # a URL that worked on retry is the portal being flaky, not down
        if result.reason == "slow_down":
            result.outcome = "unknown"  # the portal asked us to wait, to the end: that says nothing of the link
        return result

    async def _follow(self, url: str) -> LinkResult:
        seen, current = {url}, url
        for _ in range(MAX_REDIRECTS + 1):
            if not self.origins.allows(current):  # off the portal (another host, port or scheme): never asked
                return LinkResult(url, "broken", "off_portal", None, current)
            result, location = await self._fetch(current)
            if location is None:
                if result.outcome == "ok" and current != url and urlsplit(current).path in self.settings.home_paths:
                    return LinkResult(url, "broken", "redirect_home", result.status, current)
                result.url, result.final_url = url, current
                return result
            current = urljoin(current, location)
            if current in seen:
                return LinkResult(url, "broken", "redirect_loop", result.status, current)
            seen.add(current)
        return LinkResult(url, "broken", "too_many_redirects", None, current)

    async def _fetch(self, url: str) -> tuple[LinkResult, str | None]:
        """One request; (result, redirect location or None)."""
        try:
            request = self.client.build_request("GET", url)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError):
            return LinkResult(url, "broken", "invalid_url"), None  # a TAB, a control character, 70.000 characters
        try:
            async with self.gate(url):
                async with asyncio.timeout(self.settings.timeout_seconds):  # from the real start, not the queue
                    response = await self.client.send(request, stream=True)
                    try:
                        if response.is_redirect:
                            return LinkResult(url, "ok", status=response.status_code), response.headers["Location"]
                        head = await self._head_of(response)
                    finally:
                        await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return LinkResult(url, "broken", "timeout", transient=True), None
        except httpx.ConnectError as exc:
            return LinkResult(url, "broken", _connect_reason(exc), transient=True), None
        except httpx.HTTPError as exc:
            return LinkResult(url, "broken", type(exc).__name__, transient=True), None
        return self._judge(url, response, head), None

    async def _head_of(self, response: httpx.Response) -> str:
        limit, body = self.settings.max_body_kb * 1024, bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= limit:
                break
        return bytes(body[:limit]).decode(response.encoding or "utf-8", errors="replace")

    def _judge(self, url: str, response: httpx.Response, head: str) -> LinkResult:
        status = response.status_code
        if status in SLOW_DOWN or any(marker in head for marker in self.settings.slow_down_markers):
            return LinkResult(url, "broken", "slow_down", status, transient=True, retry_after=_retry_after(response))
        if status >= 400:
            return LinkResult(url, "broken", f"http_{status}", status, transient=status >= 500)
        if any(marker in head for marker in self.settings.not_found_markers):
            return LinkResult(url, "broken", "not_found_marker", status)
        return LinkResult(url, "ok", None, status, page_code=code_named(head))


def make_async_client(config: Config, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    limit = config.portal.concurrency * max(1, len(config.portal.hosts))
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent(config), "Accept": "text/html,application/xhtml+xml"},
        timeout=httpx.Timeout(config.portal.timeout_seconds), follow_redirects=False, transport=transport,
        limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit))


async def check_urls(config: Config, urls: list[str],
                     transport: httpx.AsyncBaseTransport | None = None) -> tuple[list[LinkResult], str | None]:
    """Canary first (the portal's home page), then every URL; (results, why the breaker tripped)."""
    async with make_async_client(config, transport) as client:
        checker = LinkChecker(config.portal, client)
        canary = await checker.check(config.portal.home)
        if canary.outcome != "ok":
            return [], checker.breaker.tripped or (f"trang chủ Cổng {config.portal.home} không trả lời đúng:"
                                                   f" {reason_words(canary.reason, canary.status)}")
        results = await asyncio.gather(*(_counted(checker.check(url)) for url in urls))
        return list(results), checker.breaker.tripped


async def _counted(check: Awaitable[LinkResult]) -> LinkResult:
    result = await check
    progress.advance()
    return result


def posted_links(store: Store, units: Iterable[str]) -> dict[str, list[str]]:
    """Every link each of the given units' last full listing read holds, deduplicated per unit."""
    links: dict[str, list[str]] = {}
    for unit, url in observations.posted_links(store.db, units):
        links.setdefault(unit, []).append(url)
    return links


def within_caps(settings: PortalSettings, wanted: dict[str, list[str]]) -> tuple[list[str], dict[str, int]]:
    """The URLs this run may ask (at most max_links_per_unit new ones per unit, max_links_per_run in all),
    and for each unit over a cap how many were left for later runs: no site can make auditbot a load
    generator against the national portal."""
    chosen: dict[str, None] = {}
    deferred: dict[str, int] = {}
    for unit, urls in wanted.items():
        taken = 0
        for url in urls:
            if url in chosen:
                continue
            if taken >= settings.max_links_per_unit or len(chosen) >= settings.max_links_per_run:
                deferred[unit] = deferred.get(unit, 0) + 1
                continue
            chosen[url] = None
            taken += 1
    return list(chosen), deferred


def check_links(config: Config, store: Store, units: Iterable[str], now: datetime,
                transport: httpx.AsyncBaseTransport | None = None, network: Reach | None = None) -> PortalRun:
    """Check the direct portal links the units post, except those with a fresh stored result, within the caps.
    When the portal's home does not answer, the canaries say whether auditbot's own network is to blame;
    `network`: a verdict this run already has (a network found down is not asked again)."""
    classify = PortalUrls(config.portal).classify
    fresh = observations.fresh_link_urls(store.db, now - timedelta(hours=config.portal.cache_hours))
    direct = {unit: [url for url in urls if (link := classify(url)) and link.direct]
              for unit, urls in posted_links(store, units).items()}
    wanted = {unit: [url for url in urls if url not in fresh] for unit, urls in direct.items()}
    to_check, deferred = within_caps(config.portal, wanted)
    distinct = {url for urls in direct.values() for url in urls}
    run = PortalRun(requested=len(to_check), cached=len(distinct & fresh), deferred=deferred)
    if to_check and network is not None and not network.reachable:
        run.requested, run.reach = 0, network
        run.tripped = "hệ thống kiểm soát không kết nối được ra ngoài: không hỏi Cổng lượt này"
    elif to_check:
        with progress.steps("links", len(to_check)):
            run.results, run.tripped = asyncio.run(check_urls(config, to_check, transport))
        if run.tripped and not run.results and config.network.canaries:  # the home failed: the portal, or us?
            run.reach = portal_reach(config, transport)
            store_reach(store, run.reach, now)
    store_run(store, run, now)
    return run


def store_run(store: Store, run: PortalRun, now: datetime) -> None:
    record_portal_run(store.db, run.requested, run.cached, run.tripped, run.deferred,
                      [(r.url, r.outcome, r.reason, r.status, r.final_url, r.attempts, r.page_code)
                       for r in run.results], now, network_down=run.reach is not None and not run.reach.reachable)
