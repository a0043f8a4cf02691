"""Websites served from a folder on 127.0.0.1, for the demo, the tests and the benches.

The folder holds one subfolder per host name (`sample/sites/stp.example.gov.vn/thu-tuc-hanh-chinh`);
a page's query string is part of its file name (`tthc?page=2`). `LoopbackTransport` sends a client's
requests for those hosts to the local server with their Host header intact, the way `curl --resolve`
does, so stored URLs stay the real ones while nothing leaves the machine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx


@dataclass(frozen=True)
class Request:
    method: str
    host: str
    path: str
    headers: dict[str, str]
    at: float  # time.monotonic()


class SiteFolderHandler(SimpleHTTPRequestHandler):
    """Static files by Host header; Last-Modified and If-Modified-Since come from the standard handler."""

    server: SiteFolderServer

    def translate_path(self, path: str) -> str:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        parts = urlsplit(path)
        name = unquote(parts.path).lstrip("/") + (f"?{unquote(parts.query)}" if parts.query else "")
        target = (self.server.root / host / name).resolve()
        if self.server.root not in target.parents and target != self.server.root:
            return ""  # outside the folder: no such file, answered 404
        if parts.query and not target.exists():
            target = (self.server.root / host / unquote(parts.path).lstrip("/")).resolve()  # query ignored
        if target.is_dir():
            target = target / "index.html"
        self.server.requests.append(Request(self.command, host, path, dict(self.headers), time.monotonic()))
        return str(target)

    def guess_type(self, path: str | Any) -> str:
        suffix = Path(str(path)).suffix
        # pages have no charset: the page's own <meta charset> decides, as on real sites
        return {".js": "text/javascript", ".json": "application/json"}.get(suffix, "text/html")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class SiteFolderServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.requests: list[Request] = []  # what was asked, for tests and benches
        super().__init__(("127.0.0.1", 0), SiteFolderHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


@contextmanager
def serve_sites(root: Path) -> Iterator[SiteFolderServer]:
    server = SiteFolderServer(root)
    thread = threading.Thread(target=server.serve_forever, name="local-sites", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class LoopbackTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Requests for hosts under one of `domains` go to 127.0.0.1:port over plain HTTP; others fail.
    Usable by httpx.Client and httpx.AsyncClient alike."""

    def __init__(self, port: int, domains: tuple[str, ...]) -> None:
        self.port, self.domains = port, domains
        self.inner = httpx.HTTPTransport()
        self.inner_async = httpx.AsyncHTTPTransport()

    def _local(self, request: httpx.Request) -> httpx.Request:
        host = request.url.host
        if not any(host == d or host.endswith("." + d) for d in self.domains):
            raise httpx.ConnectError(f"{host} is not served locally", request=request)
        url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return httpx.Request(request.method, url, headers=request.headers, stream=request.stream,
                             extensions=request.extensions)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(self._local(request))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner_async.handle_async_request(self._local(request))

    def close(self) -> None:
        self.inner.close()

    async def aclose(self) -> None:
        await self.inner_async.aclose()


def main() -> None:
    """`python -m auditbot.demo.sites FOLDER`: serve a folder of sites until interrupted; prints the port."""
    import sys

    server = SiteFolderServer(Path(sys.argv[1]))
    print(server.port, flush=True)
    with suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
