"""Sources whose parser does something in the reading child, to see what that child is and what it does.

The reading child is a new interpreter: a test's monkeypatching does not reach it. These specs travel to it
pickled, and it imports this module (the `reader_hooks` fixture puts tests/ on its path); each hook runs in
the child when the import's row parser is made, after the header is found."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from auditbot.sources.dossiers.exports import DossierSpec


class ProbeSpec(DossierSpec):
    """Writes what the child sees of itself to `out`: its pid, the files its descriptors point to, and its
    environment as the kernel handed it over at its start."""

    def __init__(self, out: str) -> None:
        super().__init__()
        self.out = out

    def parser(self, config: Any, found: set[str], import_id: int) -> Any:
        environ = Path("/proc/self/environ").read_bytes().decode("utf-8", "replace").split("\0")
        Path(self.out).write_text(json.dumps({"pid": os.getpid(), "fds": _open_files("self"), "environ": environ,
                                              "parent_fds": _open_files(str(os.getppid()))}), encoding="utf-8")
        return super().parser(config, found, import_id)


def _open_files(process: str) -> dict[str, str]:
    """fd -> what it points to, for a process of this user."""
    fds = {}
    for fd in os.listdir(f"/proc/{process}/fd"):
        try:
            fds[fd] = os.readlink(f"/proc/{process}/fd/{fd}")
        except OSError:
            pass  # the listing's own descriptor, closed since
    return fds


class HoardingSpec(DossierSpec):
    """A reader fed a hostile file that takes memory without end."""

    def parser(self, config: Any, found: set[str], import_id: int) -> Any:
        hoard = []
        while True:
            hoard.append(b"x" * (8 << 20))
            time.sleep(0.01)


class StuckSpec(DossierSpec):
    """A reader that hangs (a deadlocked engine, a stuck disk)."""

    def parser(self, config: Any, found: set[str], import_id: int) -> Any:
        time.sleep(60)
        return super().parser(config, found, import_id)


class SmallChunksSpec(DossierSpec):
    """The CSV columnar path in chunks of 16 KB, so that a small file meets every chunk boundary."""

    def parser(self, config: Any, found: set[str], import_id: int) -> Any:
        from auditbot.sources.tabular import csv_chunks

        csv_chunks.CHUNK_BYTES = 16 << 10
        return super().parser(config, found, import_id)
