"""Logging to stderr: syslog priority prefixes for journald under systemd, times for a person or a file."""

from __future__ import annotations

import logging
import os
import sys

PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}


class JournalFormatter(logging.Formatter):
    """"<6>auditbot.ops.daemon: job checks ok": journald reads the level from the prefix, and stamps the time."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        priority = PRIORITY.get(record.levelno, 6)
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):  # systemd set it: stderr goes to the journal (a file or pipe gets times)
        handler.setFormatter(JournalFormatter("%(name)s: %(levelname)s %(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "yagmail"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
