"""Province time: every timestamp auditbot stores or shows is naive local time of the province."""

from __future__ import annotations

from datetime import datetime

from auditbot.config.rules import Config


def local_now(config: Config) -> datetime:
    return datetime.now(config.timezone).replace(tzinfo=None)
