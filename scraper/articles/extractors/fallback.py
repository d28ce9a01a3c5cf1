"""A CNA page the CNA extractor no longer understands -> Article (pure), by the general
extractor.

When CNA changes its markup, ``cna.extract`` raises LayoutChanged (or returns less than
an article); the runner then calls ``extract`` here, so the mirror keeps going while
someone updates ``cna.py``. The containers that hold the story are kept whatever their
tag (CNA's pre-2016 pages wrap everything in ``<form id="aspnetForm">``), and paragraphs
written as ``<br /><br />`` runs are split (``blocks``). The page is then pruned of CNA's known clutter first: the boxes
``cna.py`` names by class (CLUTTER, RELATED, SHARE, INSERTS) where they still carry
those names, and, whatever the classes, the copyright line, 「延伸閱讀」/「相關新聞」 link
boxes, app/newsletter/donation boxes, the title heading and the time line, found by
their text. What is left goes through the general extractor (trafilatura, ``generic``).
Title and time come from the page's metadata (``og:title`` without the site's suffix,
``article:published_time``, JSON-LD ``datePublished``) or its headings and date line,
read with CNA's own rules (``cna.parse_time``: naive times are Asia/Taipei).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from datetime import datetime

from lxml import etree

from ...errors import ExtractError, LayoutChanged, NotAnArticle
from ...models import Article, Photo, Rules
from ...net.urls import cna_canonical, cna_id
from .. import clean
from ..page import Element, classes, metas, parse, text_of
from . import blocks, cna, generic
from . import rules as site_rules

# A body under this many characters (the paragraphs' text, truncated pages excepted) is
# not an article. Measured on the corpus: the shortest whole body is 323 characters
# (corpus/posts) and 473 (corpus/cna/pages); one CNA lead paragraph is 71-116. Less
# than one lead paragraph means a caption, a notice or nothing was found.
MIN_BODY_CHARS = 100
# Text that marks a box as never being the article, whatever its classes.
RELATED_HEADINGS = frozenset({"延伸閱讀", "相關新聞", "聚焦新聞", "相關文章", "更多新聞"})
BOX_MARKERS = ("一手新聞", "中央社電子報", "訂閱電子報", "小額贊助", "支持中央社", "App下載", "app下載", "加入LINE")
BOX_MAX_CHARS = 60  # a box marker in a longer element is article text, not a box
PRUNED_CLASSES = frozenset(cna.CLUTTER | set(cna.RELATED) | set(cna.SHARE) | set(cna.INSERTS))
_DATE = re.compile(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})[ T\u3000]+(\d{1,2}):(\d{2})")
# A line holding only a time, with an optional label (發稿時間：, 最新更新：) and update note.
_DATE_LINE = re.compile(r"^\W*(?:[^\d\W]{1,6}\s*[：:]\s*)?\d{4}[/-]\d{1,2}[/-]\d{1,2}[ T\u3000]+\d{1,2}:\d{2}(?::\d{2})?\s*(?:[（(][^）)]{0,30}[）)])?\W*$")
_SUFFIX_SPLIT = re.compile(r"\s+[|｜\-–—]\s+")
_SPACE = re.compile(r"\s+")


def _norm(s: str) -> str:
    return _SPACE.sub(" ", s).strip()


def _strip_site(title: str) -> str:
    """``標題 | 國際 | 中央社 CNA`` -> ``標題``: the site's name and the section before it go."""
    parts = _SUFFIX_SPLIT.split(title.strip())
    if len(parts) > 1 and ("中央社" in parts[-1] or "CNA" in parts[-1]):
        parts.pop()
        if len(parts) > 1 and len(parts[-1]) <= 6:
            parts.pop()  # the section
    return " | ".join(parts).strip()


def _headings(region: Element) -> list[str]:
    return [" ".join(text_of(h).split("\n")).strip() for h in region.iter("h1", "h2")]


def title_of(root: Element, region: Element, meta: dict[str, list[str]], ld: dict[str, object]) -> str:
    """The heading that the metadata's title names, else that title, else the first h1, else h2."""
    named = [_strip_site(t) for t in (*meta.get("og:title", ()), str(ld.get("headline") or ""), *(text_of(t) for t in root.iter("title"))) if t.strip()]
    headings = [h for h in _headings(region) if h]
    for wanted in named:
        for heading in headings:
            if _norm(heading) == _norm(wanted):
                return heading
    if named:
        return named[0]
    h1 = [" ".join(text_of(h).split("\n")).strip() for h in region.iter("h1")]
    return next((h for h in h1 if h), headings[0] if headings else "")


def time_of(region: Element, meta: dict[str, list[str]], ld: dict[str, object]) -> datetime | None:
    """The publication time: Open Graph, JSON-LD, itemprop; else the first date line on the page."""
    found = cna.first_time(meta, ld, "article:published_time", "datePublished")
    if found is not None:
        return found
    m = _DATE.search(_norm(text_of(region)))
    return cna.parse_time(f"{m[1]}/{m[2]}/{m[3]} {m[4]}:{m[5]}") if m else None


