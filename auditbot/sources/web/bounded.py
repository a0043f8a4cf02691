"""One HTTP exchange that no server can stretch: a deadline over all of it, and a cap on what it decodes.

httpx's timeouts bound each read, so a server sending its status line or headers one byte a second
is never cut; here one asyncio deadline covers connect, headers and body. Compressed bodies are
decoded layer by layer with the output capped inside the decompressor, so a few kilobytes of nested
gzip stop at the cap instead of expanding to gigabytes.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

ACCEPT_ENCODING = "gzip, deflate"  # what Decoder undoes; nothing else is asked for


class ExchangeError(Exception):
    """The exchange was cut: too slow, too large, or an encoding we do not decode. The reason is for people."""


class NoConnection(ExchangeError):
    """The deadline passed before a connection was even made: a site that is not there, or no way out of
    auditbot's own network (a slow server, once connected, is a plain ExchangeError)."""


@dataclass
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes
    url: str


class Decoder:
    """Content-Encoding layers undone in reverse order, every layer's output capped at `limit` bytes."""

    def __init__(self, encodings: str, limit: int) -> None:
        self.limit = limit
        self.layers: list[zlib._Decompress] = []
        self.produced: list[int] = []
        for name in reversed([e.strip().lower() for e in encodings.split(",") if e.strip()]):
            if name == "identity":
                continue
            if name not in ("gzip", "x-gzip", "deflate"):
                raise ExchangeError(f"máy chủ nén trang bằng {name!r}, không được yêu cầu")
            self.layers.append(zlib.decompressobj(zlib.MAX_WBITS | 32 if name != "deflate" else zlib.MAX_WBITS))
            self.produced.append(0)

    def feed(self, data: bytes) -> bytes:
        for index, layer in enumerate(self.layers):
            try:
                data = layer.decompress(data, self.limit + 1 - self.produced[index])
            except zlib.error as exc:
                raise ExchangeError(f"nội dung nén bị hỏng ({exc})") from None
            self.produced[index] += len(data)
            if layer.unconsumed_tail or self.produced[index] > self.limit:
                raise ExchangeError(too_large(self.limit))
        return data


def too_large(limit: int, measured: str = "sau giải nén") -> str:
    return f"trang lớn hơn {limit / (1 << 20):g} MB ({measured}), đã dừng đọc: không đủ làm bằng chứng"


async def exchange(client: httpx.AsyncClient, url: str, *, limit: int, seconds: float, method: str = "GET",
                   headers: Mapping[str, str] | None = None, content: bytes | None = None) -> Answer:
    """The whole answer within `seconds` and `limit` decoded bytes, or ExchangeError saying which."""
    asked = {"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})}
    connected = False

    async def trace(event: str, info: dict[str, object]) -> None:  # httpcore's progress: a TCP connection made
        nonlocal connected           # (or one reused from the pool, which only ever sends headers)
        connected = connected or event == "connection.connect_tcp.complete" or "send_request_headers" in event

    try:
        async with asyncio.timeout(seconds):
            async with client.stream(method, url, headers=asked, content=content,
                                     extensions={"trace": trace}) as response:
                decoder = Decoder(response.headers.get("Content-Encoding", ""), limit)
                body = bytearray()
                async for chunk in response.aiter_raw():
                    body += decoder.feed(chunk)
                    if len(body) > limit:
                        raise ExchangeError(too_large(limit))
                return Answer(response.status_code, response.headers, bytes(body), str(response.url))
    except (TimeoutError, httpx.TimeoutException):
        cut = NoConnection if not connected else ExchangeError
        raise cut(f"quá {seconds:g} giây chưa trả lời xong".replace(".", ",")) from None
