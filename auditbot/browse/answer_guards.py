"""What bounds the answer page against a hostile client: requests per key and minute, the size of a post,
and the live links known in memory, so a wrong token costs no database read."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
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


class RateLimit:
    """At most `per_minute` requests per key in any minute (one process serves: memory is enough)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.seen: dict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()

    def allow(self, key: str, count: bool = True) -> bool:
        """Whether the key is under its limit; `count` spends one of its requests."""
        now = time.monotonic()
        with self.lock:
            times = self.seen[key]
            while times and times[0] <= now - 60:
                times.popleft()
            if len(times) >= self.per_minute:
                return False
            if count:
                times.append(now)
            if len(self.seen) > 10000:  # forget idle keys rather than grow
                for stale in [k for k, v in self.seen.items() if not v]:
                    del self.seen[stale]
            return True


class KnownLinks:
    """The hashes of the links not yet expired, kept in memory: a wrong token is told apart without the
    database, which a flood of them reads at most once a second (`report` issues new links from another
    process). A token found here is still looked up, so the database alone says what it may do."""

    def __init__(self, database: Path, busy_seconds: float) -> None:
        self.database, self.busy_seconds = database, busy_seconds
        self.hashes: set[str] = set()
        self.read_at = float("-inf")
        self.lock = threading.Lock()

    def known(self, token: str) -> bool:
        return digest(token) in self.hashes

    def reread(self, token: str, now: datetime) -> bool:
        """Whether the token is known after reading the links again, if they were not read this last second."""
        with self.lock:  # one reader at a time; the others use what it read
            if not self.known(token) and time.monotonic() - self.read_at >= REFRESH_SECONDS:
                with Store(self.database, self.busy_seconds) as store:
                    self.hashes = store.live_link_hashes(now)
                self.read_at = time.monotonic()
            return self.known(token)


def body_cap(app: App, limit: int, prefix: str) -> App:
    """Posts under `prefix` bigger than `limit` are refused before they are read whole (413)."""

    async def capped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(prefix):
            await app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _plain(send, 413, "Nội dung gửi quá lớn.")
            return
        taken = 0

        async def counted() -> dict[str, Any]:
            nonlocal taken
            message = await receive()
            taken += len(message.get("body", b""))
            if taken > limit:  # a chunked body with no length said: stop reading it
                raise BodyTooLarge
            return message

        try:
            await app(scope, counted, send)
        except BodyTooLarge:
            await _plain(send, 413, "Nội dung gửi quá lớn.")

    return capped


class BodyTooLarge(Exception):
    pass


async def _plain(send: Send, status: int, text: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": text.encode("utf-8")})



