"""uvicorn's HTTP/1.1 protocol with a deadline on each request. uvicorn has none: a client that opens
connections and sends its headers, or its body, a byte now and then (slowloris) held each one for ever,
until the process ran out of file descriptors and every unit's page went dark. Now each connection has
`request_seconds` to send a whole request, headers and body, on opening and again between requests; the
time the server takes to answer is not counted."""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class DeadlineH11Protocol(H11Protocol):
    request_seconds = 10.0
    request_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.DONE:  # the whole request is in: the answer takes what it takes
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request, or the rest of a body answered early (a 404, a 413), has the same time

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        if self.conn.their_state is not h11.DONE:
            self.request_deadline = self.loop.call_later(self.request_seconds, self._too_slow)

    def _disarm(self) -> None:
        if self.request_deadline is not None:
            self.request_deadline.cancel()
            self.request_deadline = None

    def _too_slow(self) -> None:
        self.request_deadline = None
        if self.conn.their_state is not h11.DONE and not self.transport.is_closing():
            self.transport.close()


def protocol(request_seconds: float) -> Any:
    """The protocol class uvicorn.run takes as `http`, with this deadline."""
    return type("DeadlineH11", (DeadlineH11Protocol,), {"request_seconds": request_seconds})
