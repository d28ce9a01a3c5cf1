"""CNA article pages -> Article (pure). CNA's markup lives here and nowhere else.

Handles the 2023 layout (``../shared/corpus/cna/pages/00*.html``), the 2016/2018
layout (``2016-truncated.html``: ``h1`` without ``span``, ``itemprop`` dates, the
「已過查詢時效」 notice) and the 2025-2026 variants (``figure.floatImg`` photos with
``figcaption``, ``.gmailNews``/``.lineAd``/market widgets, 「相關新聞」 timelines).
Class names are matched as tokens on any tag, so a ``div`` that becomes a
``figure`` keeps its photo.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from ...errors import ExtractError, LayoutChanged, NotAnArticle
from ...models import Article, Photo
from ...net.urls import TAIPEI, absolute, cna_canonical, cna_id
from .. import clean
from ..page import Element, classes, find_class, metas, parse, text_of

PLACEHOLDER = "pic_fb.jpg"
TRUNCATION = "已過查詢時效"
COPYRIGHT = "本網站之文字、圖片及影音"
# Children of the article's div.paragraph that are article content, by class token.
RELATED = ("moreArticle",)
PHOTO = ("floatImg",)
# Widgets nested in the body that are never content, even when they hold a link or a photo.
CLUTTER = frozenset(
    {
        "articlekeywordGroup",
        "bottomBox",
        "gmailNews",
        "lineAd",
        "appDownload",
        "BtnShareGroup",
        "MarketPC",
        "MarketMB",
        "MarketSquare",
        "topicTheme",
        "advertiseBox",
        "articleADbox",
        "bottomArticleBanner",
    }
)
# Boxes around the body that are never content: share buttons, breadcrumb, the time line.
SHARE = ("mbBtnGroup", "shareSide", "fbShareBox", "toolBox", "fontSizeBtn", "breadcrumb", "timeBox")
# In-body 「延伸閱讀」 links (a.insert in a media box).
INSERTS = ("insertGroup",)


_CANONICAL = re.compile(rb"""<link[^>]+href=["']https?://(?:www\.|m\.)?cna\.com\.tw/news/[a-z0-9]+/\d{12}""", re.I)


def claims(url: str, data: bytes) -> bool:
    """A CNA article page: on a CNA host, or (a mirror, a saved copy) with a CNA canonical link."""
    return cna_id(url) is not None or _CANONICAL.search(data[:65536]) is not None


def parse_time(value: str) -> datetime | None:
    """CNA times: ISO with offset, or naive ``2016/03/19 08:15`` meaning Asia/Taipei."""
    value = value.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M%z", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"):
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=TAIPEI)
    return None


def json_ld(root: Element) -> dict[str, object]:
    for script in root.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and item.get("@type") == "NewsArticle":
                return item
    return {}


def first_time(meta: dict[str, list[str]], ld: dict[str, object], og_key: str, schema_key: str) -> datetime | None:
    """The first parsable time: the Open Graph meta, then JSON-LD, then the ``itemprop`` meta
    of the 2016 layout (schema.org's name, as in JSON-LD)."""
    ld_value = ld.get(schema_key)
    candidates = [*meta.get(og_key, ()), *([ld_value] if isinstance(ld_value, str) else []), *meta.get(schema_key, ())]
    for value in candidates:
        parsed = parse_time(value)
        if parsed:
            return parsed
    return None


def _text(el: Element) -> str:
    return text_of(el).strip()


def _not_article_reason(root: Element, central: Element | None) -> str | None:
    if central is not None:
        return None  # an article column: a title with "404" in it is news, not an error page
    title = root.find(".//title")
    title_text = _text(title) if title is not None else ""
    if title_text.startswith("404") or "找不到" in title_text or "頁面不存在" in title_text:
        return "CNA's page-not-found page"
    if "看完整報導" in text_of(root):
        return "a newsletter hub (「看完整報導」 links), not an article"
    return None


def _photo(container: Element, base: str) -> tuple[Photo, str] | None:
    """A photo block (``floatImg`` on any tag) -> the photo and its clean HTML."""
    img = next(container.iter("img"), None)
    if img is None:
        return None
    src = clean.image_url(img, base)
    if src is None or src.rsplit("/", 1)[-1].split("?")[0] == PLACEHOLDER:
        return None
    cap_el = find_class(container, "picinfo")
    if cap_el is None:
        cap_el = next(container.iter("figcaption"), None)
    caption = " ".join(_text(cap_el).split()) if cap_el is not None else ""
    alt = " ".join((img.get("alt") or caption).split())
    html = f'<figure><img src="{clean.attr(src)}" alt="{clean.attr(alt)}">'
    if caption:
        html += f"<figcaption>{clean.text(caption)}</figcaption>"
    return Photo(src=src, caption=caption), html + "</figure>"


