"""Article HTML -> safe HTML for a Jekyll post (pure).

An allow-list, not a block-list: the cleaner writes out only the elements and
attributes it knows, so a widget CNA adds tomorrow, a script, an event handler, a
``javascript:`` URL or an iframe from an unknown host cannot reach a post. It walks
the tree once and writes as it goes (no copy, no second parse).

The output is one physical line (docs/FORMAT.md: the body sits on one line) that
kramdown passes through unchanged: void elements are written without a closing
tag (``</source>`` would be shown to readers as text), and ``{{``/``{%`` are
written as ``&#123;`` so Liquid shows them literally.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

import lxml.html

from ..net.urls import absolute, host_of, split, strip_tracking
from .page import Element

# element -> attributes kept on it
ALLOWED: dict[str, tuple[str, ...]] = {
    "p": (),
    "h2": (),
    "h3": (),
    "h4": (),
    "h5": (),
    "h6": (),
    "strong": (),
    "b": (),
    "em": (),
    "i": (),
    "u": (),
    "s": (),
    "sub": (),
    "sup": (),
    "small": (),
    "mark": (),
    "code": (),
    "pre": (),
    "br": (),
    "hr": (),
    "blockquote": (),
    "q": (),
    "cite": (),
    "ul": (),
    "ol": (),
    "li": (),
    "dl": (),
    "dt": (),
    "dd": (),
    "table": (),
    "thead": (),
    "tbody": (),
    "tr": (),
    "th": ("colspan", "rowspan"),
    "td": ("colspan", "rowspan"),
    "caption": (),
    "a": ("href",),
    "img": ("src", "alt"),
    "figure": (),
    "figcaption": (),
    "div": (),
    "iframe": ("src", "width", "height", "allowfullscreen"),
}
VOID = frozenset({"br", "hr", "img"})
# Unknown wrappers whose text is article text: the tag goes, the content stays.
TRANSPARENT = frozenset({"span", "font", "section", "article", "main", "center", "abbr", "time", "picture", "ins", "big", "tt", "nobr", "body", "html"})
# Embeds from these hosts are kept; every other iframe is dropped.
IFRAME_HOSTS = frozenset({"www.youtube.com", "www.youtube-nocookie.com", "youtube.com", "player.vimeo.com"})
BLOCKS = frozenset({"p", "h2", "h3", "h4", "h5", "h6", "li", "figcaption", "td", "th", "dt", "dd", "blockquote", "div", "figure"})

_SPACE_RUN = re.compile(r"[ \t\r\n\f\v]*[\r\n\t\f\v][ \t\r\n\f\v]*")
_LIQUID = re.compile(r"\{(?=[{%])")
# XML 1.0 forbids these; browsers show them as boxes or worse.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def neutralise_liquid(s: str) -> str:
    """``{{`` and ``{%`` written as ``&#123;…``, so Jekyll's Liquid shows them literally."""
    return _LIQUID.sub("&#123;", s)


def text(s: str) -> str:
    """Escape text for HTML, on one line, with Liquid neutralised."""
    s = _CONTROL.sub("", _SPACE_RUN.sub(" ", s))
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return neutralise_liquid(s)


def attr(s: str) -> str:
    return text(s).replace('"', "&quot;")


def best_src(el: Element) -> str | None:
    """The real address of an image: ``src`` unless it is a placeholder, else the lazy one."""
    for name in ("src", "data-src", "data-original", "data-lazy-src"):
        value = (el.get(name) or "").strip()
        if value and not value.startswith("data:"):
            return value
    for name in ("srcset", "data-srcset"):
        value = (el.get(name) or "").strip()
        if value:
            return value.split(",")[0].split()[0]
    return None


def image_url(el: Element, base: str) -> str | None:
    src = best_src(el)
    if src is None:
        return None
    url = absolute(src, base)
    if url is None:
        return None
    # Named hosts are asked over https (no mixed content on an https site); an address
    # such as 127.0.0.1 has no certificate to offer, and a port of its own (:8080) is a
    # plain-http service, so those photos keep their scheme.
    if url.startswith("http://") and not _is_address(host_of(url)) and _port(url) is None:
        return "https://" + url[len("http://") :]
    return url


def _port(url: str) -> int | None:
    parts = split(url)
    return parts.port if parts is not None else None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class _Writer:
    def __init__(self, base: str) -> None:
        self.base = base
        self.out: list[str] = []
        self.images = 0

    def element(self, el: Element) -> None:
        tag = el.tag
        if not isinstance(tag, str):  # comments, processing instructions
            return
        tag = tag.lower()
        if tag in ALLOWED:
            attrs = self.attributes(el, tag)
            if attrs is None:
                if tag == "a":  # a link to nowhere safe keeps its words
                    self.children(el)
                return
            self.out.append(f"<{tag}{attrs}>")
            if tag in VOID:
                if tag == "img":
                    self.images += 1
                return
            self.children(el)
            self.out.append(f"</{tag}>")
        elif tag in TRANSPARENT:
            self.children(el)

    def children(self, el: Element) -> None:
        if el.text:
            self.out.append(text(el.text))
        for child in el:
            self.element(child)
            if child.tail:
                self.out.append(text(child.tail))

    def attributes(self, el: Element, tag: str) -> str | None:
        """The kept attributes as a string, or None when the element must go."""
        parts = []
        if tag == "a":
            href = absolute(el.get("href") or "", self.base)
            href = strip_tracking(href) if href is not None else None
            if href is None:
                return None
            parts.append(f' href="{attr(href)}"')
        elif tag == "img":
            src = image_url(el, self.base)
            if src is None:
                return None
            parts.append(f' src="{attr(src)}" alt="{attr(el.get("alt") or "")}"')
        elif tag == "iframe":
            src = absolute(el.get("src") or el.get("data-src") or "", self.base)
            if src is None or host_of(src) not in IFRAME_HOSTS:
                return None
            parts.append(f' src="{attr(src)}"')
            for name in ("width", "height"):
                value = el.get(name) or ""
                if value.isdigit():
                    parts.append(f' {name}="{value}"')
            if el.get("allowfullscreen") is not None:
                parts.append(' allowfullscreen="allowfullscreen"')
        else:
            for name in ALLOWED[tag]:
                number = el.get(name) or ""
                if number.isdigit():
                    parts.append(f' {name}="{number}"')
        return "".join(parts)


# Space just inside a block carries no meaning and would show in the one-line body.
_SPACE_AFTER_OPEN = re.compile(r"(<(?:{})>) +".format("|".join(BLOCKS)))
_SPACE_BEFORE_CLOSE = re.compile(r" +(</(?:{})>)".format("|".join(BLOCKS)))


def _tidy(html: str) -> str:
    html = _SPACE_AFTER_OPEN.sub(r"\1", html)
    html = _SPACE_BEFORE_CLOSE.sub(r"\1", html)
    # Again on the whole: a dropped element can bring two harmless "{" together.
    return neutralise_liquid(html)


def clean_elements(elements: Iterable[Element], base: str) -> tuple[str, int]:
    """Safe one-line HTML for ``elements`` (each written whole) and the number of images kept."""
    writer = _Writer(base)
    for el in elements:
        writer.element(el)
    return _tidy("".join(writer.out)), writer.images


def clean_html(html: str, base: str) -> str:
    """Safe one-line HTML for a fragment given as text (feed content, tests)."""
    if not html.strip():
        return ""
    fragments = lxml.html.fragments_fromstring(html)
    writer = _Writer(base)
    for frag in fragments:
        if isinstance(frag, str):
            writer.out.append(text(frag))
        else:
            writer.element(frag)
            if frag.tail:
                writer.out.append(text(frag.tail))
    return _tidy("".join(writer.out))
