"""The imperative shell shared by poll and backfill: from a job to a written post.

A ScraperError, or any other exception, raised for one article becomes that article's
outcome (``outcomes.after_error`` decides which; an unexpected one is logged with its
traceback at debug level and one error line), counts toward ``max_attempts`` like any
failure, and the run goes on. Only a StoreError (the output or the state is unusable)
ends a run. Every outcome ``finish`` returns is an ``outcomes.Outcome``: written, known,
not-wanted, skipped, failed, gave-up, deferred, miss or stopped.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from . import outcomes, schedule
from .articles.fetch import Fetched, allowed_hosts, fetch_one
from .errors import RetryLater, StoreError
from .models import Article, Extractor, Job, Status
from .net.robots import Robots
from .net.urls import by_host_in_turn, host_of
from .outcomes import Decision, Outcome
from .run import Run
from .site.postfiles import PostFiles
from .store.state import State

log = logging.getLogger(__name__)
LAYOUT_NOTICE = "layout-changed"


def write_post(state: State, files: PostFiles, job: Job, fetched: Fetched, now: float) -> str | None:
    """Write the post unless its article is written already; returns the file's path
    relative to the output folder, or None when nothing was written.

    The state's write lock is held from the check to the record, so a poll and a
    backfill never both write one article. A file already holding the article (a run
    killed between writing and recording) is adopted, not written twice; an existing
    file is never replaced.
    """
    post = fetched.post
    with state.transaction():
        row = state.article(post.article_id)
        if row is not None and row.status == Status.WRITTEN:
            return None
        name = files.existing(post)
        if name is not None:
            log.info("adopted id=%s path=%s (written by an earlier run that was stopped)", post.article_id, name)
            rel = str((files.posts_dir / name).relative_to(files.output))
            state.record_written(dataclasses.replace(job, article_id=post.article_id), url=post.url, path=rel, sha=None, extractor=fetched.extractor, now=now)
            return None
        name = files.free_name(post)
        rel = files.write(name, post.text)
        files.wrote(name, post.article_id)
        sha = hashlib.sha256(post.text.encode("utf-8")).hexdigest()
        state.record_written(dataclasses.replace(job, article_id=post.article_id), url=post.url, path=rel, sha=sha, extractor=fetched.extractor, now=now)
        return rel


class Runner:
    """One pipeline from a job to a written post, for poll and backfill alike."""

    def __init__(self, ctx: Run, *, include_truncated: bool = False) -> None:
        assert ctx.http is not None, "a runner fetches"
        self.ctx = ctx
        self.http = ctx.http
        self.robots = Robots(ctx.http)
        self.include_truncated = include_truncated
        self.robots_denied: dict[str, int] = {}
        self.unfinished: list[str] = []  # "URL: reason" of each article failed or put off this run
        self.keep: Callable[[Article], bool] | None = None  # articles not kept are neither written nor recorded

    def run(self, jobs: Iterable[Job], on_done: Callable[[Job, Outcome], None] | None = None) -> None:
        """Fetch jobs concurrently (at most ``max_connections`` in flight, ``max_per_host`` to one
        host: the client's limiter holds the rest), write results in this thread."""
        ordered = by_host_in_turn(jobs, lambda job: job.url)
        # No more workers than the hosts can keep busy: more would only hold pages in memory.
        busy = len({host_of(job.url) for job in ordered})
        workers = max(1, min(self.ctx.config.http.max_connections, self.ctx.config.http.max_per_host * max(1, busy)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
            pending: dict[Future[Fetched], Job] = {}
            it = iter(ordered)
            exhausted = False
            while True:
                while not exhausted and not self.ctx.stop and len(pending) < workers:
                    job = next(it, None)
                    if job is None:
                        exhausted = True
                        break
                    hosts = allowed_hosts(job.url, self.ctx.config)
                    photos = self.ctx.photos if self.ctx.config.photos_for(job.source) == "mirror" else None
                    zoned = dataclasses.replace(job, timezone=self.ctx.config.timezone_for(job.source))
                    pending[pool.submit(fetch_one, self.http, self.robots, zoned, self.ctx.config.site, hosts, photos, self.ctx.config.rules_for(job.source))] = job
                if self.ctx.stop:  # jobs not started yet stay pending for the next run
                    for future in [f for f in pending if f.cancel()]:
                        del pending[future]
                if not pending:
                    break
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for future in done:
                    job = pending.pop(future)
                    outcome = self.finish(job, future)
                    if on_done:
                        on_done(job, outcome)

    def finish(self, job: Job, future: Future[Fetched]) -> Outcome:
        """Record one job's result: the decision ``outcomes`` makes of it, applied."""
        try:
            fetched = future.result()
        except StoreError:
            raise  # the output or the state is unusable: the run ends, the article stays pending
        except Exception as exc:
            return self._apply(job, outcomes.after_error(job, exc), exc)
        return self._record(job, fetched)

    def _apply(self, job: Job, decision: Decision, exc: Exception) -> Outcome:
        """A failed fetch's decision, recorded and said."""
        outcome, reason = decision.outcome, decision.reason
        if outcome is Outcome.STOPPED:
            log.info("stopped id=%s url=%s: left for the next run", job.article_id, job.url)
        elif outcome is Outcome.DEFERRED:
            return self._deferred(job, exc)
        elif decision.unexpected:  # a bug, or input nobody planned for: this article's failure, not the run's
            log.debug("unexpected error for id=%s url=%s", job.article_id, job.url, exc_info=exc)
            log.error("article %s (%s): unexpected %s: %s", job.article_id, job.url, type(exc).__name__, exc)
        elif decision.refused:  # an address outside content must not reach: said once, never retried
            log.warning("refused id=%s url=%s: %s", job.article_id, job.url, reason.removeprefix("refused: "))
        if decision.robots_host is not None:
            self.robots_denied[decision.robots_host] = self.robots_denied.get(decision.robots_host, 0) + 1
        if outcome is Outcome.SKIPPED:
            return self._skipped(job, reason)
        if outcome is Outcome.FAILED:
            return self._failed(job, reason)
        return outcome

    def _record(self, job: Job, fetched: Fetched) -> Outcome:
        now = self.ctx.clock()
        article = fetched.article
        decision = outcomes.after_fetch(article, wanted=self.keep is None or self.keep(article), include_truncated=self.include_truncated)
        if decision.outcome is Outcome.NOT_WANTED:
            log.info("not-wanted id=%s url=%s", article.article_id, article.url)
            return decision.outcome
        self.ctx.report.photos_mirrored += fetched.photos_mirrored
        self.ctx.report.photos_failed += fetched.photos_failed
        if decision.outcome is Outcome.SKIPPED:
            return self._skipped(job, decision.reason)
        if article.article_id != job.article_id:
            alias = self.ctx.state.article(article.article_id)
            self.ctx.state.record_skip(job, f"same article as {article.article_id}", now)
            if alias is not None and alias.status == Status.WRITTEN:
                return Outcome.KNOWN
        path = write_post(self.ctx.state, self.ctx.files, job, fetched, now)
        if path is None:
            return Outcome.KNOWN
        self.ctx.report.written += 1
        log.info("written id=%s path=%s extractor=%s", article.article_id, path, fetched.extractor)
        if fetched.extractor == Extractor.FALLBACK:
            self.ctx.report.fallback += 1
            log.warning("fallback id=%s url=%s path=%s: CNA's extractor: %s; written by the fallback extractor", article.article_id, job.url, path, fetched.why)
        return Outcome.WRITTEN

    def _skipped(self, job: Job, reason: str) -> Outcome:
        self.ctx.state.record_skip(job, reason, self.ctx.clock())
        self.ctx.report.skipped += 1
        log.info("skipped id=%s url=%s reason=%s", job.article_id, job.url, reason)
        return Outcome.SKIPPED

    def _deferred(self, job: Job, exc: Exception) -> Outcome:
        """The host asked for a pause: not the article's fault, no attempt counted, unless
        the pauses have lasted longer than any pause we honour."""
        decision = self.ctx.state.record_deferral(job, self.ctx.clock(), self.ctx.config.policy)
        if decision.counts_as_failure:
            return self._failed(job, f"{exc}; the host has kept asking us to wait")
        self.ctx.report.deferred += 1
        reason = exc.reason if isinstance(exc, RetryLater) else str(exc)
        self.unfinished.append(f"{job.url}: {reason}; tried again on a later run")
        log.info("deferred id=%s reason=%s", job.article_id, reason)
        return Outcome.DEFERRED

    def _failed(self, job: Job, reason: str) -> Outcome:
        attempt = self.ctx.state.record_failure(job, reason, self.ctx.clock(), self.ctx.config.policy)
        if attempt is None:
            return Outcome.KNOWN
        self.ctx.report.failed += 1
        if attempt.final:
            self.ctx.report.gave_up.append(f"{job.url}: gave up after {attempt.attempts} attempts: {reason}")
            log.error("gave up on id=%s after %d attempts: %s", job.article_id, attempt.attempts, reason)
            return Outcome.GAVE_UP
        self.unfinished.append(reason if reason.startswith(job.url) else f"{job.url}: {reason}")
        log.info("failed id=%s (will retry) reason=%s", job.article_id, reason)
        return Outcome.FAILED

    def report_robots(self) -> None:
        """One error line per site whose robots.txt kept articles out this run."""
        for host, count in sorted(self.robots_denied.items()):
            self.ctx.report.errors.append(f"robots.txt of {host} disallows {count} article(s) for our User-Agent; skipped")
            log.error("%s", self.ctx.report.errors[-1])

    def report_fallback(self) -> None:
        """One line when articles were written by the fallback extractor: an error (exit
        status 1) on the first such run and then at most once a day, else at info level."""
        if not self.ctx.report.fallback:
            return
        count = f"{self.ctx.report.fallback} article" + ("" if self.ctx.report.fallback == 1 else "s")
        line = f"CNA's layout changed: {count} written by the fallback extractor; run `scraper check`"
        now = self.ctx.clock()
        if schedule.notice_due(self.ctx.state.notice_said(LAYOUT_NOTICE), now):
            self.ctx.state.record_notice(LAYOUT_NOTICE, now)
            self.ctx.report.errors.append(line)
            log.error("%s", line)
        else:
            log.info("%s (said less than a day ago)", line)
