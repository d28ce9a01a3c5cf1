"""``scraper poll``: the feeds stage. Read every feed, remember what is new, hand the due
articles to the runner.

Crash-safe order: a feed's new items are remembered (as pending articles) before the
feed's ETag is saved, so a run killed at any point loses nothing. One failing feed,
for whatever reason, is that feed's failure; the others are read all the same.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime

from .. import schedule, stopping
from ..config import Config, FeedConfig
from ..feeds import parse as feeds
from ..feeds.feedpass import FeedPass, Polled, label
from ..models import Job, RunReport, Status
from ..net.http import Http
from ..outcomes import Outcome
from ..run import Run, opened
from ..runner import Runner
from ..site import skeleton
from ..site.photoretry import retry_photos
from ..store import stats
from ..store.state import State

log = logging.getLogger(__name__)
NO_SITE = "no-jekyll-site"
NO_URL = "site-url-empty"  # notice: the site's _config.yml has no url yet
THEN_OWED = "then-owed"  # notice: a stopped run changed posts and left its --then command to the next run


def _save(state: State, feed: FeedConfig, polled: Polled, known: dict[str, Status], fresh: list[Job], now: float, config: Config) -> None:
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


def _corrected(state: State, entries: tuple[Job, ...], known: dict[str, Status]) -> dict[str, str]:
    """Written articles whose title in the feed is no longer the one first seen: a
    correction (CNA re-publishes under the same id, often with （更新）)."""
    titles = state.titles(aid for aid, status in known.items() if status == Status.WRITTEN)
    return {e.article_id: e.title for e in entries if e.title and titles.get(e.article_id, e.title) != e.title}


def _rewrite(run: Run, corrected: dict[str, str]) -> None:
    """``updates: rewrite``: fetch and render the corrected articles again, in place."""
    from .refresh import Refresher

    state, report = run.state, run.report
    done = Refresher(run).run(state.written(ids=list(corrected)))
    for one in done.done:
        if one.outcome is Outcome.FROM_FEED:
            continue  # its page is never fetched: the correction waits
        # Said once: whatever became of it, this correction is not tried again.
        state.set_title(one.article_id, corrected[one.article_id])
        if one.outcome is Outcome.REWRITTEN:
            report.rewritten += 1
            log.info("updated id=%s title=%s", one.article_id, corrected[one.article_id])
        elif one.outcome is Outcome.LEFT_ALONE:
            log.warning("update not written: %s", one)
        elif one.outcome is Outcome.FAILED:
            log.warning("update not written (the first version stays): %s", one)


def _say_no_site(config: Config, state: State, now: float) -> None:
    """Posts into a folder that is no Jekyll site yet: said once for the folder, not every run."""
    if skeleton.missing(config.output) and state.notice_said(NO_SITE) is None:
        log.warning("%s has no _config.yml, so Jekyll will not build it: run `scraper init %s`", config.output, config.output)
        state.record_notice(NO_SITE, now)


def _say_no_url(config: Config, state: State, now: float) -> None:
    """The site's ``url`` still empty: said at most once a day, so a cron poll every few
    minutes mails it daily, not every run."""
    said = state.notice_said(NO_URL)
    if skeleton.site_url(config.output) == "" and (said is None or not 0 <= now - said < 86400):
        skeleton.warn_no_url(config.output)
        state.record_notice(NO_URL, now)


def _as_job(entry: Job, feed: FeedConfig) -> Job:
    """The entry as the job the runner gets: the feed's site, and the text it is written
    from. ``content: feed``: the item's own text (empty when it has none), never a page;
    ``auto``: the item's text when it is the whole article, else the page; ``page``: the page."""
    if feed.content == "feed":
        content: str | None = entry.content or ""
    elif feed.content == "auto" and feeds.is_full_text(entry.content, entry.encoded):
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
    interactive: bool = False,
    http: Http | None = None,
    clock: Callable[[], float] = time.time,
    out: Callable[[str], None] = print,
    report: RunReport | None = None,
    then: str | None = None,
) -> RunReport:
    """One cron pass over every feed of ``config``.

    ``then`` (else the config's ``then:``) is a shell command run after a run that wrote or
    rewrote posts, while the run still holds the folder's lock (see ``run_then``).

    ``interactive``: a person is watching (the CLI passes whether standard error is a
    terminal), so a run that reaches no feed says so at once rather than after
    ``report_after`` runs. ``report`` is filled in as the run goes, so a caller holds
    what was done even when the run ends with an exception.
    """
    started = clock()
    with opened(config, "poll", dry_run=dry_run, http=http, report=report, clock=clock) as run:
        _poll(run, retry_failed=retry_failed, interactive=interactive, out=out, started=started)
        if not dry_run:
            _say_no_url(config, run.state, clock())
            run_then(then or config.then, run.report, config, run.state, clock())
    return run.report


