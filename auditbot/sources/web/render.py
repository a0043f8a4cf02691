"""Listing pages whose rows are built by scripts, read in headless Chromium (Debian's, driven by Playwright).

The browser opens no connection of its own: every request it makes is intercepted and answered by
auditbot's own HTTP client, through the same origin guard, deadline and size cap as a served page;
requests to any other host are refused and counted. Images, fonts, media and stylesheets are not
fetched (they build no rows). No downloads, no service workers, one time budget per page, and the
browser is always closed, whatever happens.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from types import TracebackType
from typing import Any

import httpx

from auditbot.config.origins import Origins
from auditbot.config.rules import Config
from auditbot.sources.web.bounded import ExchangeError, exchange
from auditbot.sources.web.fetched import Fetched, PageRecord, user_agent

log = logging.getLogger(__name__)

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
SKIPPED_RESOURCES = {"image", "media", "font", "stylesheet"}
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                  "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage",
                  # a request that escaped interception would find no host: the browser has no network of its own
                  "--host-resolver-rules=MAP * ~NOTFOUND"]
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
                executable_path=executable, headless=True, args=CHROMIUM_FLAGS, timeout=self.seconds * 1000)
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
        status: dict[str, Any] = {"main": None}
        await context.route("**/*", lambda route: self._answer(route, url, status))
        try:
            async with asyncio.timeout(self.seconds):
                page = await context.new_page()
                try:
                    await page.goto(url, wait_until="domcontentloaded")
                    remaining = max(0.1, self.seconds - (time.monotonic() - started) - 0.5)
                    try:
                        await page.wait_for_load_state("networkidle", timeout=remaining * 1000)
                    except PlaywrightError:
                        pass  # a page that keeps polling: read what it shows by now
                    html = await page.content()
                except PlaywrightError as exc:
                    raise ExchangeError(f"Chromium không mở được trang: {str(exc).splitlines()[0]}") from None
        except TimeoutError:
            raise ExchangeError(f"trang dựng bằng JavaScript quá {self.seconds:g} giây chưa xong") from None
        finally:
            await context.close()
        main = status["main"]
        if main is None:
            raise ExchangeError(f"Chromium không nhận được trang {url}")
        return Fetched(main.status, html.encode("utf-8"), "utf-8", main.url, None, None, "text/html; charset=utf-8")

    async def _answer(self, route: Any, page_url: str, status: dict[str, Any]) -> None:
        """Every browser request: refused off the unit's hosts, else fetched by auditbot's client."""
        request = route.request
        if request.resource_type in SKIPPED_RESOURCES:
            await route.abort("blockedbyclient")
            return
        if not self.origins.allows(request.url):
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
        if request.is_navigation_request() and request.frame.parent_frame is None:
            status["main"] = answer
        await route.fulfill(status=answer.status, body=answer.body,
                            headers={k: v for k, v in answer.headers.items() if k.lower() not in DROPPED_HEADERS})
