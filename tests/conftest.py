from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from multiprocessing.pool import Pool
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from loopback import Sink, smtp_sink

from auditbot.cli import cli

RULES = """
[province]
name = "Thử Nghiệm"
timezone = "Asia/Ho_Chi_Minh"

[database]
path = "audit.db"

[[units]]
code = "STP"
name = "Sở Tư pháp"
kind = "so"
aliases = ["Sở Tư Pháp tỉnh Thử Nghiệm"]
emails = ["stp@example.gov.vn"]

[[units]]
code = "SXD"
name = "Sở Xây dựng"
kind = "so"
emails = ["sxd@example.gov.vn"]

[[units]]
code = "XA_QP"
name = "Xã Quảng Phú"
kind = "xa"
aliases = ["UBND xã Quảng Phú"]
emails = ["quangphu@example.gov.vn"]

[thresholds]
min_dossiers = 10
min_period_elapsed = 0   # tests judge the running period whatever day they run on

[thresholds.xa]
online_min = 50

[sources]
dossiers = ["exports/"]
{extra}
"""


def province_now() -> datetime:
    """Now on the province's wall clock (naive), as auditbot sees it, whatever the machine's time zone."""
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).replace(tzinfo=None, microsecond=0)


def province_today() -> date:
    return province_now().date()


class Province:
    """A throw-away province: its rules.toml, its database, and the CLI pointed at both."""

    def __init__(self, root: Path, extra: str = "") -> None:
        self.root = root
        self.rules = root / "rules.toml"
        self.rules.write_text(RULES.format(extra=extra), encoding="utf-8")
        (root / "exports").mkdir(exist_ok=True)
        self.db_path = root / "audit.db"

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(cli, [*args, "--config", str(self.rules)], catch_exceptions=False)

    def json(self, *args: str) -> object:
        result = self.run(*args, "--format", "json")
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.stdout)


@pytest.fixture
def province(tmp_path: Path) -> Province:
    return Province(tmp_path)


@pytest.fixture(scope="module")
def engine_child() -> Iterator[Pool]:
    """One child, forked once, for a module's columnar reads: as in imports, this process never starts the
    engine itself (see pipeline._columnar); a fork a hypothesis case cost a minute."""
    with multiprocessing.get_context("fork").Pool(1) as pool:
        yield pool


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    """A real SMTP server on loopback: (its sink, its port)."""
    with smtp_sink() as served:
        yield served


def run_cli(province: Province, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, as an officer or systemd runs it."""
    return subprocess.run([sys.executable, "-m", "auditbot.cli", *args, "--config", str(province.rules)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture
def reader_hooks(monkeypatch: pytest.MonkeyPatch) -> object:
    """tests/reader_hooks.py, importable in the reading child too (it is a new interpreter: see children.py)."""
    import reader_hooks

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        part for part in (str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")) if part))
    return reader_hooks
