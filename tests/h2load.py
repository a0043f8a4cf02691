"""A flood at a fixed rate from Debian's h2load (nghttp2-client), on loopback only: an open loop, so the rate
offered does not fall when the server slows, as a closed-loop client's would. Shared by the answer page's
hostile-input test and bench/answers_flood.py."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Stream:
    """One kind of request: `rate` a second for the flood's duration, spread over `clients` connections."""

    url: str
    rate: int
    clients: int = 5
    body: Path | None = None  # a form posted as application/x-www-form-urlencoded


@dataclass(frozen=True)
class Outcome:
    total: int        # requests h2load meant to send
    done: int         # answered (any status)
    errored: int
    timeout: int
    statuses: dict[str, int]  # "2xx" .. "5xx"
    seconds: float

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


def command() -> str:
    found = shutil.which("h2load")
    assert found, "h2load is missing: `make test` installs Debian's nghttp2-client"
    return found


def start(stream: Stream, seconds: int) -> subprocess.Popen[str]:
    host = urlsplit(stream.url).hostname
    assert host in ("127.0.0.1", "localhost", "::1"), "floods go to loopback only"
    assert stream.rate % stream.clients == 0, "h2load's rate is per connection"
    args = [command(), "--h1", "-c", str(stream.clients), "--rps", str(stream.rate // stream.clients), "-D", str(seconds)]
    if stream.body is not None:
        args += ["-d", str(stream.body), "-H", "content-type: application/x-www-form-urlencoded"]
    return subprocess.Popen([*args, stream.url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def outcome(process: subprocess.Popen[str], seconds: int) -> Outcome:
    """h2load's summary; it stops by itself after its duration."""
    output, _ = process.communicate(timeout=seconds + 120)
    assert process.returncode == 0, output
    requests = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, \d+ succeeded, \d+ failed, "
                         r"(\d+) errored, (\d+) timeout", output)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", output)
    finished = re.search(r"finished in ([\d.]+)s", output)
    assert requests and codes and finished, output
    total, done, errored, timeout = (int(n) for n in requests.groups())
    statuses = dict(zip(("2xx", "3xx", "4xx", "5xx"), (int(n) for n in codes.groups())))
    return Outcome(total, done, errored, timeout, statuses, float(finished[1]))


def flood(streams: list[Stream], seconds: int) -> list[subprocess.Popen[str]]:
    """Every stream at once; read each one's `outcome` when done."""
    return [start(stream, seconds) for stream in streams]
