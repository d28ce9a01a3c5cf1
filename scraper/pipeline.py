"""The imperative shell: poll feeds, fetch pages, write posts.

This is the one place that catches per-item errors: a ScraperError for one feed or
one article is logged once and the run goes on; anything else is a bug and
propagates. Pure stages (feeds, sites.cna, posts) are called from here; I/O goes
through http and store.
"""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from . import feeds, posts
from .config import Config, FeedConfig
from .errors import ExtractError, FeedError, FetchError, NotAnArticle, OffSite, RetryLater
from .http import Http
from .models import Article, FeedEntry, Post, RunReport
from .sites import cna, extractor_for, generic
from .store import Store
from .urls import host_of

log = logging.getLogger(__name__)
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"


@dataclass(frozen=True)
class Job:
    """One article to fetch: where, which id, and the date the feed gave it."""

    article_id: str
    url: str
    published: datetime | None
    allowed_hosts: frozenset[str]
    walk: bool = False  # a guessed id of a backfill walk: a 404 is a miss, not a failure
    site: str | None = None  # the feed's own site name; None: the config's
    author: str | None = None  # the item's author
    title: str | None = None  # the item's title (content: feed)
    content: str | None = None  # the item's full text: written as it is, no page fetched


@dataclass(frozen=True)
class Fetched:
    job: Job
    article: Article
    post: Post


def fetch_article(http: Http, job: Job) -> Article:
    if not http.allowed_by_robots(job.url):
        raise NotAnArticle(job.url, "robots.txt disallows it for our User-Agent")
    try:
        response = http.get(job.url, allowed_hosts=job.allowed_hosts, accept="text/html,application/xhtml+xml")
    except OffSite as exc:
        raise NotAnArticle(job.url, exc.reason) from exc
    if host_of(response.url) not in job.allowed_hosts:
        raise NotAnArticle(job.url, f"redirected to {response.url}, which is not a site we fetch from")
    # A CNA feed or a backfill asks for CNA articles; a feed with its own site may hold any.
    extract = extractor_for(response.url, response.content) if job.site is not None else cna.extract
    article = extract(response.content, response.url, response.charset)
    if extract is not cna.extract:
        # Other sites: the post links the item's own link, as the mirror did (query kept).
        article = dataclasses.replace(article, article_id=job.article_id, url=job.url)
    elif article.article_id != job.article_id:
        log.info("id-changed url=%s canonical=%s", job.url, article.url)
    return article


def fetch_one(http: Http, job: Job, site: str) -> Fetched:
    if job.content is not None:
        article = generic.from_feed(job.article_id, job.url, job.title or "", job.content, job.published)
    else:
        article = fetch_article(http, job)
    post = posts.build(article, site=job.site or site, date=job.published, author=job.author)
    return Fetched(job, article, post)