def _related(block: Element, base: str) -> str:
    """A 「延伸閱讀」 or per-tag list -> heading and list of links; a timeline is clutter."""
    links = []
    for a in block.iter("a"):
        href = absolute(a.get("href") or "", base)
        label = " ".join(_text(a).split())
        if href and label and cna_id(href):
            links.append(f'<li><a href="{clean.attr(cna_canonical(href) or href)}">{clean.text(label)}</a></li>')
    if not links:
        return ""
    title_el = find_class(block, "moreArticle-title")
    title = " ".join(_text(title_el).split()) if title_el is not None else ""
    heading = f"<h4>{clean.text(title)}</h4>" if title else ""
    return f"<div>{heading}<ul>{''.join(links)}</ul></div>"


def _body(paragraph: Element, base: str) -> tuple[list[str], list[str], int, bool]:
    """The article's div.paragraph -> HTML pieces, paragraph texts, inline photos, truncated."""
    pieces: list[str] = []
    texts: list[str] = []
    photos = 0
    truncated = False
    if paragraph.text and paragraph.text.strip():
        pieces.append(f"<p>{clean.text(paragraph.text.strip())}</p>")
        texts.append(paragraph.text.strip())
    for child in paragraph:
        if not isinstance(child.tag, str):
            pass
        elif TRUNCATION in text_of(child) and child.tag != "p":
            truncated = True  # CNA's paywall notice replaces the rest of the body
        elif child.tag in ("p", "h2", "h3", "h4", "h5", "h6", "blockquote", "ul", "ol", "table"):
            html, images = clean.clean_elements([child], base)
            if html not in ("", f"<{child.tag}></{child.tag}>"):
                pieces.append(html)
                photos += images
                if child.tag == "p":
                    texts.append(" ".join(_text(child).split()))
        elif CLUTTER.intersection(classes(child)):
            pass
        elif "moreArticle" in classes(child):
            if find_class(child, "topicTheme") is None:
                pieces.append(_related(child, base))
        else:
            # A media box holds photos and in-body 「延伸閱讀」 links (a.insert).
            for el in child.iter():
                if isinstance(el.tag, str) and set(PHOTO).intersection(classes(el)):
                    found = _photo(el, base)
                    if found:
                        pieces.append(found[1])
                        photos += 1
            if any(find_class(child, name) is not None for name in INSERTS):
                pieces.append(_related(child, base))
        if child.tail and child.tail.strip():
            pieces.append(f"<p>{clean.text(child.tail.strip())}</p>")
            texts.append(child.tail.strip())
    return [p for p in pieces if p], texts, photos, truncated


def _article_paragraph(central: Element) -> Element | None:
    """The first div.paragraph of the article column: the body, with widgets nested in it.

    Later div.paragraph siblings are share boxes, ads and the site's copyright line;
    when the first one is the copyright line, the body's box has gone (a new layout).
    """
    for el in central.iter():
        # The body's box is a plain div.paragraph; the related lists, share and ad
        # boxes nested in or beside it carry a second class.
        if isinstance(el.tag, str) and classes(el) == ["paragraph"]:
            if COPYRIGHT in text_of(el) and len(el.findall(".//p")) <= 1:
                return None
            return el
    return None


def _article_bytes(data: bytes) -> bytes:
    """The head and the ``<article>`` element only, when both are plainly there.

    A CNA page is ~200 KB, of which the article is ~40 KB and the head (metadata,
    JSON-LD) most of the rest is scripts, menus and footers; parsing only what the
    article needs halves the work. Anything unusual falls back to the whole page.
    """
    head_end = data.find(b"</head>")
    start = data.find(b"<article", head_end)
    end = data.find(b"</article>", start)
    if head_end < 0 or start < 0 or end < 0 or data.find(b"<article", start + 8, end) >= 0:
        return data
    return data[:head_end] + b"</head><body>" + data[start : end + len(b"</article>")] + b"</body></html>"


def _canonical(root: Element, central: Element, meta: dict[str, list[str]], url: str) -> tuple[str, Element | None]:
    """The article's canonical URL (canonical link, og:url, the article element's, the URL
    itself) and its ``<article>`` element."""
    canon = None
    for candidate in [link.get("href") or "" for link in root.iter("link") if link.get("rel") == "canonical"] + meta.get("og:url", []):
        canon = cna_canonical(candidate)
        if canon:
            break
    article_el = central.getparent()
    while article_el is not None and article_el.tag != "article":
        article_el = article_el.getparent()
    if canon is None and article_el is not None:
        canon = cna_canonical(article_el.get("data-canonical-url") or "")
    if canon is None:
        canon = cna_canonical(url)
    if canon is None:
        raise NotAnArticle(url, "no CNA article URL (canonical link, og:url or the URL itself)")
    return canon, article_el


