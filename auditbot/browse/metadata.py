"""Datasette's metadata from templates/datasette.yaml, bound to this database and its password settings."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from auditbot.config import bundled
from auditbot.errors import ConfigError

TEMPLATE = "datasette.yaml"
TEMPLATE_DATABASE = "auditbot"  # the database key the template is written for


def load_template(templates: Path) -> dict[str, Any]:
    path = templates / TEMPLATE
    if not path.is_file():
        path = bundled.templates() / TEMPLATE  # a province folder without it uses the shipped one
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: not valid Datasette metadata ({exc})") from None
    if not isinstance(raw, dict) or TEMPLATE_DATABASE not in raw.get("databases", {}):
        raise ConfigError(f"{path}: expected databases.{TEMPLATE_DATABASE} (tables, queries)")
    return raw


def build_metadata(template: dict[str, Any], database: str, user: str | None = None,
                   password_hash_env: str | None = None) -> dict[str, Any]:
    """The template for `database`; with a user, every page needs that user's login."""
    metadata = copy.deepcopy(template)
    metadata["databases"] = {database: metadata["databases"].pop(TEMPLATE_DATABASE)}
    plugins = metadata.setdefault("plugins", {})
    for dashboard in plugins.get("datasette-dashboards", {}).values():
        for item in [*dashboard.get("charts", {}).values(), *dashboard.get("filters", {}).values()]:
            if item.get("db") == TEMPLATE_DATABASE:
                item["db"] = database
    if user and password_hash_env:
        # the hash stays in the environment: Datasette reads {"$env": ...} itself, nothing is written down
        plugins["datasette-auth-passwords"] = {f"{user}_password_hash": {"$env": password_hash_env}}
        metadata["allow"] = {"id": user}
    return metadata
