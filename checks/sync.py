"""Sync checks: what the national portal holds against what the province's systems say (seed 004: a dossier
late through a software or sync error is reported to the Department of Science and Technology, not blamed on
the unit). Their findings are about a unit's dossiers, but go to whoever `[routing] sync` names and to the
centre, never into the unit's own letter or annexes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta

from auditbot import SYNC_AUDIENCE, Check, CheckContext, Finding, day, hookimpl, number, observations

DOSSIER = ("code", "unit", "procedure_code", "procedure_name", "received_at")
MISSING_DETAILS = (*DOSSIER, "status", "state_at", "synced_at", "system", "days_unsynced")
MISMATCH_DETAILS = (*DOSSIER, "states")
COUNTED = ("received", "finished", "on_time", "overdue")
COUNT_WORDS = {"received": "tiếp nhận", "finished": "đã giải quyết", "on_time": "đúng hạn", "overdue": "quá hạn"}
COUNTS_DETAILS = ("month", "file", "tolerance", *(f"{name}_{side}" for name in COUNTED for side in ("ours", "portal")),
                  "differences")
STATUS_WORDS = {"finished": "đã giải quyết", "rejected": "không tiếp nhận", "withdrawn": "công dân rút",
                "stopped": "dừng xử lý"}


def missing(context: CheckContext) -> Iterator[Finding]:
    """The export says the portal does not have the dossier's latest state, [sync] max_days after it."""
    before = context.now - timedelta(days=context.config.sync.max_days)
    for row in observations.unsynced_dossiers(context.db, context.dossier_units(), before):
        unit = context.answering(row["unit"], row.pop("heir"))
        if unit is None:
            continue
        days = (context.now.date() - day_of(row["state_at"])).days
        since = f"đồng bộ lần cuối {day(row['synced_at'])}" if row["synced_at"] else "chưa đồng bộ lần nào"
        yield Finding(
            check="sync.missing", unit=unit, subject=row["code"],
            title=(f"Hồ sơ {row['code']} chưa được đồng bộ lên Cổng DVCQG trạng thái ngày {day(row['state_at'])}"
                   f" ({since}; {number(days)} ngày)"),
            details={**row, "days_unsynced": days})


def sync_known_units(context: CheckContext) -> set[str]:
    """Units some export told the sync state of: a later export without it resolves none of their findings."""
    return {unit for stored, heir in observations.units_with_sync_state(context.db)
            if (unit := context.answering(stored, heir)) is not None}


def status_mismatch(context: CheckContext) -> Iterator[Finding]:
    """Two systems (the province's, a ministry's, the portal's records) last saw the dossier differently."""
    for row in observations.disagreeing_systems(context.db, context.dossier_units()):
        unit = context.answering(row["unit"], row.pop("heir"))
        if unit is None:
            continue
        states = sorted(json.loads(row.pop("states")), key=lambda state: state["system"])
        said = "; ".join(f"{state['system'] or 'hệ thống của tỉnh'}: {STATUS_WORDS.get(state['status'], 'đang xử lý')}"
                         for state in states)
        yield Finding(
            check="sync.status_mismatch", unit=unit, subject=row["code"],
            title=f"Hồ sơ {row['code']} có trạng thái khác nhau giữa các hệ thống ({said})",
            details={**row, "states": states})


def counts_differ(context: CheckContext) -> Iterator[Finding]:
    """The portal's published monthly counts differ from auditbot's by more than [sync] tolerance."""
    tolerance = context.config.sync.tolerance
    for row in observations.portal_counts(context.db, context.units):
        ours = context.month_figures(row["month"]).get(row["unit"])
        if ours is None:
            continue
        mine = {"received": ours.received, "finished": ours.finished, "on_time": ours.on_time,
                "overdue": ours.overdue}
        differences = [name for name in COUNTED if row[name] is not None and abs(mine[name] - row[name]) > tolerance]
        if not differences:
            continue
        said = ", ".join(f"{COUNT_WORDS[name]} {number(mine[name])} / {number(row[name])}" for name in differences)
        yield Finding(
            check="sync.counts_differ", unit=row["unit"], subject=row["month"], period=row["month"],
            title=f"Số liệu tháng {row['month']} trên Cổng DVCQG khác số liệu của tỉnh ({said})",
            details={"month": row["month"], "file": row["file"], "tolerance": tolerance,
                     **{f"{name}_ours": mine[name] for name in COUNTED},
                     **{f"{name}_portal": row[name] for name in COUNTED}, "differences": differences})


def counted_units(context: CheckContext) -> list[str]:
    """Units the portal's figures speak for: the others' findings are left as they were."""
    return sorted({row["unit"] for row in observations.portal_counts(context.db, context.units)})


def day_of(moment: str) -> date:
    return date.fromisoformat(moment[:10])


@hookimpl
def auditbot_checks() -> list[Check]:
    return [
        Check("sync.missing", "Hồ sơ chưa đồng bộ lên Cổng DVCQG", missing, audience=SYNC_AUDIENCE,
              evidence=sync_known_units, details=MISSING_DETAILS),
        Check("sync.status_mismatch", "Hồ sơ có trạng thái khác nhau giữa các hệ thống", status_mismatch,
              audience=SYNC_AUDIENCE, details=MISMATCH_DETAILS),
        Check("sync.counts_differ", "Số liệu trên Cổng DVCQG khác số liệu của tỉnh", counts_differ,
              audience=SYNC_AUDIENCE, evidence=counted_units, source="portal_figures", details=COUNTS_DETAILS),
    ]
