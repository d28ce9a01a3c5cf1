"""``scraper poll``: the feeds stage. Read every feed, remember what is new, hand the due
articles to the runner.

Crash-safe order: a feed's new items are remembered (as pending articles) before the
feed's ETag is saved, so a run killed at any point loses nothing. One failing feed,
for whatever reason, is that feed's failure; the others are read all the same.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from . import feeds, schedule
from .archive import Archive
from .config import Config, FeedConfig
from .errors import FeedError, FetchError, StoreError
from .http import Http, Response
from .models import Job, RunReport
from .postfiles import PostFiles
from .runner import Runner, open_run
from .state import FeedRow, State

log = logging.getLogger(__name__)
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"


@dataclass(frozen=True)
class Polled:
    """A feed's entries and what to remember about the response."""

    entries: tuple[Job, ...]
    etag: str | None
    last_modified: str | None
    redirect: str | None


def label(feed: FeedConfig) -> str:
    """How error lines name a feed: its name and its URL."""
    return f"{feed.name} ({feed.url})"


@dataclass(frozen=True)
class Due:
    """A feed to poll this run, its state, and the URL to ask (a redirect's, once followed)."""

    feed: FeedConfig
    row: FeedRow
    url: str


def due_feeds(state: State, config: Config, now: float) -> list[Due]:
    """The feeds to poll now; those backing off or gone are said at INFO and passed over."""
    due = []
    for feed in config.feeds:
        row = state.feed(feed.url)
        wait = schedule.feed_wait(row.gone, row.next_attempt, now)
        if wait == "gone":
            log.info("feed-gone feed=%s (HTTP 410 earlier; remove it from %s)", label(feed), config.path)
        elif wait == "backoff":
            log.info("feed-backoff feed=%s until=%s", label(feed), datetime.fromtimestamp(row.next_attempt, UTC).isoformat())
        else:
            url = row.redirect if row.redirect and schedule.follow_redirect(row.redirect, row.redirect_seen) else feed.url
            due.append(Due(feed, row, url))
    return due


def download(http: Http, due: Due, now: datetime) -> tuple[Response, feeds.FeedResult | None]:
    """GET and parse one feed (in a worker thread; touches no state). None for a 304."""
    response = http.get(due.url, etag=due.row.etag, last_modified=due.row.last_modified, accept=FEED_ACCEPT)
    if response.status == 304:
        return response, None
    return response, feeds.parse(response.content, response.url, now, response.headers.get("content-type"), any_site=due.feed.site is not None)


def take(state: State, due: Due, future: Future[tuple[Response, feeds.FeedResult | None]], config: Config, report: RunReport, stamp: float, dry_run: bool) -> Polled | None:
    """One feed's outcome, recorded: its entries, or None when it failed or had nothing new."""
    feed, row = due.feed, due.row
    report.feeds_polled += 1
    try:
        response, result = future.result()
    except (FetchError, FeedError) as exc:
        _feed_failed(state, feed, config, report, stamp, exc, dry_run)
        return None
    except StoreError:
        raise  # the archive's disk: the run ends
    except Exception as exc:  # input nobody planned for: this feed's failure, not the run's
        log.debug("unexpected error for feed %s", feed.url, exc_info=True)
        _feed_failed(state, feed, config, report, stamp, FeedError(feed.url, f"unexpected {type(exc).__name__}: {exc}"), dry_run)
        return None
    if result is None:
        if not dry_run:
            state.feed_ok(feed.url, response.etag or row.etag, response.last_modified or row.last_modified, row.redirect, stamp)
        report.unchanged += 1
        return None
    if result.warning:
        log.warning("feed %s: %s", label(feed), result.warning)
    for line in result.skipped:
        log.warning("feed %s: skipped: %s", label(feed), line)
    redirect = response.permanent_redirect or (row.redirect if due.url != feed.url else None)
    return Polled(result.entries, response.etag, response.last_modified, redirect)


def _feed_failed(state: State, feed: FeedConfig, config: Config, report: RunReport, stamp: float, exc: FetchError | FeedError, dry_run: bool) -> None:
    report.feeds_failed += 1
    if dry_run:
        log.warning("feed %s failed: %s", label(feed), exc)
        return
    gone = isinstance(exc, FetchError) and exc.status == 410
    decision = state.feed_failed(feed.url, str(exc), stamp, config.policy, gone=gone)
    if gone:
        report.errors.append(f"feed {label(feed)} is gone (HTTP 410): it will not be polled again; remove it from {config.path}")
        log.error("%s", report.errors[-1])
    elif decision.report:
        report.errors.append(f"feed {label(feed)} failed {decision.failures} runs in a row: {exc}")
        log.error("%s", report.errors[-1])
    else:
        log.info("feed failed feed=%s streak=%d: %s", label(feed), decision.failures, exc)