class Stop:
    """Set by Ctrl-C (SIGINT) or SIGTERM: finish the articles in flight, then stop."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __bool__(self) -> bool:
        return self.event.is_set()

    @contextmanager
    def installed(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: object) -> None:
            if self.event.is_set():
                raise KeyboardInterrupt
            log.warning("stopping after the articles in flight (press Ctrl-C again to abort)")
            self.event.set()

        old_int = signal.signal(signal.SIGINT, handler)
        old_term = signal.signal(signal.SIGTERM, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, old_int)
            signal.signal(signal.SIGTERM, old_term)


class Runner:
    """Shared by poll and backfill: one pipeline from a job to a written post."""

    def __init__(self, config: Config, store: Store, http: Http, report: RunReport, *, include_truncated: bool = False, now: Callable[[], float]) -> None:
        self.config = config
        self.store = store
        self.http = http
        self.report = report
        self.include_truncated = include_truncated
        self.now = now
        self.stop = Stop()

    def run(self, jobs: Iterable[Job], on_done: Callable[[Job, str], None] | None = None) -> None:
        """Fetch jobs concurrently (at most max_per_host in flight), write results in this thread."""
        workers = max(1, self.config.http.max_per_host)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
            pending: dict[Future[Fetched], Job] = {}
            it = iter(jobs)
            exhausted = False
            while True:
                while not exhausted and not self.stop and len(pending) < workers * 2:
                    job = next(it, None)
                    if job is None:
                        exhausted = True
                        break
                    pending[pool.submit(fetch_one, self.http, job, self.config.site)] = job
                if not pending:
                    break
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for future in done:
                    job = pending.pop(future)
                    outcome = self.finish(job, future)
                    if on_done:
                        on_done(job, outcome)

    def finish(self, job: Job, future: Future[Fetched]) -> str:
        """Record one job's result; returns written | skipped | failed | gave-up | known."""
        now = self.now()
        try:
            fetched = future.result()
        except RetryLater as exc:
            # The host asked for a pause: not the article's fault, no attempt counted.
            log.info("deferred id=%s reason=%s", job.article_id, exc.reason)
            return "deferred"
        except (NotAnArticle, FetchError) as exc:
            if job.walk and _is_miss(exc):
                return "miss"  # nothing recorded: the walk's finished day remembers it
            if not isinstance(exc, NotAnArticle):
                return self._failed(job, str(exc))
            self._remember(job, now)
            self.store.record_skip(job.article_id, exc.reason, now)
            self.report.skipped += 1
            log.info("skipped id=%s url=%s reason=%s", job.article_id, job.url, exc.reason)
            return "skipped"
        except ExtractError as exc:
            return self._failed(job, str(exc))
        article = fetched.article
        if article.truncated and not self.include_truncated:
            self._remember(job, now)
            self.store.record_skip(job.article_id, "truncated by CNA (已過查詢時效)", now)
            self.report.skipped += 1
            log.info("skipped id=%s reason=truncated", job.article_id)
            return "skipped"
        if article.article_id != job.article_id and self.store.status(article.article_id) == "written":
            self.store.record_skip(job.article_id, f"same article as {article.article_id}", now)
            return "known"
        if article.article_id != job.article_id:
            self.store.remember(article.article_id, article.url, job.published, "alias", now)
            self.store.record_skip(job.article_id, f"same article as {article.article_id}", now)
        # A StoreError here (disk full, read-only) ends the run with exit status 4; the
        # article stays pending and is written by the next run.
        path = self.store.write_post(fetched.post, now)
        if path is None:
            return "known"
        self.report.written += 1
        log.info("written id=%s path=%s", article.article_id, path)
        return "written"

    def _remember(self, job: Job, now: float) -> None:
        """A row for the job's article, so a skip or failure can be recorded (walked ids have none yet)."""
        self.store.remember(job.article_id, job.url, job.published, "walk" if job.walk else "feed", now)

    def _failed(self, job: Job, reason: str) -> str:
        backoff = float(self.config.article_backoff)
        self._remember(job, self.now())
        gave_up = self.store.record_failure(job.article_id, reason, self.now(), self.config.max_attempts, backoff)
        self.report.failed += 1
        if gave_up:
            self.report.gave_up.append(f"{job.url}: gave up after {self.config.max_attempts} attempts: {reason}")
            log.error("gave up on id=%s after %d attempts: %s", job.article_id, self.config.max_attempts, reason)
            return "gave-up"
        log.info("failed id=%s (will retry) reason=%s", job.article_id, reason)
        return "failed"


def _is_miss(exc: Exception) -> bool:
    """A walked id that holds nothing: HTTP 404, or CNA's not-found page / a hub served as 200."""
    if isinstance(exc, NotAnArticle):
        return not exc.reason.startswith(("robots.txt", "redirect"))
    return isinstance(exc, FetchError) and exc.reason in ("HTTP 404", "HTTP 410")


def open_store(config: Config, now: float) -> Store:
    store = Store(config.output, config.state_path)
    if store.is_empty() and store.has_posts():
        recorded, _ = store.reindex(now)
        log.warning("state was empty but %s holds posts: recorded %d of them, none will be written again", store.posts_dir, recorded)
    return store


@dataclass(frozen=True)
class Polled:
    """A feed's fresh entries and what to remember about the response."""

    entries: tuple[FeedEntry, ...]
    final_url: str
    etag: str | None
    last_modified: str | None
    redirect: str | None


