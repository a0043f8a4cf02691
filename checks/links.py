"""Link checks: every posted procedure must link directly to its own, working, national-portal page;
and, for the centre, whether the portal could be checked at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from auditbot import (
    CENTRE,
    CENTRE_AUDIENCE,
    Check,
    CheckContext,
    Finding,
    Match,
    PortalLink,
    PortalUrls,
    catalogue,
    hookimpl,
    link_targets,
    matches,
    observations,
    portal_ids,
    procedure_url,
    read_units,
    reason_words,
)


def _subject(match: Match) -> str:
    return str(match.code or match.item["code"] or match.item["name_key"])


def _label(match: Match) -> str:
    return f"{match.code + ' ' if match.code else ''}«{match.item['name']}»"


def _portal_urls(context: CheckContext) -> PortalUrls:
    urls: PortalUrls = context.memo.setdefault("portal_urls", PortalUrls(context.config.portal))
    return urls


def _portal_links(context: CheckContext, match: Match) -> list[PortalLink]:
    urls = _portal_urls(context)
    return [link for url in json.loads(match.item["links"]) if (link := urls.classify(url))]


LINK_DETAILS = ("code", "name", "page", "posted", "correct_url")


def _correct_url(context: CheckContext, code: str | None, posted: list[str]) -> str | None:
    """The procedure's own portal page, where the catalogue knows it; never an address the unit already posts
    (telling a unit to post what it posts is no advice, and no evidence of anything)."""
    procedures = catalogue(context)
    if code not in procedures:
        return None
    correct = procedure_url(context.config.portal, code, procedures[code]["portal_id"])
    return None if any(_portal_urls(context).same_page(correct, url) for url in posted) else correct


def _details(context: CheckContext, match: Match, posted: list[str], **extra: Any) -> dict[str, Any]:
    """What the unit needs to fix it without asking: the link it posts and the procedure's own portal page."""
    correct = _correct_url(context, match.code, posted)
    return {"code": match.code, "name": match.item["name"], "page": match.item["page"], "posted": posted,
            "correct_url": correct, **extra}


def missing(context: CheckContext) -> Iterator[Finding]:
    for unit, found in matches(context).items():
        for match in found:
            if not _portal_links(context, match):
                yield Finding(check="link.missing", unit=unit, subject=_subject(match),
                              title=f"Thủ tục {_label(match)} không có liên kết đến Cổng Dịch vụ công quốc gia",
                              details=_details(context, match, posted=[]))


def not_direct(context: CheckContext) -> Iterator[Finding]:
    for unit, found in matches(context).items():
        for match in found:
            links = _portal_links(context, match)
            if links and not any(link.direct for link in links):
                yield Finding(check="link.not_direct", unit=unit, subject=_subject(match),
                              title=f"Liên kết của thủ tục {_label(match)} không dẫn thẳng đến trang thủ tục",
                              details=_details(context, match, posted=[link.url for link in links]))


def _targets(context: CheckContext, link: PortalLink) -> tuple[str, ...]:
    """The catalogue codes a direct link may name, on evidence only; empty when unverified."""
    procedures = catalogue(context)
    by_portal_id = context.memo.setdefault("by_portal_id", portal_ids(procedures))
    checked = _link_results(context).get(link.url)
    return link_targets(link, procedures, by_portal_id, checked["page_code"] if checked else None)


def mismatch(context: CheckContext) -> Iterator[Finding]:
    """A direct link that the catalogue (or the portal page itself) says is another procedure's page.
    A link whose id nobody can place is unverified, and one whose id the catalogue gives to several
    procedures, the posted one among them, is ambiguous: neither is evidence of a mismatch (the centre
    sees both in `auditbot listings`), never in a unit's letter."""
    procedures = catalogue(context)
    for unit, found in matches(context).items():
        for match in found:
            if not match.code:
                continue
            wrong = []
            for link in _portal_links(context, match):
                targets = _targets(context, link) if link.direct else ()
                if targets and match.code not in targets:
                    wrong.append({"url": link.url, "id": link.ref, "points_to": targets[0],
                                  "points_to_name": procedures[targets[0]]["name"],
                                  "correct_url": _correct_url(context, match.code, [link.url])})
            if wrong:
                yield Finding(
                    check="link.mismatch", unit=unit, subject=_subject(match),
                    title=(f"Liên kết của thủ tục {_label(match)} dẫn đến thủ tục khác ({wrong[0]['points_to']}"
                           f" «{wrong[0]['points_to_name']}»)"),
                    details=_details(context, match, posted=[w["url"] for w in wrong], wrong_links=wrong))