def _times(root: Element, central: Element, meta: dict[str, list[str]], url: str) -> tuple[datetime, datetime | None, dict[str, object]]:
    """Publication and update times, and the JSON-LD they may have come from."""
    # JSON-LD is read only when the meta tags lack a time (the 2016 layout has neither).
    ld = {} if meta.get("article:published_time") else json_ld(root)
    published = first_time(meta, ld, "article:published_time", "datePublished")
    if published is None:
        box = find_class(central, "updatetime")
        first = box.find("span") if box is not None else None
        published = parse_time(_text(first)) if first is not None else None
    if published is None:
        raise LayoutChanged(url, "CNA's layout seems to have changed: no publication time", field="time")
    return published, first_time(meta, ld, "article:modified_time", "dateModified"), ld


def _section(root: Element, central: Element, article_el: Element | None, meta: dict[str, list[str]], ld: dict[str, object]) -> tuple[str, list[str]]:
    """The article's category and its tags."""
    category = ""
    if article_el is not None:
        category = (article_el.get("data-origin-type-name") or "").strip()
    if not category:
        crumb = find_class(central, "breadcrumb")
        links = crumb.findall(".//a") if crumb is not None else []
        category = _text(links[-1]) if links else str(ld.get("articleSection") or "")
    tags = list(meta.get("article:tag", []))
    keywords = ld.get("keywords") if tags or ld else json_ld(root).get("keywords")
    if not tags and isinstance(keywords, list):
        tags = [str(k) for k in keywords]
    return category, list(dict.fromkeys(t for t in tags if t != "NewsArticle"))


def extract(data: bytes, url: str, charset: str | None = None) -> Article:
    """Page bytes fetched from ``url`` -> the article they hold.

    Raises NotAnArticle for pages that are no article (404 page, newsletter hub,
    no title or body) and LayoutChanged when an article page lacks CNA's skeleton.
    """
    root = parse(_article_bytes(data), url, charset)
    central = find_class(root, "centralContent")
    reason = _not_article_reason(root, central)
    if reason:
        raise NotAnArticle(url, reason)
    meta = metas(root)
    looks_like_article = bool(meta.get("og:type") == ["article"] or meta.get("article:published_time"))
    if central is None:
        if looks_like_article:
            raise LayoutChanged(url, "CNA's layout seems to have changed: no div.centralContent on an article page", field="body")
        raise NotAnArticle(url, "not an article page (no div.centralContent)")
    h1 = central.find(".//h1")
    title = " ".join(_text(h1).split("\n")).strip() if h1 is not None else ""
    if not title:
        raise LayoutChanged(url, "CNA's layout seems to have changed: no h1 title in div.centralContent", field="title")
    canon, article_el = _canonical(root, central, meta, url)
    aid = cna_id(canon)
    assert aid is not None
    paragraph = _article_paragraph(central)
    if paragraph is None:
        raise LayoutChanged(url, "CNA's layout seems to have changed: no div.paragraph body", field="body")
    pieces, texts, photos, truncated = _body(paragraph, canon)
    if not texts:
        if looks_like_article:  # the body's box is there but its paragraphs are not: new markup
            raise LayoutChanged(url, "CNA's layout seems to have changed: no paragraphs in div.paragraph", field="body")
        raise NotAnArticle(url, "the page has a title but no article text")
    published, updated, ld = _times(root, central, meta, url)
    category, tags = _section(root, central, article_el, meta, ld)
    lead = None
    lead_html = ""
    full = find_class(central, "fullPic")
    if full is not None:
        found = _photo(full, canon)
        if found:
            lead, lead_html = found

    truncated = truncated or TRUNCATION in text_of(paragraph)
    # The real posts frame the body as <div>LEAD PHOTO</div><div></div><div>…</div>.
    lead_part = f"<div>{lead_html}</div>" if lead_html else ""
    body = f"{lead_part}<div></div><div>{''.join(pieces)}</div>"
    return Article(
        article_id=aid,
        url=canon,
        title=title,
        published=published,
        updated=updated,
        category=category,
        tags=tuple(tags),
        lead_photo=lead,
        body_html=body,
        truncated=truncated,
        paragraphs=tuple(texts),
        inline_photos=photos,
    )


__all__ = ["ExtractError", "claims", "extract", "first_time", "json_ld", "parse_time"]
