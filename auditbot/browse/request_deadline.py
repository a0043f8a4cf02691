"""uvicorn's HTTP/1.1 protocol with a deadline on each request's headers. uvicorn has none: a client that
opens connections and sends its headers a byte now and then (slowloris) held each one for ever, until the
process ran out of file descriptors and every unit's page went dark. Now each connection has
`header_seconds` to send a whole request line and headers, on opening and again between requests."""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class DeadlineH11Protocol(H11Protocol):
    header_seconds = 10.0
    header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # a request's headers are in: its body has its own bounds
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection has the same time

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        if self.conn.their_state is h11.IDLE:
            self.header_deadline = self.loop.call_later(self.header_seconds, self._too_slow)

    def _disarm(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _too_slow(self) -> None:
        self.header_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def protocol(header_seconds: float) -> Any:
    """The protocol class uvicorn.run takes as `http`, with this deadline."""
    return type("DeadlineH11", (DeadlineH11Protocol,), {"header_seconds": header_seconds})
