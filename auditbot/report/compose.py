"""Digests and the summary -> email messages: subject, HTML, a real plain-text part, the XLSX annexes.

All wording comes from the Jinja2 templates in `[report] templates`; HTML templates autoescape,
because finding titles carry text scraped from websites nobody here controls.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from typing import Any

import jinja2

from auditbot.config.rules import Config
from auditbot.report.digest import ReportWeek, Summary, UnitDigest
from auditbot.report.layout import Layout
from auditbot.report.xlsx import workbook_bytes
from auditbot.words import vietnamese

PARALLEL_FROM = 24  # digests: for fewer, a second process costs more than it saves
SUMMARY = "_summary"  # the report key of the provincial summary in the outbox
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@dataclass
class Letter:
    """One message to one recipient; the outbox keeps one per (week, report, recipient)."""

    report: str        # unit code, or SUMMARY
    recipient: str
    role: str          # unit | head | centre
    subject: str
    data: bytes        # the whole message as SMTP carries it (CRLF line ends)


def environment(config: Config) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(config.report.templates),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(number=vietnamese.number, percent=vietnamese.percent, day=vietnamese.day, moment=vietnamese.moment)
    return env


class Composer:
    def __init__(self, config: Config, layout: Layout, week: ReportWeek) -> None:
        self.config, self.layout, self.week = config, layout, week
        self.env = environment(config)
        labels = layout.labels
        self.common: dict[str, Any] = {
            "week": week, "now": week.now, "max_rows": config.report.max_rows_in_body,
            "escalate_weeks": config.report.escalate_after_weeks, "sender": config.email.sender,
            "province_office": labels["issuer"].format(province_upper=config.province.upper()),
            "centre_name": labels["centre"].format(province=config.province), "kind_names": layout.kinds,
            "link_days": config.answers.link_days, "remind_days": config.answers.remind_after_days,
        }

    def digest_letters(self, digest: UnitDigest) -> list[Letter]:
        """Who hears from us: the unit's addresses, and its head too once findings are overdue for a fix."""
        if digest.state == "unchecked" or (digest.state == "clean" and not self.config.report.nothing_open):
            return []
        escalated = bool(digest.escalated)
        forwarded = not digest.unit.emails  # no address of its own: the centre gets it to pass on, with a note why
        context = {**self.common, "digest": digest, "escalated": escalated, "forwarded": forwarded}
        subject = self._subject("digest_subject.txt", context)
        attachment = self._attachment(digest.unit.code, digest.tables, digest.unit.name)
        recipients = [(a, "unit") for a in digest.unit.emails] or [(a, "centre") for a in self.config.email.centre]
        if escalated:
            recipients += [(a, "head") for a in digest.unit.head_emails if a not in dict(recipients)]
        return self._letters(digest.unit.code, recipients, subject, "digest", context, attachment)

    def summary_letters(self, summary: Summary) -> list[Letter]:
        context = {**self.common, "summary": summary}
        subject = self._subject("summary_subject.txt", context)
        attachment = self._attachment(SUMMARY, summary.tables, self.config.province)
        return self._letters(SUMMARY, [(address, "centre") for address in self.config.email.centre], subject,
                             "summary", context, attachment)

    def _subject(self, template: str, context: dict[str, Any]) -> str:
        return " ".join(self.env.get_template(template).render(context).split())

    def _attachment(self, report: str, tables: list[Any], whom: str) -> tuple[str, bytes] | None:
        if not tables:
            return None
        labels = self.layout.labels
        name = labels["attachment"].format(report=report.strip("_").lower(), week=self.week.key)
        subtitle = labels["subtitle"].format(week=self.week.label, unit=whom)
        issuer = labels["issuer"].format(province_upper=self.config.province.upper())
        return name, workbook_bytes(tables, issuer, subtitle)

    def _letters(self, report: str, recipients: list[tuple[str, str]], subject: str, template: str,
                 context: dict[str, Any], attachment: tuple[str, bytes] | None) -> list[Letter]:
        """One message for all of a report's recipients, rendered and encoded once; each letter is it
        under its own To and Message-ID."""
        if not recipients:
            return []
        context = {**context, "subject": subject}
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self.config.email.sender
        message["Date"] = formatdate(localtime=True)
        message.set_content(self.env.get_template(f"{template}.txt").render(context))
        message.add_alternative(self.env.get_template(f"{template}.html").render(context), subtype="html")
        if attachment:
            name, data = attachment
            message.add_attachment(data, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=name)
        body = message.as_bytes(policy=SMTP)
        domain = self.config.email.sender.rpartition("@")[2] or "auditbot.invalid"
        letters = []
        for recipient, role in recipients:
            # the same id for the same letter: a resend after an uncertain failure can be deduplicated
            token = hashlib.sha1(f"{self.week.key}\x1f{report}\x1f{recipient}".encode()).hexdigest()[:16]
            own = SMTP.fold("To", recipient) + SMTP.fold("Message-ID", f"<{self.week.key}.{token}@{domain}>")
            letters.append(Letter(report, recipient, role, subject, own.encode("ascii") + body))
        return letters


def compose_digests(composer: Composer, digests: list[UnitDigest]) -> Iterator[tuple[UnitDigest, list[Letter] | str]]:
    """Each digest with its letters, or what stopped them (one unit's fault never stops another's), in
    order. Composing is the week's CPU work (annex workbooks, MIME): a province's worth is shared among
    the machine's cores, each worker a fork that already holds the composer."""
    workers = min(os.cpu_count() or 1, 4)
    if workers < 2 or len(digests) < PARALLEL_FROM:
        yield from ((digest, _compose(composer, digest)) for digest in digests)
        return
    # a forked worker inherits the composer as it is (its compiled templates too), never pickled
    with multiprocessing.get_context("fork").Pool(workers, _WORKER.update, ({"composer": composer},)) as pool:
        yield from zip(digests, pool.imap(_compose_in_worker, digests, chunksize=4))


_WORKER: dict[str, Composer] = {}  # what a worker process was given when it started


def _compose_in_worker(digest: UnitDigest) -> list[Letter] | str:
    return _compose(_WORKER["composer"], digest)


def _compose(composer: Composer, digest: UnitDigest) -> list[Letter] | str:
    try:
        return composer.digest_letters(digest)
    except Exception as exc:  # noqa: BLE001 one unit's bad value never stops the other units' letters
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return f"{type(exc).__name__} ({os.path.basename(where.filename)}:{where.lineno})"
