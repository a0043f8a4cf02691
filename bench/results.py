"""What each bench measured, kept in bench/results.json for the README's speed table (`make readme`)."""

from __future__ import annotations

import json
import os
import platform
from datetime import date
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).with_name("results.json")


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def record(bench: str, figures: dict[str, Any]) -> None:
    """This bench's figures, replacing its previous ones, with the day and the machine they were measured on."""
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    results[bench] = {**figures, "measured_on": date.today().isoformat(),
                      "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"}
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
