"""The feeds of one run: every due feed downloaded side by side, its outcome recorded.

Downloads run in worker threads within the client's per-host limits and
``max_connections``; what they bring back is recorded in this thread, in the order of
feeds.yaml. Failures are said after the pass, not as they come: when no feed answered
at all (DNS, refused, timeouts) the likely cause is the network, and that is one line,
not one per feed. On a terminal (``interactive``) it is said at once; under cron only
when the feeds' streaks reach ``report_after``, so one blip sends no mail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from .. import schedule, stopping
from ..config import FeedConfig
from ..errors import FeedError, FetchError, StoreError
from ..models import FeedRow, Job
from ..net.http import Http, Response
from ..net.urls import by_host_in_turn
from ..run import Run
from . import parse as feeds

log = logging.getLogger(__name__)
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"


def label(feed: FeedConfig) -> str:
    """How error lines name a feed: its name and its URL."""
    return f"{feed.name} ({feed.url})"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@dataclass(frozen=True)
class Polled:
    """A feed's entries and what to remember about the response."""

    entries: tuple[Job, ...]
    etag: str | None
    last_modified: str | None
    redirect: str | None


@dataclass(frozen=True)
class Due:
    """A feed to poll this run, its state, and the URL to ask (a redirect's, once followed)."""

    feed: FeedConfig
    row: FeedRow
    url: str


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


def download(http: Http, due: Due, now: datetime) -> tuple[Response, feeds.FeedResult | None]:
    """GET and parse one feed (in a worker thread; touches no state). None for a 304."""
    response = http.get(due.url, etag=due.row.etag, last_modified=due.row.last_modified, accept=FEED_ACCEPT)
    if response.status == 304:
        return response, None
    return response, feeds.parse(response.content, response.url, now, response.headers.get("content-type"), any_site=due.feed.site is not None)


class FeedPass:
    """The feeds stage of one run; see the module's docstring."""

    def __init__(self, ctx: Run, *, interactive: bool, out: Callable[[str], None]) -> None:
        assert ctx.http is not None, "a feed pass fetches"
        self.ctx = ctx
        self.http = ctx.http
        self.interactive = interactive
        self.out = out
        self.failed: list[Failed] = []

    def skip_reason(self, row: FeedRow, stamp: float) -> str | None:
        """Why a feed is not polled this run, or None when it is due."""
        until = schedule.within(row.next_attempt, stamp, schedule.feed_interval(row.failures, self.ctx.config.policy))
        wait = schedule.feed_wait(row.gone, until, stamp)
        if wait == "gone":
            return "gone (HTTP 410)"
        if wait == "backoff":
            return f"backing off after {_count(row.failures, 'failure')} until {schedule.iso(until)}"
        return None

    def due(self, stamp: float) -> list[Due]:
        """The feeds to poll now; the others are said (on stdout too in a dry run) and passed over."""
        due = []
        for feed in self.ctx.config.feeds:
            row = self.ctx.state.feed(feed.url)
            why = self.skip_reason(row, stamp)
            if why is not None:
                log.info("feed-skipped feed=%s: %s", label(feed), why)
                if self.ctx.dry_run:
                    self.out(f"skipped feed {label(feed)}: {why}")
                continue
            url = row.redirect if row.redirect and schedule.follow_redirect(row.redirect, row.redirect_seen) else feed.url
            due.append(Due(feed, row, url))
        return due

    def polled(self, now: datetime) -> Iterator[tuple[FeedConfig, Polled]]:
        """Each due feed that brought entries, in the order of feeds.yaml."""
        due = self.due(now.timestamp())
        with ThreadPoolExecutor(max_workers=max(1, min(len(due), self.ctx.config.http.max_connections)), thread_name_prefix="feed") as pool:
            started = {id(d): pool.submit(download, self.http, d, now) for d in by_host_in_turn(due, lambda d: d.url)}
        for d in due:
            future = started[id(d)]
            polled = self.take(d, future, now.timestamp())
            if polled is not None:
                yield d.feed, polled

    def take(self, due: Due, future: Future[tuple[Response, feeds.FeedResult | None]], stamp: float) -> Polled | None:
        """One feed's outcome, recorded: its entries, or None when it failed or had nothing new."""
        feed, row = due.feed, due.row
        self.ctx.report.feeds_polled += 1
        try:
            response, result = future.result()
        except stopping.Stopped:
            return None  # not the feed's failure: the run is stopping
        except (FetchError, FeedError) as exc:
            self._failed(feed, stamp, exc)
            return None
        except StoreError:
            raise  # the archive's disk: the run ends
        except Exception as exc:  # input nobody planned for: this feed's failure, not the run's
            log.debug("unexpected error for feed %s", feed.url, exc_info=True)
            self._failed(feed, stamp, FeedError(feed.url, f"unexpected {type(exc).__name__}: {exc}"))
            return None
        if result is None:
            if not self.ctx.dry_run:
                self.ctx.state.feed_ok(feed.url, response.etag or row.etag, response.last_modified or row.last_modified, row.redirect, stamp)
            self.ctx.report.unchanged += 1
            return None
        if result.warning:
            log.warning("feed %s: %s", label(feed), result.warning)
        for line in result.skipped:
            log.warning("feed %s: skipped: %s", label(feed), line)
        redirect = response.permanent_redirect or (row.redirect if due.url != feed.url else None)
        return Polled(result.entries, response.etag, response.last_modified, redirect)

    def _failed(self, feed: FeedConfig, stamp: float, exc: FetchError | FeedError) -> None:
        self.ctx.report.feeds_failed += 1
        if self.ctx.dry_run:
            self.failed.append(Failed(feed, exc, 0, False))
            return
        gone = isinstance(exc, FetchError) and exc.status == 410
        decision = self.ctx.state.feed_failed(feed.url, str(exc), stamp, self.ctx.config.policy, gone=gone)
        self.failed.append(Failed(feed, exc, decision.failures, decision.report))
        log.info("feed failed feed=%s streak=%d: %s", label(feed), decision.failures, exc)

    def say_failures(self) -> None:
        """The error (or, in a dry run, warning) lines for this pass's failed feeds."""
        offline = bool(self.failed) and len(self.failed) == self.ctx.report.feeds_polled and all(f.unreachable for f in self.failed)
        if self.ctx.dry_run:
            for line in [offline_message(self.failed)] if offline else [f"feed {label(f.feed)} failed: {f.error}" for f in self.failed]:
                log.warning("%s", line)
            return
        if offline:
            if self.interactive or any(f.report for f in self.failed):
                self._error(offline_message(self.failed))
            return
        for f in self.failed:
            if f.gone:
                self._error(f"feed {label(f.feed)} is gone (HTTP 410): it will not be polled again; remove it from {self.ctx.config.path}")
            elif f.report:
                self._error(f"feed {label(f.feed)} failed {f.streak} runs in a row: {f.error}")

    def _error(self, line: str) -> None:
        self.ctx.report.errors.append(line)
        log.error("%s", line)
