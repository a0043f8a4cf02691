"""`auditbot demo`: the whole job on the bundled sample province, offline, in under a minute."""

from __future__ import annotations

import shutil
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from auditbot import commands
from auditbot.config import bundled
from auditbot.config.rules import Config, LocalSites
from auditbot.demo.samplegen import Dossier, make_dossiers, write_sync_json, write_xlsx
from auditbot.demo.sites import LoopbackTransport, serve_sites
from auditbot.domain.clock import local_now
from auditbot.errors import InputError
from auditbot.index766.formula import gain_sentence, points_text
from auditbot.report.imported import reason_text
from auditbot.report.wording import REASONS, words_for
from auditbot.store import unit_label
from auditbot.words import vietnamese

GENERATED = "generated"
# the sample province's made-up sites and a stand-in for the national portal, served from sample/sites
SAMPLE_DOMAINS = ("example.gov.vn", "dichvucong.gov.vn")


def prepare_workspace(folder: Path) -> bool:
    """Copy the bundled sample province into `folder` as the repository lays it out: its policy as rules.toml,
    its data under sample/. What is already there is kept (a person may have edited it).

    Returns whether anything was copied. A non-empty folder that is not a sample province is refused.
    """
    rules = folder / "rules.toml"
    if folder.is_dir() and any(folder.iterdir()) and not rules.is_file():
        raise InputError(f"{folder}: not empty and holds no rules.toml; choose another folder with --dir")
    source = bundled.sample_province()
    if rules.is_file() and _province_name(rules) != _province_name(source / "rules.toml"):
        # a live province's folder: the demo would write invented exports into its inputs and import them
        raise InputError(f"{folder}: its rules.toml is another province's, not the sample's; the demo writes"
                         " invented dossiers into what it reads. Choose another folder with --dir")
    copied = False
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_dir() or "__pycache__" in path.parts or path.name == "__init__.py":
            continue
        target = folder / relative if relative == Path("rules.toml") else folder / "sample" / relative
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        copied = True
    return copied


def _province_name(rules: Path) -> object:
    """[province] name of a rules.toml, or None when it cannot be read as one."""
    try:
        return tomllib.loads(rules.read_text(encoding="utf-8")).get("province", {}).get("name")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        return None


def write_sample_exports(config: Config) -> list[Path]:
    """Fresh exports dated up to today, so the current period always has figures to show."""
    folders = [p for p in config.dossier_sources if p.suffix == ""]
    folder = (folders[0] if folders else config.path.parent / "exports") / GENERATED
    folder.mkdir(parents=True, exist_ok=True)
    today = local_now(config).date()
    names = [alias for unit in config.units for alias in (unit.aliases[:1] or (unit.name,))]
    dossiers = successors_named(config, list(make_dossiers(600, names, today, days=75, seed=2026)))
    xlsx, sync = folder / "ho-so-gan-day.xlsx", folder / "dong-bo-dvcqg.json"
    write_xlsx(xlsx, dossiers[:450])
    write_sync_json(sync, dossiers[450:])
    return [xlsx, sync]


def successors_named(config: Config, dossiers: list[Dossier], kept: int = 2) -> list[Dossier]:
    """As a one-door system does after a merger: dossiers received after a unit ended name its successor;
    `kept` of them still name the old unit, so the demo shows how such a row is refused."""
    named = {(unit.aliases[:1] or (unit.name,))[0]: unit for unit in config.units}
    for dossier in dossiers:
        unit = named.get(dossier.unit_name)
        if unit is None or unit.valid_to is None or dossier.received_at.date() <= unit.valid_to or not unit.successors:
            continue
        if kept:
            kept -= 1
            continue
        heir = config.unit(unit.successors[0])
        dossier.unit_name = (heir.aliases[:1] or (heir.name,))[0]
    return dossiers


