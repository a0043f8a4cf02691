"""What ships inside the package: the default wording (templates/, with a new province's files and the systemd
unit) and the sample province (sample/, rules.toml).

Both are top-level folders of the repository, shipped as the packages auditbot.templates and auditbot.sample, and read
through importlib.resources so an installed wheel finds them where pip put them. pip always installs wheels unpacked,
so the resources are real folders (Jinja2 and Datasette want paths).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def bundled(name: str) -> Path:
    folder = Path(str(resources.files(f"auditbot.{name}")))
    if not folder.is_dir():
        raise FileNotFoundError(f"auditbot is installed without its {name}/ folder ({folder})")
    return folder


def templates() -> Path:
    return bundled("templates")


def sample_province() -> Path:
    """The sample province's data; its policy, rules.toml, is in it too (the top-level rules.toml, linked)."""
    return bundled("sample")


def systemd_unit() -> str:
    """The service file for the daemon (contrib/auditbot.service in the repository links to it)."""
    return (templates() / "auditbot.service").read_text(encoding="utf-8")
