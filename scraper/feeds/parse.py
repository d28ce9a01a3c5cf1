"""Feed bytes -> Job list (the feedparser boundary; pure).

feedparser gets the bytes, so it sees the XML declaration and BOM itself. A feed
that is broken but still yields items is used, with a warning; one that yields
nothing is a FeedError.
"""

from __future__ import annotations

import calendar
import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import feedparser
import lxml.etree
import lxml.html

from ..articles.extractors.footers import strip_common_footer
from ..errors import FeedError
from ..models import Job
from ..net.urls import digest, feed_article, identity, is_web

# An item's text is the whole article (``content: auto`` writes it without fetching the
# page) when it is content:encoded, or a description of at least this many characters of
# plain text that does not end as a teaser. Measured on real feeds: BBC 中文's Atom
# summaries run 10-86 characters, NYT 中文's full-text descriptions 248-3,135, CDT's
# descriptions 158-1,344 beside its content:encoded; 200 separates summaries from articles.
FULL_TEXT_CHARS = 200
TEASER_ENDS = ("…", "...", "[…]", "[...]", "»", "more", "More", "閱讀全文", "阅读全文", "繼續閱讀", "继续阅读", "詳全文", "详全文", "更多")
# A pubDate this far ahead of the clock is a feed bug; the page's own time is used instead.
FUTURE_SLACK = timedelta(hours=1)
# No post is dated before 1970 (docs/FORMAT.md); an older pubDate is a feed bug too.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class FeedResult:
    entries: tuple[Job, ...]
    skipped: tuple[str, ...]  # one line per item not taken, for the log
    warning: str | None  # set when the feed is malformed but usable
    title: str = ""  # the channel's own title


def _published(entry: feedparser.FeedParserDict) -> datetime | None:
    """The item's date; None when it has none, or one no clock can hold (year 0, year 10000)."""
    for key in ("published_parsed", "updated_parsed"):
        parsed = entry.get(key)
        if parsed:
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (ValueError, OverflowError, OSError, TypeError):
                return None
    return None


def _dated(item: feedparser.FeedParserDict, url: str, now: datetime, skipped: list[str]) -> datetime | None:
    """The item's date, or None (the page's time is used) when it has none, one in the
    future, or one before 1970 (feedparser reads ``Sat, 01 Jan 0000 00:00:00 +0800`` as year 800)."""
    published = _published(item)
    if published is not None and published > now + FUTURE_SLACK:
        skipped.append(f"{url} has a pubDate in the future ({published:%Y-%m-%d %H:%M}Z); using the page's time")
        return None
    if published is not None and published < EARLIEST:
        skipped.append(f"{url} has a pubDate before 1970 ({published.date().isoformat()}); using the page's time")
        return None
    return published


def _content(item: feedparser.FeedParserDict) -> str | None:
    """The item's full text: content:encoded (or Atom content), else the longest summary."""
    texts = [c.get("value", "") for c in item.get("content", []) if c.get("value")]
    if texts:
        return str(max(texts, key=len))
    candidates = [item.get("summary") or "", item.get("description") or ""]
    best = max(candidates, key=len)
    return best or None


def _site_entry(item: feedparser.FeedParserDict, feed_url: str, channel_link: str, guids: dict[str, str], skipped: list[str]) -> Job | None:
    """An item of a feed with its own site: any link; identity by link, else GUID, else text."""
    link = (item.get("link") or "").strip()
    guid = (item.get("id") or "").strip()
    content = _content(item)
    if guid:
        seen = guids.setdefault(guid, link)
        if seen != link:
            skipped.append(f"GUID {guid!r} repeats for {seen} and {link}; identity by link")
    if is_web(link):
        key = identity(link)
        url = link
    elif guid:
        key = digest("guid:" + guid)
        url = guid if is_web(guid) else channel_link if is_web(channel_link) else feed_url
    elif content:
        key = digest("text:" + content)
        url = channel_link if is_web(channel_link) else feed_url
    else:
        skipped.append(f"item {item.get('title', '')!r} has no link, GUID or text")
        return None
    author = (item.get("author") or "").strip() or None
    encoded = any(c.get("value") for c in item.get("content", []))
    return Job(article_id=key, url=url, source=feed_url, title=(item.get("title") or "").strip(), author=author, content=content, guid=guid or None, encoded=encoded)


