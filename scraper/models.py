"""The values that flow between the stages: plain, frozen, typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal, get_args


class Status(StrEnum):
    """An article's status in the state (the strings stored in SQLite)."""

    PENDING = "pending"  # found, not written yet: fetched when due
    WRITTEN = "written"  # a post holds it
    FAILED = "failed"  # given up on after max_attempts (``poll --retry-failed`` tries again)
    SKIPPED = "skipped"  # never written: truncated, off-site, refused, denied by robots.txt, an alias


class Extractor(StrEnum):
    """What turned a page into the article a post was written from (stored in the state)."""

    CNA = "cna"  # CNA's own extractor
    FALLBACK = "fallback"  # a CNA page of a layout CNA's extractor did not know
    GENERIC = "generic"  # any other news page
    RULES = "rules"  # the feed's rules: or the set shipped for its host
    FEED = "feed"  # the feed item's own text, no page


ContentMode = Literal["auto", "page", "feed"]  # a feed's content: what its posts are written from
PhotoMode = Literal["link", "mirror"]  # photos: linked at the source, or a local copy
UpdateMode = Literal["keep", "rewrite"]  # updates: the first version stays, or a corrected title renders it again
FeedWait = Literal["gone", "backoff"]  # why a feed is not polled now
CONTENT_MODES: tuple[ContentMode, ...] = get_args(ContentMode)
PHOTO_MODES: tuple[PhotoMode, ...] = get_args(PhotoMode)
UPDATE_MODES: tuple[UpdateMode, ...] = get_args(UpdateMode)


@dataclass(frozen=True)
class Rules:
    """CSS selectors that say where a site's pages keep their parts (a feed's ``rules:``, or
    the rule set shipped for its host). What a rule selects is taken; the rest is found by
    the general extractor. ``timezone`` reads a time the page gives without an offset."""

    title: str | None = None
    body: str | None = None
    time: str | None = None
    photos: str | None = None
    drop: tuple[str, ...] = ()
    timezone: str | None = None


@dataclass(frozen=True)
class Job:
    """One article, from the feed (or backfill) that found it to the writer: the one record.

    The feed reader makes it, the state keeps it between runs, the runner fetches and
    writes it. ``content`` set means the feed carries the text and no page is fetched.
    """

    article_id: str  # the identity: CNA's 12-digit id, else a hash of the link, GUID or text
    url: str  # where the page is fetched from; for other sites also the post's link
    source: str  # the feed's URL, "walk", "backfill" or "fetch"
    title: str = ""
    published: datetime | None = None  # tz-aware; the item's pubDate
    site: str | None = None  # the feed's own site name; None: the config's
    author: str | None = None  # the item's author, where the feed names one
    content: str | None = None  # the item's full text (content: feed): written as it is
    guid: str | None = None  # the item's GUID (feeds with their own site)
    attempts: int = 0  # failed tries so far, across runs
    walk: bool = False  # a guessed id of a backfill walk: "nothing there" is a miss, not a failure
    encoded: bool = False  # the text is the item's content:encoded (content: auto); not kept in the state
    timezone: str | None = None  # the feed's timezone: (IANA), read from the config at each run; not kept in the state


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its response, as they went over the wire (for the archive)."""

    url: str
    when: float  # seconds since the epoch
    http_version: str
    request_headers: tuple[tuple[str, str], ...]
    status: int
    reason: str
    response_headers: tuple[tuple[str, str], ...]
    body: bytes  # as sent: still in its Content-Encoding


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
    """What one run did; printed as the summary line, written as the run's summary and metrics."""

    feeds_polled: int = 0
    feeds_failed: int = 0
    written: int = 0
    rewritten: int = 0  # written posts rendered again in place (updates: rewrite)
    failed: int = 0
    skipped: int = 0
    unchanged: int = 0
    deferred: int = 0
    photos_mirrored: int = 0
    photos_failed: int = 0
    photos_updated: int = 0  # posts given photos stored on a later try
    fallback: int = 0  # articles written from a fallback extractor's text
    gave_up: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    per_host: dict[str, tuple[int, int]] = field(default_factory=dict)  # host -> (requests sent, bytes read)
    state_counts: dict[str, int] = field(default_factory=dict)  # the state's articles by status, after the run
    totals: dict[tuple[str, str], float] = field(default_factory=dict)  # (name, host or '') -> the state's total across runs
    then_status: int | None = None  # the exit status of the command run after the run (poll --then); None: not run
    started: float = 0.0  # seconds since the epoch; set by whoever times the run (the CLI)
    finished: float = 0.0

    @property
    def changed_posts(self) -> int:
        """Posts this run wrote, rewrote, or updated with photos stored on a later try: what a
        site build after the run has to show."""
        return self.written + self.rewritten + self.photos_updated

    @property
    def ok(self) -> bool:
        return not self.errors and not self.gave_up


# The state's rows, as ``state`` reads them.


@dataclass(frozen=True)
class ArticleRow:
    article_id: str
    url: str
    status: Status
    reason: str | None
    attempts: int
    path: str | None
    deferred_since: float | None
    sha: str | None


@dataclass(frozen=True)
class FeedRow:
    url: str
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    next_attempt: float = 0.0
    last_error: str | None = None
    redirect: str | None = None
    redirect_seen: int = 0
    gone: bool = False


@dataclass(frozen=True)
class WrittenRow:
    """A written article as ``scraper refresh`` needs it."""

    job: Job  # as first seen: URL, source, title, the feed's date, site, author
    canonical: str | None
    path: str
    sha: str | None  # of the text written, when this version wrote it
    extractor: Extractor | None
