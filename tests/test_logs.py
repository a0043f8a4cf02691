"""Log lines as each reader needs them: journald's priority prefix under systemd, times for a file or a person."""

from __future__ import annotations

import os
import re
import subprocess
import sys

SAY = "import logging; from auditbot.ops.logs import setup_logging; setup_logging(); logging.getLogger('x').warning('hi')"


def _logged(journal: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    if journal:
        env["JOURNAL_STREAM"] = "8:12345"  # what systemd sets when stderr goes to the journal
    return subprocess.run([sys.executable, "-c", SAY], env=env, capture_output=True, text=True, check=True).stderr


def test_under_systemd_lines_carry_journald_priorities() -> None:
    assert _logged(journal=True) == "<4>x: WARNING hi\n"


def test_into_a_file_lines_carry_their_time_and_no_priority_prefix() -> None:
    line = _logged(journal=False)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING x: hi\n", line), line
