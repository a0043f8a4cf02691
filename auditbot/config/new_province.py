"""`auditbot init`: a new province's folder — a commented rules.toml and the units spreadsheet — from
the templates that ship in the package, ready for `auditbot validate`. Nothing there is ever overwritten."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jinja2

from auditbot.config import bundled
from auditbot.errors import UserError
from auditbot.words.text import nfc

RULES, UNITS, EXPORTS = "rules.toml", "units.csv", "exports"
TEMPLATES = {RULES: "new-province.rules.toml", UNITS: "new-province.units.csv"}
# the name lands in a TOML string and a CSV cell: quotes, separators and line breaks have no place in it
PROVINCE_NAME = re.compile(r"[^\"\\,;\r\n\t]{1,80}")


def write_new_province(folder: Path, province: str) -> list[Path]:
    """Write rules.toml and units.csv into `folder` (made if missing) and an empty exports/ beside them.
    Refuses, before writing anything, when either file is already there."""
    province = nfc(" ".join(province.split()))
    if not PROVINCE_NAME.fullmatch(province):
        raise UserError(f"--province {province!r}: a name like \"Thanh Hóa\" (no quotes, commas, semicolons"
                        " or line breaks)")
    targets = {name: folder / name for name in TEMPLATES}
    present = [str(path) for path in targets.values() if path.exists()]
    if present:
        raise UserError(f"{', '.join(present)}: already there, and never overwritten; choose another folder,"
                        " or move it away first")
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder}: is a file, not a folder")
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(bundled.templates()), autoescape=False,
                                     keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    values = {"province": province, "province_toml": json.dumps(province, ensure_ascii=False)}  # JSON's string is TOML's
    texts = {name: environment.get_template(template).render(values) for name, template in TEMPLATES.items()}
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, path in targets.items():
        # "x": a file that appeared meanwhile is kept; the BOM makes Excel read the CSV as UTF-8
        with path.open("x", encoding="utf-8-sig" if name == UNITS else "utf-8", newline="") as handle:
            handle.write(texts[name])
        written.append(path)
    (folder / EXPORTS).mkdir(exist_ok=True)
    return written