def _poll(run: Run, *, retry_failed: bool, interactive: bool, out: Callable[[str], None], started: float) -> None:
    """The poll inside its run: the feeds, then the due articles, then the totals."""
    config, state, report, clock = run.config, run.state, run.report, run.clock
    assert run.http is not None
    if retry_failed and not run.dry_run:
        log.info("retry-failed articles=%d", state.retry_failed())
    if not run.dry_run:
        _say_no_site(config, state, clock())
        state.clamp_waits(clock(), config.policy)
    run.http.restore_pauses(state.host_pauses(clock()))
    corrected = _read_feeds(FeedPass(run, interactive=interactive, out=out), clock)
    if not run.dry_run:
        runner = Runner(run)
        with run.stop.installed():
            runner.run(state.due(clock()))
            if _mirrors(config) and not run.stop:
                report.photos_updated += retry_photos(state, run.files, run.photos, clock(), started)
        runner.report_robots()
        runner.report_fallback()
        if corrected:
            _rewrite(run, corrected)
        state.save_host_pauses(run.http.pauses())
        report.per_host.update({host: (n, size) for host, (n, size) in run.http.per_host.items()})  # the counts so far, for the totals
        stats.add_totals(state, report, "poll")
    report.state_counts = state.counts()
    report.totals = stats.totals(state, "poll")


def run_then(command: str | None, report: RunReport, config: Config, state: State, now: float) -> None:
    """Run ``command`` through the shell after a run that changed posts, never after one that
    changed nothing. Its output goes where the scraper's goes; a non-zero exit status is one
    error line and makes the run's status 1. The environment names the site
    (``SCRAPER_OUTPUT``) and how many posts changed (``SCRAPER_CHANGED``).

    A run that is stopping (SIGINT, SIGTERM) starts no command: the build is owed, and the
    next run runs it even if it changes nothing; a command cut short by a signal is owed too."""
    owed = state.notice_said(THEN_OWED) is not None
    if not command or not (report.changed_posts or owed):
        return
    if stopping.requested():
        state.record_notice(THEN_OWED, now)
        log.info("then command=%s left for the next run: the run is stopping", command)
        return
    env = {**os.environ, "SCRAPER_OUTPUT": str(config.output), "SCRAPER_CHANGED": str(report.changed_posts)}
    log.info("then command=%s changed=%d%s", command, report.changed_posts, " (owed by a stopped run)" if owed else "")
    try:
        code = stopping.run_child(command, env)
    except OSError as exc:
        code = 127
        log.debug("then: %s", exc)
    if stopping.requested():
        state.record_notice(THEN_OWED, now)
    elif owed:
        state.forget_notice(THEN_OWED)
    report.then_status = code
    if code != 0:
        what = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        line = f"--then command failed ({what}) after {report.changed_posts} posts changed: {command}"
        report.errors.append(line)
        log.error("%s", line)


def _mirrors(config: Config) -> bool:
    return config.photos == "mirror" or any(feed.photos == "mirror" for feed in config.feeds)


def _read_feeds(stage: FeedPass, clock: Callable[[], float]) -> dict[str, str]:
    """Every feed: its new items remembered (or, in a dry run, listed), then its failures
    said. Returns the written articles whose title the feed corrected (``updates: rewrite``)."""
    state, config = stage.ctx.state, stage.ctx.config
    listed: set[str] = set()
    corrected: dict[str, str] = {}
    answered: list[str] = []
    for feed, polled in stage.polled(datetime.fromtimestamp(clock(), UTC)):
        answered.append(feed.url)
        known = state.known(e.article_id for e in polled.entries)
        fresh = [_as_job(e, feed) for e in polled.entries if e.article_id not in known and e.article_id not in listed]
        listed.update(e.article_id for e in fresh)
        _say_content(feed, fresh)
        if stage.ctx.dry_run:
            for job in fresh:
                # Only the feed's own text is known to be written; a page is read first, and the
                # real run skips one that is no article (CNA's truncated pages, a not-found page).
                stage.out(f"{'would write' if job.content is not None else 'would fetch'} {job.article_id} {job.url} {job.title}")
            continue
        if feed.updates == "rewrite":
            corrected.update(_corrected(state, polled.entries, known))
        _save(state, feed, polled, known, fresh, clock(), config)
    if not stage.ctx.dry_run:
        stats.mark_seen(state, answered, clock())
    stage.say_failures()
    return corrected
