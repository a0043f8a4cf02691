"""One listing page's HTML -> the procedures it lists (name, code, links) and its next page.

Parsed with lxml (fast and forgiving of broken markup); bs4's UnicodeDammit finds the encoding the
way browsers do (HTTP header, BOM, <meta charset>), so old Windows-1258 pages read right, and every
text is NFC whatever form the page used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

from bs4.dammit import UnicodeDammit
from lxml import etree
from lxml.cssselect import CSSSelector
from lxml.etree import _Element as Element  # lxml's element type (it has no public alias)

from ..text import fold, nfc
from .origins import site

CODE = re.compile(r"(?<![\d.])(\d\.\d{6})(?:\.[0-9A-Za-z.]+)?")
NEXT_TEXTS = {"trang sau", "sau", "tiếp", "tiep", "»", "›", ">", ">>", "next"}
ITEMS = "//*[self::tr or self::li or self::article][not(.//tr or .//li or .//article)]"  # innermost only
NAME_PARTS = ".//a | .//td | .//h3 | .//h4"
XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
NUMBERING = re.compile(r"^[\s\-–—:|]*(?:\d+[.)]?\s+)?[\s\-–—:|]*")  # "3. ", "- ", "1 – " before a name
ABSOLUTE = re.compile(r"^https?://(?:www\.)?([^/:?#]*)", re.IGNORECASE)
PARSER = etree.HTMLParser(remove_comments=True)  # plain elements: lxml.html's class lookup costs a third


class PageError(Exception):
    """The body is not an HTML page at all."""


@dataclass
class ListedItem:
    name: str
    code: str | None
    links: list[str]
    page: str


def parse_html(body: bytes, charset: str | None) -> Element:
    markup = UnicodeDammit(body, [charset] if charset else [], is_html=True).unicode_markup
    if not markup or not markup.strip():
        raise PageError("empty page")
    try:  # lxml refuses str input that still declares an encoding
        tree = etree.fromstring(XML_DECLARATION.sub("", markup), PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise PageError(f"not HTML: {exc}") from exc
    if tree is None:
        raise PageError("not HTML")
    return tree


def _text(node: Element) -> str:
    return nfc(" ".join(" ".join(node.itertext()).split()))


def _links(node: Element, base: str) -> list[str]:
    found = []
    for anchor in node.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith("#"):
            continue
        url = href if ABSOLUTE.match(href) else urljoin(base, href)
        if url.lower().startswith(("http://", "https://")):  # javascript:, mailto:, file: lead nowhere we check
            found.append(url)
    return list(dict.fromkeys(found))


def _item_name(node: Element, code: str | None) -> str:
    """The procedure's name: the longest link text, cell or heading, without codes and numbering."""
    texts = [_text(part) for part in node.xpath(NAME_PARTS)]
    texts = [CODE.sub(" ", t) if code else t for t in texts]  # a code cell is no name
    name = max([t for t in texts if len(t.strip()) >= 8] or [CODE.sub(" ", _text(node))], key=len)
    return " ".join(NUMBERING.sub("", name).split())


def _host(url: str) -> str:
    found = ABSOLUTE.match(url)
    return found.group(1).lower() if found else ""


def base_url(tree: Element, page_url: str) -> str:
    declared = tree.xpath("//base/@href")
    return urljoin(page_url, str(declared[0]).strip()) if declared else page_url


def extract_items(tree: Element, page_url: str, portal_hosts: tuple[str, ...],
                  selector: str | None = None) -> list[ListedItem]:
    """Items are the rows, list entries or cards carrying a procedure code or a link to the portal;
    with a unit's CSS selector, every node it selects."""
    base = base_url(tree, page_url)
    candidates = CSSSelector(selector)(tree) if selector else tree.xpath(ITEMS)
    items = []
    for node in candidates:
        links = _links(node, base)
        match = CODE.search(_text(node))  # a code in a link is the link's claim, judged by the link checks
        if not (match or selector or any(_host(link) in portal_hosts for link in links)):
            continue
        code = match.group(1) if match else None
        name = _item_name(node, code)
        if name:
            items.append(ListedItem(name=name, code=code, links=links, page=page_url))
    return items


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
            return url
    return None