def _link_results(context: CheckContext) -> dict[str, dict[str, Any]]:
    if "link_results" not in context.memo:
        context.memo["link_results"] = observations.link_results(context.db)
    results: dict[str, dict[str, Any]] = context.memo["link_results"]
    return results


def _portal_tripped(context: CheckContext) -> dict[str, Any] | None:
    latest = observations.latest_portal_run(context.db)
    return latest if latest and latest["tripped"] else None


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
                why = reason_words(first["reason"], first["status"])
                yield Finding(
                    check="link.broken", unit=unit, subject=_subject(match), severity="high",
                    title=f"Liên kết của thủ tục {_label(match)} bị lỗi: {why}",
                    details=_details(context, match, posted=[r["url"] for r in failed], broken_links=[
                        {"url": r["url"], "reason": r["reason"], "status": r["status"], "final_url": r["final_url"],
                         "checked_at": r["checked_at"]} for r in failed]))


def portal_unavailable(context: CheckContext) -> Iterator[Finding]:
    tripped = _portal_tripped(context)
    if tripped and not tripped["network_down"]:  # auditbot's own outage is network.unavailable, not the portal's
        yield Finding(check="portal.unavailable", unit=CENTRE, subject="portal", severity="high",
                      title=f"Cổng Dịch vụ công quốc gia không kiểm tra được: {tripped['tripped']}",
                      details={"reason": tripped["tripped"], "checked_at": tripped["checked_at"]})


def unchecked(context: CheckContext) -> Iterator[Finding]:
    """For the centre: a unit posting more links than one run may ask the portal about."""
    latest = observations.latest_portal_run(context.db) or {"deferred": None, "checked_at": None}
    deferred = json.loads(latest["deferred"] or "{}")
    for unit, count in deferred.items():
        if unit in context.units:
            yield Finding(
                check="link.unchecked", unit=unit, subject="links", severity="medium",
                title=(f"Trang niêm yết có quá nhiều liên kết đến Cổng DVCQG: {count} liên kết chưa kiểm tra"
                       f" trong lượt này (giới hạn {context.config.portal.max_links_per_unit} mỗi đơn vị),"
                       " sẽ kiểm tra dần ở các lượt sau"),
                details={"deferred": count, "limit": context.config.portal.max_links_per_unit,
                         "checked_at": latest["checked_at"]})


def portal_read_units(context: CheckContext) -> list[str]:
    """Units read in full, once the portal has been asked at least once."""
    return read_units(context) if portal_checked(context) else []


def portal_checked(context: CheckContext) -> list[str]:
    return [CENTRE] if observations.latest_portal_run(context.db) else []


@hookimpl
def auditbot_checks() -> list[Check]:
    return [
        Check("link.missing", "Thủ tục niêm yết không có liên kết đến Cổng DVCQG", missing,
              evidence=read_units, source="listings", details=LINK_DETAILS),
        Check("link.not_direct", "Liên kết không dẫn thẳng đến trang thủ tục", not_direct,
              evidence=read_units, source="listings", details=LINK_DETAILS),
        Check("link.mismatch", "Liên kết dẫn đến thủ tục khác", mismatch, evidence=read_units, source="listings",
              details=(*LINK_DETAILS, "wrong_links")),
        Check("link.broken", "Liên kết bị lỗi", broken, severity="high", evidence=checked_units, source="portal",
              details=(*LINK_DETAILS, "broken_links")),
        Check("portal.unavailable", "Cổng DVCQG không kiểm tra được", portal_unavailable, severity="high",
              evidence=portal_checked, source="portal", audience=CENTRE_AUDIENCE,
              details=("reason", "checked_at")),
        Check("link.unchecked", "Liên kết chưa kiểm tra hết (vượt giới hạn mỗi lượt)", unchecked,
              evidence=portal_read_units, source="portal", audience=CENTRE_AUDIENCE,
              details=("deferred", "limit", "checked_at")),
    ]
