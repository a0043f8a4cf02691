"""Dossier checks: overdue dossiers (Phụ lục I), closed without a result, one result on several dossiers,
online dossiers received late, overdue dossiers with no apology to the citizen."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from auditbot import (
    CENTRE_AUDIENCE,
    SECOND_REQUEST,
    Calendar,
    Check,
    CheckContext,
    Finding,
    day,
    hookimpl,
    moment,
    number,
    observations,
    supplement_clock,
    unit_label,
)

DOSSIER = ("code", "unit", "procedure_code", "procedure_name", "received_at")
OVERDUE_DETAILS = (*DOSSIER, "due_at", "due_at_exported", "days_overdue", "waited_days", "supplement_requests")
NO_RESULT_DETAILS = (*DOSSIER, "finished_at")
SHARED_DETAILS = ("result_ref", "dossiers", "dossiers_in_province")
LATE_RECEIPT_DETAILS = (*DOSSIER, "submitted_at", "receipt_due_at", "working_hours", "receipt_hours")
NO_APOLOGY_DETAILS = (*DOSSIER, "due_at", "finished_at", "status")


def overdue(context: CheckContext) -> Iterator[Finding]:
    """Every dossier not closed whose due date has passed, after deducting the time it waited for the
    citizen's papers (an open request stops the clock); a second supplement request counts it overdue."""
    for row in observations.overdue_dossiers(context.db, context.dossier_units(), context.now):
        unit = context.answering(row["unit"], row.pop("heir"))
        if unit is None:
            continue
        clock = supplement_clock(row["due_at"], row.pop("supplements"))
        due = clock.due_effective_at or row["due_at"]
        days = max(0, (context.now.date() - datetime.fromisoformat(due).date()).days)
        waited = f", đã trừ {number(clock.waited_days)} ngày chờ bổ sung" if clock.waited_days else ""
        if (clock.requests or 0) >= SECOND_REQUEST:
            title = (f"Hồ sơ {row['code']} tính quá hạn: yêu cầu bổ sung giấy tờ {clock.requests} lần"
                     f" (hạn trả {day(due)}{waited})")
        else:
            days = max(1, days)
            title = f"Hồ sơ {row['code']} quá hạn {days} ngày (hạn trả {day(due)}{waited})"
        yield Finding(
            check="dossier.overdue", unit=unit, subject=row["code"], title=title,
            severity="high" if days > 30 else "medium",
            details={**row, "due_at": due, "due_at_exported": row["due_at"], "days_overdue": days,
                     "waited_days": clock.waited_days, "supplement_requests": clock.requests})


def closed_without_result(context: CheckContext) -> Iterator[Finding]:
    """Finished in the system, yet no result reference and no digitised result."""
    for row in observations.finished_without_result(context.db, context.dossier_units()):
        unit = context.answering(row["unit"], row.pop("heir"))
        if unit is None:
            continue
        yield Finding(
            check="dossier.closed_without_result", unit=unit, subject=row["code"],
            title=f"Hồ sơ {row['code']} kết thúc ngày {day(row['finished_at'])} nhưng chưa có kết quả",
            details=dict(row))


def late_receipt(context: CheckContext) -> Iterator[Finding]:
    """Online dossiers received after the receipt deadline the export gives, or more than `receipt_hours`
    working hours (the province's calendar) after submission; an export with neither column says nothing."""
    calendar = Calendar.of(context.config)
    for row in observations.online_receipts(context.db, context.dossier_units()):
        unit = context.answering(row["unit"], row.pop("heir"))
        if unit is None:
            continue
        allowed = context.config.thresholds_for(context.config.unit(unit).kind).receipt_hours
        received = datetime.fromisoformat(row["received_at"])
        hours = None
        if row["submitted_at"] is not None:
            hours = calendar.working_hours_between(datetime.fromisoformat(row["submitted_at"]), received)
        late_by_hours = hours is not None and hours > allowed
        late_by_deadline = row["receipt_due_at"] is not None and row["received_at"] > row["receipt_due_at"]
        if not (late_by_hours or late_by_deadline):
            continue
        if late_by_hours:
            title = (f"Hồ sơ trực tuyến {row['code']} nộp {moment(row['submitted_at'])}, tiếp nhận"
                     f" {moment(row['received_at'])}: sau {number(round(hours or 0, 1))} giờ làm việc"
                     f" (quy định {number(allowed)} giờ)")
        else:
            title = (f"Hồ sơ trực tuyến {row['code']} tiếp nhận {moment(row['received_at'])}, quá hạn tiếp nhận"
                     f" {moment(row['receipt_due_at'])}")
        yield Finding(
            check="dossier.late_receipt", unit=unit, subject=row["code"], title=title,
            details={**row, "working_hours": None if hours is None else round(hours, 2), "receipt_hours": allowed})


