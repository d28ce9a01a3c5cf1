"""``scraper feeds``: list, add, test, import and export the feeds of feeds.yaml.

``add`` and ``import`` edit feeds.yaml in place, keeping its comments (``feedsfile``);
``test`` fetches a feed once and says what a poll would do with each item, writing
nothing; ``list`` reads the state without writing to it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from ..config import DEFAULT_ZONE, Config, FeedConfig, HttpConfig
from ..errors import ConfigError, FeedError
from ..feeds import feedsfile, opml
from ..feeds import parse as feeds
from ..feeds.feedpass import FEED_ACCEPT
from ..models import CONTENT_MODES, ContentMode, Job, Status
from ..net.urls import CNA_HOSTS, host_of, is_web
from ..run import http_client, opened
from ..store.stats import feed_views
from .columns import plural, rows

CNA_FEED_HOSTS = CNA_HOSTS | {"feeds.feedburner.com"}  # CNA's own feeds are served by FeedBurner


def when(stamp: float | None, zone: tzinfo) -> str:
    """A time as the operator reads it: to the minute, in the site's zone (the header names it)."""
    if stamp is None:
        return "-"
    return datetime.fromtimestamp(stamp, zone).strftime("%Y-%m-%d %H:%M")


def listing(config: Config, now: float) -> list[str]:
    """``feeds list``: every feed, its last success, next check, items seen and written, state."""
    with opened(config, "status", network=False) as run:
        views = feed_views(run.state, config.feeds, now)
    table = [["name", "state", f"last success ({config.timezone})", "next check", "seen", "written", "url"]]
    for v in views:
        nxt = "never (gone)" if v.gone else when(v.next_check, config.zone) if v.next_check else "next run"
        table.append([v.name, v.condition, when(v.last_ok, config.zone), nxt, str(v.seen), str(v.written), v.url])
    return rows(table)


def probe(url: str, http_config: HttpConfig, *, any_site: bool) -> feeds.FeedResult:
    """Fetch ``url`` once and read it as a feed; a FetchError or FeedError says why not."""
    if not is_web(url):
        raise ConfigError(f"{url}: not an http(s) URL")
    with http_client(http_config.naming(url)) as http:  # the operator named this URL
        response = http.get(url, accept=FEED_ACCEPT)
    return feeds.parse(response.content, response.url, datetime.now(UTC), response.headers.get("content-type"), any_site=any_site)


def _entry(url: str, name: str, site: str | None, content: str | None) -> dict[str, str]:
    entry = {"name": name, "url": url}
    if site:
        entry["site"] = site
    if content:
        entry["content"] = content
    return entry


def _refuse_duplicate(config: Config | None, url: str, name: str | None) -> None:
    if config is None:
        return
    for feed in config.feeds:
        if feed.url == url:
            raise ConfigError(f"{url}: already in {config.path} as {feed.name}")
        if name is not None and feed.name == name:
            raise ConfigError(f"{name}: {config.path} already has a feed of this name ({feed.url}); give another with --name")


def _content_mode(content: str | None) -> ContentMode | None:
    """``--content``, checked: one of the modes feeds.yaml takes."""
    if content is not None and content not in CONTENT_MODES:
        raise ConfigError(f"--content {content!r}: must be one of {', '.join(CONTENT_MODES)}")
    return content


def add(config: Config | None, path: Path, url: str, *, name: str | None, site: str | None, content: str | None) -> list[str]:
    """``feeds add``: check that ``url`` is a feed with items this configuration would take,
    then append it to feeds.yaml at ``path`` (``config`` is None: a new file)."""
    url = url.strip()
    _content_mode(content)
    _refuse_duplicate(config, url, name)
    result = probe(url, config.http if config else HttpConfig(), any_site=site is not None)
    if not result.entries:
        hint = "; a feed of another site needs --site NAME" if site is None and result.skipped else ""
        raise FeedError(url, f"a feed, but none of its {plural(len(result.skipped), 'item')} would be taken{hint}")
    name = name or result.title or host_of(url)
    _refuse_duplicate(config, url, name)
    created = config is None
    feedsfile.append(path, [_entry(url, name, site, content)])
    newest = result.entries[0]
    lines = [f"added {name} ({url}) to {path}: {plural(len(result.entries), 'item')}, the newest {newest.title!r}"]
    return [f"wrote {path} (a new feeds file: output: output, timezone: Asia/Taipei)", *lines] if created else lines


