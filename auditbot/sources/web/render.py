"""Listing pages whose rows are built by scripts, read in headless Chromium (Debian's, driven by Playwright).

The browser opens no connection of its own: every request it makes is intercepted and answered by
auditbot's own HTTP client, through the same origin guard, deadline and size cap as a served page;
requests to any other host are refused and counted. What interception cannot see finds no way out:
the browser resolves no name, its proxy is a name that never resolves, WebRTC may use UDP only
through that proxy (and has no RTCPeerConnection to start with), WebSockets are refused. Popups are
blocked, and a request from any page but the one being read is refused. Images, fonts, media and
stylesheets are not fetched (they build no rows). No downloads, no service workers, one time budget
per page; the page as built is capped like a served one (its size and its nodes); and the browser is
always closed, whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import time
from types import TracebackType
from typing import Any

import httpx

from auditbot.config.origins import Origins
from auditbot.config.rules import Config
from auditbot.sources.web.bounded import Answer, ExchangeError, exchange, too_large
from auditbot.sources.web.fetched import Fetched, PageRecord, user_agent
from auditbot.words.vietnamese import number

log = logging.getLogger(__name__)

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
SKIPPED_RESOURCES = {"image", "media", "font", "stylesheet"}
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage",
                  # a request that escaped interception would find no host: the browser has no network of its own
                  "--host-resolver-rules=MAP * ~NOTFOUND",
                  # WebRTC opens its own sockets, which no route sees: UDP only through the proxy, which is nowhere
                  "--webrtc-ip-handling-policy=disable_non_proxied_udp"]
# where TCP that escaped interception would go (WebRTC's included): a reserved name the browser never resolves
NOWHERE = {"server": "http://proxy.invalid:9"}
# Playwright turns Chromium's popup blocker off; on, a script's window.open without a click opens nothing
POPUPS_BLOCKED = ["--disable-popup-blocking"]
# the interfaces that open connections no route sees, gone before any script of the page runs
NO_OWN_CONNECTIONS = """for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel",
                         "RTCIceTransport", "RTCSctpTransport", "WebTransport"]) { delete window[name]; }"""
# the page as built, measured without serializing it: a lower bound of its serialized length (UTF-16 units,
# never more than its UTF-8 bytes) and its nodes, walked with an early stop so a huge DOM costs no more than the cap
MEASURE_DOM = """([maxChars, maxNodes]) => {
  let chars = 0, nodes = 0;
  const walker = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
  for (let node = walker.currentNode; node !== null; node = walker.nextNode()) {
    nodes += 1;
    if (node.nodeType === Node.ELEMENT_NODE) {
      chars += node.localName.length + 2;
      for (const attribute of node.attributes) chars += attribute.name.length + attribute.value.length + 4;
    } else if (node.nodeValue !== null) {
      chars += node.nodeValue.length;
    }
    if (chars > maxChars || nodes > maxNodes) return {chars, nodes};
  }
  return {chars, nodes};
}"""
# the real listing pages of tests/real_pages run 14 to 44 bytes a node: one within the size cap has far
# fewer nodes than this
BYTES_PER_NODE = 4
DROPPED_HEADERS = {"content-encoding", "content-length", "transfer-encoding", "connection"}


def chromium_path(configured: str) -> str:
    found = shutil.which(configured) if configured else next(filter(None, map(shutil.which, BROWSERS)), None)
    if not found:
        raise ExchangeError("trang dựng danh sách bằng JavaScript cần Chromium để đọc, nhưng máy chủ chưa cài"
                            f" ({configured or 'chromium'}; [listings] chromium)")
    return found


class Renderer:
    """One browser for a run's scripted pages; `get` has PoliteFetcher's shape."""

    def __init__(self, config: Config, client: httpx.AsyncClient, origins: Origins) -> None:
        self.config, self.client, self.origins = config, client, origins
        self.seconds = config.listings.render_seconds
        self.limit = int(config.listings.max_page_mb * (1 << 20))
        self.max_nodes = self.limit // BYTES_PER_NODE
        self.blocked = 0
        self._playwright: Any = None
        self._browser: Any = None

    async def __aenter__(self) -> Renderer:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright
        executable = chromium_path(self.config.listings.chromium)
        self._playwright = await async_playwright().start()
        try:
            self._browser = await self._playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_FLAGS, proxy=NOWHERE,
                ignore_default_args=POPUPS_BLOCKED, timeout=self.seconds * 1000)
        except PlaywrightError as exc:
            await self._playwright.stop()
            raise ExchangeError(f"không khởi động được Chromium ({executable}): {str(exc).splitlines()[0]}") from None
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        traceback: TracebackType | None) -> None:
        try:
            if self._browser is not None:
                await self._browser.close()
        finally:
            await self._playwright.stop()

    async def get(self, url: str, cached: PageRecord | None) -> Fetched:
        """The page's DOM once its scripts have run (network idle, or the budget spent)."""
        from playwright.async_api import Error as PlaywrightError
        self.origins.check(url)
        started = time.monotonic()
        context = await self._browser.new_context(
            user_agent=user_agent(self.config), service_workers="block", accept_downloads=False,
            java_script_enabled=True, bypass_csp=False)
        main: list[Answer] = []  # the answers to the page's own navigations, the last one is what it shows
        try:
            async with asyncio.timeout(self.seconds):
                await context.add_init_script(script=NO_OWN_CONNECTIONS)
                await context.route_web_socket(re.compile(".*"), self._refuse_socket)
                page = await context.new_page()
                await context.route("**/*", lambda route: self._answer(route, url, page, main))
                try:
                    await page.goto(url, wait_until="domcontentloaded")
                    remaining = max(0.1, self.seconds - (time.monotonic() - started) - 0.5)
                    try:
                        await page.wait_for_load_state("networkidle", timeout=remaining * 1000)
                    except PlaywrightError:
                        pass  # a page that keeps polling: read what it shows by now
                    html = await self._built_page(page)
                except PlaywrightError as exc:
                    raise ExchangeError(f"Chromium không mở được trang: {str(exc).splitlines()[0]}") from None
        except TimeoutError:
            raise ExchangeError(f"trang dựng bằng JavaScript quá {self.seconds:g} giây chưa xong") from None
        finally:
            # not unroute_all first: it waits on a renderer that a script keeps busy; requests still being
            # answered fail quietly in _answer
            with contextlib.suppress(PlaywrightError):  # a browser that died has nothing left to close
                await context.close()
        if not main:
            raise ExchangeError(f"Chromium không nhận được trang {url}")
        answer = main[-1]
        return Fetched(answer.status, html, "utf-8", answer.url, None, None, "text/html; charset=utf-8")

    async def _built_page(self, page: Any) -> bytes:
        """The page as its scripts built it, serialized, or ExchangeError when it is bigger than a served page may be."""
        measured = await page.evaluate(MEASURE_DOM, [self.limit, self.max_nodes])
        if measured["nodes"] > self.max_nodes:
            raise ExchangeError(f"trang dựng bằng JavaScript có hơn {number(self.max_nodes)} nút HTML, đã dừng đọc:"
                                " không đủ làm bằng chứng")
        if measured["chars"] > self.limit:
            raise ExchangeError(too_large(self.limit, "sau khi chạy JavaScript"))
        html: bytes = (await page.content()).encode("utf-8")
        if len(html) > self.limit:
            raise ExchangeError(too_large(self.limit, "sau khi chạy JavaScript"))
        return html

    async def _refuse_socket(self, socket: Any) -> None:
        """A WebSocket cannot go through auditbot's client: refused, whatever its host."""
        from playwright.async_api import Error as PlaywrightError
        self.blocked += 1
        log.info("render: refused a WebSocket to %s", socket.url)
        with contextlib.suppress(PlaywrightError):
            await socket.close()

    async def _answer(self, route: Any, page_url: str, page: Any, main: list[Answer]) -> None:
        """Every browser request: refused off the unit's hosts, or a navigation of another page than the one
        being read (a popup); else fetched by auditbot's client. Nothing raised here may escape as a traceback:
        the page may close while a request is answered."""
        request = route.request
        try:
            if request.resource_type in SKIPPED_RESOURCES:
                await route.abort("blockedbyclient")
                return
            navigation = request.is_navigation_request()
            if not self.origins.allows(request.url) or (navigation and page_of(request) is not page):
                self.blocked += 1
                log.info("render %s: refused a request to %s", page_url, request.url)
                await route.abort("blockedbyclient")
                return
            try:
                headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "accept-encoding")}
                answer = await exchange(self.client, request.url, limit=self.limit, seconds=self.seconds,
                                        method=request.method, headers=headers, content=request.post_data_buffer)
            except Exception:  # noqa: BLE001 refused by the guard, too slow, too big: the browser sees a failed request
                await route.abort("failed")
                return
            if navigation and request.frame is page.main_frame:
                main.append(answer)
            await route.fulfill(status=answer.status, body=answer.body,
                                headers={k: v for k, v in answer.headers.items() if k.lower() not in DROPPED_HEADERS})
        except Exception as exc:  # noqa: BLE001 the page closed under the request, mostly: it is answered no more
            log.debug("render %s: %s not answered (%s)", page_url, request.url, type(exc).__name__)


def page_of(request: Any) -> Any:
    """The page a navigation comes from; None for a popup's first one (its frame does not exist yet)."""
    from playwright.async_api import Error as PlaywrightError
    try:
        return request.frame.page
    except PlaywrightError:
        return None
