"""The outbox: the ledger of what was sent to whom, and the one place that talks to the mail server.

One row per (report week, report, recipient). Queuing the same week again refreshes letters not yet
sent and never touches sent ones, so re-running the weekly job sends nothing twice. Delivery uses one
SMTP connection per batch; a failed letter waits `retry_minutes`, doubling, and stays visible with its
error. A letter is marked "sending" before it goes out and "sent" as soon as the server accepts it. A
letter still "sending" when the next delivery starts (deliveries hold the writer lock, so its process
died mid-send) may or may not have reached the server: it becomes "unconfirmed" and is never sent
again by itself, so nobody gets a letter twice; `auditbot status` lists it for a person to check.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.policy import SMTP
from pathlib import Path
from typing import Any

import yagmail

from ..config import Config
from ..errors import UserError
from ..store import Store, timestamp
from .compose import Letter

log = logging.getLogger(__name__)
MAX_WAIT = timedelta(hours=24)
UNSENT = ("pending", "failed")


@dataclass
class Delivery:
    sent: list[str] = field(default_factory=list)          # recipients, in order
    failed: list[tuple[str, str]] = field(default_factory=list)  # (recipient, error)
    waiting: int = 0                                         # failed earlier, not yet due again


def queue(store: Store, week: str, letters: list[Letter], now: datetime) -> None:
    # CRLF line ends, as SMTP wants them: smtplib sends bytes exactly as given
    rows = [(week, l.report, l.recipient, l.role, l.subject, l.message.as_bytes(policy=SMTP), timestamp(now))
            for l in letters]
    with store.transaction():
        store.db.conn.executemany(
            "INSERT INTO outbox (week, report, recipient, role, subject, message, status, queued_at)"
            " VALUES (?,?,?,?,?,?,'pending',?) ON CONFLICT (week, report, recipient) DO UPDATE SET"
            " role=excluded.role, subject=excluded.subject, message=excluded.message"
            " WHERE outbox.status != 'sent'", rows)


def deliver(config: Config, store: Store, now: datetime, reports: list[str] | None = None) -> Delivery:
    """Send every unsent letter that is due (of these reports, if given) over one connection."""
    with store.transaction():
        store.db.conn.execute(
            "UPDATE outbox SET status = 'unconfirmed', last_error = ? WHERE status = 'sending'",
            ["the sending process stopped mid-send: the server may have it; not resent automatically"])
    sql = f"SELECT * FROM outbox WHERE status IN ({','.join('?' * len(UNSENT))})"
    params: list[Any] = list(UNSENT)
    if reports is not None:
        sql += f" AND report IN ({','.join('?' * len(reports))})"
        params += reports
    rows = list(store.db.query(sql + " ORDER BY id", params))
    due = [r for r in rows if not r["next_attempt_at"] or r["next_attempt_at"] <= timestamp(now)]
    delivery = Delivery(waiting=len(rows) - len(due))
    if not due:
        return delivery
    password = smtp_password(config)
    try:
        client = _connect(config, password)
    except (OSError, smtplib.SMTPException) as exc:
        error = _describe(exc, password)
        log.warning("SMTP server %s:%s unreachable: %s", config.email.smtp_host, config.email.smtp_port, error)
        for row in due:
            _failed(store, config, row, error, now, delivery)
        return delivery
    try:
        for row in due:
            _mark(store, row["id"], status="sending")
            try:
                client.smtp.sendmail(config.email.sender, [row["recipient"]], row["message"])
            except (OSError, smtplib.SMTPException) as exc:
                _failed(store, config, row, _describe(exc, password), now, delivery)
                if not isinstance(exc, (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)):
                    client = _reconnect(config, password, client)  # the connection is gone: one fresh try
                    if client is None:
                        for rest in due[due.index(row) + 1:]:
                            _failed(store, config, rest, "not attempted: connection lost", now, delivery)
                        break
                continue
            _mark(store, row["id"], status="sent", sent_at=timestamp(now), last_error=None,
                  attempts=row["attempts"] + 1, next_attempt_at=None)
            delivery.sent.append(row["recipient"])
    finally:
        if client is not None:
            _close(client)
    return delivery


def write_eml(folder: Path, week: str, letters: list[Letter]) -> list[Path]:
    """`--outbox DIR`: the letters as .eml files, for a look before anything is sent."""
    target = folder / week
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for letter in letters:
        path = target / f"{letter.report.strip('_')}--{letter.recipient}.eml"
        path.write_bytes(letter.message.as_bytes())
        paths.append(path)
    return paths


def smtp_password(config: Config) -> str | None:
    if not config.email.username:
        return None
    password = os.environ.get(config.email.password_env)
    if not password:
        raise UserError(f"[email] username is set but ${config.email.password_env} is empty:"
                        " export the SMTP password in that environment variable")
    if not password.isascii():  # smtplib sends AUTH credentials as ASCII and would crash mid-batch
        raise UserError(f"${config.email.password_env} holds non-ASCII characters; SMTP login needs an ASCII"
                        " password")
    return password


def _connect(config: Config, password: str | None) -> yagmail.SMTP:
    settings = config.email
    if not settings.smtp_host:
        raise UserError("[email] smtp_host is not set in rules.toml (or use --outbox DIR)")
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    extra: dict[str, Any] = {"timeout": settings.timeout_seconds}
    if settings.security == "ssl":
        extra["context"] = context
    client = yagmail.SMTP(
        user=settings.username or settings.sender, password=password, host=settings.smtp_host,
        port=settings.smtp_port, smtp_ssl=settings.security == "ssl",
        smtp_starttls={"context": context} if settings.security == "starttls" else False,
        smtp_skip_login=not settings.username, soft_email_validation=False, **extra)
    if settings.username:
        client.user = settings.username  # yagmail turns a bare login name into "name@gmail.com"
    # yagmail's own send() builds its message from content strings (no real text/plain part) and
    # answers False on failure; the letters are complete MIME messages, so they go through its connection.
    try:
        client.login()
    except BaseException:
        _close(client)  # a refused login must not leave the socket open (the daemon runs for months)
        raise
    return client


def _close(client: yagmail.SMTP) -> None:
    client.close()
    if client.smtp is not None:
        client.smtp.close()  # quit() fails on a half-open session; close the socket regardless


def _reconnect(config: Config, password: str | None, old: yagmail.SMTP) -> yagmail.SMTP | None:
    _close(old)
    try:
        return _connect(config, password)
    except (OSError, smtplib.SMTPException):
        return None


def _failed(store: Store, config: Config, row: dict[str, Any], error: str, now: datetime,
            delivery: Delivery) -> None:
    attempts = row["attempts"] + 1
    wait = min(timedelta(minutes=config.report.retry_minutes) * 2 ** (attempts - 1), MAX_WAIT)
    _mark(store, row["id"], status="failed", attempts=attempts, last_error=error,
          next_attempt_at=timestamp(now + wait))
    delivery.failed.append((row["recipient"], error))


def _mark(store: Store, row_id: int, **values: Any) -> None:
    with store.transaction():
        store.db.table("outbox").update(row_id, values)


def _describe(exc: BaseException, password: str | None) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text.replace(password, "***") if password else text
