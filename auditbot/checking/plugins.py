"""Checks are plugins: every module in the `auditbot.checks` package registers through one pluggy hook."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

import pluggy

from auditbot.checking.types import CENTRE_AUDIENCE, Check
from auditbot.config.rules import ROUTED_CLASSES

hookspec = pluggy.HookspecMarker("auditbot")
hookimpl = pluggy.HookimplMarker("auditbot")


class CheckSpec:
    @hookspec
    def auditbot_checks(self) -> list[Check]:  # type: ignore[empty-body]
        """Return the checks this module provides."""


@lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager("auditbot")
    manager.add_hookspecs(CheckSpec)
    # the built-in checks: the top-level checks/ folder, shipped as auditbot.checks
    checks = importlib.import_module("auditbot.checks")
    for module in pkgutil.iter_modules(checks.__path__, prefix=f"{checks.__name__}."):
        manager.register(importlib.import_module(module.name))
    manager.load_setuptools_entrypoints("auditbot")  # third-party checks, if any are installed
    return manager


def registered_checks() -> dict[str, Check]:
    found: dict[str, Check] = {}
    for group in plugin_manager().hook.auditbot_checks():
        for check in group:
            if check.id in found:
                raise RuntimeError(f"check id {check.id!r} registered twice")
            found[check.id] = check
    return dict(sorted(found.items()))


def centre_checks() -> frozenset[str]:
    """The checks whose findings are told to the centre only, never in a unit's annexes."""
    return frozenset(cid for cid, check in registered_checks().items() if check.audience == CENTRE_AUDIENCE)


def routed_checks() -> dict[str, str]:
    """Check id -> the class of finding [routing] sends elsewhere than the unit's letter (e.g. sync)."""
    return {cid: check.audience for cid, check in registered_checks().items() if check.audience in ROUTED_CLASSES}
