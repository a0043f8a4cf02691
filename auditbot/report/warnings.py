"""The daily warning: each unit's open dossiers due within `[warnings] due_within` working hours, grouped by
procedure, before they are late. `auditbot warnings` prints the list; the daemon's `daily_warning` job mails
it, one letter per unit and day through the outbox ledger (a second run the same day sends nothing again).
A unit with nothing due gets nothing. Only dossier codes, procedures and due times: no citizen's data."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from itertools import groupby
from typing import Any

import jinja2

from auditbot.checking.engine import select_units
from auditbot.config import bundled
from auditbot.config.rules import Config
from auditbot.domain.calendar import Calendar
from auditbot.domain.lineage import Lineage
from auditbot.report.compose import Letter, environment
from auditbot.store import Store, observations

ROW_FIELDS = ("unit", "procedure_code", "procedure_name", "code", "due_at", "working_hours_left")
REPORT_PREFIX = "warning:"  # the outbox's report key of a unit's daily warning: warning:<unit code>


@dataclass
class ProcedureDue:
    code: str | None
    name: str | None
    dossiers: list[dict[str, Any]]


@dataclass
class UnitWarning:
    unit: str
    name: str
    emails: tuple[str, ...]
    procedures: list[ProcedureDue] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(p.dossiers) for p in self.procedures)


@dataclass
class DueSoon:
    now: datetime
    until: datetime                 # the last due time that is within the hours
    hours: float
    units: list[UnitWarning]

    def rows(self) -> list[dict[str, Any]]:
        return [{"unit": w.unit, "procedure_code": p.code, "procedure_name": p.name, **d}
                for w in self.units for p in w.procedures for d in p.dossiers]


def due_soon(config: Config, store: Store, now: datetime, unit: str | None = None) -> DueSoon:
    """Each unit's open dossiers due after `now` and within the working hours, soonest first."""
    calendar = Calendar.of(config)
    hours = config.daily_warning.due_within
    until = calendar.working_hours_later(now, hours)
    lineage = Lineage.of(config)
    codes = select_units(config, [unit] if unit else [], unit is None)
    by_unit: dict[str, list[dict[str, Any]]] = {code: [] for code in codes}
    for row in observations.due_soon(store.db, lineage.with_ancestors(codes), now, until):
        owner = lineage.heir(row.pop("unit"), now.date(), row.pop("heir"))
        if owner in by_unit:
            row["working_hours_left"] = round(calendar.working_hours_between(now, datetime.fromisoformat(
                row["due_at"])), 2)
            by_unit[owner].append(row)
    warnings = []
    for code, rows in by_unit.items():
        if not rows:
            continue
        known = config.unit(code)
        warning = UnitWarning(code, known.name, known.emails)
        rows.sort(key=lambda r: (r["procedure_code"] or "", r["procedure_name"] or "", r["due_at"], r["code"]))
        for (procedure, name), dossiers in groupby(rows, key=lambda r: (r["procedure_code"], r["procedure_name"])):
            warning.procedures.append(ProcedureDue(procedure, name, [
                {"code": d["code"], "due_at": d["due_at"], "working_hours_left": d["working_hours_left"]}
                for d in dossiers]))
        warnings.append(warning)
    return DueSoon(now, until, hours, warnings)


def table_headers(config: Config) -> list[str]:
    """The printed table's headings, as `templates/daily_warning.toml` words them."""
    path = config.report.templates / "daily_warning.toml"
    if not path.is_file():  # a province's own templates folder made before the daily warning
        path = bundled.templates() / "daily_warning.toml"
    with path.open("rb") as file:
        return list(tomllib.load(file)["headers"])


def warning_letters(config: Config, found: DueSoon) -> list[Letter]:
    """One letter per unit with something due: to its addresses, or to the centre to pass on."""
    env = environment(config)
    # a province's own templates folder made before the daily warning: the bundled wording
    env.loader = jinja2.ChoiceLoader([env.loader or jinja2.BaseLoader(),
                                      jinja2.FileSystemLoader(bundled.templates())])
    day = found.now.date()
    letters = []
    for warning in found.units:
        forwarded = not warning.emails
        context = {"warning": warning, "now": found.now, "until": found.until, "hours": found.hours,
                   "forwarded": forwarded, "sender": config.email.sender}
        subject = " ".join(env.get_template("warning_subject.txt").render(context).split())
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = config.email.sender
        message["Date"] = formatdate(localtime=True)
        message.set_content(env.get_template("warning.txt").render({**context, "subject": subject}))
        message.add_alternative(env.get_template("warning.html").render({**context, "subject": subject}),
                                subtype="html")
        body = message.as_bytes(policy=SMTP)
        recipients = [(a, "unit") for a in warning.emails] or [(a, "centre") for a in config.email.centre]
        for recipient, role in recipients:
            letters.append(Letter(REPORT_PREFIX + warning.unit, recipient, role, subject,
                                  _own_headers(config, day, warning.unit, recipient) + body))
    return letters


def _own_headers(config: Config, day: date, unit: str, recipient: str) -> bytes:
    """To and a Message-ID that is the same for the same day, unit and recipient (a resend can be deduplicated)."""
    domain = config.email.sender.rpartition("@")[2] or "auditbot.invalid"
    token = hashlib.sha1(f"{day}\x1f{REPORT_PREFIX}{unit}\x1f{recipient}".encode()).hexdigest()[:16]
    own: str = SMTP.fold("To", recipient) + SMTP.fold("Message-ID", f"<{day}.warning.{token}@{domain}>")
    return own.encode("ascii")
