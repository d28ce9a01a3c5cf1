"""Page bytes -> an lxml document, decoded with the declared or sniffed charset.

Parsers get bytes, never a guessed ``str``: this module is where the charset is
decided, once, for every extractor. A page whose bytes decode under no candidate
charset is an error, not mojibake in a post.
"""

from __future__ import annotations

import codecs
import re

import lxml.html
from bs4.dammit import EncodingDetector
from lxml.html import HtmlElement

from .errors import ExtractError

# Big5 and GB2312 labels name subsets of what servers actually send.
_SUPERSETS = {"big5": "cp950", "big5-hkscs": "big5hkscs", "gb2312": "gb18030", "gbk": "gb18030"}
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.I)


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
            return data.decode(name, errors="strict")
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


def parse(data: bytes, url: str, declared: str | None = None) -> HtmlElement:
    text = _XML_DECL.sub("", decode(data, declared, url), count=1)
    if not text.strip():
        raise ExtractError(url, "the page is empty")
    try:
        return lxml.html.document_fromstring(text)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise ExtractError(url, f"the page is not HTML ({exc})") from exc


def classes(el: HtmlElement) -> list[str]:
    """The class tokens of an element; CNA's names are matched as tokens on any tag."""
    return (el.get("class") or "").split()


def has_class(el: HtmlElement, name: str) -> bool:
    return name in classes(el)


def find_class(root: HtmlElement, name: str) -> HtmlElement | None:
    """The first descendant (or root itself) carrying class token ``name``, in document order."""
    for el in root.iter():
        if isinstance(el.tag, str) and name in (el.get("class") or "").split():
            return el
    return None


def find_all_class(root: HtmlElement, name: str) -> list[HtmlElement]:
    return [el for el in root.iter() if isinstance(el.tag, str) and name in (el.get("class") or "").split()]


def meta(root: HtmlElement, key: str) -> list[str]:
    """Contents of ``<meta property|name|itemprop=key>`` in document order."""
    out = []
    for el in root.iter("meta"):
        if key in (el.get("property"), el.get("name"), el.get("itemprop")):
            content = el.get("content")
            if content is not None and content.strip():
                out.append(content.strip())
    return out