def _drop(el: Element) -> None:
    """Remove ``el`` but keep the text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def _link_dense(box: Element) -> bool:
    text = len(_norm(text_of(box)))
    links = sum(len(_norm(text_of(a))) for a in box.iter("a"))
    return text == 0 or links * 2 >= text


def _own_texts(el: Element) -> Iterable[str]:
    if el.text:
        yield el.text
    for child in el:
        if child.tail:
            yield child.tail


def prune(region: Element, title: str) -> None:
    """Remove CNA's clutter from ``region``, by class where the classes are known, by text always."""
    for el in list(region.iter()):
        if not isinstance(el.tag, str) or el is region:
            continue
        if el.tag in ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe") or PRUNED_CLASSES.intersection(classes(el)):
            _drop(el)
    for el in list(region.iter()):
        if not isinstance(el.tag, str) or el is region or el.getparent() is None:
            continue
        own = _norm("".join(_own_texts(el)))
        whole = _norm(text_of(el))
        if own in RELATED_HEADINGS and whole == own:
            box = el.getparent()
            _drop(box if box is not None and box is not region and _link_dense(box) else el)
        elif _is_furniture(el, own, whole, title):
            _drop(el)


def _is_furniture(el: Element, own: str, whole: str, title: str) -> bool:
    """The copyright line or CNA's paywall notice; a short app, newsletter or donation box;
    the time line; the title heading (the post writes the title itself)."""
    if cna.COPYRIGHT in own or cna.TRUNCATION in own:
        return True
    if len(whole) <= BOX_MAX_CHARS and (any(marker in whole for marker in BOX_MARKERS) or _DATE_LINE.match(whole)):
        return True
    return el.tag in ("h1", "h2") and bool(title) and whole == _norm(title)


def _region(root: Element) -> Element:
    """The page's one ``<article>`` element when it has one, else its body."""
    articles = [a for a in root.iter("article") if len(_norm(text_of(a))) >= MIN_BODY_CHARS]
    if len(articles) == 1:
        return articles[0]
    body = root.find(".//body")
    return body if body is not None else root


def _canonical(root: Element, meta: dict[str, list[str]], url: str, *, own: bool) -> str:
    """The canonical link, ``og:url``, or (unless ``own``: the page must name itself) the URL."""
    links = [link.get("href") or "" for link in root.iter("link") if (link.get("rel") or "").lower() == "canonical"]
    for candidate in (*links, *meta.get("og:url", ()), *(() if own else (url,))):
        canon = cna_canonical(candidate)
        if canon:
            return canon
    raise NotAnArticle(url, "no CNA article URL (canonical link, og:url or the URL itself)")


def _figures(body_html: str, base: str) -> tuple[str, str, int]:
    """An image followed by a paragraph repeating its alt text is a photo with its caption:
    written as CNA's are, ``<figure><img><figcaption>``. Returns the lead figure (an image
    before the first paragraph, as CNA puts its lead photo), the rest, and the photos in it."""
    box = etree.fromstring(f"<div>{body_html}</div>", etree.HTMLParser()).find(".//div")
    assert box is not None
    for img in list(box.iter("img")):
        nxt = img.getnext()
        if nxt is None or nxt.tag != "p" or _norm(text_of(nxt)) != _norm(img.get("alt") or ""):
            continue
        figure = etree.Element("figure")
        img.addprevious(figure)
        figure.tail, img.tail = img.tail, None
        figure.append(img)
        caption = etree.SubElement(figure, "figcaption")
        caption.text = _norm(text_of(nxt))
        _drop(nxt)
    lead = ""
    first = next((el for el in box if isinstance(el.tag, str)), None)
    if first is not None and first.tag in ("figure", "img"):
        lead, _ = clean.clean_elements([first], base)
        if first.tag == "img":
            lead = f"<figure>{lead}</figure>"
        _drop(first)
    rest, photos = clean.clean_elements([box], base)
    return lead, rest.removeprefix("<div>").removesuffix("</div>"), photos


def _lead_photo(meta: dict[str, list[str]], canon: str, lead_html: str) -> Photo | None:
    """The lead photo: the body's own (an image before the first paragraph), else ``og:image``
    unless it is CNA's placeholder."""
    if lead_html:
        img = etree.fromstring(lead_html, etree.HTMLParser()).find(".//img")
        caption = etree.fromstring(lead_html, etree.HTMLParser()).find(".//figcaption")
        if img is not None:
            return Photo(src=img.get("src") or "", caption=_norm(text_of(caption)) if caption is not None else "")
    for src in meta.get("og:image", ()):
        url = clean.image_url(etree.Element("img", src=src), canon)
        if url and url.rsplit("/", 1)[-1].split("?")[0] != cna.PLACEHOLDER:
            return Photo(src=url, caption="")
    return None


