"""What each unit is told this week, and what the centre is told: read from the findings store only.

A digest holds the unit's open, unmuted findings as annex tables, what was fixed in the last seven
days, and its state: findings to fix, nothing open (its checks ran and its sources were read),
sources unreadable, or not checked this week (never reported as "nothing open").
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from auditbot.checking.plugins import centre_checks, registered_checks, routed_checks
from auditbot.config.rules import Config, Unit
from auditbot.domain.rates import share
from auditbot.errors import ConfigError
from auditbot.index766.formula import formula_path, headline_of, load_formulas
from auditbot.report.annex_table import Row, Table
from auditbot.report.layout import Column, Layout, Section, display, value_of
from auditbot.report.unit_annexes import rows_from_findings, unit_annex_tables
from auditbot.store import Store, observations, timestamp, unit_label
from auditbot.store.overdue_causes import CAUSES, cause_split
from auditbot.words import vietnamese


@dataclass(frozen=True)
class ReportWeek:
    now: datetime

    @property
    def key(self) -> str:
        year, week, _ = self.now.isocalendar()
        return f"{year}-W{week:02d}"

    @property
    def label(self) -> str:
        year, week, _ = self.now.isocalendar()
        return f"tuần {week}/{year}"

    @property
    def since(self) -> str:
        """The report week: the seven days up to now."""
        return timestamp(self.now - timedelta(days=7))


@dataclass
class IndexLine:
    """The unit's 766 index as the latest checks run computed it: the headline and where it loses most."""

    headline: str
    losses: list[str]


@dataclass
class UnitDigest:
    unit: Unit
    week: ReportWeek
    tables: list[Table]
    open_count: int
    new_count: int
    fixed: list[dict[str, Any]]
    unreadable: list[dict[str, Any]]
    checked: bool
    escalated: list[dict[str, Any]]
    index: IndexLine | None = None
    routed: int = 0  # of the open findings, those about other units' dossiers [routing] sends to this one
    answers: list[dict[str, Any]] = field(default_factory=list)  # what came of the unit's answers (store/answers.py)
    answer_link: str | None = None  # this week's link to the answer page, when letters are really made


    @property
    def state(self) -> str:
        if self.open_count:
            return "open"
        if self.unreadable:
            return "unreadable"
        return "clean" if self.checked else "unchecked"


@dataclass
class Summary:
    week: ReportWeek
    tables: list[Table]
    open_count: int
    open_last_week: int
    new_count: int
    fixed_count: int
    by_kind: list[dict[str, Any]]
    top_units: list[dict[str, Any]]
    escalated: list[dict[str, Any]]
    operator: list[dict[str, Any]]
    unchecked: list[str]
    rejected_imports: list[dict[str, Any]]
    unsent: list[dict[str, str]]  # units whose letter could not be made this week, and why
    digests: list[UnitDigest] = field(default_factory=list)
    # overdue dossiers now by whose fault: [{"cause", "count", "share" (a percentage, cut)}]; [] when none
    overdue_causes: list[dict[str, Any]] = field(default_factory=list)
    unanswered: list[dict[str, Any]] = field(default_factory=list)  # units silent on findings older than N days
    false_findings: list[dict[str, Any]] = field(default_factory=list)  # per check: disputed, accepted as false


