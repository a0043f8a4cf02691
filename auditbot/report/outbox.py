"""The outbox: the ledger of what was sent to whom, and the one place that talks to the mail server.

One row per (report week, report, recipient). Queuing the same week again refreshes letters not yet
sent and never touches sent ones, so re-running the weekly job sends nothing twice. Delivery uses one
SMTP connection per batch; a failed letter waits `retry_minutes`, doubling, and stays visible with its
error. A letter is marked "sending" before it goes out and "sent" as soon as the server accepts it. A
letter still "sending" when the next delivery starts (deliveries hold the writer lock, so its process
died mid-send) may or may not have reached the server: it becomes "unconfirmed" and is never sent
again by itself, so nobody gets a letter twice; `auditbot status` lists it for a person to check.
The same holds for a letter whose whole text reached the server but whose "250" never came back (the
connection dropped, or the server never answered the final dot). After checking the recipient's
mailbox, a person sends it again with `auditbot report --resend LETTER_ID`.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yagmail

from auditbot.config.rules import Config
from auditbot.errors import UserError
from auditbot.report.compose import Letter
from auditbot.report.output_files import refuse_protected, write_output
from auditbot.store import Store, timestamp
from auditbot.store import outbox as ledger

log = logging.getLogger(__name__)
MAX_WAIT = timedelta(hours=24)



@dataclass
class Delivery:
    sent: list[str] = field(default_factory=list)          # recipients, in order
    failed: list[tuple[str, str]] = field(default_factory=list)  # (recipient, error)
    unconfirmed: list[tuple[int, str]] = field(default_factory=list)  # (letter id, recipient): maybe delivered
    waiting: int = 0                                         # failed earlier, not yet due again


class Unconfirmed(Exception):
    """The server got the whole letter, but its answer was lost: it may have accepted it."""


def queue(store: Store, week: str, letters: list[Letter], now: datetime) -> None:
    rows = [(week, letter.report, letter.recipient, letter.role, letter.subject, letter.data) for letter in letters]
    ledger.queue_letters(store.db, rows, now)


def deliver(config: Config, store: Store, now: datetime, reports: list[str] | None = None,
            letter_ids: list[int] | None = None) -> Delivery:
    """Send every unsent letter that is due (of these reports, or with these ids, if given) over one connection."""
    ledger.mark_interrupted_sends(store.db, "the sending process stopped mid-send: the server may have it;"
                                  " it is not resent by itself: check, then `auditbot report --resend ")
    rows = ledger.unsent_letters(store.db, reports, letter_ids)
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
                _transmit(client.smtp, config.email.sender, row["recipient"], row["message"])
            except Unconfirmed as exc:
                _mark(store, row["id"], status="unconfirmed", attempts=row["attempts"] + 1, next_attempt_at=None,
                      last_error=f"the server received the whole letter but did not confirm it ({exc});"
                                 " it is not resent by itself: check, then `auditbot report --resend"
                                 f" {row['id']}`")
                log.warning("letter %s to %s unconfirmed: %s", row["id"], row["recipient"], exc)
                delivery.unconfirmed.append((row["id"], row["recipient"]))
                client = _reconnect(config, password, client)
                if client is None:
                    for rest in due[due.index(row) + 1:]:
                        _failed(store, config, rest, "not attempted: connection lost", now, delivery)
                    break
                continue
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


def write_eml(config: Config, folder: Path, week: str, letters: list[Letter]) -> list[Path]:
    """`--outbox DIR`: the letters as .eml files, for a look before anything is sent."""
    target = folder / week
    refuse_protected(config, target, "--outbox")
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for letter in letters:
        path = target / f"{letter.report.strip('_')}--{letter.recipient}.eml"
        write_output(config, path, letter.data, "--outbox")
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


def _transmit(smtp: smtplib.SMTP, sender: str, recipient: str, message: bytes) -> None:
    """smtplib's sendmail, with the one moment it cannot tell apart made visible: once the final dot
    is out, a lost connection or a missing answer means the letter may have arrived (Unconfirmed)."""
    smtp.ehlo_or_helo_if_needed()
    code, reply = smtp.mail(sender)
    if code != 250:
        smtp.rset()
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    code, reply = smtp.rcpt(recipient)
    if code not in (250, 251):
        smtp.rset()
        raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    code, reply = smtp.docmd("data")
    if code != 354:
        smtp.rset()
        raise smtplib.SMTPDataError(code, reply)
    body = re.sub(rb"(?m)^\.", b"..", message)  # a line starting with "." is doubled (RFC 5321 4.5.2)
    smtp.send(body + (b"" if body.endswith(b"\r\n") else b"\r\n") + b".\r\n")  # fails before the dot: not received
    try:
        code, reply = smtp.getreply()
    except (OSError, smtplib.SMTPServerDisconnected) as exc:
        raise Unconfirmed(f"{type(exc).__name__} after the end of the letter") from None
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)


def resend(store: Store, letter_id: int) -> dict[str, Any]:
    """Put an unconfirmed or failed letter back in the queue, due now; a person asked, after checking."""
    row = ledger.letter(store.db, letter_id)
    if row is None:
        raise UserError(f"no letter {letter_id} in the outbox (`auditbot status` lists unconfirmed ones)")
    if row["status"] not in ("unconfirmed", "failed"):
        raise UserError(f"letter {letter_id} to {row['recipient']} is {row['status']}"
                        f"{' at ' + row['sent_at'] if row['sent_at'] else ''}: only an unconfirmed or failed"
                        " letter is sent again")
    _mark(store, letter_id, status="pending", next_attempt_at=None)
    return row


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
    ledger.mark_letter(store.db, row_id, **values)


def _describe(exc: BaseException, password: str | None) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text.replace(password, "***") if password else text
