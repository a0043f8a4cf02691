"""What a link to the national portal points at, from its URL alone.

A procedure page is one of `[portal] procedure_urls` with an id: the portal's numeric id (432777)
or a national procedure code (1.001108, or 1.000110.000.00.00.H01 with an agency suffix). Any other
page on a portal host (home, search, category, a procedure page without its id) is not direct.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from .config import PortalSettings

NATIONAL_CODE = re.compile(r"^(\d\.\d{6})(?:\.[0-9A-Za-z.]+)?$")
PORTAL_ID = re.compile(r"^\d+$")


@dataclass(frozen=True)
class PortalLink:
    url: str
    direct: bool             # a procedure page with an id
    ref: str | None = None   # the id as written
    code: str | None = None  # when ref is a national code: its leading d.dddddd
    portal_id: str | None = None  # when ref is the portal's numeric id


@dataclass(frozen=True)
class _Pattern:
    path: re.Pattern[str]
    param: str | None  # the query parameter carrying the id, or None when the id is in the path


def _compile(pattern: str) -> _Pattern:
    path, _, query = pattern.partition("?")
    if "{id}" in query:
        return _Pattern(re.compile(re.escape(path) + "/?", re.IGNORECASE), query.split("=")[0])
    before, after = path.split("{id}", 1)
    return _Pattern(re.compile(f"{re.escape(before)}(?P<id>[^/]*){re.escape(after)}/?", re.IGNORECASE), None)


class PortalUrls:
    def __init__(self, settings: PortalSettings) -> None:
        self.hosts = frozenset(host.lower() for host in settings.hosts)
        self.patterns = [_compile(pattern) for pattern in settings.procedure_urls]

    def host(self, url: str) -> str | None:
        """The portal host a URL is on, or None."""
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            return None
        host = host[4:] if host.startswith("www.") else host
        return host if host in self.hosts else None

    def classify(self, url: str) -> PortalLink | None:
        """None for a link that is not on the portal at all."""
        if self.host(url) is None:
            return None
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        for pattern in self.patterns:
            found = pattern.path.fullmatch(parts.path)
            if not found:
                continue
            ref = (query.get(pattern.param) or [""])[0] if pattern.param else unquote(found.group("id"))
            ref = ref.strip()
            if ref:
                code = NATIONAL_CODE.match(ref)
                return PortalLink(url, True, ref, code.group(1) if code else None,
                                  ref if PORTAL_ID.match(ref) else None)
        return PortalLink(url, False)
