"""``scraper backfill``: find historical article URLs and feed them to the one pipeline.

Sources, best first: CNA's news sitemaps (the last days only), a walk of article ids
day by day (``YYYYMMDD`` + a 4-digit serial from 0001, and 5001 up for specials; any
slug serves any id, the page's canonical link gives the real one; a run of
``max_misses`` consecutive misses ends a range), and a list of URLs. Planning is pure;
fetching and writing go through runner.Runner, exactly as for ``poll``.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path

from lxml import etree

from ..config import Config
from ..errors import ConfigError, FetchError
from ..models import Job, RunReport, Status
from ..net.http import Http
from ..net.urls import TAIPEI, cna_page, id_day, id_in_path, section_of
from ..outcomes import Outcome
from ..run import Run, opened
from ..runner import Runner
from ..store import stats
from .progress import DAY_SERIALS, Progress

log = logging.getLogger(__name__)
SERIAL_RANGES = ((1, 5000), (5001, 9999))


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{option} {value!r}: expected a date as YYYY-MM-DD") from None


def days(since: date, until: date) -> list[date]:
    return [since + timedelta(days=i) for i in range((until - since).days + 1)]


def in_range(article_id: str, since: date | None, until: date | None) -> bool:
    day = id_day(article_id)
    if day is None:
        return False
    d = day.date()
    return (since is None or d >= since) and (until is None or d <= until)


def wanted(url: str, categories: tuple[str, ...]) -> bool:
    if not categories:
        return True
    return section_of(url) in categories


def sitemap_urls(data: bytes) -> list[str]:
    """Every ``<loc>`` of a sitemap (namespaces ignored)."""
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True, recover=True))
    except etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    return [el.text.strip() for el in root.iter() if isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1] == "loc" and el.text]


def read_urls(source: str) -> list[str]:
    """Article URLs from a file (``-``: standard input), one a line; ``#`` starts a comment."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the URL list: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 text") from exc
    urls = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if id_in_path(line) is None or not line.startswith(("http://", "https://")):
            raise ConfigError(f"{source}:{number}: {line!r} is not a CNA article URL (…/news/<section>/<12-digit id>.aspx)")
        urls.append(line)
    return urls


class Backfill:
    def __init__(
        self,
        ctx: Run,
        *,
        categories: tuple[str, ...],
        include_truncated: bool,
        max_misses: int,
        out: Callable[[str], None],
        progress: Callable[[Progress, RunReport], None],
    ) -> None:
        self.ctx = ctx
        self.config = ctx.config
        self.state = ctx.state
        self.categories = categories
        self.dry_run = ctx.dry_run
        self.max_misses = max_misses
        self.out = out
        self.show = progress
        self.runner = Runner(ctx, include_truncated=include_truncated)
        if categories:  # a walked id's section is known only from its page
            self.runner.keep = lambda article: wanted(article.url, categories)
        self.progress = Progress(0, "urls", started=time.time())

    def job(self, url: str, *, walk: bool = False) -> Job:
        return Job(article_id=id_in_path(url) or url, url=url, source="walk" if walk else "backfill", walk=walk)

    def _tick(self, job: Job, outcome: Outcome) -> None:
        self.progress.fetched += 1
        self.show(self.progress, self.ctx.report)

    def run_urls(self, urls: list[str]) -> None:
        """Given URLs (list or sitemaps): every one not written yet."""
        known = self.state.known(id_in_path(u) or u for u in urls)
        todo = [u for u in dict.fromkeys(urls) if known.get(id_in_path(u) or u) not in (Status.WRITTEN, Status.SKIPPED) and wanted(u, self.categories)]
        self.progress = Progress(len(todo), "urls", started=time.time())
        if self.dry_run:
            for url in todo:
                self.out(f"would fetch {url}")
            return

        def tick(job: Job, outcome: Outcome) -> None:
            self.progress.done_units += 1
            self._tick(job, outcome)

        self.runner.run((self.job(u) for u in todo), tick)

    def sitemaps(self, since: date, until: date) -> None:
        """The articles of the range that CNA's news sitemaps list (they hold the last days only)."""
        found: list[str] = []
        for sitemap in self.config.backfill.sitemaps:
            try:
                found += sitemap_urls(self.runner.http.get(sitemap, accept="application/xml").content)
            except FetchError as exc:
                log.warning("sitemap %s: %s (the id walk covers its days)", sitemap, exc)
        in_window = [u for u in found if (aid := id_in_path(u)) and in_range(aid, since, until)]
        if in_window:
            self.run_urls(in_window)

    def walk(self, since: date, until: date) -> None:
        """Walk the ids of each day not finished yet."""
        plan = [d for d in days(since, until) if not self.state.day_finished(d.strftime("%Y%m%d"))]
        self.progress = Progress(len(plan), "days", started=time.time())
        for day in plan:
            if self.ctx.stop:
                break
            stamp = day.strftime("%Y%m%d")
            if self.dry_run:
                self.out(f"would walk ids {stamp}0001 onward (and {stamp}5001 onward) until {self.max_misses} misses in a row")
                continue
            walked = [self.walk_range(stamp, lo, hi) for lo, hi in SERIAL_RANGES]  # both ranges, always
            complete = all(walked)
            # A day walked for some sections only is not done: the others are still to fetch.
            if complete and not self.ctx.stop and not self.categories:
                self.state.finish_day(stamp, time.time())
                log.info("day-finished day=%s", stamp)
            self.progress.done_units += 1
            self.progress.partial = 0.0
            self.show(self.progress, self.ctx.report)

    def walk_range(self, stamp: str, lo: int, hi: int) -> bool:
        """Serials lo..hi of one day, in batches, until max_misses in a row. True when the range
        was walked to its end (not stopped, no failure left pending)."""
        misses = 0
        serial = lo
        batch = max(self.config.http.max_per_host * 2, 4)
        pending_failures = False
        while serial <= hi and misses < self.max_misses and not self.ctx.stop:
            serials = list(range(serial, min(serial + batch, hi + 1)))
            serial += len(serials)
            ids = [f"{stamp}{s:04d}" for s in serials]
            known = self.state.known(ids)
            done: dict[str, Outcome] = {i: Outcome.KNOWN for i in ids if known.get(i) in (Status.WRITTEN, Status.SKIPPED)}
            jobs = [self.job(cna_page(i, base=self.config.backfill.base), walk=True) for i in ids if i not in done]

            def record(job: Job, outcome: Outcome, done: dict[str, Outcome] = done) -> None:
                done[job.article_id] = outcome
                self._tick(job, outcome)

            self.runner.run(jobs, record)
            if lo == 1:  # how far into the day, for the estimate (the second range is mostly misses)
                self.progress.partial = (serial - lo) / DAY_SERIALS
                self.show(self.progress, self.ctx.report)
            for i in ids:
                outcome = done.get(i, Outcome.STOPPED)
                if outcome is Outcome.MISS:
                    misses += 1
                else:
                    misses = 0
                    pending_failures = pending_failures or outcome in (Outcome.FAILED, Outcome.DEFERRED, Outcome.STOPPED)
        return not self.ctx.stop and not pending_failures