class WeekFindings:
    """Loads the week's findings once; digests for 200 units are then cut from memory."""

    def __init__(self, config: Config, store: Store, layout: Layout, now: datetime) -> None:
        self.config, self.store, self.layout = config, store, layout
        self.week = ReportWeek(now)
        self.escalate_before = timestamp(now - timedelta(weeks=config.report.escalate_after_weeks))
        self.open = store.findings(statuses=["open"])
        self.open_by_unit: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for finding in self.open:
            self.open_by_unit[finding["unit"]].append(finding)
        self.fixed_by_unit: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for finding in store.fixed_since(self.week.since):
            self.fixed_by_unit[finding["unit"]].append(finding)
        # units whose latest check run in the week finished without a failing check, and whose pages were
        # read or failed on their side: an outage of auditbot's own network confirms nobody clean
        self.checked = store.units_checked_since(self.week.since) - observations.unread_for_our_network(store.db)
        try:  # the index's full marks, for its headline; a broken formula table leaves the section out
            self.index_points: Fraction | None = load_formulas(formula_path(config.report.templates)).points
        except ConfigError:
            self.index_points = None
        # operator findings: told to the centre; a unit's own ones explain why it cannot be confirmed clean
        self.operator = centre_checks()
        # findings about a unit that [routing] sends to someone else (and the centre): never in its letter
        self.routed = routed_checks()

    def is_new(self, finding: dict[str, Any]) -> bool:
        return bool(finding["first_seen"] >= self.week.since)

    def tables(self, findings: list[dict[str, Any]], with_unit: bool) -> list[Table]:
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for finding in findings:
            grouped[self.layout.section_of(finding["check"]).key].append(finding)
        return [self._table(section, grouped[section.key], with_unit)
                for section in self.layout.sections if grouped.get(section.key)]

    def _table(self, section: Section, findings: list[dict[str, Any]], with_unit: bool) -> Table:
        labels = self.layout.labels
        columns = list(section.columns)
        if with_unit:
            columns.insert(0, Column(labels["unit"], "unit_name", "text", 28))
        rows = []
        for number, finding in enumerate(findings, 1):
            finding = {**finding, "unit_name": self.unit_name(finding["unit"])}
            values = [value_of(finding, column) for column in columns]
            fresh = self.is_new(finding)
            status = labels["new"] if fresh else labels["since"].format(date=vietnamese.day(finding["first_seen"]))
            rows.append(Row([number, *values, status],
                            [str(number), *(display(v, c.format) for v, c in zip(values, columns))],
                            status, fresh, finding["id"]))
        footnotes = list(dict.fromkeys(f["details"]["footnote"] for f in findings if f["details"].get("footnote")))
        return Table(section, [labels["stt"], *(c.heading for c in columns), labels["status"]],
                     [6, *(c.width for c in columns), 18], ["number", *(c.format for c in columns), "text"], rows,
                     footnotes)

    def _unit_row_status(self, row: dict[str, Any]) -> tuple[str, bool]:
        """A unit's row is new when its oldest finding in that annex is."""
        labels = self.layout.labels
        if row["first_seen"] >= self.week.since:
            return labels["new"], True
        return labels["since"].format(date=vietnamese.day(row["first_seen"])), False

    def unit_name(self, code: str) -> str:
        return unit_label(self.config, code)

    def routed_to(self, code: str) -> list[dict[str, Any]]:
        """The open findings, of any unit, of the classes [routing] sends to this unit (or address route)."""
        classes = {name for name, route in self.config.routing.items()
                   if route.unit == code or (not route.unit and code == route_code(name))}
        return [f for f in self.open if self.routed.get(f["check"]) in classes] if classes else []

    def route_units(self) -> list[Unit]:
        """Those [routing] names by their addresses: each gets its letter as a unit would."""
        return [Unit(code=route_code(name), name=self.layout.labels.get(f"route_{name}", name), kind=ROUTE_KIND,
                     emails=route.emails) for name, route in sorted(self.config.routing.items()) if not route.unit]

    def digest(self, unit: Unit) -> UnitDigest:
        own = self.open_by_unit.get(unit.code, [])
        findings = [f for f in own if f["check"] not in self.operator and f["check"] not in self.routed]
        routed = self.routed_to(unit.code)
        return UnitDigest(
            unit=unit, week=self.week,
            tables=[*self.tables(findings, with_unit=False), *self.tables(routed, with_unit=True)],
            open_count=len(findings) + len(routed),
            new_count=sum(self.is_new(f) for f in [*findings, *routed]),
            fixed=[f for f in self.fixed_by_unit.get(unit.code, [])
                   if f["check"] not in self.operator and f["check"] not in self.routed],
            unreadable=[f for f in own if f["check"] == "source.unreadable"],
            checked=unit.code in self.checked,
            escalated=[f for f in findings if f["first_seen"] < self.escalate_before],
            index=self.index_line(unit.code), routed=len(routed),
            answers=self.store.answers_to_tell(unit.code, self.week.since))

    def index_line(self, unit: str) -> IndexLine | None:
        rows = observations.latest_unit_index(self.store.db, unit)
        if not rows or self.index_points is None:
            return None
        scored = [row for row in rows if row["points"] is not None]
        total = sum((Fraction(str(row["points"])) for row in scored), Fraction(0)) if scored else None
        scored_max = sum((Fraction(str(row["max_points"])) for row in scored), Fraction(0))
        losses = sorted((row for row in scored if row["advice"]), key=lambda row: row["points"] - row["max_points"])
        return IndexLine(headline_of(total, scored_max, self.index_points), [row["advice"] for row in losses[:3]])

    def summary(self, digests: list[UnitDigest], failed: Sequence[tuple[str, str]] = ()) -> Summary:
        digests = [d for d in digests if d.unit.kind != ROUTE_KIND]  # an address route is no unit of the province
        violations = [f for f in self.open if f["check"] not in self.operator and f["check"] not in self.routed]
        routed = [f for f in self.open if f["check"] in self.routed]
        checks = registered_checks()
        kinds: dict[str, Counter[str]] = defaultdict(Counter)
        for digest in digests:
            counter = kinds[digest.unit.kind]
            counter["units"] += 1
            counter["units_with_open"] += bool(digest.open_count)
            counter["open"] += digest.open_count
            counter["new"] += digest.new_count
        ranked = sorted((d for d in digests if d.open_count), key=lambda d: (-d.open_count, d.unit.code))
        open_last_week = self.store.open_at(self.week.since, excluding=self.operator)
        rejected = observations.imports_with_rejections(self.store.db, self.week.since)
        # Phụ lục I–IV as lists of units; the other tables list each finding with its unit
        by_unit = {check for section in self.layout.unit_annexes for check in section.checks}
        footnotes: dict[str, list[str]] = defaultdict(list)
        for finding in violations:
            note = finding["details"].get("footnote")
            if note and note not in footnotes[finding["check"]]:
                footnotes[finding["check"]].append(note)
        tables = [*unit_annex_tables(self.config, self.layout, rows_from_findings(violations), footnotes,
                                     self._unit_row_status),
                  *self.tables([f for f in violations if f["check"] not in by_unit], with_unit=True),
                  *self.tables(routed, with_unit=True)]
        return Summary(
            week=self.week, tables=tables, open_count=len(violations),
            open_last_week=open_last_week, new_count=sum(self.is_new(f) for f in violations),
            fixed_count=sum(len(v) for v in self.fixed_by_unit.values()),
            by_kind=[{"kind": kind, **counter} for kind, counter in sorted(kinds.items())],
            top_units=[{"code": d.unit.code, "name": d.unit.name, "open": d.open_count, "new": d.new_count}
                       for d in ranked[:self.config.report.top_units]],
            escalated=[{"code": d.unit.code, "name": d.unit.name, "count": len(d.escalated),
                        "oldest": min(f["first_seen"] for f in d.escalated)} for d in digests if d.escalated],
            operator=[{**f, "unit_name": self.unit_name(f["unit"])} for f in self.open
                      if f["check"] in self.operator],
            unchecked=[d.unit.name for d in digests if d.state == "unchecked"],
            rejected_imports=[{**r, "file": str(r["file"]).rsplit("/", 1)[-1]} for r in rejected],
            unsent=[{"name": self.unit_name(code), "error": error} for code, error in failed],
            digests=digests, overdue_causes=self.overdue_causes(),
            # only once letters carry a link: a unit never offered one has not failed to answer
            unanswered=[{**row, "name": self.unit_name(row["unit"])} for row in self.store.unanswered(
                timestamp(self.week.now - timedelta(days=self.config.answers.remind_after_days)), sorted(self.operator))
                ] if self.config.answers.base_url else [],
            false_findings=[{**row, "share": share(row["false_findings"], row["findings"]),
                             "title": checks[row["check_id"]].title if row["check_id"] in checks else row["check_id"]}
                            for row in self.store.false_findings()])

    def overdue_causes(self) -> list[dict[str, Any]]:
        split = cause_split(self.store.db, self.week.now)
        total = sum(split.values())
        return [{"cause": cause, "count": split[cause], "share": share(split[cause], total)}
                for cause in CAUSES if split[cause]]


ROUTE_KIND = "_route"  # the kind of the stand-in unit an address route's letter is made for


def route_code(name: str) -> str:
    """The report key of the letter to a class's addresses (e.g. _route_sync)."""
    return f"_route_{name}"
