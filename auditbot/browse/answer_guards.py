"""What bounds `serve` against a hostile client: requests per key and minute, the size of a post, no file
posted anywhere, and the live links known in memory, so a wrong token costs no database read."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from auditbot.store import Store
from auditbot.store.answers import digest

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

REFRESH_SECONDS = 1.0  # a token not in memory reads the links again at most this often (new letters' links)
MAX_KEYS = 10_000      # clients (or links) a rate limit remembers
OVERFLOW = "*"         # the key new clients share once MAX_KEYS are remembered


class RateLimit:
    """At most `per_minute` requests per key in any minute (one process serves: memory is enough). Keys
    are bounded too: past MAX_KEYS, new keys share one quota, so a client changing its address (a forwarded
    header, an IPv6 range) grows nothing and turns itself away."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.seen: dict[str, deque[float]] = defaultdict(deque)
        self.swept_at = float("-inf")
        self.lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Whether the key is under its limit, spending one of its requests if so."""
        now = time.monotonic()
        with self.lock:
            if key not in self.seen and len(self.seen) >= MAX_KEYS:
                if now - self.swept_at >= 1:  # at most once a second: a sweep reads every key
                    self.swept_at = now
                    for idle in [k for k, times in self.seen.items() if not times or times[-1] <= now - 60]:
                        del self.seen[idle]
                if len(self.seen) >= MAX_KEYS:
                    key = OVERFLOW
            times = self.seen[key]
            while times and times[0] <= now - 60:
                times.popleft()
            if len(times) >= self.per_minute:
                return False
            times.append(now)
            return True


class KnownLinks:
    """The hashes of the links not yet expired, kept in memory: a wrong token is told apart without the
    database, which a flood of them reads at most once a second (`report` issues new links from another
    process), on a thread of its own that nothing else queues on; requests arriving meanwhile wait for that
    one read. A token found here is still looked up, so the database alone says what it may do."""

    def __init__(self, database: Path, busy_seconds: float) -> None:
        self.database, self.busy_seconds = database, busy_seconds
        self.hashes: set[str] = set()
        self.read_at = float("-inf")
        self.reading: asyncio.Future[None] | None = None
        self.reader = ThreadPoolExecutor(1, thread_name_prefix="answer-links")

    def known(self, token: str) -> bool:
        return digest(token) in self.hashes

    async def is_live(self, token: str, now: datetime) -> bool:
        if self.known(token):
            return True
        if self.reading is None:
            if time.monotonic() - self.read_at < REFRESH_SECONDS:
                return False
            self.read_at = time.monotonic()
            self.reading = asyncio.get_running_loop().run_in_executor(self.reader, self._read, now)
        reading = self.reading
        try:
            await asyncio.shield(reading)
        finally:
            if self.reading is reading and reading.done():
                self.reading = None
        return self.known(token)

    def _read(self, now: datetime) -> None:
        with Store(self.database, self.busy_seconds) as store:
            self.hashes = store.live_link_hashes(now)


METHODS = (b"GET", b"HEAD", b"POST")  # all the server answers; Datasette met others with a 500
# where a post means something: Datasette's own pages (login, logout) and the answer pages; Datasette meets a
# post to a table or a view with a 500 before any login is asked
POST_PATHS = ("/-/", "/tra-loi/")


def guarded(app: App, limit: int) -> App:
    """Every request before Datasette or the answer page sees it: another method gets 405, and so does a post
    anywhere but POST_PATHS; a post is read whole first, at most `limit` bytes (413 past that), a file
    (multipart) gets 415 and a body that is not UTF-8 gets 400 (asgi-csrf and Datasette decode it strictly, a
    500 for anyone); a client that leaves mid-request ends it quietly, not with a traceback in the log.

    (multipart: asgi-csrf 0.11 calls python-multipart's FormParser with an argument it no longer has; the
    older python-multipart that still has it lacks security fixes.)"""

    async def checked(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if scope["method"].encode() not in METHODS:
            await _plain(send, 405, "Phương thức không được hỗ trợ.", [(b"allow", b", ".join(METHODS))])
            return
        if scope["method"] == "POST" and not scope["path"].startswith(POST_PATHS):
            await _plain(send, 405, "Trang này không nhận dữ liệu gửi lên.", [(b"allow", b"GET, HEAD")])
            return
        try:
            body = await _body(scope, receive, limit) if scope["method"] == "POST" else None
            if isinstance(body, tuple):
                await _plain(send, *body)
                return
            await app(scope, _replaying(body, receive), _cookies_for_http_only(send))
        except ClientGone:
            return

    return checked


def _cookies_for_http_only(send: Send) -> Send:
    """Datasette's login cookie (ds_actor) is set without HttpOnly: no script of any page needs to read it."""

    async def sending(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [
                (name, value + b"; HttpOnly" if name.lower() == b"set-cookie" and value.startswith(b"ds_actor=")
                 and b"httponly" not in value.lower() else value) for name, value in message.get("headers", [])]}
        await send(message)

    return sending


class ClientGone(Exception):
    """The client closed the connection before its request was whole (or the request deadline closed it)."""


async def _body(scope: Scope, receive: Receive, limit: int) -> bytes | tuple[int, str]:
    """The whole body of a post, or the (status, text) that refuses it."""
    headers = dict(scope.get("headers") or [])
    kind = headers.get(b"content-type", b"").lower().lstrip()
    if kind.startswith(b"multipart/"):
        return 415, "Không nhận tệp đính kèm."
    declared = headers.get(b"content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return 413, "Nội dung gửi quá lớn."
    chunks, taken, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunks.append(message.get("body", b""))
        taken += len(chunks[-1])
        if taken > limit:  # a chunked body with no length said: stop reading it
            return 413, "Nội dung gửi quá lớn."
        more = message.get("more_body", False)
    body = b"".join(chunks)
    try:  # whatever its Content-Type says: Datasette reads every post as UTF-8 text
        body.decode("utf-8")
    except UnicodeDecodeError:
        return 400, "Nội dung gửi không phải văn bản UTF-8."
    return body


def _replaying(body: bytes | None, receive: Receive) -> Receive:
    """The body read already, as one message; then the client's own messages, a departure ending the request."""
    pending = [] if body is None else [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> dict[str, Any]:
        if pending:
            return pending.pop()
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        return message

    return replay


async def _plain(send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store"),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": text.encode("utf-8")})
