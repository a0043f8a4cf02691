"""What checks promise the rest of auditbot: the details keys the annexes read, and who is told."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditbot.checking.plugins import centre_checks, registered_checks, routed_checks
from auditbot.checking.types import CENTRE_AUDIENCE, SYNC_AUDIENCE, UNIT_AUDIENCE
from auditbot.report.layout import Layout, Section, load_layout

TEMPLATES = Path(__file__).parents[1] / "templates"
# the keys a finding row has whatever its check (store.finding_json), and what a unit annex row adds itself
FINDING_KEYS = {"id", "check", "unit", "subject", "title", "severity", "status", "first_seen", "last_seen",
                "resolved_at", "unit_name"}
UNIT_ROW_KEYS = {"unit", "unit_name", "kind", "count", "first_seen"}


def _fields(section: Section) -> list[str]:
    return [column.field for column in section.columns]


def _checks_of(layout: Layout, section: Section) -> list[str]:
    """The checks whose findings land in a section: those it names, or for the catch-all every other one."""
    if section.checks:
        return list(section.checks)
    named = {check for each in layout.sections for check in each.checks}
    return [cid for cid in registered_checks() if cid not in named]


def test_every_check_declares_its_details_and_its_audience() -> None:
    for cid, check in registered_checks().items():
        assert check.details, f"{cid} declares no details keys"
        assert check.audience in (UNIT_AUDIENCE, CENTRE_AUDIENCE, SYNC_AUDIENCE), cid
    assert centre_checks() == {"source.unreadable", "portal.unavailable", "link.unchecked", "job.failing",
                               "letter.failed", "dossier.after_transfer", "network.unavailable"}
    assert routed_checks() == dict.fromkeys(("sync.counts_differ", "sync.missing", "sync.status_mismatch"), "sync")


@pytest.mark.parametrize("folder", [TEMPLATES], ids=["bundled templates"])
def test_an_annex_column_names_only_what_its_checks_provide(folder: Path) -> None:
    """Rename a details key in a check and the letters' column would go blank silently: this fails instead."""
    layout = load_layout(folder)
    checks = registered_checks()
    for section in layout.sections:
        for field in _fields(section):
            for cid in _checks_of(layout, section):
                if field.startswith("details."):
                    assert field.removeprefix("details.") in checks[cid].details, (section.key, field, cid)
                else:
                    assert field in FINDING_KEYS, (section.key, field)
    for section in layout.unit_annexes:
        [cid] = section.checks
        for field in _fields(section):
            assert field in UNIT_ROW_KEYS or field in checks[cid].details, (section.key, field, cid)


def test_a_renamed_details_key_is_caught(tmp_path: Path) -> None:
    """The test above fails on a column naming a key no check gives (the annexes file edited by hand)."""
    text = (TEMPLATES / "annexes.toml").read_text(encoding="utf-8")
    (tmp_path / "annexes.toml").write_text(text.replace('"details.days_overdue"', '"details.days_late"'),
                                           encoding="utf-8")
    with pytest.raises(AssertionError, match="days_late"):
        test_an_annex_column_names_only_what_its_checks_provide(tmp_path)
