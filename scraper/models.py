"""The values that flow between the stages: plain, frozen, typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class FeedEntry:
    """One item of a feed that points at an article."""

    url: str  # the link as the feed gave it (CNA feeds: tracking parameters stripped)
    article_id: str  # the identity: CNA's 12-digit id, else a hash of the link, GUID or text
    title: str
    published: datetime | None  # tz-aware; the item's pubDate
    feed_url: str
    author: str | None = None  # the item's author, where the feed names one
    content: str | None = None  # the item's full text (content:encoded, else the longest summary)
    guid: str | None = None  # the item's GUID (feeds with their own site)


@dataclass(frozen=True)
class Photo:
    src: str  # absolute https URL
    caption: str


@dataclass(frozen=True)
class Article:
    """What a page says, already cleaned: the extractor's output."""

    article_id: str
    url: str  # canonical URL
    title: str
    published: datetime | None  # tz-aware; None when the page gives none (a feed date may)
    updated: datetime | None
    category: str
    tags: tuple[str, ...]
    lead_photo: Photo | None
    body_html: str  # cleaned, one line
    truncated: bool = False
    paragraphs: tuple[str, ...] = field(default=(), compare=False)  # plain text, for reports
    inline_photos: int = 0


@dataclass(frozen=True)
class Post:
    """A rendered Jekyll post: its file name (inside ``_posts``) and its text."""

    article_id: str
    filename: str
    text: str
    url: str
    other_filename: str  # the name when another article holds ``filename``: ``-<id>`` before ``.md``


@dataclass
class RunReport:
    """What one run did; printed as the summary line."""

    feeds_polled: int = 0
    feeds_failed: int = 0
    written: int = 0
    failed: int = 0
    skipped: int = 0
    unchanged: int = 0
    gave_up: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.gave_up
