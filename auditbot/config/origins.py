"""Where auditbot may send a request: the listing URLs of rules.toml and the portal's hosts, nothing else.

Checked on every request, redirects included, so a listing page (or a redirect) pointing at
127.0.0.1, 10.x, file:// or any other host costs that host nothing: it is never asked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


class OffLimits(Exception):
    """A request auditbot refuses to make."""


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower().rstrip("."), port or DEFAULT_PORTS[scheme]


def split_host(entry: str) -> tuple[str, int | None]:
    """"host" or "host:port", as rules.toml writes a portal host."""
    host, _, port = entry.strip().lower().rpartition(":")
    if host and port.isdigit():
        return host, int(port)
    return entry.strip().lower(), None


def site(url: str) -> tuple[str, int] | None:
    """(host, port) of a web URL; None for anything else."""
    origin = _origin(url)
    return None if origin is None else origin[1:]


@dataclass(frozen=True)
class Origins:
    allowed: frozenset[tuple[str, int]]  # (host, port)

    @classmethod
    def of(cls, urls: Iterable[str] = (), hosts: Iterable[str] = ()) -> Origins:
        """Each URL's host and port; a site on a default port may also move between http and https and
        add or drop "www."; bare hosts (the portal's) with their www. on the default ports, "host:port" exactly."""
        allowed: set[tuple[str, int]] = set()
        for url in urls:
            origin = _origin(url)
            if origin is None:
                continue
            _, host, port = origin
            ports = {port} | (set(DEFAULT_PORTS.values()) if port in DEFAULT_PORTS.values() else set())
            bare = host.removeprefix("www.")
            allowed |= {(name, p) for name in (bare, f"www.{bare}") for p in ports}
        for entry in hosts:  # "dichvucong.gov.vn" (and its www.) on the default ports, or "host:port" exactly
            name, fixed = split_host(entry)
            if fixed is not None:
                allowed.add((name, fixed))
            else:
                bare = name.removeprefix("www.")
                allowed |= {(each, p) for each in (bare, f"www.{bare}") for p in DEFAULT_PORTS.values()}
        return cls(frozenset(allowed))

    def allows(self, url: str) -> bool:
        return site(url) in self.allowed

    def check(self, url: str) -> None:
        if not self.allows(url):
            raise OffLimits(f"not requested: {url} is not a host rules.toml lets auditbot ask")
