"""Headless Chromium (Debian's `chromium`) for what people look at: a page in, a screenshot out."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "Debian's chromium is needed for the rendering tests (.ci/run installs it)"
    return binary


def screenshot(url: str, out: Path, width: int = 1100, height: int = 1400, wait_ms: int = 0) -> Path:
    with tempfile.TemporaryDirectory() as profile:
        extra = [f"--virtual-time-budget={wait_ms}"] if wait_ms else []
        subprocess.run([chromium(), *FLAGS, *extra, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                        f"--screenshot={out}", url], check=True, capture_output=True, timeout=120)
    assert out.exists() and out.stat().st_size > 0, f"chromium wrote no screenshot of {url}"
    return out


def dump_dom(url: str, wait_ms: int = 3000) -> str:
    """The page's DOM after its scripts ran: what a person's browser would show."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([chromium(), *FLAGS, f"--virtual-time-budget={wait_ms}", f"--user-data-dir={profile}",
                               "--dump-dom", url], check=True, capture_output=True, text=True, timeout=120)
    return done.stdout


def ink(png: Path) -> tuple[float, int]:
    """(share of pixels that are not white, number of distinct colours): a blank page has (0, 1)."""
    image = Image.open(png).convert("RGB")
    colours = image.getcolors(maxcolors=image.width * image.height) or []
    inked = sum(count for count, colour in colours if min(colour) < 240)
    return inked / (image.width * image.height), len(colours)


def visible_text(dom: str) -> str:
    """What a person reads on a page: its text, button labels, tooltips and aria labels, without scripts,
    styles or what a closed <details> hides (a page's SQL behind "Định nghĩa ... (SQL)")."""
    import lxml.html

    root = lxml.html.fromstring(dom)
    for hidden in root.xpath("//script | //style | //details[not(@open)]/*[not(self::summary)]"):
        hidden.drop_tree()
    said = [" ".join(root.text_content().split())]
    said += root.xpath("//input[@type='submit' or @type='button']/@value | //@title | //@aria-label")
    return "\n".join(str(text) for text in said)
