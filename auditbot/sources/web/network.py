"""Whether auditbot can reach the world at all, asked before any unit is blamed for a page it could not read.

The failures say when to ask: at least half the units of a listing run failed before any answer (the
name did not resolve, the connection was refused or cut off, TLS failed, nothing came in time), or the
portal's home page did. Then the canaries are asked — `[portal] home` and `[network] canaries` — and
when none of them answers either, the failure is auditbot's own network: the centre is told, and no
unit is judged on what could not be read. Any HTTP answer, an error page included, proves the way out.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import httpx

from auditbot.config.origins import Origins
from auditbot.config.rules import Config
from auditbot.sources.web.bounded import ExchangeError, NoConnection
from auditbot.sources.web.fetched import user_agent
from auditbot.store import Store
from auditbot.store.network import record_reach

# how a request can fail before any answer; the words for people are portal_urls.REASONS'
FAILURES = ("dns", "tls", "refused", "unreachable", "timeout", "connect")
PATTERN_SHARE = 0.5  # this share of the units failing before any answer is worth asking the canaries
UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN}


@dataclass(frozen=True)
class Canary:
    url: str
    failure: str | None  # None: it answered


@dataclass(frozen=True)
class Reach:
    """One run's verdict on auditbot's own way out, and what it rests on."""

    source: str                 # listings | portal: the run that judged it
    reachable: bool
    asked: int                  # units whose sites were asked (listings), or 1: the portal's home
    failed: int                 # of those, how many failed before any answer
    failure: str | None         # the commonest way they failed (one of FAILURES)
    canaries: tuple[Canary, ...] = ()  # empty: not asked, the answers were evidence enough


def failure_kind(exc: BaseException) -> str | None:
    """How a request failed before any answer (one of FAILURES), or None when something did answer."""
    kind: str | None = None
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:  # httpx wraps httpcore wraps the socket's error
        seen.add(id(current))
        if isinstance(current, ExchangeError) and not isinstance(current, NoConnection):
            return None  # cut after the connection was made (too slow, too large): something answered
        if isinstance(current, socket.gaierror):
            return "dns"
        if isinstance(current, ssl.SSLError):
            return "tls"
        if isinstance(current, ConnectionRefusedError):
            return "refused"
        if isinstance(current, OSError) and current.errno in UNREACHABLE:
            return "unreachable"
        if isinstance(current, (TimeoutError, httpx.TimeoutException, NoConnection)):
            kind = kind or "timeout"
        elif isinstance(current, httpx.ConnectError):
            text = str(current).casefold()
            kind = kind or ("dns" if "name resolution" in text or "name or service" in text else "connect")
        current = current.__cause__ or current.__context__  # httpcore hides the socket's error as context
    return kind


def canary_urls(config: Config) -> list[str]:
    return list(dict.fromkeys([config.portal.home, *config.network.canaries]))


async def ask_canaries(config: Config, urls: list[str],
                       transport: httpx.AsyncBaseTransport | None = None) -> tuple[Canary, ...]:
    """Each canary once, all at the same time, each within `[network] timeout_seconds`; only their hosts."""
    origins = Origins.of(urls)

    async def guard(request: httpx.Request) -> None:
        origins.check(str(request.url))

    seconds = config.network.timeout_seconds
    async with httpx.AsyncClient(headers={"User-Agent": user_agent(config)}, timeout=httpx.Timeout(seconds),
                                 follow_redirects=False, transport=transport,
                                 event_hooks={"request": [guard]}) as client:
        return tuple(await asyncio.gather(*(_ask(client, url, seconds) for url in urls)))


async def _ask(client: httpx.AsyncClient, url: str, seconds: float) -> Canary:
    connected = False

    async def trace(event: str, info: dict[str, object]) -> None:
        nonlocal connected
        connected = connected or event == "connection.connect_tcp.complete"

    try:
        async with asyncio.timeout(seconds):
            async with client.stream("GET", url, extensions={"trace": trace}):
                return Canary(url, None)  # the status line came back: the way out works
    except Exception as exc:  # noqa: BLE001 whatever went wrong, the question is only whether anything answered
        # a canary that took the connection and then dawdled still proves the way out
        return Canary(url, None if connected and failure_kind(exc) == "timeout" else failure_kind(exc))


def sites_reach(config: Config, failures: Iterable[str | None],
                transport: httpx.AsyncBaseTransport | None = None) -> Reach | None:
    """A listing run's verdict from each unit's way of failing before any answer (None: its sites answered).
    The canaries are asked only when at least half the units failed so; None when no unit was asked."""
    ways = list(failures)
    if not ways:
        return None
    failed = [way for way in ways if way]
    commonest = Counter(failed).most_common(1)[0][0] if failed else None
    if not failed or len(failed) < PATTERN_SHARE * len(ways):
        return Reach("listings", True, len(ways), len(failed), commonest)
    canaries = asyncio.run(ask_canaries(config, canary_urls(config), transport))
    answered = any(canary.failure is None for canary in canaries)
    return Reach("listings", answered, len(ways), len(failed), commonest, canaries)


def portal_reach(config: Config, transport: httpx.AsyncBaseTransport | None = None) -> Reach:
    """After the portal's home failed to answer: the portal's trouble, or auditbot's own? Ours only when
    the home and every other canary fail before any answer; with no other canary, nobody can tell."""
    canaries = asyncio.run(ask_canaries(config, canary_urls(config), transport))
    home, others = canaries[0], canaries[1:]
    down = home.failure is not None and bool(others) and all(canary.failure for canary in others)
    return Reach("portal", not down, 1, int(home.failure is not None), home.failure, canaries)


def store_reach(store: Store, reach: Reach, now: datetime) -> None:
    record_reach(store.db, reach.source, reach.reachable, reach.asked, reach.failed, reach.failure,
                 [(canary.url, canary.failure) for canary in reach.canaries], now)
