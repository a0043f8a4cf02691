"""`[sync] portal_figures`: the folder of the portal's published monthly counts per unit -> `portal_counts`.

Read before the sync checks run (a local folder: offline runs read it too). One file that cannot be read
is a note naming it; the other files still count, and a unit's month no file gives keeps what was stored.
"""

from __future__ import annotations

from datetime import date, datetime

from auditbot.config.rules import Config
from auditbot.errors import InputError
from auditbot.index766.portal_counts import read_portal_counts
from auditbot.sources.tabular.common import UnitResolver
from auditbot.store import Store, timestamp

SUFFIXES = (".json", ".csv", ".txt")


def read_portal_figures(config: Config, store: Store, now: datetime) -> list[str]:
    """Store every unit's monthly counts the folder gives; what could not be read, one line each."""
    folder = config.sync.portal_figures
    if folder is None:
        return []
    if not folder.is_dir():
        return [f"{folder}: [sync] portal_figures is not a folder"]
    units = UnitResolver(config)
    notes: list[str] = []
    rows = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES):
        try:
            read = read_portal_counts(path, config.max_file_mb)
        except InputError as exc:
            notes.append(str(exc))
            continue
        notes += [f"{path}: {line}" for line in read.rejected]
        for count in read.rows:
            month, year = (int(part) for part in count.month.split("/"))
            unit = units(count.unit, date(year, month, 1))
            if unit is None:
                notes.append(f"{path}: unknown unit {count.unit!r} ({count.month})")
                continue
            rows.append({"unit": unit, "month": count.month, **count.counts, "file": path.name,
                         "read_at": timestamp(now)})
    if rows:
        with store.db.conn:
            store.db.table("portal_counts").upsert_all(rows, pk=("unit", "month"))
    return notes