def _save(state: State, feed: FeedConfig, polled: Polled, known: dict[str, str], fresh: list[Job], now: float, config: Config) -> None:
    """Remember a feed's new items and its response, in one transaction: the items before
    the ETag, so a crash loses nothing. A feed with nothing new whose state would not
    change (a server without ETags, say) writes nothing, so an idle poll costs no fsync."""
    row = state.feed(feed.url)
    guids = [e for e in polled.entries if e.guid and e.article_id in known]
    unchanged = (row.etag, row.last_modified, row.redirect, row.failures) == (polled.etag, polled.last_modified, polled.redirect, 0)
    if not fresh and not guids and unchanged and not polled.redirect:
        return
    with state.transaction():
        # A feed that re-issues GUIDs would fool a reader keyed on them; identity here is the link.
        for article_id, old in state.changed_guids(guids):
            log.warning("feed %s: the GUID of %s changed (was %r); it is the same item, not written again", label(feed), article_id, old)
        state.remember(fresh, now)
        row = state.feed_ok(feed.url, polled.etag, polled.last_modified, polled.redirect, now)
    if polled.redirect and row.redirect_seen == schedule.FOLLOW_REDIRECT_AFTER:
        log.warning("feed %s moved permanently to %s; update %s", label(feed), polled.redirect, config.path)


def _corrected(state: State, entries: tuple[Job, ...], known: dict[str, str]) -> dict[str, str]:
    """Written articles whose title in the feed is no longer the one first seen: a
    correction (CNA re-publishes under the same id, often with （更新）)."""
    titles = state.titles(aid for aid, status in known.items() if status == "written")
    return {e.article_id: e.title for e in entries if e.title and titles.get(e.article_id, e.title) != e.title}


def _rewrite(config: Config, state: State, files: PostFiles, http: Http, corrected: dict[str, str], report: RunReport) -> None:
    """``updates: rewrite``: fetch and render the corrected articles again, in place."""
    from .refresh import Refresher  # only feeds that ask for it pay for it

    done = Refresher(config, state, files, http).run(state.written(ids=list(corrected)))
    for aid in done.rewritten + done.unchanged + [line.split(":", 1)[0] for line in done.left_alone]:
        state.set_title(aid, corrected[aid])
    for aid in done.rewritten:
        log.info("updated id=%s title=%s", aid, corrected[aid])
    for line in done.left_alone:
        log.warning("update not written: %s", line)
    report.errors.extend(f"update of {line}" for line in done.failed)


def _as_job(entry: Job, feed: FeedConfig) -> Job:
    """The entry as the job the runner gets: the feed's site, and the text it is written
    from. ``content: feed``: the item's own text (empty when it has none), never a page;
    ``auto``: the item's text when it is the whole article, else the page; ``page``: the page."""
    if feed.content == "feed":
        content: str | None = entry.content or ""
    elif feed.content == "auto" and entry.full_text:
        content = entry.content
    else:
        content = None
    return dataclasses.replace(entry, site=feed.site, content=content)


def _say_content(feed: FeedConfig, jobs: list[Job]) -> None:
    """``content: auto`` says once per feed and run what it chose."""
    if feed.content == "auto" and feed.site is not None and jobs:
        texts = sum(1 for j in jobs if j.content is not None)
        log.info("content-auto feed=%s from_feed=%d from_page=%d", label(feed), texts, len(jobs) - texts)


def poll(
    config: Config,
    *,
    dry_run: bool = False,
    retry_failed: bool = False,
    http: Http | None = None,
    clock: Callable[[], float] = time.time,
    out: Callable[[str], None] = print,
) -> RunReport:
    """One cron pass over every feed of ``config``."""
    report = RunReport()
    own_http = http is None
    http = http or Http(config.http)
    if config.archive is not None and not dry_run:
        http.recorder = Archive(config.archive).record
    try:
        with open_run(config, "poll", dry_run=dry_run, now=clock()) as (state, files):
            if retry_failed and not dry_run:
                log.info("retry-failed articles=%d", state.retry_failed())
            http.restore_pauses(state.host_pauses(clock()))
            listed: set[str] = set()
            corrected: dict[str, str] = {}  # id -> the feed's new title (updates: rewrite)
            now = datetime.fromtimestamp(clock(), UTC)
            due = due_feeds(state, config, now.timestamp())
            # Feeds download side by side, within the per-host limits; their outcomes are
            # recorded here, one thread, in the order of feeds.yaml.
            with ThreadPoolExecutor(max_workers=max(1, min(len(due), config.http.max_connections)), thread_name_prefix="feed") as pool:
                downloads = [(d, pool.submit(download, http, d, now)) for d in due]
            for d, future in downloads:
                feed = d.feed
                polled = take(state, d, future, config, report, clock(), dry_run)
                if polled is None:
                    continue
                known = state.known(e.article_id for e in polled.entries)
                fresh = [_as_job(e, feed) for e in polled.entries if e.article_id not in known and e.article_id not in listed]
                listed.update(e.article_id for e in fresh)
                _say_content(feed, fresh)
                if feed.updates == "rewrite":
                    corrected.update(_corrected(state, polled.entries, known))
                if dry_run:
                    for job in fresh:
                        out(f"would write {job.article_id} {job.url} {job.title}")
                    continue
                _save(state, feed, polled, known, fresh, clock(), config)
            if dry_run:
                return report
            runner = Runner(config, state, files, http, report, now=clock)
            with runner.stop.installed():
                runner.run(state.due(clock()))
            runner.report_robots()
            if corrected:
                _rewrite(config, state, files, http, corrected, report)
            state.save_host_pauses(http.pauses())
    finally:
        if own_http:
            http.close()
    return report
