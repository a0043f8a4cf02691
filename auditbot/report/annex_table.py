"""One annex table as the letters, the summary and the XLSX show it: typed cells and their Vietnamese text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auditbot.report.layout import Section


@dataclass
class Row:
    values: list[Any]          # typed, for the XLSX
    texts: list[str]           # as people read them, for the email (the status apart)
    status: str                # "Mới trong tuần" / "Tồn từ 03/11/2026"
    fresh: bool
    finding_id: str
    heading: str | None = None  # a group's heading row ("I. Sở, ban, ngành"), no cells


@dataclass
class Table:
    section: Section
    headings: list[str]
    widths: list[float]
    formats: list[str]
    rows: list[Row]
    footnotes: list[str] = field(default_factory=list)  # e.g. which procedures a rate leaves out, and why
    has_status: bool = True  # the last column says new / open since (not for a period's figures)

    @property
    def count(self) -> int:
        """Rows of data, group headings apart."""
        return sum(1 for row in self.rows if row.heading is None)

    def labelled(self, row: Row) -> list[str]:
        """"Heading: value" for each filled cell after STT: how a row reads in plain text."""
        return [f"{heading}: {text}" for heading, text in zip(self.headings[1:], row.texts[1:]) if text]