def poll_feed(http: Http, store: Store, feed: FeedConfig, config: Config, report: RunReport, now: datetime, dry_run: bool) -> Polled | None:
    """Fetch and parse one feed; None when it failed, is backing off, or had nothing new (304)."""
    stamp = now.timestamp()
    state = store.feed(feed.url)
    if state.gone:
        log.info("feed-gone url=%s (HTTP 410 earlier; remove it from %s)", feed.url, config.path)
        return None
    if state.next_attempt > stamp:
        log.info("feed-backoff url=%s until=%s", feed.url, datetime.fromtimestamp(state.next_attempt, UTC).isoformat())
        return None
    # A permanent redirect seen on three polls in a row is followed directly from then on.
    url = state.redirect if state.redirect and state.redirect_seen >= 3 else feed.url
    report.feeds_polled += 1
    try:
        response = http.get(url, etag=state.etag, last_modified=state.last_modified, accept=FEED_ACCEPT)
        if response.status == 304:
            if not dry_run:
                store.feed_ok(feed.url, response.etag or state.etag, response.last_modified or state.last_modified, state.redirect, stamp)
            report.unchanged += 1
            return None
        result = feeds.parse(response.content, response.url, now, response.headers.get("content-type"), any_site=feed.site is not None)
    except (FetchError, FeedError) as exc:
        report.feeds_failed += 1
        if dry_run:
            log.warning("feed failed url=%s: %s", feed.url, exc)
            return None
        gone = isinstance(exc, FetchError) and exc.reason.startswith("HTTP 410")
        streak = store.feed_failed(feed.url, str(exc), stamp, config.feed_backoff, gone)
        if gone:
            report.errors.append(f"feed {feed.name} ({feed.url}) is gone (HTTP 410): it will not be polled again; remove it from {config.path}")
            log.error("%s", report.errors[-1])
        elif streak >= config.report_after:
            report.errors.append(f"feed {feed.name} failed {streak} runs in a row: {exc}")
            log.error("%s", report.errors[-1])
        else:
            log.info("feed failed url=%s streak=%d: %s", feed.url, streak, exc)
        return None
    if result.warning:
        log.warning("feed %s (%s): %s", feed.name, feed.url, result.warning)
    for line in result.skipped:
        log.warning("feed %s: skipped: %s", feed.name, line)
    redirect = response.permanent_redirect or (state.redirect if url != feed.url else None)
    return Polled(result.entries, response.url, response.etag, response.last_modified, redirect)


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
    store = open_store(config, clock())
    own_http = http is None
    http = http or Http(config.http)
    try:
        with store.lock("poll"):
            if retry_failed and not dry_run:
                log.info("retry-failed articles=%d", store.retry_failed())
            http.limiter.blocked_until.update(store.host_blocks(clock()))
            listed: set[str] = set()
            for feed in config.feeds:
                polled = poll_feed(http, store, feed, config, report, datetime.fromtimestamp(clock(), UTC), dry_run)
                if polled is None:
                    continue
                known = store.known([e.article_id for e in polled.entries])
                fresh = [e for e in polled.entries if e.article_id not in known and e.article_id not in listed]
                if not dry_run:
                    # A feed that re-issues GUIDs would fool a reader keyed on them; identity here is the link.
                    for article_id, old in store.changed_guids([(e.article_id, e.guid) for e in polled.entries if e.guid and e.article_id in known]):
                        log.warning("feed %s: the GUID of %s changed (was %r); it is the same item, not written again", feed.name, article_id, old)
                listed.update(e.article_id for e in fresh)
                if dry_run:
                    for entry in fresh:
                        out(f"would write {entry.article_id} {entry.url} {entry.title}")
                    continue
                with store.transaction():
                    # Remembered before the feed's ETag is saved: a crash now loses nothing.
                    for entry in fresh:
                        store.remember(
                            entry.article_id,
                            entry.url,
                            entry.published,
                            feed.url,
                            clock(),
                            site=feed.site,
                            author=entry.author,
                            title=entry.title,
                            content=entry.content if feed.content == "feed" else None,
                            guid=entry.guid,
                        )
                new_state = store.feed_ok(feed.url, polled.etag, polled.last_modified, polled.redirect, clock())
                if polled.redirect and new_state.redirect_seen == 3:
                    log.warning("feed %s moved permanently to %s; update %s", feed.url, polled.redirect, config.path)
            if dry_run:
                return report
            jobs = [Job(p.article_id, p.url, p.published, allowed_hosts(p.url, config), False, p.site, p.author, p.title, p.content) for p in store.due(clock())]
            runner = Runner(config, store, http, report, now=clock)
            with runner.stop.installed():
                runner.run(jobs)
            store.save_host_blocks(dict(http.limiter.blocked_until))
    finally:
        if own_http:
            http.close()
        store.close()
    return report


def allowed_hosts(url: str, config: Config) -> frozenset[str]:
    """Where an article fetch may be redirected: CNA, and the host of the link or its feeds."""
    return frozenset(cna.HOSTS | {host_of(url)} | {host_of(f.url) for f in config.feeds})


def reindex(config: Config) -> tuple[int, list[str]]:
    """Rebuild the state from the posts already in ``<output>/_posts``."""
    store = Store(config.output, config.state_path)
    try:
        return store.reindex(time.time())
    finally:
        store.close()


def status(config: Config) -> list[str]:
    """Lines describing the state: articles by status, and feeds that are failing."""
    store = Store(config.output, config.state_path)
    try:
        counts = store.counts()
        lines = [f"state {config.state_path}", "articles " + " ".join(f"{k}={counts.get(k, 0)}" for k in ("written", "pending", "failed", "skipped"))]
        for row in store.db.execute("SELECT id, url, attempts, reason FROM articles WHERE status = 'failed' ORDER BY changed DESC LIMIT 20"):
            lines.append(f"failed {row[0]} {row[1]} attempts={row[2]} reason={row[3]}")
        for row in store.db.execute("SELECT url, failures, last_error, gone, redirect FROM feeds WHERE failures > 0 OR gone OR redirect IS NOT NULL"):
            lines.append(f"feed {row[0]} failures={row[1]} gone={bool(row[3])} redirect={row[4] or '-'} last_error={row[2] or '-'}")
        return lines
    finally:
        store.close()