def _window(since: date | None, until: date | None, urls: str | None, max_misses: int | None = None, zone: tzinfo = TAIPEI) -> date:
    """The last day of the range (today in the site's zone by default), once the options make sense."""
    if max_misses is not None and not 1 <= max_misses <= 100_000:
        raise ConfigError(f"--max-misses {max_misses}: must be from 1 to 100000")
    if since is None and urls is None:
        raise ConfigError("backfill needs --since DATE or --urls FILE")
    if urls is not None and (since is not None or until is not None):
        raise ConfigError("backfill takes --urls FILE or --since DATE [--until DATE], not both: --urls writes the listed articles only, --since walks every article id of its days")
    until = until or datetime.now(zone).date()
    if since is not None and since > until:
        raise ConfigError(f"--since {since} is after --until {until}")
    return until


def backfill(
    config: Config,
    *,
    since: date | None,
    until: date | None,
    urls: str | None = None,
    categories: tuple[str, ...] = (),
    include_truncated: bool = False,
    dry_run: bool = False,
    max_misses: int | None = None,
    use_sitemaps: bool = True,
    out: Callable[[str], None] = print,
    progress: Callable[[Progress, RunReport], None] | None = None,
    http: Http | None = None,
    report: RunReport | None = None,
) -> RunReport:
    """Write every article of the range (or the list) that is not written yet.

    ``report`` is filled in as the run goes (as ``poll``'s is)."""
    until = _window(since, until, urls, max_misses, config.zone)
    url_list = read_urls(urls) if urls else []
    report = report if report is not None else RunReport()
    show = progress or (lambda p, r: None)
    with opened(config, "backfill", dry_run=dry_run, http=http, report=report) as run:
        assert run.http is not None
        if not dry_run:
            run.state.clamp_waits(time.time(), config.policy)
        run.http.restore_pauses(run.state.host_pauses(time.time()))
        job = Backfill(
            run,
            categories=tuple(c.lower() for c in categories),
            include_truncated=include_truncated,
            max_misses=max_misses or config.backfill.max_misses,
            out=out,
            progress=show,
        )
        _run(job, url_list, since, until, use_sitemaps)
        if not dry_run:
            run.state.save_host_pauses(run.http.pauses())
            run.report.per_host.update({host: (n, size) for host, (n, size) in run.http.per_host.items()})  # the counts so far, for the totals
            stats.add_totals(run.state, run.report, "backfill")
        run.report.state_counts = run.state.counts()
        run.report.totals = stats.totals(run.state, "backfill")
    return run.report


def _run(job: Backfill, url_list: list[str], since: date | None, until: date, use_sitemaps: bool) -> None:
    with job.ctx.stop.installed():
        if url_list:
            job.run_urls(url_list)
        if since is not None:
            if use_sitemaps:
                job.sitemaps(since, until)
            job.walk(since, until)
    job.runner.report_robots()
    job.runner.report_fallback()
    # A one-off command says each article it could not write (cron's poll retries quietly):
    # the article stays pending in the state, with its reason, for `status` and the next run.
    for line in job.runner.unfinished:
        job.ctx.report.errors.append(f"backfill: {line}")
        log.error("%s", job.ctx.report.errors[-1])