def run_demo(config: Config, echo: Callable[[str], None]) -> None:
    words = words_for(config)
    number = vietnamese.number
    echo(words("demo.title", province=config.province, units=number(len(config.units))))
    generated = write_sample_exports(config)
    echo(words("demo.exports", files=", ".join(p.name for p in generated)))
    catalogue = commands.import_catalogue_file(config, None)
    echo(words("demo.catalogue", stored=number(catalogue.stored), rejected=number(catalogue.rejected)))
    outcome = commands.import_dossier_files(config, [])
    reasons = words_for(config, REASONS)
    for summary in outcome.summaries:
        echo(words("demo.dossiers", file=Path(summary.file).name, read=number(summary.rows_read),
                   stored=number(summary.stored), updated=number(summary.updated), rejected=number(summary.rejected)))
        for rejection in summary.rejections[:3]:
            echo(words("demo.rejection", row=rejection.row, column=rejection.column, reason=reason_text(reasons, rejection)))
    for error in outcome.errors:
        echo(words("demo.import_error", error=error))
    # a demo folder copied before [local_sites] existed keeps its rules.toml: the sample's sites all the same
    sites = config.local_sites or LocalSites(config.path.parent / "sample" / "sites", SAMPLE_DOMAINS)
    with serve_sites(sites.folder) as server:
        echo(words("demo.serving", folder=sites.folder, port=server.port))
        result = commands.check(config, [], True, None, trigger="demo",
                                transport=LoopbackTransport(server.port, sites.domains))
    for reading in commands.latest_readings(config):
        label = unit_label(config, reading["unit"])
        if not reading["ok"]:
            echo(words("demo.reading_failed", unit=label, error=reading["error"]))
            continue
        how = [words.known("layouts", reading["layout"])] if reading["layout"] else []
        how += [words("demo.reading_rendered")] if reading["rendered"] else []
        echo(words("demo.reading", unit=label, items=number(reading["items"] or 0),
                   how=words("demo.reading_how", how=", ".join(how)) if how else ""))
    echo(words("demo.checks", run=result.run_id, open=number(len(result.findings)),
               new=number(result.counts.opened), resolved=number(result.counts.resolved)))
    by_unit = Counter(f["unit"] for f in result.findings)
    by_check = Counter(f["check"] for f in result.findings)
    for code, count in by_unit.most_common():
        echo(words("demo.count", what=unit_label(config, code), count=number(count)))
    for check_id, count in sorted(by_check.items()):
        echo(words("demo.count", what=check_id, count=number(count)))
    computed, figures = commands.rates(config, None, None, "kind")
    period = computed.period
    echo(words("demo.figures", period=period.name, start=vietnamese.day(period.start), end=vietnamese.day(period.end)))
    for item in figures:
        rates = item.rates(config.rounding)
        echo(words("demo.figures_group", group=words.kind(item.group), received=number(item.received),
                   online=vietnamese.percent(rates["online_rate"]),
                   digitised=vietnamese.percent(rates["digitisation_rate"]),
                   overdue=vietnamese.percent(rates["overdue_rate"])))
    for unit in commands.units_on(config, period.end):
        if unit["predecessors"]:
            echo(words("demo.merged", unit=unit["name"],
                       predecessors=", ".join(unit_label(config, c) for c in unit["predecessors"])))
    index = commands.index(config, None, None, "unit")
    echo(words("demo.index"))
    for scored in index.results:
        gains = scored.gains()
        echo(words("demo.index_unit", unit=unit_label(config, scored.group), points=points_text(scored.total),
                   max=points_text(scored.scored_max),
                   gain=words("demo.index_gain", gain=gain_sentence(gains[0])) if gains else ""))
    outbox = config.email.outbox
    letters = commands.report(config, None, outbox=outbox)
    echo(words("demo.letters", week=vietnamese.week(letters.week), letters=number(len(letters.letters)),
               folder=outbox / letters.week))
    for digest in letters.digests:
        echo(words("demo.letter_unit", unit=digest.unit.name, state=words.known("statuses", digest.state),
                   open=number(digest.open_count), new=number(digest.new_count)))
    echo(words("demo.database", database=config.database))
    echo(words("demo.next", folder=config.path.parent))
    echo(words("demo.next_here", rules=config.path))
    echo(words("demo.browse", host=config.serve.host, port=config.serve.port))