def is_full_text(content: str | None, encoded: bool) -> bool:
    """Whether an item's text is the whole article rather than a summary or a teaser."""
    if not content:
        return False
    try:
        plain = " ".join(lxml.html.fragment_fromstring(content, create_parent="div").text_content().split())
    except (ValueError, lxml.etree.ParserError):
        plain = " ".join(content.split())
    if encoded:
        return bool(plain)
    return len(plain) >= FULL_TEXT_CHARS and not plain.endswith(TEASER_ENDS)


def parse(data: bytes, feed_url: str, now: datetime, content_type: str | None = None, *, any_site: bool = False) -> FeedResult:
    """The article entries of a feed, newest data as the feed gives it.

    A CNA feed (``any_site`` false) yields CNA article links only; a feed with its own
    ``site`` yields every item, identified by its link, else its GUID, else its text.
    """
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(data, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    entries: list[Job] = []
    skipped: list[str] = []
    seen: set[str] = set()
    guids: dict[str, str] = {}
    channel_link = str(parsed.feed.get("link") or "")
    for item in parsed.entries:
        if any_site:
            entry = _site_entry(item, feed_url, channel_link, guids, skipped)
            if entry is None or entry.article_id in seen:
                continue
            seen.add(entry.article_id)
            entries.append(dataclasses.replace(entry, published=_dated(item, entry.url, now, skipped)))
            continue
        link = item.get("link") or ""
        if not link:
            skipped.append(f"item {item.get('title', '')!r} has no link")
            continue
        found = feed_article(link, feed_url)
        if found is None:
            skipped.append(f"{link} is not a CNA article URL")
            continue
        url, aid = found
        if aid in seen:
            continue
        seen.add(aid)
        published = _dated(item, url, now, skipped)
        entries.append(Job(article_id=aid, url=url, source=feed_url, title=(item.get("title") or "").strip(), published=published))
    if not parsed.entries:
        if parsed.bozo:
            raise FeedError(feed_url, f"not a feed ({_bozo(parsed)})")
        if not parsed.get("version"):
            raise FeedError(feed_url, "not a feed (no RSS or Atom elements)")
    if any_site:  # a footer repeated in every item (a blog's tags and share links) is no article text
        contents = strip_common_footer([e.content for e in entries])
        entries = [dataclasses.replace(e, content=c) if c != e.content else e for e, c in zip(entries, contents, strict=True)]
    warning = f"malformed feed, {len(parsed.entries)} items used anyway ({_bozo(parsed)})" if parsed.bozo and parsed.entries else None
    return FeedResult(tuple(entries), tuple(skipped), warning, " ".join(str(parsed.feed.get("title") or "").split()))


def descriptions(data: bytes, feed_url: str) -> dict[str, str]:
    """Each CNA item's description as plain text, by article id (``scraper check`` finds the
    story's lead on the page by it)."""
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    out: dict[str, str] = {}
    for item in parsed.entries:
        found = feed_article(item.get("link") or "", feed_url)
        text = item.get("description") or item.get("summary") or ""
        if found is not None and text.strip():
            plain = lxml.html.fragment_fromstring(text, create_parent="div").text_content()
            out.setdefault(found[1], " ".join(plain.split()))
    return out


def _bozo(parsed: feedparser.FeedParserDict) -> str:
    exc = parsed.get("bozo_exception")
    text = str(exc).splitlines()[0] if exc else "unknown problem"
    return f"{type(exc).__name__}: {text}" if exc else text
