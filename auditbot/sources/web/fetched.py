"""What one request for a listing page brought back, and how auditbot names itself when it asks."""

from __future__ import annotations

from dataclasses import dataclass

from auditbot.config.rules import Config
from auditbot.sources.listings.reader import ListedItem


@dataclass
class PageRecord:
    """What one page gave; kept so that next time an unchanged page costs a 304 and no parsing."""
    url: str
    unit: str
    content_hash: str
    items: list[ListedItem]
    next_url: str | None
    etag: str | None = None
    last_modified: str | None = None


@dataclass
class Fetched:
    status: int
    body: bytes
    charset: str | None
    url: str
    etag: str | None
    last_modified: str | None
    content_type: str = "text/html"


def user_agent(config: Config) -> str:
    """Every request auditbot makes names it and whom to write to."""
    return f"auditbot/0.1 (TTHC compliance audit; +mailto:{config.email.sender or 'no contact configured'})"
