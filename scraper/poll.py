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
from dataclasses import dataclass
from datetime import UTC, datetime

from . import feeds, schedule
from .config import Config, FeedConfig
from .errors import FeedError, FetchError
from .http import Http
from .models import Job, RunReport
from .runner import Runner, open_run
from .state import State

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


def fetch_feed(http: Http, state: State, feed: FeedConfig, config: Config, report: RunReport, now: datetime, dry_run: bool) -> Polled | None:
    """Fetch and parse one feed; None when it failed, is backing off, or had nothing new (304)."""
    stamp = now.timestamp()
    row = state.feed(feed.url)
    wait = schedule.feed_wait(row.gone, row.next_attempt, stamp)
    if wait == "gone":
        log.info("feed-gone feed=%s (HTTP 410 earlier; remove it from %s)", label(feed), config.path)
        return None
    if wait == "backoff":
        log.info("feed-backoff feed=%s until=%s", label(feed), datetime.fromtimestamp(row.next_attempt, UTC).isoformat())
        return None
    url = row.redirect if row.redirect and schedule.follow_redirect(row.redirect, row.redirect_seen) else feed.url
    report.feeds_polled += 1
    try:
        response = http.get(url, etag=row.etag, last_modified=row.last_modified, accept=FEED_ACCEPT)
        if response.status == 304:
            if not dry_run:
                state.feed_ok(feed.url, response.etag or row.etag, response.last_modified or row.last_modified, row.redirect, stamp)
            report.unchanged += 1
            return None
        result = feeds.parse(response.content, response.url, now, response.headers.get("content-type"), any_site=feed.site is not None)
    except (FetchError, FeedError) as exc:
        _feed_failed(state, feed, config, report, stamp, exc, dry_run)
        return None
    except Exception as exc:  # input nobody planned for: this feed's failure, not the run's
        log.debug("unexpected error for feed %s", feed.url, exc_info=True)
        _feed_failed(state, feed, config, report, stamp, FeedError(feed.url, f"unexpected {type(exc).__name__}: {exc}"), dry_run)
        return None
    if result.warning:
        log.warning("feed %s: %s", label(feed), result.warning)
    for line in result.skipped:
        log.warning("feed %s: skipped: %s", label(feed), line)
    redirect = response.permanent_redirect or (row.redirect if url != feed.url else None)
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


def _as_job(entry: Job, feed: FeedConfig) -> Job:
    """The entry as the job the runner gets: the feed's site, and for ``content: feed``
    the item's own text (empty when it has none): such a job never fetches a page."""
    content = (entry.content or "") if feed.content == "feed" else None
    return dataclasses.replace(entry, site=feed.site, content=content)


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
    try:
        with open_run(config, "poll", dry_run=dry_run, now=clock()) as (state, files):
            if retry_failed and not dry_run:
                log.info("retry-failed articles=%d", state.retry_failed())
            http.restore_pauses(state.host_pauses(clock()))
            listed: set[str] = set()
            for feed in config.feeds:
                polled = fetch_feed(http, state, feed, config, report, datetime.fromtimestamp(clock(), UTC), dry_run)
                if polled is None:
                    continue
                known = state.known(e.article_id for e in polled.entries)
                fresh = [_as_job(e, feed) for e in polled.entries if e.article_id not in known and e.article_id not in listed]
                listed.update(e.article_id for e in fresh)
                if dry_run:
                    for job in fresh:
                        out(f"would write {job.article_id} {job.url} {job.title}")
                    continue
                with state.transaction():
                    # A feed that re-issues GUIDs would fool a reader keyed on them; identity here is the link.
                    for article_id, old in state.changed_guids(e for e in polled.entries if e.article_id in known):
                        log.warning("feed %s: the GUID of %s changed (was %r); it is the same item, not written again", label(feed), article_id, old)
                    # Remembered before the feed's ETag is saved: a crash now loses nothing.
                    state.remember(fresh, clock())
                    row = state.feed_ok(feed.url, polled.etag, polled.last_modified, polled.redirect, clock())
                if polled.redirect and row.redirect_seen == schedule.FOLLOW_REDIRECT_AFTER:
                    log.warning("feed %s moved permanently to %s; update %s", label(feed), polled.redirect, config.path)
            if dry_run:
                return report
            runner = Runner(config, state, files, http, report, now=clock)
            with runner.stop.installed():
                runner.run(state.due(clock()))
            runner.report_robots()
            runner.report_fallback()
            state.save_host_pauses(http.pauses())
    finally:
        if own_http:
            http.close()
    return report
