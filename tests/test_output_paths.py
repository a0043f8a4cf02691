"""No output of any command replaces the database (or its journal), rules.toml or an input it names, whatever
path leads there: the name itself, `..`, a symbolic link or a hard link. Refused with exit 2, nothing written."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Province


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def lived_in(tmp_path: Path) -> Province:
    """A province with a database that holds something, a units file and a catalogue in its config."""
    (tmp_path / "units.csv").write_text("code,name,kind,emails\nSYT,Sở Y tế,so,syt@example.gov.vn\n",
                                        encoding="utf-8")
    (tmp_path / "catalogue.csv").write_text("Mã TTHC,Tên TTHC\n1.000001,Thủ tục A\n", encoding="utf-8")
    province = Province(tmp_path)
    rules = province.rules.read_text(encoding="utf-8")
    province.rules.write_text('units_file = "units.csv"\n' + rules.replace(
        'dossiers = ["exports/"]', 'dossiers = ["exports/"]\ncatalogue = "catalogue.csv"'), encoding="utf-8")
    assert province.run("validate").exit_code == 0, province.run("validate").output
    assert province.run("rates").exit_code == 0  # the database exists, with its schema and units
    return province


ON_DEMAND = (("report", "--form", "bieu-mau-3", "--period", "Q1/2026"), ("report", "--period", "Q1/2026"))


def aimed(province: Province, target: Callable[[Path], Path]) -> list[tuple[Path, Path]]:
    """(output path to give, the protected file it reaches)."""
    root = province.root
    return [(target(root / "audit.db"), root / "audit.db"), (target(province.rules), province.rules),
            (target(root / "units.csv"), root / "units.csv"), (target(root / "catalogue.csv"), root / "catalogue.csv")]


def through_dotdot(path: Path) -> Path:
    return path.parent / "exports" / ".." / path.name


def through_symlink(path: Path) -> Path:
    link = path.parent / "links" / f"{path.name}.xlsx"
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(path)
    return link


def through_hard_link(path: Path) -> Path:
    link = path.parent / "links" / f"hard-{path.name}.xlsx"
    link.parent.mkdir(exist_ok=True)
    os.link(path, link)
    return link


@pytest.mark.parametrize("route", [lambda p: p, through_dotdot, through_symlink, through_hard_link],
                         ids=["the name", "dot-dot", "symlink", "hard link"])
@pytest.mark.parametrize("command", ON_DEMAND, ids=["form", "annexes"])
def test_an_output_onto_the_database_the_config_or_an_input_is_refused(lived_in: Province, route: Callable[[Path], Path],
                                                                       command: tuple[str, ...]) -> None:
    for output, reached in aimed(lived_in, route):
        before = digest(reached)
        result = lived_in.run(*command, "--output", str(output))
        assert result.exit_code == 2, (output, result.output)
        assert f"--output {output}: that is the" in result.output and "refused" in result.output, result.output
        assert digest(reached) == before, f"{reached} was overwritten through {output}"
    with sqlite3.connect(lived_in.root / "audit.db") as db:  # still the live database
        assert db.execute("SELECT name FROM units WHERE code = 'SYT'").fetchone() == ("Sở Y tế",)


def test_the_database_journal_and_the_exports_folder_are_no_output_either(lived_in: Province) -> None:
    root = lived_in.root
    for output, what in ((root / "audit.db-wal", "the database's journal"), (root / "audit.db-shm", "journal"),
                         (root / "exports" / "bieu-mau-3.xlsx", "where dossier exports are read from")):
        result = lived_in.run(*ON_DEMAND[0], "--output", str(output))
        assert result.exit_code == 2 and what in result.output, result.output
        assert not output.exists()


def test_a_planted_link_under_the_temporary_name_is_not_followed(lived_in: Province) -> None:
    """The file is written beside its name first: a link waiting under an old fixed temporary name
    (.NAME.part) must not carry the bytes onto the database."""
    before = digest(lived_in.db_path)
    (lived_in.root / ".bieu-mau-3.xlsx.part").symlink_to(lived_in.db_path)
    output = lived_in.root / "bieu-mau-3.xlsx"
    result = lived_in.run(*ON_DEMAND[0], "--output", str(output))
    assert result.exit_code == 0, result.output
    assert digest(lived_in.db_path) == before and output.read_bytes()[:2] == b"PK"


def test_letters_written_to_an_outbox_never_land_on_the_database(lived_in: Province) -> None:
    outbox = lived_in.root / "outbox"
    assert lived_in.run("check", "STP", "--offline", "--checks", "dossier").exit_code == 0  # a letter to write
    assert lived_in.run("report", "--unit", "STP", "--outbox", str(outbox)).exit_code == 0
    [letter] = [p for p in outbox.rglob("*.eml") if "stp@" in p.name]
    letter.unlink()
    letter.symlink_to(lived_in.db_path)  # a link left where next week's letter goes
    before = digest(lived_in.db_path)
    result = lived_in.run("report", "--unit", "STP", "--outbox", str(outbox))
    assert result.exit_code == 2 and "--outbox" in result.output and "the database" in result.output, result.output
    assert digest(lived_in.db_path) == before
    inside = lived_in.run("report", "--unit", "STP", "--outbox", str(lived_in.root / "exports"))
    assert inside.exit_code == 2 and "where dossier exports are read from" in inside.output, inside.output
    assert not list((lived_in.root / "exports").rglob("*.eml"))
