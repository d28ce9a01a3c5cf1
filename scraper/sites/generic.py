"""Any news page or feed item -> Article (pure), for sources other than CNA.

Pages go through trafilatura, chosen by measurement over readability-lxml on the real
pages we have: the same text found, but trafilatura keeps the photos (readability
dropped every one) and stays well-kept. It is imported only when a non-CNA page is
extracted, so a CNA-only cron run does not pay for it. Its HTML then goes through the
same allow-list cleaner as CNA's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .. import clean
from ..errors import ExtractError, NotAnArticle
from ..models import Article
from ..page import decode
from ..urls import identity


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


def extract(data: bytes, url: str, charset: str | None = None) -> Article:
    """A page of any site: title, date and main text by trafilatura, cleaned by the allow-list."""
    import trafilatura  # heavy; only sources other than CNA need it

    text = decode(data, charset, url)
    html = trafilatura.extract(text, url=url, output_format="html", include_images=True, include_links=True, include_comments=False, fast=True)
    meta = trafilatura.extract_metadata(text, default_url=url)
    if not html:
        raise NotAnArticle(url, "no article text found on the page")
    published = None
    if meta is not None and meta.date:
        try:
            published = datetime.fromisoformat(meta.date)
        except (ValueError, TypeError):
            published = None
    if published is not None and published.tzinfo is None:
        published = published.replace(tzinfo=UTC)  # a bare date: the day, not a guessed hour
    title = (meta.title if meta is not None and meta.title else "") or url
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