def no_apology(context: CheckContext) -> Iterator[Finding]:
    """Overdue dossiers (finished late, or open past due) with no apology slip and no new appointment date,
    where the export has those columns (without them the figure is unknown, and nothing is found)."""
    for row in observations.overdue_without_apology(context.db, context.dossier_units(), context.now):
        unit = context.answering(row["unit"], row.pop("heir"))
        if unit is None:
            continue
        how = f"trả kết quả ngày {day(row['finished_at'])}" if row["status"] == "finished" else "chưa giải quyết"
        yield Finding(
            check="dossier.no_apology", unit=unit, subject=row["code"],
            title=(f"Hồ sơ {row['code']} quá hạn (hạn trả {day(row['due_at'])}, {how}) chưa có phiếu xin lỗi"
                   " và hẹn lại ngày trả kết quả"),
            details=dict(row))


def shared_result(context: CheckContext) -> Iterator[Finding]:
    """One result reference attached to several dossiers: someone got another case's result."""
    rows = observations.shared_results(context.db)
    by_unit: dict[tuple[str, str], list[str]] = defaultdict(list)
    shared_by: dict[str, int] = {}
    for row in rows:
        shared_by[row["result_ref"]] = row["shared_by"]
        if (unit := context.answering(row["unit"], row["heir"])) is not None:
            by_unit[(unit, row["result_ref"])].append(row["code"])
    for (unit, ref), codes in by_unit.items():
        # a file reference is only a digest of the file's name: the letter names the dossiers, not the file
        named = "Một tệp kết quả" if ref.startswith("tệp#") else f"Kết quả {ref}"
        yield Finding(
            check="dossier.shared_result", unit=unit, subject=ref, severity="high",
            title=f"{named} được gắn cho {shared_by[ref]} hồ sơ ({', '.join(codes[:5])})",
            details={"result_ref": ref, "dossiers": codes, "dossiers_in_province": shared_by[ref]})


def after_transfer(context: CheckContext) -> Iterator[Finding]:
    """For the centre: dossiers a unit received for a procedure after the catalogue gave it to another
    owner (the citizen was served by an office that no longer handles it, or the system was not updated)."""
    procedures = {row["code"]: row for row in observations.procedures(context.db)}
    for row in observations.dossiers_after_transfer(context.db, context.units,
                                                      observations.ended_ownerships(context.db)):
        owners = [unit_label(context.config, code)
                  for code in json.loads(procedures.get(row["procedure_code"], {}).get("units") or "[]")]
        yield Finding(
            check="dossier.after_transfer", unit=row["unit"], subject=row["code"],
            title=(f"Hồ sơ {row['code']} được {unit_label(context.config, row['unit'])} tiếp nhận ngày"
                   f" {day(row['received_at'])}, sau khi thủ tục {row['procedure_code']} đã chuyển cho"
                   f" {', '.join(owners) or 'đơn vị khác'} từ {day(row['transferred_on'])}"),
            details={**row, "owners": owners})


@hookimpl
def auditbot_checks() -> list[Check]:
    return [
        Check("dossier.overdue", "Hồ sơ quá hạn chưa giải quyết", overdue, details=OVERDUE_DETAILS),
        Check("dossier.closed_without_result", "Hồ sơ kết thúc nhưng chưa có kết quả", closed_without_result,
              details=NO_RESULT_DETAILS),
        Check("dossier.after_transfer", "Hồ sơ tiếp nhận sau khi thủ tục đã chuyển cho đơn vị khác",
              after_transfer, audience=CENTRE_AUDIENCE, details=(*DOSSIER, "transferred_on", "owners")),
        Check("dossier.late_receipt", "Hồ sơ trực tuyến tiếp nhận quá thời hạn", late_receipt,
              details=LATE_RECEIPT_DETAILS),
        Check("dossier.no_apology", "Hồ sơ quá hạn chưa có phiếu xin lỗi, hẹn lại ngày trả", no_apology,
              details=NO_APOLOGY_DETAILS),
        Check("dossier.shared_result", "Hồ sơ dính kết quả của trường hợp khác", shared_result, severity="high",
              details=SHARED_DETAILS),
    ]
