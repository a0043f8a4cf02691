"""What a unit's listing pages give, page by page, and how each item matched the catalogue: for an
officer who must see in a minute why a unit's letter says what it says, or try a selector first."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from auditbot.config.rules import Config
from auditbot.domain.matching import Catalogue
from auditbot.domain.portal_urls import PortalLink, PortalUrls, link_targets, portal_ids
from auditbot.errors import UserError
from auditbot.sources.listings.crawl import baselines, listing_origins, read_sites
from auditbot.store import Store, observations
from auditbot.words.text import fold

NEAREST = 3


def diagnose_listing(config: Config, store: Store, unit_code: str, url: str | None = None,
                     selector: str | None = None, transport: httpx.AsyncBaseTransport | None = None) -> list[dict[str, Any]]:
    """Read the unit's listing URLs (or `url`) now, store nothing, and explain every item and skipped row."""
    unit = config.unit(unit_code)
    urls = [url] if url else list(unit.listing_urls)
    if not urls:
        raise UserError(f"unit {unit.code} has no listing_urls in rules.toml", ["give one with --url"])
    jobs = {site: [(unit, site)] for site in urls}
    results = asyncio.run(read_sites(config, jobs, {}, baselines(store, [unit.code]), transport,
                                     listing_origins(config, urls), selector))
    procedures = {row["code"]: row for row in observations.procedures(store.db)}
    by_portal_id = portal_ids(procedures)
    page_codes = {url: row["page_code"] for url, row in observations.link_results(store.db).items()}
    portal = PortalUrls(config.portal)
    former = observations.former_names(store.db)
    index = Catalogue(((code, row["name_key"]) for code, row in procedures.items()), former)
    sites = []
    for result in results:
        items = []
        for item in result.items:
            found = index.identify(item.code, fold(item.name))
            items.append({
                "name": item.name, "code": item.code, "section": item.section, "links": item.links,
                "page": item.page, "match": found.via, "procedure": found.code,
                "procedure_name": procedures[found.code]["name"] if found.code in procedures else None,
                "nearest": [{"code": code, "name": procedures[code]["name"]}
                            for code in found.nearest[:NEAREST] if code in procedures],
                "portal_links": [portal_link(link, procedures, by_portal_id, page_codes)
                                 for url in item.links if (link := portal.classify(url))]})
        sites.append({
            "url": result.url, "credible": result.ok, "reason": result.reason, "error": result.error,
            "layout": result.layout, "pages": result.pages, "items": items,
            "skipped": [{"page": reading.page, "text": row.text, "reason": row.reason}
                        for reading in result.readings for row in reading.skipped]})
    return sites


def portal_link(link: PortalLink, procedures: dict[str, Any], by_portal_id: dict[str, tuple[str, ...]],
                page_codes: dict[str, str | None]) -> dict[str, Any]:
    """A posted portal link as the link checks see it; `verified` false: nobody could place its id, or
    (`ambiguous`) the catalogue gives it to several procedures, listed in `candidates`."""
    targets = link_targets(link, procedures, by_portal_id, page_codes.get(link.url)) if link.direct else ()
    return {"url": link.url, "direct": link.direct, "id": link.ref,
            "procedure": targets[0] if len(targets) == 1 else None, "verified": len(targets) == 1,
            "ambiguous": len(targets) > 1, "candidates": list(targets)}
