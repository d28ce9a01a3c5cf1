"""Page bytes -> an lxml document, decoded with the declared or sniffed charset.

Parsers get bytes, never a guessed ``str``: this module is where the charset is
decided, once, for every extractor. A page whose bytes decode under no candidate
charset is an error, not mojibake in a post.
"""

from __future__ import annotations

import codecs
import re
import threading
from collections.abc import Iterator
from typing import cast

import lxml.html
from lxml import etree

from ..errors import ExtractError

# Big5 and GB2312 labels name subsets of what servers actually send.
_SUPERSETS = {"big5": "cp950", "big5-hkscs": "big5hkscs", "gb2312": "gb18030", "gbk": "gb18030"}
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.I)
# Plain etree elements: lxml.html's per-element class lookup doubles the cost of walking a page.
# One parser per thread: its error log then says what the parse of this page ran into.
_LOCAL = threading.local()
# An article page's size, with room: the largest page measured (corpus and benchmark) has
# 1,709 elements and 3,091 attributes.
MAX_ELEMENTS = 50_000
MAX_ATTRIBUTES = 200_000
Element = etree._Element
_CLASS = etree.XPath("descendant-or-self::*[contains(concat(' ', normalize-space(@class), ' '), $token)]")


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def decode(data: bytes, declared: str | None, url: str) -> str:
    """Decode page bytes: BOM, then strict UTF-8, then the page's own ``<meta charset>``,
    then the HTTP header's charset, then the Chinese supersets.

    Strict UTF-8 comes before the declarations because a wrong header (``latin-1``
    on a UTF-8 page) is common and would decode without error into mojibake.
    """
    for bom, name in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(name, errors="strict")
            except UnicodeDecodeError as exc:  # a BOM on other bytes, or UTF-16 cut mid-character
                raise ExtractError(url, f"page bytes start with a {name} byte-order mark but do not decode as {name}") from exc
    # bs4's detector reads <meta charset> the way browsers do; imported here, not at start-up,
    # so a poll with nothing new does not pay for it.
    from bs4.dammit import EncodingDetector

    meta = EncodingDetector.find_declared_encoding(data[:4096], is_html=True, search_entire_document=False)
    candidates = ["utf-8", _codec(meta), _codec(declared), "cp950", "gb18030"]
    seen: set[str] = set()
    for name in filter(None, candidates):
        if name in seen:
            continue
        seen.add(name)
        if name in ("iso8859-1", "cp1252", "latin-1") and name != _codec(meta):
            # Single-byte charsets decode anything; trust them only when the page says so.
            continue
        try:
            return data.decode(name, errors="strict")
        except (UnicodeDecodeError, LookupError):
            continue
    raise ExtractError(url, f"page bytes do not decode as {meta or declared or 'UTF-8'} or any Chinese charset")


def parse(data: bytes, url: str, declared: str | None = None) -> Element:
    text = _XML_DECL.sub("", decode(data, declared, url), count=1)
    if not text.strip():
        raise ExtractError(url, "the page is empty")
    return _read(text, url, _parser())


def parse_html(text: str, url: str) -> lxml.html.HtmlElement:
    """Decoded page text as lxml.html's tree (the general extractor's), read as ``parse`` reads."""
    root: lxml.html.HtmlElement = _read(text, url, _parser(html=True))
    return root


def _read(text: str, url: str, parser: etree.HTMLParser) -> Element:
    try:
        root = etree.fromstring(text, parser)
    except (ValueError, etree.ParserError, etree.XMLSyntaxError) as exc:
        raise ExtractError(url, f"the page is not HTML ({exc})") from exc
    if root is None:
        raise ExtractError(url, "the page is not HTML")
    return whole(root, parser, url)


def whole(root: Element, parser: etree.HTMLParser, url: str) -> Element:
    """``root`` when the parser read the page whole and it is of a size an article page has.

    libxml2 stops reading at its limits (tags nested over 256 deep, say) and keeps the tree
    so far: the text after that point would be lost without a word. And a page of a hundred
    thousand elements is no article page (the largest measured, 1,709), while reading it
    costs minutes: refused before any extractor walks it."""
    limit = next((e.message for e in parser.error_log if e.type_name == "ERR_RESOURCE_LIMIT"), None)
    if limit is not None:
        raise ExtractError(url, f"the page is beyond what the HTML parser reads whole ({limit.split(',')[0]}); not written, so no text is lost silently")
    attributes = 0
    for elements, el in enumerate(root.iter(), 1):
        attributes += len(el.attrib)
        if elements > MAX_ELEMENTS or attributes > MAX_ATTRIBUTES:
            raise ExtractError(url, f"the page holds over {MAX_ELEMENTS:,} elements or {MAX_ATTRIBUTES:,} attributes, more than any article page; not read")
    return root


def _parser(html: bool = False) -> etree.HTMLParser:
    """This thread's parser (the lxml.html one, whose elements are HtmlElement, when ``html``)."""
    name = "html_parser" if html else "parser"
    parser: etree.HTMLParser | None = getattr(_LOCAL, name, None)
    if parser is None:
        parser = lxml.html.HTMLParser(remove_blank_text=False, no_network=True) if html else etree.HTMLParser(remove_blank_text=False, no_network=True)
        setattr(_LOCAL, name, parser)
    return parser


def text_of(el: Element) -> str:
    """All the text inside an element, as a reader would see it run together."""
    return "".join(cast("Iterator[str]", el.itertext()))


def classes(el: Element) -> list[str]:
    """The class tokens of an element; CNA's names are matched as tokens on any tag."""
    return (el.get("class") or "").split()


def find_class(root: Element, name: str) -> Element | None:
    """The first element (root itself included) carrying class token ``name``, in document order."""
    found = _CLASS(root, token=f" {name} ")
    return found[0] if isinstance(found, list) and found and isinstance(found[0], etree._Element) else None


def metas(root: Element) -> dict[str, list[str]]:
    """Contents of every ``<meta property|name|itemprop=…>``, by key, in document order."""
    out: dict[str, list[str]] = {}
    for el in root.iter("meta"):
        content = (el.get("content") or "").strip()
        if not content:
            continue
        for attr in ("property", "name", "itemprop"):
            key = el.get(attr)
            if key:
                out.setdefault(key, []).append(content)
    return out


# What a URL gives instead of a page, by its first bytes (the type a server declares can lie).
_SIGNATURES = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x1f\x8b", "gzip data"),
    (b"ID3", "an MP3 file"),
    (b"OggS", "an Ogg file"),
    (b"\xd0\xcf\x11\xe0", "an Office document"),
)
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml", "application/octet-stream", "")


def not_html(data: bytes, content_type: str | None = None) -> str | None:
    """What ``data`` is when it is no HTML page (a PDF, an image…), by its first bytes or a
    declared ``Content-Type`` that no page has; None when it may be a page."""
    head = data[:16]
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            return what
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return {b"WEBP": "a WebP image", b"WAVE": "a WAV file", b"AVI ": "an AVI video"}[head[8:12]]
    if head[4:8] == b"ftyp":
        return "an MP4 video or an AVIF/HEIC image"
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media not in _HTML_TYPES and not media.endswith(("+xml", "/html")):
        return f"served as {media}"
    return None
