"""Any news page or feed item -> Article (pure), for sources other than CNA.

Pages go through trafilatura, chosen by measurement over readability-lxml on the real
pages we have: the same text found, but trafilatura keeps the photos (readability
dropped every one) and stays well-kept. It is imported only when a non-CNA page is
extracted, so a CNA-only cron run does not pay for it.

Around it, three steps of our own (the real pages that made them necessary are in
``../shared/corpus/other/pages``):

1. Before: text hidden from sighted readers (screen-reader labels such as BBC's
   「圖像加註文字，」) is removed, and every photo ``<figure>`` is swapped for a marker
   paragraph. trafilatura then decides which photos belong to the article (a marker
   inside the story survives; one in a sidebar or a related-story card does not), and
   it cannot split a photo from its caption or drop lazy-loaded ones (BBC's five
   ``<noscript>`` photos).
2. trafilatura finds the story (on NYT 中文 the ``<article>`` element holds only the
   author bios; the story text is elsewhere).
3. After: markers become ``<figure><img><figcaption>`` as on CNA posts, and page
   furniture that trafilatura keeps as text goes (see ``furniture``).

Title and time come from the page's own metadata (``pagemeta``).
"""

from __future__ import annotations

import logging
import re
from configparser import ConfigParser
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import lxml.html

from ...errors import ExtractError, NotAnArticle
from ...models import Article
from ...net.urls import identity
from .. import clean
from ..page import Element, decode, metas, parse_html, text_of
from . import furniture, media, pagemeta

log = logging.getLogger("scraper")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.I)
_MARKER = "scraperfigure{}x7q"
_MARKER_RE = re.compile(r"scraperfigure(\d+)x7q")
# Rules that hide an element visually but leave it to screen readers (the "sr-only" idiom).
_HIDING = re.compile(r"clip-path\s*:\s*inset\(\s*(?:50|100)%|clip\s*:\s*rect\(\s*(?:0(?:px)?|1px)(?:[\s,]+(?:0(?:px)?|1px)){3}\s*\)")
_CLASS = lxml.etree.XPath("//*[contains(concat(' ', normalize-space(@class), ' '), $token)]")
_SIMPLE_CLASS = re.compile(r"^\s*\.([\w-]+)\s*$")
HIDDEN_MAX = 40  # characters of a screen-reader label (「圖像加註文字，」 is 7)
_CONVENTIONAL_HIDDEN = frozenset({"sr-only", "visually-hidden", "visuallyhidden", "screen-reader-text", "element-invisible", "u-visually-hidden"})


def claims(url: str, data: bytes) -> bool:
    return True


def from_feed(article_id: str, url: str, title: str, content: str, published: datetime | None) -> Article:
    """An article made of a feed item's own full text (``content: feed``): no page fetched."""
    if published is None:
        raise ExtractError(url, "the feed item has no date, and content: feed fetches no page to read one from")
    body = clean.clean_html(content, url)
    if not body.strip() and not title.strip():
        raise NotAnArticle(url, "the feed item has neither title nor text")
    return Article(article_id=article_id, url=url, title=title.strip(), published=published, updated=None, category="", tags=(), lead_photo=None, body_html=body)


def _squash(s: str) -> str:
    return " ".join(s.split())


def _hidden_classes(root: Element) -> set[str]:
    """Class names the page's own CSS hides from sighted readers, plus the conventional ones."""
    names = set(_CONVENTIONAL_HIDDEN)
    for style in root.iter("style"):
        css = style.text or ""
        for hiding in _HIDING.finditer(css):  # few; look back from each to its selector
            start = css.rfind("{", 0, hiding.start())
            if start < 0 or css.rfind("}", 0, hiding.start()) > start:
                continue
            selectors = css[max(css.rfind("}", 0, start), css.rfind("{", 0, start)) + 1 : start]
            for selector in selectors.split(","):
                simple = _SIMPLE_CLASS.match(selector)
                if simple:
                    names.add(simple.group(1))
    return names


def _drop_hidden(root: Element) -> None:
    for name in sorted(_hidden_classes(root)):
        found = _CLASS(root, token=f" {name} ")
        for el in found if isinstance(found, list) else ():
            # a label is short; a long clipped block is folded story text, not a label
            if isinstance(el, lxml.html.HtmlElement) and el.getparent() is not None and len(text_of(el)) <= HIDDEN_MAX:
                el.drop_tree()  # keeps the tail: text after a label stays


