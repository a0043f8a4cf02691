"""Where a command may write its files (`--output`, `--outbox`): never onto the database, rules.toml or an input.

A path typed by hand (or a link planted beside one) can name the live database, its journal, the config or
an export under another name: `..`, a symbolic link or a hard link. Each output path is compared with every
protected file by its resolved path and by its inode before a byte is written, and written through a fresh
temporary file renamed into place, so a link waiting under the temporary name is never followed either.
"""

from __future__ import annotations

import glob
import os
import tempfile
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from auditbot.config.rules import Config
from auditbot.errors import UserError
from auditbot.store import daemon_mark

# SQLite's companions of a database file: what a write onto them corrupts as surely as onto the file itself
DATABASE_SIDECARS = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class Protected:
    path: Path
    what: str        # what it is, in the refusal's words
    folder: bool     # a folder: nothing may be written inside it (what lands there is read as an input)


def protected(config: Config) -> list[Protected]:
    """The database with its companions, rules.toml, and every input rules.toml names."""
    database = config.database
    found = [Protected(database, "the database", False),
             *(Protected(database.with_name(database.name + suffix), "the database's journal", False)
               for suffix in DATABASE_SIDECARS),
             Protected(daemon_mark(database), "the daemon's mark beside the database", False),
             Protected(config.path, "the config (rules.toml)", False)]
    if config.units_file is not None:
        found.append(Protected(config.units_file, "the units file (units_file)", False))
    if config.catalogue is not None:
        found.append(Protected(config.catalogue, "the catalogue ([sources] catalogue)", False))
    for source in config.dossier_sources:
        found.append(Protected(source, "where dossier exports are read from, [sources] dossiers", source.is_dir()))
    if config.email.ca_file is not None:
        found.append(Protected(config.email.ca_file, "the mail server's CA file ([email] ca_file)", False))
    found.append(Protected(config.report.templates, "the templates folder ([report] templates)", True))
    return found


def refuse_protected(config: Config, path: Path, option: str) -> None:
    """Raise a UserError (exit 2) when writing `path` would replace or feed something auditbot reads."""
    target = _resolved(path)
    for each in protected(config):
        place = _resolved(each.path)
        if each.folder and target.is_relative_to(place):
            raise UserError(f"{option} {path}: inside {each.what} ({each.path}); the next run would read it."
                            " Write it elsewhere")
        if target == place or _same_inode(path, each.path) or _matches_glob(target, each.path):
            raise UserError(f"{option} {path}: that is {each.what} ({each.path}); refused, it would be"
                            " overwritten. Write to another file")


def writable_output(config: Config, path: Path, option: str = "--output") -> None:
    """Checked before the work that fills the file, so a wrong path costs nothing."""
    if not path.parent.is_dir():
        raise UserError(f"{option} {path}: the folder {path.parent} does not exist")
    refuse_protected(config, path, option)


def write_output(config: Config, path: Path, data: bytes, option: str = "--output") -> None:
    """Written beside and renamed into place: a half-written report never sits under the asked name."""
    writable_output(config, path, option)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:  # a folder this user may not write: the person's to fix, not a crash
        raise UserError(f"{option} {path}: cannot write in {path.parent} ({exc.strerror})") from None
    try:
        with os.fdopen(handle, "wb") as written:
            written.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a report is for the officers who share the folder
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _resolved(path: Path) -> Path:
    return Path(os.path.realpath(path.absolute()))


def _same_inode(one: Path, other: Path) -> bool:
    try:
        first, second = one.stat(), other.stat()
    except OSError:  # one of them does not exist (yet): no shared inode
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def _matches_glob(target: Path, source: Path) -> bool:
    """A glob of exports (`exports/*.xlsx`): a file written under a name it matches is imported next time."""
    pattern = str(source)
    if not glob.has_magic(pattern):
        return False
    return fnmatch(str(target), str(_resolved(Path(pattern)))) or fnmatch(str(target), pattern)
