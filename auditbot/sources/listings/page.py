"""One listing page's bytes -> an HTML tree (bounded), its base URL and its next page.

Parsed with lxml (fast and forgiving of broken markup); bs4's UnicodeDammit finds the encoding the
way browsers do (HTTP header, BOM, <meta charset>), so old Windows-1258 pages read right, and every
text is NFC whatever form the page used.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from bs4.dammit import UnicodeDammit
from lxml import etree
from lxml.etree import _Element as Element  # lxml's element type (it has no public alias)

from auditbot.config.origins import site
from auditbot.words.text import fold, nfc
from auditbot.words.vietnamese import number

NEXT_TEXTS = {"trang sau", "sau", "tiếp", "tiep", "»", "›", ">", ">>", "next"}
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
PARSER = etree.HTMLParser(remove_comments=True)  # plain elements: lxml.html's class lookup costs a third
LONG_TAG = re.compile(r"<[A-Za-z][^<>]{32768}")   # a tag this long is worth counting attributes in
ATTRIBUTE = re.compile(r"\s[^\s=<>/]+\s*=")
MAX_ATTRIBUTES = 2000  # libxml2 takes quadratic time in one element's attributes: 100.000 cost 12 s


class PageError(Exception):
    """The body is not an HTML page at all."""


def parse_html(body: bytes, charset: str | None) -> Element:
    markup = UnicodeDammit(body, [charset] if charset else [], is_html=True).unicode_markup
    if not markup or not markup.strip():
        raise PageError("trang trống")
    within_parse_budget(markup)
    try:  # lxml refuses str input that still declares an encoding
        tree = etree.fromstring(XML_DECLARATION.sub("", markup), PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise PageError(f"không đọc được HTML: {exc}") from exc
    if tree is None:
        raise PageError("không đọc được HTML")
    return tree


def within_parse_budget(markup: str) -> None:
    """Refuse, before parsing, a page whose elements carry more attributes than any page needs."""
    for found in LONG_TAG.finditer(markup):
        end = markup.find(">", found.start())
        tag = markup[found.start(): end if end > 0 else len(markup)]
        count = len(ATTRIBUTE.findall(tag))
        if count > MAX_ATTRIBUTES:
            raise PageError(f"trang có một thẻ HTML với {number(count)} thuộc tính"
                            f" (tối đa {number(MAX_ATTRIBUTES)}): không đọc")


def loads_scripts(tree: Element) -> bool:
    """The page runs scripts: what it shows may be built after it loads."""
    return bool(tree.xpath("//script[@src or normalize-space(text())]"))


def _text(node: Element) -> str:
    return nfc(" ".join(" ".join(node.itertext()).split()))


def base_url(tree: Element, page_url: str) -> str:
    declared = tree.xpath("//base/@href")
    return urljoin(page_url, str(declared[0]).strip()) if declared else page_url


def next_page(tree: Element, page_url: str, seen: set[str]) -> str | None:
    """rel=next, "Trang sau", "»", or the link to page N+1; never another host, never a page in `seen`."""
    anchors = [a for a in tree.iter("a") if a.get("href")]
    current = re.search(r"[?&]page=(\d+)", page_url)
    wanted = re.compile(rf"[?&]page={int(current.group(1)) + 1 if current else 2}(?!\d)")
    candidates = [a for a in anchors if "next" in (a.get("rel") or "").lower().split()]
    candidates += [a for a in anchors if fold(_text(a)) in NEXT_TEXTS or _text(a) in NEXT_TEXTS]
    candidates += [a for a in anchors if wanted.search(a.get("href", ""))]
    for anchor in candidates:
        url = urljoin(page_url, anchor.get("href", "").strip()).split("#")[0]
        if site(url) is not None and site(url) == site(page_url) and url not in seen:
            return str(url)
    return None
