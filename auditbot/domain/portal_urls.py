"""What a link to the national portal points at, from its URL alone.

A procedure page is one of `[portal] procedure_urls` with an id: the portal's numeric id (432777),
its UUID (the 2026 portal's `formalityId=019d2bfe-…`, any case) or a national procedure code (1.001108,
or 1.000110.000.00.00.H01 with an agency suffix); query keys are found in any order and any case.
Any other page on a portal host (home, a keyword search, a procedure page without its id) is not direct.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

from auditbot.config.origins import split_host
from auditbot.config.rules import PortalSettings
from auditbot.words.codes import AGENCY_SUFFIX, CODE

NATIONAL_CODE = re.compile(rf"^({CODE}){AGENCY_SUFFIX}$")  # the whole id is a code
PORTAL_ID = re.compile(r"^\d+$|^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


@dataclass(frozen=True)
class PortalLink:
    url: str
    direct: bool             # a procedure page with an id
    ref: str | None = None   # the id as written
    code: str | None = None  # when ref is a national code: its leading d.dddddd
    portal_id: str | None = None  # when ref is the portal's own id: numeric, or a UUID (lower case)


@dataclass(frozen=True)
class _Pattern:
    path: re.Pattern[str]
    param: str | None  # the query parameter carrying the id, or None when the id is in the path


def _compile(pattern: str) -> _Pattern:
    path, _, query = pattern.partition("?")
    if "{id}" in query:
        return _Pattern(re.compile(re.escape(path) + "/?", re.IGNORECASE), query.split("=")[0].lower())
    before, after = path.split("{id}", 1)
    return _Pattern(re.compile(f"{re.escape(before)}(?P<id>[^/]*){re.escape(after)}/?", re.IGNORECASE), None)


class PortalUrls:
    def __init__(self, settings: PortalSettings) -> None:
        self.hosts = frozenset(split_host(entry)[0].removeprefix("www.") for entry in settings.hosts)
        self.patterns = [_compile(pattern) for pattern in settings.procedure_urls]

    def host(self, url: str) -> str | None:
        """The portal host a URL is on (www. or not, any port: the request guard judges the port), or None."""
        try:
            host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
        except ValueError:
            return None
        return host if host in self.hosts else None

    def classify(self, url: str) -> PortalLink | None:
        """None for a link that is not on the portal at all."""
        if self.host(url) is None:
            return None
        parts = urlsplit(url)
        query = {key.lower(): values for key, values in parse_qs(parts.query).items()}
        for pattern in self.patterns:
            found = pattern.path.fullmatch(parts.path)
            if not found:
                continue
            ref = (query.get(pattern.param) or [""])[0] if pattern.param else unquote(found.group("id"))
            ref = ref.strip()
            if ref:
                code = NATIONAL_CODE.match(ref)
                return PortalLink(url, True, ref, code.group(1) if code else None,
                                  ref.lower() if PORTAL_ID.match(ref) else None)
        return PortalLink(url, False)

    def same_page(self, url: str, other: str) -> bool:
        """Two addresses of one procedure page: the same URL, or the same portal path naming the same id
        (any case, other query keys aside). The same id on another of `procedure_urls` is another address."""
        if url == other:
            return True
        a, b = self.classify(url), self.classify(other)
        if not (a and b and a.direct and b.direct and a.ref and b.ref) or a.ref.lower() != b.ref.lower():
            return False
        return urlsplit(url).path.lower().rstrip("/") == urlsplit(other).path.lower().rstrip("/")


def link_targets(link: PortalLink, codes: Container[str], by_portal_id: Mapping[str, tuple[str, ...]],
                 page_code: str | None) -> tuple[str, ...]:
    """The catalogue procedures a direct link may name: by the code in it, by a portal id the catalogue
    knows (several when the catalogue gives that id to several procedures), or by the code the portal's
    page itself shows. Empty: unverified, which is no violation."""
    if link.code and link.code in codes:
        return (link.code,)
    if link.portal_id and link.portal_id in by_portal_id:
        return by_portal_id[link.portal_id]
    return (page_code,) if page_code and page_code in codes else ()


def portal_ids(procedures: Mapping[str, Mapping[str, object]]) -> dict[str, tuple[str, ...]]:
    """The catalogue's portal ids (numeric or UUID, any case) -> every procedure code given that id."""
    owners: dict[str, list[str]] = {}
    for code, row in procedures.items():
        if row["portal_id"]:
            owners.setdefault(str(row["portal_id"]).strip().lower(), []).append(code)
    return {portal_id: tuple(sorted(codes)) for portal_id, codes in owners.items()}


def procedure_url(settings: PortalSettings, code: str, portal_id: str | None) -> str:
    """The procedure's own page on the portal, as a unit should link it: by the portal's UUID where the
    catalogue has one (the 2026 address), else by its numeric id or national code on the older address."""
    uuid = portal_id if portal_id and "-" in portal_id else None
    for pattern in settings.procedure_urls:
        if ("formalityid" in pattern.lower()) == bool(uuid):
            return urljoin(settings.home, pattern.replace("{id}", uuid or portal_id or code))
    return urljoin(settings.home, settings.procedure_urls[0].replace("{id}", portal_id or code))


REASONS = {  # why a link (or the portal) failed, as the unit or the centre reads it
    "dns": "không phân giải được tên miền", "refused": "máy chủ từ chối kết nối", "tls": "lỗi chứng chỉ TLS",
    "timeout": "quá thời gian chờ", "unreachable": "không có đường mạng đến máy chủ",
    "connect": "không kết nối được máy chủ", "redirect_home": "chuyển hướng về trang chủ Cổng",
    "redirect_loop": "chuyển hướng vòng lặp", "too_many_redirects": "chuyển hướng quá nhiều lần",
    "not_found_marker": "Cổng báo không tìm thấy thủ tục", "invalid_url": "địa chỉ liên kết không hợp lệ",
    "off_portal": "liên kết dẫn ra ngoài Cổng Dịch vụ công quốc gia", "slow_down": "Cổng yêu cầu hỏi chậm lại",
}


def reason_words(reason: str | None, status: int | None) -> str:
    if reason in REASONS:
        return REASONS[reason]
    return f"máy chủ trả lời HTTP {status}" if status else "lỗi kết nối không xác định"
