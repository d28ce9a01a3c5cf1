"""Feed bytes -> FeedEntry list (the feedparser boundary; pure).

feedparser gets the bytes, so it sees the XML declaration and BOM itself. A feed
that is broken but still yields items is used, with a warning; one that yields
nothing is a FeedError.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import feedparser

from .errors import FeedError
from .models import FeedEntry
from .sites import cna
from .urls import strip_tracking

# A pubDate this far ahead of the clock is a feed bug; the page's own time is used instead.
FUTURE_SLACK = timedelta(hours=1)


@dataclass(frozen=True)
class FeedResult:
    entries: tuple[FeedEntry, ...]
    skipped: tuple[str, ...]  # one line per item not taken, for the log
    warning: str | None  # set when the feed is malformed but usable


def article_link(link: str, feed_url: str) -> tuple[str, str] | None:
    """(link without tracking, 12-digit id) when ``link`` is a CNA article URL on a CNA
    host or on the feed's own host; None otherwise."""
    link = strip_tracking(link.strip())
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https"):
        return None
    feed_host = urlsplit(feed_url).netloc.lower()
    if parts.netloc.lower() != feed_host and (parts.hostname or "").lower() not in cna.HOSTS:
        return None
    match = cna.ARTICLE_PATH.match(parts.path)
    if not match:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, "")), match.group(2)


def _published(entry: feedparser.FeedParserDict) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    return None


def parse(data: bytes, feed_url: str, now: datetime, content_type: str | None = None) -> FeedResult:
    """The article entries of a feed, newest data as the feed gives it."""
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(data, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    entries: list[FeedEntry] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for item in parsed.entries:
        link = item.get("link") or ""
        if not link:
            skipped.append(f"item {item.get('title', '')!r} has no link")
            continue
        found = article_link(link, feed_url)
        if found is None:
            skipped.append(f"{link} is not a CNA article URL")
            continue
        url, aid = found
        if aid in seen:
            continue
        seen.add(aid)
        published = _published(item)
        if published is not None and published > now + FUTURE_SLACK:
            skipped.append(f"{url} has a pubDate in the future ({published:%Y-%m-%d %H:%M}Z); using the page's time")
            published = None
        entries.append(FeedEntry(url=url, article_id=aid, title=(item.get("title") or "").strip(), published=published, feed_url=feed_url))
    if not parsed.entries:
        if parsed.bozo:
            raise FeedError(feed_url, f"not a feed ({_bozo(parsed)})")
        if not parsed.get("version"):
            raise FeedError(feed_url, "not a feed (no RSS or Atom elements)")
    warning = f"malformed feed, {len(parsed.entries)} items used anyway ({_bozo(parsed)})" if parsed.bozo and parsed.entries else None
    return FeedResult(tuple(entries), tuple(skipped), warning)


def _bozo(parsed: feedparser.FeedParserDict) -> str:
    exc = parsed.get("bozo_exception")
    text = str(exc).splitlines()[0] if exc else "unknown problem"
    return f"{type(exc).__name__}: {text}" if exc else text
