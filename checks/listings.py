"""Listing checks: abolished procedures still posted, in-force ones missing, posts matching nothing,
and sites that could not be read (for the centre)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from auditbot import (
    CENTRE_AUDIENCE,
    Check,
    CheckContext,
    Finding,
    catalogue,
    day,
    hookimpl,
    matches,
    observations,
    read_units,
    unit_label,
)


def fetched_units(context: CheckContext) -> list[str]:
    """Units fetched at least once, and those with no listing URL left (whose old findings are void); not
    those whose latest fetch failed on auditbot's own network (that says nothing of their sites)."""
    fetched = observations.fetched_units(context.db) - _unread_for_our_network(context)
    return [unit.code for unit in context.config.units if unit.code in fetched or not unit.listing_urls]


def _unread_for_our_network(context: CheckContext) -> set[str]:
    if "unread_for_our_network" not in context.memo:
        context.memo["unread_for_our_network"] = observations.unread_for_our_network(context.db)
    unread: set[str] = context.memo["unread_for_our_network"]
    return unread


def _in_force(row: dict[str, Any], now: str) -> bool:
    return row["status"] == "in_force" and (row["effective_to"] is None or row["effective_to"] >= now) and (
        row["effective_from"] is None or row["effective_from"] <= now)


def expired(context: CheckContext) -> Iterator[Finding]:
    procedures, now = catalogue(context), context.now.isoformat(" ", "seconds")
    for unit, found in matches(context).items():
        for match in found:
            row = procedures.get(match.code or "")
            if row is None or _in_force(row, now) or (row["effective_from"] or "") > now \
                    or row["status"] == "pending":  # not yet in force: posting it early is no violation
                continue
            yield Finding(
                check="listing.expired", unit=unit, subject=row["code"], severity="high",
                title=(f"Thủ tục {row['code']} «{row['name']}» đã hết hiệu lực"
                       f"{' từ ' + day(row['effective_to']) if row['effective_to'] else ''} vẫn niêm yết"),
                details={"code": row["code"], "name": row["name"], "status": row["status"],
                         "effective_to": row["effective_to"], "abolished_by": row["abolished_by"],
                         "listed_as": match.item["name"], "page": match.item["page"]})


def missing(context: CheckContext) -> Iterator[Finding]:
    procedures, now = catalogue(context), context.now.isoformat(" ", "seconds")
    in_force = {code: row for code, row in procedures.items() if _in_force(row, now)}
    for unit, found in matches(context).items():
        listed = {m.code for m in found if m.code}
        for code, row in in_force.items():
            if code in listed or unit not in row["units"]:
                continue
            yield Finding(
                check="listing.missing", unit=unit, subject=code,
                title=f"Thủ tục {code} «{row['name']}» còn hiệu lực chưa niêm yết",
                details={"code": code, "name": row["name"], "field": row["field"], "decision": row["decision"]})


def transferred(context: CheckContext) -> Iterator[Finding]:
    """Still posted by a unit the catalogue named as its owner before, and names no longer (delegated,
    decentralised, or taken over by another unit): the page sends citizens to the wrong office."""
    procedures, now = catalogue(context), context.now.isoformat(" ", "seconds")
    ended = observations.ended_ownerships(context.db)
    for unit, found in matches(context).items():
        for match in found:
            row = procedures.get(match.code or "")
            if row is None or not _in_force(row, now) or unit in row["units"]:
                continue
            if (until := ended.get((row["code"], unit))) is None:
                continue
            owners = [unit_label(context.config, code) for code in sorted(row["units"])]
            yield Finding(
                check="listing.transferred", unit=unit, subject=row["code"], severity="medium",
                title=(f"Thủ tục {row['code']} «{row['name']}» đã chuyển cho"
                       f" {', '.join(owners) or 'đơn vị khác'} thực hiện từ {day(until)}, vẫn niêm yết"),
                details={"code": row["code"], "name": row["name"], "transferred_on": until, "owners": owners,
                         "listed_as": match.item["name"], "page": match.item["page"]})


def outdated(context: CheckContext) -> Iterator[Finding]:
    """Posted under a name the procedure had before the catalogue amended it."""
    procedures = catalogue(context)
    for unit, found in matches(context).items():
        for match in found:
            row = procedures.get(match.code or "")
            if match.via != "former_name" or row is None:
                continue
            yield Finding(
                check="listing.outdated", unit=unit, subject=row["code"], severity="medium",
                title=(f"Thủ tục {row['code']} «{row['name']}» đã được sửa đổi, niêm yết chưa cập nhật"
                       f" (đang niêm yết «{match.item['name']}»)"),
                details={"code": row["code"], "name": row["name"], "listed_as": match.item["name"],
                         "page": match.item["page"]})


def unknown(context: CheckContext) -> Iterator[Finding]:
    procedures = catalogue(context)
    for unit, found in matches(context).items():
        for match in found:
            if match.code is not None:
                continue
            item = match.item
            yield Finding(
                check="listing.unknown", unit=unit, subject=item["code"] or item["name_key"], severity="low",
                title=f"Thủ tục niêm yết «{item['name']}» không có trong danh mục",
                details={"name": item["name"], "code": item["code"], "page": item["page"],
                         "nearest": [{"code": c, "name": procedures[c]["name"]} for c in match.candidates]})


def unreadable(context: CheckContext) -> Iterator[Finding]:
    """For the centre: a unit's site that could not be read in its latest fetch."""
    rows = observations.failed_fetches(context.db)
    in_scope = set(context.units) - _unread_for_our_network(context)
    for row in rows:
        if row["unit"] in in_scope:
            yield Finding(
                check="source.unreadable", unit=row["unit"], subject=row["url"], severity="high",
                title=f"Không đọc được trang niêm yết {row['url']}: {row['error']}",
                details={"url": row["url"], "error": row["error"], "fetched_at": row["fetched_at"]})


@hookimpl
def auditbot_checks() -> list[Check]:
    return [
        Check("listing.expired", "Thủ tục đã bãi bỏ, hết hiệu lực vẫn niêm yết", expired,
              evidence=read_units, source="listings",
              details=("code", "name", "status", "effective_to", "abolished_by", "listed_as", "page")),
        Check("listing.missing", "Thủ tục còn hiệu lực chưa niêm yết", missing, evidence=read_units,
              source="listings", details=("code", "name", "field", "decision")),
        Check("listing.unknown", "Thủ tục niêm yết không có trong danh mục", unknown, evidence=read_units,
              source="listings", details=("name", "code", "page", "nearest")),
        Check("listing.transferred", "Thủ tục đã chuyển cho đơn vị khác thực hiện vẫn niêm yết", transferred,
              evidence=read_units, source="listings",
              details=("code", "name", "transferred_on", "owners", "listed_as", "page")),
        Check("listing.outdated", "Thủ tục đã được sửa đổi, niêm yết chưa cập nhật", outdated, evidence=read_units,
              source="listings", details=("code", "name", "listed_as", "page")),
        Check("source.unreadable", "Không đọc được nguồn dữ liệu", unreadable, evidence=fetched_units,
              source="listings", audience=CENTRE_AUDIENCE, details=("url", "error", "fetched_at")),
    ]
