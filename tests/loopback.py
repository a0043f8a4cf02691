"""Servers on 127.0.0.1 the tests talk to instead of the world: an SMTP sink that keeps what it accepts,
and free ports. Shared by every test file (the `smtp` fixture lives in conftest)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

PASSWORD = "mat-khau-thu-9f3c"


class Sink:
    """An aiosmtpd handler that keeps every message it accepts, `delay` seconds after receiving it."""

    def __init__(self, delay: float = 0) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.logins: list[tuple[bytes, bytes]] = []
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == PASSWORD.encode(), handled=False)  # False: answer 535

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.received if address in rcpt]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def email_rules(port: int, extra: str = "") -> str:
    return (f'[email]\nsender = "kiemsoat@example.gov.vn"\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\n'
            f'security = "none"\ncentre = ["centre@example.gov.vn"]\ntimeout_seconds = 5\n{extra}'
            '[report]\nretry_minutes = 0\nescalate_after_weeks = 4\n')


@contextmanager
def smtp_sink(sink: Sink | None = None) -> Iterator[tuple[Sink, int]]:
    """A real SMTP server on loopback, delivering into `sink`."""
    sink, port = sink or Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()
