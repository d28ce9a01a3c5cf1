"""OPML subscription lists in and out (``scraper feeds import`` and ``export``); pure.

Reading is listparser's (the OPML reader of feed readers: nested outlines, the
``xmlUrl``/``title``/``text`` variants, broken files); writing is OPML 2.0 by ElementTree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import formatdate
from xml.etree import ElementTree

import listparser
import lxml.etree

from ..errors import ConfigError


@dataclass(frozen=True)
class Outline:
    """One feed of a list: its title (may be empty), URL, and the folders it sits in."""

    title: str
    url: str
    folders: tuple[str, ...] = ()


def read(data: bytes, name: str) -> list[Outline]:
    """The feeds of an OPML file, in document order, nested outlines included; ``name`` names
    the file in errors."""
    parsed = listparser.parse(data)
    if not parsed.feeds:
        problem = f": {parsed.bozo_exception}" if parsed.bozo else ""
        raise ConfigError(f"{name}: no feed in this OPML file (no outline with an xmlUrl){problem}")
    out = []
    for feed in parsed.feeds:
        folders = tuple(" / ".join(c) for c in feed.get("categories", []) if c)
        out.append(Outline(str(feed.get("title") or "").strip(), str(feed["url"]).strip(), folders))
    return out + repeats(data)


def repeats(data: bytes) -> list[Outline]:
    """The outlines that repeat an earlier one's URL (listparser keeps only the first), so
    that an import can name them."""
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        root = lxml.etree.fromstring(data, parser)
    except lxml.etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    seen: set[str] = set()
    out = []
    for node in root.iter("outline"):
        url = next((str(v).strip() for k, v in node.attrib.items() if str(k).lower() == "xmlurl"), "")
        if not url:
            continue
        if url in seen:
            out.append(Outline(str(node.get("title") or node.get("text") or "").strip(), url))
        seen.add(url)
    return out


def write(feeds: Iterable[tuple[str, str]], title: str, now: float) -> bytes:
    """An OPML 2.0 document listing ``(name, url)`` feeds."""
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    ElementTree.SubElement(head, "dateCreated").text = formatdate(now, usegmt=True)
    body = ElementTree.SubElement(root, "body")
    for name, url in feeds:
        ElementTree.SubElement(body, "outline", type="rss", text=name, title=name, xmlUrl=url)
    ElementTree.indent(root)
    text: bytes = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)
    return text.replace(b"<?xml version='1.0' encoding='utf-8'?>", b'<?xml version="1.0" encoding="UTF-8"?>', 1) + b"\n"
