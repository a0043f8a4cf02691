"""A Datasette plugin, registered by `auditbot serve`: Datasette's own words in Vietnamese.

The page templates in templates/datasette/ carry the wording; this module gives them what Jinja cannot do
alone: numbers as 1.270, the titles of databases and tables, the words for stored codes (open -> Đang mở,
from datasette.yaml's plugins.auditbot), and the script that renames the column menu Datasette's
table.js builds in the browser.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from auditbot.browse.cells import hookimpl
from auditbot.config import bundled
from auditbot.words import vietnamese

PLUGIN = "auditbot"  # the key of this plugin's settings under datasette.yaml's `plugins`
TEMPLATES = "datasette"  # templates/datasette/: the overridden pages and the menu script


def template_dir() -> str:
    return str(bundled.templates() / TEMPLATES)


@cache
def menu_script() -> str:
    return (bundled.templates() / TEMPLATES / "chrome.js").read_text(encoding="utf-8")


def settings(datasette: Any) -> dict[str, Any]:
    found = datasette.plugin_config(PLUGIN)
    return found if isinstance(found, dict) else {}


def value_label(datasette: Any, table: str | None, column: str, value: Any) -> str | None:
    """What people read for a stored code (findings.status 'open' -> 'Đang mở'), or None if it has no word."""
    if not isinstance(value, str) or table is None:
        return None
    words = settings(datasette).get("values", {}).get(table, {}).get(column, {})
    label = words.get(value) if isinstance(words, dict) else None
    return str(label) if label is not None else None


def described(datasette: Any, key: str, database: str | None, table: str | None = None) -> str | None:
    """The metadata's title or description of a database or table, never the instance's (no fallback)."""
    if database is None:
        return None
    found = datasette.metadata(key, database=database, table=table, fallback=False)
    return str(found) if found else None


@hookimpl
def prepare_jinja2_environment(env: Any) -> None:
    env.filters["number_vi"] = vietnamese.number


@hookimpl
def extra_template_vars(datasette: Any) -> dict[str, Callable[..., Any]]:
    def label(table: str | None, column: str, value: Any) -> Any:
        return value_label(datasette, table, column, value) or value

    def parameter(name: str) -> str:
        return str(settings(datasette).get("parameters", {}).get(name, name))

    return {
        "title_of": lambda database, table=None: described(datasette, "title", database, table),
        "description_of": lambda database, table=None: described(datasette, "description", database, table),
        "value_label": label,
        "parameter_label": parameter,
    }


@hookimpl
def extra_body_script() -> str:
    return menu_script()


@hookimpl
def render_cell(value: Any, column: str, table: str | None, datasette: Any) -> str | None:
    return value_label(datasette, table, column, value)