def paragraphs(body_html: str) -> list[str]:
    """The plain text of each ``<p>`` of a cleaned body."""
    if not body_html.strip():
        return []
    root = etree.fromstring(f"<div>{body_html}</div>", etree.HTMLParser())
    return [t for p in root.iter("p") if (t := _norm(text_of(p)))]


def extract(data: bytes, url: str, charset: str | None = None, *, named: bool = False) -> Article:
    """A CNA page of an unknown layout -> the article, by the general extractor on the pruned
    page. ``named``: only a page whose canonical link or ``og:url`` names a CNA article."""
    root = parse(data, url, charset)
    meta = metas(root)
    ld = cna.json_ld(root)
    canon = _canonical(root, meta, url, own=named)
    aid = cna_id(canon)
    assert aid is not None
    region = _region(root)
    title = title_of(root, region, meta, ld)
    published = time_of(region, meta, ld)
    truncated = cna.TRUNCATION in text_of(region)
    blocks.unwrap_containers(region)  # the pre-2016 pages: a <form> around everything
    blocks.split_breaks(region)  # and one <p> of <br /><br />-split paragraphs
    prune(region, title)
    page = b"<html><head><meta charset='utf-8'></head><body>" + etree.tostring(region, encoding="utf-8", method="html") + b"</body></html>"
    found = generic.extract(page, canon, "utf-8")
    lead_html, body, photos = _figures(found.body_html, canon)
    texts = paragraphs(body)
    if not texts:
        raise NotAnArticle(url, "the general extractor found no article text")
    lead = _lead_photo(meta, canon, lead_html)
    if lead and not lead_html and photos == 0:
        lead_html = f'<figure><img src="{clean.attr(lead.src)}" alt="{clean.attr(title)}"></figure>'
    elif not lead_html:
        lead = None  # og:image is a crop of a photo the body shows already
    lead_part = f"<div>{lead_html}</div>" if lead_html else ""
    tags = list(dict.fromkeys(t for t in meta.get("article:tag", ()) if t != "NewsArticle"))
    section = meta.get("article:section", [str(ld.get("articleSection") or "")])[0]
    return Article(
        article_id=aid,
        url=canon,
        title=title,
        published=published,
        updated=cna.first_time(meta, ld, "article:modified_time", "dateModified"),
        category=section,
        tags=tuple(tags),
        lead_photo=lead,
        body_html=f"{lead_part}<div></div><div>{body}</div>",
        truncated=truncated,
        paragraphs=tuple(texts),
        inline_photos=photos,
    )


def with_rules(data: bytes, url: str, charset: str | None, rules: Rules) -> Article:
    """A CNA page read by a feed's ``rules:`` (what they do not give, by the fallback): the
    article keeps CNA's id and canonical URL, and CNA's truncation notice is seen. Rules that
    match nothing raise LayoutChanged: the page is not the layout they were written for."""
    root = parse(data, url, charset)
    canon = _canonical(root, metas(root), url, own=False)
    aid = cna_id(canon)
    assert aid is not None
    article = site_rules.extract(data, url, charset, rules, extract, strict=True)
    return dataclasses.replace(article, article_id=aid, url=canon, truncated=cna.TRUNCATION in text_of(root))


def implausible(article: Article) -> str | None:
    """Why an extracted article cannot be the page's article, or None: no title, no time, or
    (unless CNA truncated it) a body under MIN_BODY_CHARS."""
    if not article.title.strip():
        return "no title"
    if article.published is None:
        return "no publication time"
    chars = sum(len(p) for p in article.paragraphs)
    if not article.truncated and chars < MIN_BODY_CHARS:
        return f"a body of {chars} characters (under {MIN_BODY_CHARS})"
    return None


def cna_or_fallback(data: bytes, url: str, charset: str | None = None) -> tuple[Article, str | None]:
    """A CNA page -> its article, and None when CNA's extractor made it, else why it did not.

    CNA's extractor first. When it says the layout changed, or returns no title, no time
    or too short a body, the fallback reads the same bytes, and its article is taken when
    it is plausible itself. A page with neither CNA's skeleton nor article metadata
    (NotAnArticle) is given to the fallback only when it names itself a CNA article by
    its canonical link or ``og:url``: CNA's not-found page and newsletter hubs stay what
    they are. A short article the fallback cannot better (a one-line flash) stays CNA's.
    """
    article: Article | None = None
    try:
        article = cna.extract(data, url, charset)
    except NotAnArticle as exc:
        first: ExtractError = exc
    except LayoutChanged as exc:
        first = exc
    else:
        trouble = implausible(article)
        if trouble is None:
            return article, None
        first = LayoutChanged(url, f"CNA's extractor found {trouble}", field="body")
    try:
        found = extract(data, url, charset, named=isinstance(first, NotAnArticle))
        trouble = implausible(found)
    except ExtractError as exc:
        found, trouble = None, exc.reason
    if found is not None and trouble is None:
        return found, first.reason
    if article is not None:
        return article, None
    if isinstance(first, LayoutChanged):
        raise LayoutChanged(url, f"{first.reason}; the fallback extractor: {trouble}", field=first.field) from None
    raise first
