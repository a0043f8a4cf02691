"""Link checks: every posted procedure must link directly to its own, working, national-portal page;
and, for the centre, whether the portal could be checked at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from auditbot.listed import Match, catalogue, matches, read_units
from auditbot.model import Check, CheckContext, Finding
from auditbot.plugins import hookimpl
from auditbot.portal_urls import PortalLink, PortalUrls
from auditbot.store import CENTRE

REASONS = {  # why a link is broken, as the unit reads it
    "dns": "không phân giải được tên miền", "refused": "máy chủ từ chối kết nối", "tls": "lỗi chứng chỉ TLS",
    "timeout": "quá thời gian chờ", "redirect_home": "chuyển hướng về trang chủ Cổng",
    "redirect_loop": "chuyển hướng vòng lặp", "too_many_redirects": "chuyển hướng quá nhiều lần",
    "not_found_marker": "Cổng báo không tìm thấy thủ tục",
}


def _subject(match: Match) -> str:
    return str(match.code or match.item["code"] or match.item["name_key"])


def _label(match: Match) -> str:
    return f"{match.code + ' ' if match.code else ''}«{match.item['name']}»"


def _portal_links(context: CheckContext, match: Match) -> list[PortalLink]:
    urls = context.memo.setdefault("portal_urls", PortalUrls(context.config.portal))
    return [link for url in json.loads(match.item["links"]) if (link := urls.classify(url))]


def _details(match: Match, **extra: Any) -> dict[str, Any]:
    return {"code": match.code, "name": match.item["name"], "page": match.item["page"], **extra}


def missing(context: CheckContext) -> Iterator[Finding]:
    for unit, found in matches(context).items():
        for match in found:
            if not _portal_links(context, match):
                yield Finding(check="link.missing", unit=unit, subject=_subject(match),
                              title=f"Thủ tục {_label(match)} không có liên kết đến Cổng Dịch vụ công quốc gia",
                              details=_details(match, links=json.loads(match.item["links"])))


def not_direct(context: CheckContext) -> Iterator[Finding]:
    for unit, found in matches(context).items():
        for match in found:
            links = _portal_links(context, match)
            if links and not any(link.direct for link in links):
                yield Finding(check="link.not_direct", unit=unit, subject=_subject(match),
                              title=f"Liên kết của thủ tục {_label(match)} không dẫn thẳng đến trang thủ tục",
                              details=_details(match, links=[link.url for link in links]))


def _target(context: CheckContext, link: PortalLink) -> str | None:
    """The catalogue code a direct link names, or None when the catalogue does not know it."""
    procedures = catalogue(context)
    if link.code:
        return link.code if link.code in procedures else None
    by_portal_id = context.memo.setdefault(
        "by_portal_id", {row["portal_id"]: code for code, row in procedures.items() if row["portal_id"]})
    found: str | None = by_portal_id.get(link.portal_id)
    return found


def mismatch(context: CheckContext) -> Iterator[Finding]:
    procedures = catalogue(context)
    for unit, found in matches(context).items():
        for match in found:
            wrong = []
            for link in _portal_links(context, match):
                if not link.direct:
                    continue
                target = _target(context, link)
                if target is None or (match.code and target != match.code):
                    wrong.append({"url": link.url, "id": link.ref, "points_to": target,
                                  "points_to_name": procedures[target]["name"] if target else None})
            if wrong:
                known = wrong[0]["points_to"]
                yield Finding(
                    check="link.mismatch", unit=unit, subject=_subject(match),
                    title=(f"Liên kết của thủ tục {_label(match)} dẫn đến "
                           + (f"thủ tục khác ({known})" if known else f"mã {wrong[0]['id']} không có trong danh mục")),
                    details=_details(match, wrong_links=wrong))


def _link_results(context: CheckContext) -> dict[str, dict[str, Any]]:
    if "link_results" not in context.memo:
        context.memo["link_results"] = {row["url"]: row for row in context.query("SELECT * FROM link_checks")}
    results: dict[str, dict[str, Any]] = context.memo["link_results"]
    return results


def _portal_tripped(context: CheckContext) -> dict[str, Any] | None:
    rows = list(context.query("SELECT * FROM portal_runs ORDER BY id DESC LIMIT 1"))
    return rows[0] if rows and rows[0]["tripped"] else None


def checked_units(context: CheckContext) -> list[str]:
    """Units read in full whose every direct portal link has a verdict, while the portal was up."""
    if _portal_tripped(context):
        return []
    results, covered = _link_results(context), []
    for unit, found in matches(context).items():
        urls = [link.url for match in found for link in _portal_links(context, match) if link.direct]
        if all(url in results and results[url]["outcome"] != "unknown" for url in urls):
            covered.append(unit)
    return covered


def broken(context: CheckContext) -> Iterator[Finding]:
    results = _link_results(context)
    covered = set(checked_units(context))
    for unit, found in matches(context).items():
        if unit not in covered:
            continue
        for match in found:
            failed = [results[link.url] for link in _portal_links(context, match)
                      if link.direct and results[link.url]["outcome"] == "broken"]
            if failed:
                first = failed[0]
                why = REASONS.get(first["reason"], f"lỗi HTTP {first['status']}" if first["status"] else first["reason"])
                yield Finding(
                    check="link.broken", unit=unit, subject=_subject(match), severity="high",
                    title=f"Liên kết của thủ tục {_label(match)} bị lỗi: {why}",
                    details=_details(match, broken_links=[
                        {"url": r["url"], "reason": r["reason"], "status": r["status"], "final_url": r["final_url"],
                         "checked_at": r["checked_at"]} for r in failed]))


def portal_unavailable(context: CheckContext) -> Iterator[Finding]:
    tripped = _portal_tripped(context)
    if tripped:
        yield Finding(check="portal.unavailable", unit=CENTRE, subject="portal", severity="high",
                      title=f"Cổng Dịch vụ công quốc gia không kiểm tra được: {tripped['tripped']}",
                      details={"reason": tripped["tripped"], "checked_at": tripped["checked_at"]})


def portal_checked(context: CheckContext) -> list[str]:
    return [CENTRE] if list(context.query("SELECT 1 FROM portal_runs LIMIT 1")) else []


@hookimpl
def auditbot_checks() -> list[Check]:
    return [
        Check("link.missing", "Thủ tục niêm yết không có liên kết đến Cổng DVCQG", missing,
              evidence=read_units, source="listings"),
        Check("link.not_direct", "Liên kết không dẫn thẳng đến trang thủ tục", not_direct,
              evidence=read_units, source="listings"),
        Check("link.mismatch", "Liên kết dẫn đến thủ tục khác", mismatch, evidence=read_units, source="listings"),
        Check("link.broken", "Liên kết bị lỗi", broken, severity="high", evidence=checked_units, source="portal"),
        Check("portal.unavailable", "Cổng DVCQG không kiểm tra được", portal_unavailable, severity="high",
              evidence=portal_checked, source="portal"),
    ]
