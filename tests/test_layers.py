"""The import graph: each module imports only its own layer or the ones below, and nothing imports in a circle.

A new module gets a layer here; one that needs to import upwards is in the wrong place.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "auditbot"
# the card's top-level folders that ship inside the package
MAPPED = {"checks": "auditbot.checks"}

# Module-name prefixes (below auditbot.), longest first wins; a folder is a layer unless a module in it is listed
LAYERS = [
    {"errors", "words"},                                          # vocabulary, text, numbers, dates, periods: no I/O
    {"config"},                                                   # rules.toml, checked; what ships in the package
    {"domain", "index766.formula", "ops.logs", "ops.progress"},   # pure reasoning over the rules; logs, progress
    {"store"},                                                    # every table and query
    {"checking.types", "checking.selection", "ops.lock", "ops.singleton"},  # what runs over the store
    {"checks", "checking.listing_matches", "checking.plugins", "index766.inputs"},  # the checks, pure, their registry
    {"sources", "index766.portal_scores", "index766.portal_counts", "demo.sites", "demo.samplegen"},  # the outside world
    {"checking.engine", "report", "browse", "index766.view"},   # running checks, telling people
    {"commands"},                                                 # what each command does
    {"ops.daemon", "demo.run", "demo"},
    {"cli", "__main__"},
]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[0] in MAPPED:
        parts = (*MAPPED[parts[0]].split("."), *parts[1:])
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> list[Path]:
    return sorted([*PACKAGE.rglob("*.py"), *(path for top in MAPPED for path in (ROOT / top).rglob("*.py"))])


def imports(path: Path) -> set[str]:
    """The auditbot modules a file imports (a package's name for `from . import x` of a module inside it)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            for alias in node.names:
                as_module = f"{target}.{alias.name}"
                found.add(as_module if _exists(as_module) else target)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {each for each in found if each.split(".")[0] == "auditbot" and each != name}


def _exists(module: str) -> bool:
    parts = module.split(".")
    for top, mapped in MAPPED.items():
        if module.startswith(mapped):
            parts = [top, *parts[len(mapped.split(".")):]]
    path = ROOT.joinpath(*parts)
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def layer(module: str) -> int:
    parts = module.split(".")[1:]
    for cut in range(len(parts), 0, -1):
        prefix = ".".join(parts[:cut])
        for number, names in enumerate(LAYERS):
            if prefix in names:
                return number
    raise AssertionError(f"{module} has no layer in tests/test_layers.py")


def graph() -> dict[str, set[str]]:
    return {module_name(path): imports(path) for path in source_files() if module_name(path) != "auditbot"}


def upward(edges: dict[str, set[str]]) -> list[str]:
    return [f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
            for module, targets in edges.items() for target in targets
            if target != "auditbot" and layer(target) > layer(module)]


def test_every_import_goes_to_the_same_layer_or_below() -> None:
    found = upward(graph())
    assert not found, "\n".join(found)


def test_no_module_imports_in_a_circle() -> None:
    edges = {module: {t for t in targets if t != "auditbot"} for module, targets in graph().items()}
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import circle: " + " -> ".join([*path[path.index(module):], module]))
        if module in done:
            return
        for target in sorted(edges.get(module, ())):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(edges):
        visit(module, [])


def test_the_rule_sees_real_imports_and_reports_an_upward_one() -> None:
    assert {"auditbot.sources.listings.crawl", "auditbot.store.figures"} <= imports(PACKAGE / "commands.py")
    assert upward({"auditbot.store.figures": {"auditbot.sources.listings.crawl"}}) == [
        "auditbot.store.figures (layer 3) imports auditbot.sources.listings.crawl (layer 6)"]


def test_the_cli_loads_without_what_only_some_commands_need() -> None:
    """Every invocation (`rates`, `import`, `status`) pays for what auditbot.cli imports at start."""
    import subprocess
    import sys

    heavy = ("bs4", "httpx", "openpyxl", "jinja2", "yagmail", "xlsxwriter", "playwright", "python_calamine")
    probe = f"import sys, auditbot.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
