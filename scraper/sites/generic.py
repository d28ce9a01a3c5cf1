"""Any news page or feed item -> Article (pure), for sources other than CNA.

Pages go through trafilatura, chosen by measurement over readability-lxml on the real
pages we have: the same text found, but trafilatura keeps the photos (readability
dropped every one) and stays well-kept. It is imported only when a non-CNA page is
extracted, so a CNA-only cron run does not pay for it. Its HTML then goes through the
same allow-list cleaner as CNA's. Title and time come from the page's own metadata
(``pagemeta``): sites append their name to ``og:title``, and trafilatura reads only the day.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import lxml.html

from .. import clean
from ..errors import ExtractError, NotAnArticle
from ..models import Article
from ..page import decode, metas
from ..urls import identity
from . import pagemeta

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.I)


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


def _published(text: str, url: str, meta: dict[str, list[str]], root: lxml.html.HtmlElement) -> datetime | None:
    published = pagemeta.published_of(root, meta)
    if published is not None:
        return published
    import trafilatura

    found = trafilatura.extract_metadata(text, default_url=url)
    if found is None or not found.date:
        return None
    try:
        day = datetime.fromisoformat(found.date)
    except ValueError:
        return None
    return day if day.tzinfo is not None else day.replace(tzinfo=UTC)  # a bare date: the day, not a guessed hour


def extract(data: bytes, url: str, charset: str | None = None) -> Article:
    """A page of any site: title and time from its metadata, main text by trafilatura,
    cleaned by the allow-list."""
    import trafilatura  # heavy; only sources other than CNA need it

    text = _XML_DECL.sub("", decode(data, charset, url), count=1)
    if not text.strip():
        raise ExtractError(url, "the page is empty")
    try:
        root = lxml.html.document_fromstring(text)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise ExtractError(url, f"the page is not HTML ({exc})") from exc
    meta = metas(root)
    title = pagemeta.title_of(root, meta) or url
    published = _published(text, url, meta, root)
    html = trafilatura.extract(root, url=url, output_format="html", include_images=True, include_links=True, include_comments=False, fast=True)
    if not html:
        raise NotAnArticle(url, "no article text found on the page")
    body = clean.clean_html(html, url)
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