def _texts(el: Element, skip: str) -> list[str]:
    """The text of ``el`` outside its ``skip`` descendants, in order."""
    out = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and child.tag != skip:
            out.extend(_texts(child, skip))
        out.append(child.tail or "")
    return out


def _figure(fig: Element, base: str) -> Element | None:
    """A photo figure as ``<figure><img src alt><figcaption>``: caption, then the credit printed
    beside the photo (BBC's 「Getty Images」, outside its figcaption)."""
    src = None
    img = None
    for candidate in fig.iter("img"):
        src = clean.image_url(candidate, base)
        if src is not None:
            img = candidate
            break
    if img is None or src is None:
        return None
    caption = " ".join(_squash(text_of(c)) for c in fig.iter("figcaption"))
    credit = _squash("".join(_texts(fig, "figcaption")))
    text = f"{caption} {credit}" if credit and credit not in caption else caption
    out: Element = lxml.html.Element("figure")
    photo = lxml.html.Element("img", src=src, alt=_squash(img.get("alt") or "") or caption)
    out.append(photo)
    if text.strip():
        cap = lxml.html.Element("figcaption")
        cap.text = text.strip()
        out.append(cap)
    return out


def _mark_figures(root: Element, base: str) -> dict[int, Element]:
    """Swap each photo figure for a marker paragraph; the figures to put back, by number."""
    figures: dict[int, Element] = {}
    for fig in list(root.iter("figure")):
        if any(a.tag == "a" for a in fig.iterancestors()) or any(img.getparent() is not None and media.is_card_photo(img) for img in fig.iter("img")):
            continue  # a related-story card, not a photo of this story
        built = _figure(fig, base)
        parent = fig.getparent()
        if built is None or parent is None:
            continue
        n = len(figures)
        figures[n] = built
        marker = lxml.html.Element("p")
        marker.text = _MARKER.format(n)
        marker.tail = fig.tail
        parent.replace(fig, marker)
    return figures


def _put_back(blocks: list[Element], figures: dict[int, Element]) -> list[Element]:
    out: list[Element] = []
    for block in blocks:
        match = _MARKER_RE.fullmatch(_squash(text_of(block))) if block.tag == "p" else None
        if match:
            fig = figures.pop(int(match.group(1)), None)
            if fig is not None:
                out.append(fig)
            continue
        for p in list(block.iter("p")):  # a marker nested in a list or quote
            inner = _MARKER_RE.fullmatch(_squash(text_of(p)))
            if inner and p.getparent() is not None:
                fig = figures.pop(int(inner.group(1)), None)
                if fig is not None:
                    fig.tail = p.tail
                    p.getparent().replace(p, fig)  # type: ignore[union-attr]
        out.append(block)
    for block in out:  # a marker trafilatura ran into other text: its figure is lost, the marker must not show
        for el in block.iter():
            if el.text and "scraperfigure" in el.text:
                el.text = _MARKER_RE.sub("", el.text)
            if el.tail and "scraperfigure" in el.tail:
                el.tail = _MARKER_RE.sub("", el.tail)
    return out


def _settings(root: Element) -> ConfigParser:
    """trafilatura's settings for the page: its floor for a found text (250 characters) counts
    CJK characters as ``furniture.weight`` does, so a one-paragraph Chinese story is found
    rather than the whole page's text taken instead."""
    from trafilatura.settings import use_config

    config = use_config()
    body = root.find("body")
    letters = "".join(ch for ch in text_of(body if body is not None else root)[:50000] if ch.isalnum())
    weight = furniture.weight(letters)
    if weight > len(letters) > 0:
        floor = int(config.getint("DEFAULT", "MIN_EXTRACTED_SIZE") * len(letters) / weight)
        config.set("DEFAULT", "MIN_EXTRACTED_SIZE", str(floor))
    return config


