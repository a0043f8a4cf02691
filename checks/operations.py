"""auditbot's own health, for the centre: a scheduled job failing again and again, a unit's weekly letter
that could not be made. The daemon and the report only record what happened; these checks judge it."""

from __future__ import annotations

import json
from collections.abc import Iterator

from auditbot import CENTRE, CENTRE_AUDIENCE, Check, CheckContext, Finding, hookimpl, observations, unit_label


def failing_jobs(context: CheckContext) -> Iterator[Finding]:
    """One finding per job that failed `alert_after_failures` times in a row; resolved when it recovers."""
    for row in observations.failing_jobs(context.db, context.config.alert_after_failures):
        yield Finding("job.failing", CENTRE, row["job"], severity="high",
                      title=f"Tác vụ {row['job']} lỗi {row['failures']} lần liên tiếp: {row['last_error']}",
                      details={"job": row["job"], "failures": row["failures"], "error": row["last_error"]})


def failed_letters(context: CheckContext) -> Iterator[Finding]:
    """The units whose letter the latest full weekly report could not make; the others still got theirs."""
    latest = observations.latest_letter_report(context.db)
    if latest is None:
        return
    for code, error in json.loads(latest["failed"]).items():
        yield Finding("letter.failed", CENTRE, code, severity="high",
                      title=f"Không lập được thư tuần của {unit_label(context.config, code)} (lỗi {error});"
                            " các đơn vị khác vẫn nhận thư",
                      details={"error": error, "week": latest["week"]})


def centre(context: CheckContext) -> list[str]:
    return [CENTRE]


@hookimpl
def auditbot_checks() -> list[Check]:
    return [
        Check("job.failing", "Tác vụ định kỳ lỗi nhiều lần liên tiếp", failing_jobs, severity="high",
              evidence=centre, audience=CENTRE_AUDIENCE, details=("job", "failures", "error")),
        Check("letter.failed", "Không lập được thư tuần của một đơn vị", failed_letters, severity="high",
              evidence=centre, audience=CENTRE_AUDIENCE, details=("error", "week")),
    ]
