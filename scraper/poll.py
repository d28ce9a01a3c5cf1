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


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass(frozen=True)
class Failed:
    """A feed that failed this run, and what the state decided about it."""

    feed: FeedConfig
    error: FetchError | FeedError
    streak: int  # failed runs in a row, this one included (0 in a dry run: nothing counted)
    report: bool  # the streak reached ``report_after``

    @property
    def unreachable(self) -> bool:
        return isinstance(self.error, FetchError) and self.error.unreachable

    @property
    def gone(self) -> bool:
        return isinstance(self.error, FetchError) and self.error.status == 410


def offline_message(failed: list[Failed]) -> str:
    """The one line for a run in which no feed answered at all."""
    first = failed[0]
    return f"no feed reachable: is the network down? (no answer from {len(failed)} of {_count(len(failed), 'feed')} polled, e.g. {label(first.feed)}: {first.error.reason})"


class FeedPass:
    """The feeds stage of one run: read every due feed, then say what failed, once.

    Failures are said after the pass, not as they come: when no feed answered at all
    (DNS, refused, timeouts) the likely cause is the network, and that is one line, not
    one per feed. On a terminal (``interactive``) it is said at once; under cron only
    when the feeds' streaks reach ``report_after``, so one blip sends no mail.
    """

    def __init__(self, config: Config, state: State, http: Http, report: RunReport, *, dry_run: bool, interactive: bool, out: Callable[[str], None]) -> None:
        self.config = config
        self.state = state
        self.http = http
        self.report = report
        self.dry_run = dry_run
        self.interactive = interactive
        self.out = out
        self.failed: list[Failed] = []

    def skip_reason(self, row: FeedRow, stamp: float) -> str | None:
        """Why a feed is not polled this run, or None when it is due."""
        wait = schedule.feed_wait(row.gone, row.next_attempt, stamp)
        if wait == "gone":
            return "gone (HTTP 410)"
        if wait == "backoff":
            return f"backing off after {_count(row.failures, 'failure')} until {schedule.iso(row.next_attempt)}"
        return None

    def fetch(self, feed: FeedConfig, now: datetime) -> Polled | None:
        """Fetch and parse one feed; None when it failed, is backing off, or had nothing new (304)."""
        stamp = now.timestamp()
        row = self.state.feed(feed.url)
        why = self.skip_reason(row, stamp)
        if why is not None:
            log.info("feed-skipped feed=%s: %s", label(feed), why)
            if self.dry_run:
                self.out(f"skipped feed {label(feed)}: {why}")
            return None
        url = row.redirect if row.redirect and schedule.follow_redirect(row.redirect, row.redirect_seen) else feed.url
        self.report.feeds_polled += 1
        try:
            response = self.http.get(url, etag=row.etag, last_modified=row.last_modified, accept=FEED_ACCEPT)
            if response.status == 304:
                if not self.dry_run:
                    self.state.feed_ok(feed.url, response.etag or row.etag, response.last_modified or row.last_modified, row.redirect, stamp)
                self.report.unchanged += 1
                return None
            result = feeds.parse(response.content, response.url, now, response.headers.get("content-type"), any_site=feed.site is not None)
        except (FetchError, FeedError) as exc:
            self._failed(feed, stamp, exc)
            return None
        except Exception as exc:  # input nobody planned for: this feed's failure, not the run's
            log.debug("unexpected error for feed %s", feed.url, exc_info=True)
            self._failed(feed, stamp, FeedError(feed.url, f"unexpected {type(exc).__name__}: {exc}"))
            return None
        if result.warning:
            log.warning("feed %s: %s", label(feed), result.warning)
        for line in result.skipped:
            log.warning("feed %s: skipped: %s", label(feed), line)
        redirect = response.permanent_redirect or (row.redirect if url != feed.url else None)
        return Polled(result.entries, response.etag, response.last_modified, redirect)

    def _failed(self, feed: FeedConfig, stamp: float, exc: FetchError | FeedError) -> None:
        self.report.feeds_failed += 1
        if self.dry_run:
            self.failed.append(Failed(feed, exc, 0, False))
            return
        gone = isinstance(exc, FetchError) and exc.status == 410
        decision = self.state.feed_failed(feed.url, str(exc), stamp, self.config.policy, gone=gone)
        self.failed.append(Failed(feed, exc, decision.failures, decision.report))
        log.info("feed failed feed=%s streak=%d: %s", label(feed), decision.failures, exc)

    def say_failures(self) -> None:
        """The error (or, in a dry run, warning) lines for this pass's failed feeds."""
        offline = bool(self.failed) and len(self.failed) == self.report.feeds_polled and all(f.unreachable for f in self.failed)
        if self.dry_run:
            for line in [offline_message(self.failed)] if offline else [f"feed {label(f.feed)} failed: {f.error}" for f in self.failed]:
                log.warning("%s", line)
            return
        if offline:
            if self.interactive or any(f.report for f in self.failed):
                self._error(offline_message(self.failed))
            return
        for f in self.failed:
            if f.gone:
                self._error(f"feed {label(f.feed)} is gone (HTTP 410): it will not be polled again; remove it from {self.config.path}")
            elif f.report:
                self._error(f"feed {label(f.feed)} failed {f.streak} runs in a row: {f.error}")

    def _error(self, line: str) -> None:
        self.report.errors.append(line)
        log.error("%s", line)


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
    interactive: bool = False,
    http: Http | None = None,
    clock: Callable[[], float] = time.time,
    out: Callable[[str], None] = print,
    report: RunReport | None = None,
) -> RunReport:
    """One cron pass over every feed of ``config``.

    ``interactive``: a person is watching (the CLI passes whether standard error is a
    terminal), so a run that reaches no feed says so at once rather than after
    ``report_after`` runs. ``report`` is filled in as the run goes, so a caller holds
    what was done even when the run ends with an exception.
    """
    report = report if report is not None else RunReport()
    own_http = http is None
    http = http or Http(config.http)
    try:
        with open_run(config, "poll", dry_run=dry_run, now=clock()) as (state, files):
            if retry_failed and not dry_run:
                log.info("retry-failed articles=%d", state.retry_failed())
            http.restore_pauses(state.host_pauses(clock()))
            _read_feeds(FeedPass(config, state, http, report, dry_run=dry_run, interactive=interactive, out=out), clock)
            if not dry_run:
                runner = Runner(config, state, files, http, report, now=clock)
                with runner.stop.installed():
                    runner.run(state.due(clock()))
                runner.report_robots()
                state.save_host_pauses(http.pauses())
            report.state_counts = state.counts()
    finally:
        report.per_host.update({host: (n, size) for host, (n, size) in http.per_host.items()})
        if own_http:
            http.close()
    return report


def _read_feeds(stage: FeedPass, clock: Callable[[], float]) -> None:
    """Every feed: its new items remembered (or, in a dry run, listed), then its failures said."""
    state, config = stage.state, stage.config
    listed: set[str] = set()
    for feed in config.feeds:
        polled = stage.fetch(feed, datetime.fromtimestamp(clock(), UTC))
        if polled is None:
            continue
        known = state.known(e.article_id for e in polled.entries)
        fresh = [_as_job(e, feed) for e in polled.entries if e.article_id not in known and e.article_id not in listed]
        listed.update(e.article_id for e in fresh)
        if stage.dry_run:
            for job in fresh:
                stage.out(f"would write {job.article_id} {job.url} {job.title}")
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
    stage.say_failures()