def _plan(entry: Job, feed: FeedConfig) -> str:
    """What a poll does with a new item of ``feed``."""
    if feed.content == "feed":
        return "new: would write the item's own text"
    if feed.content == "auto" and feeds.is_full_text(entry.content, entry.encoded):
        return "new: would write the item's own text (full text)"
    return "new: would fetch the page and write it"


def test(config: Config | None, url: str, *, site: str | None, content: str | None) -> list[str]:
    """``feeds test``: fetch ``url`` once and say, item by item, what a poll would do; writes
    nothing (no state, no posts). A feed of feeds.yaml is tested with its own settings."""
    url = url.strip()
    mode = _content_mode(content)
    known_feed = next((f for f in config.feeds if f.url == url), None) if config else None
    feed = known_feed or FeedConfig("test", url, site, mode or ("auto" if site else "page"))
    if site is not None or mode is not None:
        feed = dataclasses.replace(feed, site=site or feed.site, content=mode or feed.content)
    result = probe(url, config.http if config else HttpConfig(), any_site=feed.site is not None)
    known: dict[str, Status] = {}
    if config is not None and config.state_path.exists():
        with opened(config, "status", network=False) as run:
            known = run.state.known(e.article_id for e in result.entries)
    where = f"in {config.path} as {known_feed.name}" if known_feed and config else "not in feeds.yaml"
    zone = ZoneInfo(config.timezone if config else DEFAULT_ZONE)  # the site's zone, as status prints times
    lines = [f"{result.title or url}: {plural(len(result.entries), 'item')} to take, {len(result.skipped)} not ({where}; times in {zone.key})"]
    if result.warning:
        lines.append(f"warning: {result.warning}")
    table = []
    for entry in result.entries:
        status = known.get(entry.article_id)
        verdict = f"known: {status}, nothing to do" if status else _plan(entry, feed)
        day = entry.published.astimezone(zone).strftime("%Y-%m-%d %H:%M") if entry.published else "(no date)"
        table.append([entry.article_id, day, verdict, entry.title])
    lines += rows(table, indent="  ")
    for line in result.skipped:
        kind = "date" if "page's time" in line else "not wanted"
        lines.append(f"  {kind}: {line}")
    if feed.site is None and not result.entries and result.skipped:
        lines.append("hint: no item links a CNA article; a feed of another site is tested with --site NAME, the name its posts carry")
    lines.append("nothing written (a test writes no state and no post)")
    return lines


def _imported(config: Config, outlines: list[opml.Outline]) -> Iterator[tuple[dict[str, str] | None, str]]:
    """Each outline as an entry to add, or None and why it is left out."""
    urls = {f.url: f.name for f in config.feeds}
    names = {f.name for f in config.feeds}
    for outline in outlines:
        if not is_web(outline.url) or any(ch.isspace() or ord(ch) < 32 for ch in outline.url):
            yield None, f"skipped {outline.url!r}: not an http(s) URL"
            continue
        # a title is one line of text in feeds.yaml: runs of spaces, newlines and control characters become one space
        outline = dataclasses.replace(outline, title=" ".join("".join(ch if ch.isprintable() else " " for ch in outline.title or "").split()))
        if outline.url in urls:
            yield None, f"skipped {outline.title or outline.url} ({outline.url}): already a feed, as {urls[outline.url]}"
            continue
        name = outline.title or host_of(outline.url)
        if name in names:
            name = f"{name} ({host_of(outline.url)})"
        if name in names:
            yield None, f"skipped {outline.title} ({outline.url}): a feed named {name} exists"
            continue
        urls[outline.url] = name
        names.add(name)
        site = None if host_of(outline.url) in CNA_FEED_HOSTS else outline.title or host_of(outline.url)
        yield _entry(outline.url, name, site, None), f"added {name} ({outline.url})" + (f", site {site}" if site else ", a CNA feed")


def import_opml(config: Config, path: Path) -> list[str]:
    """``feeds import``: the feeds of an OPML file that feeds.yaml lacks, appended to it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from exc
    decided = list(_imported(config, opml.read(data, str(path))))
    entries = [entry for entry, _ in decided if entry is not None]
    if entries:
        feedsfile.append(config.path, entries)
    lines = [line for _, line in decided]
    lines.append(f"imported {plural(len(entries), 'feed')} into {config.path}, skipped {len(decided) - len(entries)}; `scraper feeds test URL` tries one")
    return lines


def export_opml(config: Config, now: float) -> bytes:
    """``feeds export``: every feed as OPML 2.0."""
    return opml.write(((f.name, f.url) for f in config.feeds), f"{config.site}: feeds of {config.path.name}", now)
