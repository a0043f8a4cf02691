"""auditbot's own health, for the centre: a scheduled job failing again and again, a unit's weekly letter
that could not be made, auditbot's own network down. The daemon, the report and the sources only record
what happened; these checks judge it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from auditbot import (
    CENTRE,
    CENTRE_AUDIENCE,
    REASONS,
    Check,
    CheckContext,
    Finding,
    hookimpl,
    number,
    observations,
    unit_label,
)


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


def network_unavailable(context: CheckContext) -> Iterator[Finding]:
    """The latest run that could tell found auditbot's own way out shut: no canary answered, while the
    units' sites (or the portal) failed before any answer. Resolved by the first run that gets through."""
    latest = observations.latest_network_check(context.db)
    if latest is None or latest["reachable"]:
        return
    canaries = json.loads(latest["canaries"])
    cause = outage_cause(latest)
    yield Finding("network.unavailable", CENTRE, "network", severity="high",
                  title=(f"Hệ thống kiểm soát không kết nối được ra ngoài: {cause}. Lỗi phía hệ thống, không ghi"
                         " lỗi cho đơn vị nào; kiểm tra mạng, DNS, tường lửa của máy chủ auditbot"),
                  details={"cause": cause, "source": latest["source"], "canaries": canaries,
                           "units_asked": latest["asked"] if latest["source"] == "listings" else None,
                           "units_failed": latest["failed"] if latest["source"] == "listings" else None,
                           "failure": latest["failure"], "checked_at": latest["checked_at"],
                           "since": observations.network_down_since(context.db)})


def outage_cause(check: dict[str, Any]) -> str:
    """Why a network_checks row says auditbot's network is down, as the centre reads it."""
    silent = "; ".join(f"{c['url']}: {_way(c['failure'])}" for c in json.loads(check["canaries"]))
    if check["source"] == "listings":
        pattern = (f"{number(check['failed'])}/{number(check['asked'])} đơn vị không đọc được trang niêm yết,"
                   f" cùng lỗi trước khi có trả lời ({_way(check['failure'])})")
    else:
        pattern = f"trang chủ Cổng Dịch vụ công quốc gia không trả lời ({_way(check['failure'])})"
    return f"không trang đối chứng nào trả lời ({silent}); {pattern}"


def _way(failure: str | None) -> str:
    return REASONS.get(failure or "", "không rõ lỗi")


def centre(context: CheckContext) -> list[str]:
    return [CENTRE]


def network_checked(context: CheckContext) -> list[str]:
    """The centre, once some run has judged the network: until then nothing can be said of it."""
    return [CENTRE] if observations.latest_network_check(context.db) else []


@hookimpl
def auditbot_checks() -> list[Check]:
    return [
        Check("job.failing", "Tác vụ định kỳ lỗi nhiều lần liên tiếp", failing_jobs, severity="high",
              evidence=centre, audience=CENTRE_AUDIENCE, details=("job", "failures", "error")),
        Check("letter.failed", "Không lập được thư tuần của một đơn vị", failed_letters, severity="high",
              evidence=centre, audience=CENTRE_AUDIENCE, details=("error", "week")),
        Check("network.unavailable", "Hệ thống kiểm soát mất kết nối mạng", network_unavailable, severity="high",
              evidence=network_checked, source="listings", audience=CENTRE_AUDIENCE,
              details=("cause", "source", "canaries", "units_asked", "units_failed", "failure", "checked_at",
                       "since")),
    ]
