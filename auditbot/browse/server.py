"""`auditbot serve`: Datasette on the live database, read-only, on loopback unless a password guards it."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from auditbot.browse import chrome, downloads
from auditbot.browse.answers_page import AnswersPlugin
from auditbot.browse.cells import CellsPlugin
from auditbot.browse.metadata import build_metadata, load_template
from auditbot.checking.plugins import registered_checks
from auditbot.config.rules import Config
from auditbot.errors import UserError
from auditbot.report.layout import load_layout
from auditbot.store import Store
from auditbot.store.views import ensure_views

log = logging.getLogger(__name__)

HASH_PREFIX = "pbkdf2_sha256$"
SETTINGS = {
    "allow_download": False,      # the live file is being written; a copy mid-write helps nobody
    "default_page_size": 50,
    "sql_time_limit_ms": 5000,    # charts scan the findings history; 1 s is tight at a province's scale
    "max_returned_rows": 5000,
}


@dataclass(frozen=True)
class Plan:
    """What will be served, decided before anything listens."""

    metadata: dict[str, Any]
    password: bool


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name may resolve anywhere: treat it as reachable from outside


def password_hash(config: Config) -> str | None:
    value = os.environ.get(config.serve.password_hash_env, "").strip()
    if not value:
        return None
    if not value.startswith(HASH_PREFIX) or value.count("$") != 3:
        raise UserError(f"${config.serve.password_hash_env} is not a password hash",
                        ["make one with `auditbot password-hash` and put its output in that variable"])
    return value


def plan(config: Config, host: str) -> Plan:
    """Refuse a non-loopback address without a password; with one, every page needs the login."""
    hashed = password_hash(config)
    if not is_loopback(host) and hashed is None:
        raise UserError(
            f"refusing to serve on {host}: anyone who can reach it would read the findings",
            [f"set ${config.serve.password_hash_env} (from `auditbot password-hash`) to require a login,"
             " or serve on 127.0.0.1 behind your own proxy"])
    template = load_template(config.report.templates)
    database = config.database.stem
    metadata = build_metadata(template, database, config.serve.user if hashed else None,
                              config.serve.password_hash_env if hashed else None)
    return Plan(metadata, password=hashed is not None)


def prepare_database(config: Config) -> Store:
    """Schema, names and views in place before Datasette opens the file read-only. The store stays open
    while serve runs: it holds the file for Datasette's connections (store/file_hold.py)."""
    layout = load_layout(config.report.templates)
    checks = [{"id": c.id, "title": c.title, "family": c.family,
               "family_name": layout.families.get(c.family, c.family)} for c in registered_checks().values()]
    store = Store.open(config)
    try:
        store.sync_names(checks, {**layout.kinds, "_centre": "Trung tâm"})
        ensure_views(store.db)
    except BaseException:
        store.close()
        raise
    return store


def serve(config: Config, host: str, port: int, recheck: Callable[[int], object] | None = None) -> None:
    """Datasette and the units' answer page (/tra-loi/, browse/answers_page.py) in one process, on one port;
    `recheck` re-checks a finding a unit says it fixed (commands.recheck_answer)."""
    chosen = plan(config, host)
    with prepare_database(config):
        _serve(config, host, port, chosen, recheck)


def _serve(config: Config, host: str, port: int, chosen: Plan, recheck: Callable[[int], object] | None) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}", ["choose another --port"]) from None

    import uvicorn
    from datasette.app import Datasette
    from datasette.plugins import pm

    from auditbot.browse import request_deadline

    if pm.get_plugin("auditbot") is None:
        pm.register(CellsPlugin(config.timezone), name="auditbot")
    for plugin in (chrome, downloads):  # Datasette's words in Vietnamese; downloads Excel opens as they are
        if pm.get_plugin(plugin.__name__) is None:
            pm.register(plugin, name=plugin.__name__)
    if pm.get_plugin("auditbot-answers") is None:
        pm.register(AnswersPlugin(config, recheck, centre_login=chosen.password), name="auditbot-answers")
    datasette = Datasette([str(config.database)], metadata=chosen.metadata, settings=SETTINGS,
                          secret=os.environ.get("AUDITBOT_SERVE_SECRET"), template_dir=chrome.template_dir())
    asyncio.run(datasette.invoke_startup())
    log.info("serving %s on http://%s:%d/ (%s)", config.database, host, port,
             "login required" if chosen.password else "loopback only, no login")
    uvicorn.run(datasette.app(), host=host.strip("[]"), port=port, log_level="warning", lifespan="on",
                http=request_deadline.protocol(config.serve.request_seconds))