def _photo_figures(blocks: list[Element]) -> list[Element]:
    """A paragraph that is only a photo, as a figure of the story."""
    out = []
    for block in blocks:
        imgs = list(block.iter("img"))
        if block.tag == "p" and len(imgs) == 1 and not _squash(text_of(block)) and not (block.text or "").strip():
            fig: Element = lxml.html.Element("figure")
            fig.append(lxml.html.Element("img", src=imgs[0].get("src") or "", alt=imgs[0].get("alt") or ""))
            out.append(fig)
        else:
            out.append(block)
    return out


def _declared_photos(meta: dict[str, list[str]]) -> set[str]:
    return {media.file_of(v) for k in ("og:image", "twitter:image", "image") for v in meta.get(k, ())}


def _with_lead_photo(blocks: list[Element], unused: dict[int, Element], meta: dict[str, list[str]]) -> list[Element]:
    """The page's declared lead photo (``og:image``) first, when the story lost the figure
    that shows it: a lead photo often stands outside the text's container."""
    if any(b.tag == "figure" or next(b.iter("img"), None) is not None for b in blocks):
        return blocks
    declared = _declared_photos(meta)
    for fig in unused.values():
        img = fig.find("img")
        if img is not None and media.file_of(img.get("src") or "") in declared:
            return [fig, *blocks]
    return blocks


def _blocks(html: str) -> list[Element]:
    root = lxml.html.fromstring(html)
    body = root.find("body")
    blocks = list(body if body is not None else root)
    while len(blocks) == 1 and blocks[0].tag in ("div", "main", "article", "section", "body"):
        blocks = list(blocks[0])
    return [b for b in blocks if isinstance(b.tag, str)]


def _published(text: str, url: str, root: Element, meta: dict[str, list[str]], feed_zone: str | None) -> datetime | None:
    """The page's publication time: one it states with an offset; else one without, read in
    the feed's ``timezone:`` or the zone the page makes unambiguous (logged); else the day
    trafilatura finds (its noon, so the day stays); None leaves the feed item's date."""
    published = pagemeta.published_of(root, meta)
    if published is not None:
        return published
    zone = pagemeta.Zone(ZoneInfo(feed_zone), "the feed's timezone:") if feed_zone else pagemeta.infer_zone(root, meta)
    published = pagemeta.published_of(root, meta, zone)
    if published is None:
        import trafilatura

        found = trafilatura.extract_metadata(text, default_url=url)
        published = pagemeta.parse_local(found.date, zone.tz if zone else UTC) if found is not None and found.date else None
    if published is not None and zone is not None and not feed_zone:
        log.info("zone url=%s: a time without an offset read in %s", url, zone.why)
    elif published is not None and zone is None:
        log.info("zone url=%s: a day without a time or zone read as its noon UTC", url)
    return published


def extract(data: bytes, url: str, charset: str | None = None, zone: str | None = None, site: str | None = None) -> Article:
    """A page of any site: title and time from its metadata, main text by trafilatura,
    photos with captions, furniture removed, cleaned by the allow-list."""
    import trafilatura  # heavy; only sources other than CNA need it

    text = _XML_DECL.sub("", decode(data, charset, url), count=1)
    if not text.strip():
        raise ExtractError(url, "the page is empty")
    root = parse_html(text, url)  # read whole, and of an article page's size, or an ExtractError
    lxml.etree.strip_tags(root, lxml.etree.Comment, lxml.etree.ProcessingInstruction)  # 「a <!-- --> b」 is one sentence
    meta = metas(root)
    title = pagemeta.title_of(root, meta, [site] if site else ()) or url
    published = _published(text, url, root, meta, zone)
    _drop_hidden(root)
    media.prepare(root, _declared_photos(meta))
    figures = _mark_figures(root, url)
    html = trafilatura.extract(root, url=url, output_format="html", include_images=True, include_links=True, include_comments=False, config=_settings(root))
    if not html:
        raise NotAnArticle(url, "no article text found on the page")
    blocks = _with_lead_photo(furniture.remove(_photo_figures(_put_back(_blocks(html), figures))), figures, meta)
    body, _ = clean.clean_elements(blocks, url)
    if not body.strip():
        raise NotAnArticle(url, "no article text found on the page")
    return Article(
        article_id=identity(url),
        url=url,
        title=title,
        published=published,
        updated=None,
        category="",
        tags=(),
        lead_photo=None,
        body_html=body,
    )
