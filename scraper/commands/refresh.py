"""``scraper refresh``: render written posts again, from the archive or a fresh fetch.

After an extractor fix (the posts the fallback wrote while CNA's layout was unknown),
or when a source corrects an article. A post keeps its file name and URL; its text is
replaced atomically and the state records the new version. A post whose text is not
what this tool last wrote (edited by hand, or written before the state kept a post's
hash) is left alone and reported, unless ``force``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from datetime import time as day_time

from .. import stopping
from ..articles.fetch import allowed_hosts, extract_page, fetch_article
from ..config import Config
from ..errors import ConfigError, FetchError, StoreError
from ..models import Article, Extractor, WrittenRow
from ..net.http import Http
from ..net.robots import Robots
from ..outcomes import Outcome, refresh_error
from ..run import Run, opened
from ..site import posts
from ..site.photos import Photos
from ..site.postfiles import PostChanged
from ..store.archive import latest_responses
from ..store.state import State

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refresh:
    """What a refresh did to one article: its outcome and why."""

    article_id: str
    outcome: Outcome
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.article_id}: {self.reason}" if self.reason else self.article_id


@dataclass
class Refreshed:
    """What a refresh did, article by article."""

    done: list[Refresh] = field(default_factory=list)

    def add(self, article_id: str, outcome: Outcome, reason: str = "") -> None:
        self.done.append(Refresh(article_id, outcome, reason))

    def of(self, *outcomes: Outcome) -> list[Refresh]:
        return [r for r in self.done if r.outcome in outcomes]

    def lines(self, outcome: Outcome) -> list[str]:
        """``id`` (rewritten, unchanged, from_feed) or ``id: reason`` (left alone, failed), as printed."""
        return [str(r) for r in self.of(outcome)]

    @property
    def rewritten(self) -> list[str]:
        return self.lines(Outcome.REWRITTEN)

    @property
    def unchanged(self) -> list[str]:
        return self.lines(Outcome.UNCHANGED)

    @property
    def left_alone(self) -> list[str]:  # edited by hand, or not known to be ours
        return self.lines(Outcome.LEFT_ALONE)

    @property
    def from_feed(self) -> list[str]:  # written from a feed's own text: no page to render
        return self.lines(Outcome.FROM_FEED)

    @property
    def failed(self) -> list[str]:
        return self.lines(Outcome.FAILED)

    @property
    def ok(self) -> bool:
        return not self.of(Outcome.FAILED, Outcome.LEFT_ALONE)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Refresher:
    """Renders chosen written articles again through the same extractors and writer as ``poll``."""

    def __init__(self, ctx: Run, *, force: bool = False) -> None:
        self.ctx = ctx
        self.robots = Robots(ctx.http) if ctx.http is not None else None  # no client: from the archive, no request at all
        self.force = force
        self.done = Refreshed()

    def run(self, rows: list[WrittenRow]) -> Refreshed:
        return self._run(rows)

    def _run(self, rows: list[WrittenRow]) -> Refreshed:
        pages = latest_responses(self.ctx.config.archive, [u for r in rows for u in (r.job.url, r.canonical) if u]) if self.ctx.http is None and self.ctx.config.archive else {}
        for row in rows:
            if stopping.requested():
                break  # the rest stay as they are; main says the run was stopped
            try:
                self.one(row, pages)
            except StoreError:
                raise
            except Exception as exc:  # any other: this post's failure, not the command's
                decision = refresh_error(row.job.article_id, exc)
                if decision.outcome is Outcome.STOPPED:
                    break  # abandoned for the stop: this post stays as it is
                if decision.unexpected:
                    log.debug("unexpected error refreshing id=%s", row.job.article_id, exc_info=exc)
                else:
                    log.info("refresh failed id=%s: %s", row.job.article_id, exc)
                self.done.add(row.job.article_id, decision.outcome, decision.reason)
        return self.done

    def _article(self, row: WrittenRow, pages: dict[str, bytes]) -> tuple[Article, Extractor, str | None]:
        job = dataclasses.replace(row.job, timezone=self.ctx.config.timezone_for(row.job.source))
        if self.ctx.http is None:
            for url in (job.url, row.canonical):
                if url and url in pages:
                    return extract_page(job, url, pages[url], None, self.ctx.config.rules_for(job.source))
            raise FetchError(job.url, "not in the archive")
        assert self.robots is not None
        return fetch_article(self.ctx.http, self.robots, job, allowed_hosts(job.url, self.ctx.config), self.ctx.config.rules_for(job.source))

    def one(self, row: WrittenRow, pages: dict[str, bytes]) -> None:
        aid = row.job.article_id
        if row.extractor == Extractor.FEED or self.ctx.config.content_for(row.job.source) == "feed":
            # Its text came from the feed item (content: feed); its page is never fetched.
            self.done.add(aid, Outcome.FROM_FEED)
            return
        current = self.ctx.files.read(row.path)
        if current is None:
            self.done.add(aid, Outcome.FAILED, f"{row.path} is gone")
            return
        if not self.force and (row.sha is None or sha(current) != row.sha):
            self.done.add(aid, Outcome.LEFT_ALONE, f"{row.path} is not as this tool last wrote it (edited by hand?); --force rewrites it")
            return
        article, extractor, _why = self._article(row, pages)
        when = row.job.published or article.published
        if self.ctx.config.photos_for(row.job.source) == "mirror" and when is not None:
            article = _relinked(article, self.ctx.photos, when)
        text = posts.build(article, site=row.job.site or self.ctx.config.site, date=row.job.published, author=row.job.author).text
        if text == current:
            self.done.add(aid, Outcome.UNCHANGED)
            self.ctx.state.record_refreshed(aid, sha=sha(text), extractor=extractor, now=self.ctx.clock())
            return
        try:
            self.ctx.files.rewrite(row.path, text, was=None if self.force else current)
        except PostChanged as exc:
            self.done.add(aid, Outcome.LEFT_ALONE, f"{exc} (edited by hand while refresh ran?); --force rewrites it")
            return
        self.ctx.state.record_refreshed(aid, sha=sha(text), extractor=extractor, now=self.ctx.clock())
        self.done.add(aid, Outcome.REWRITTEN)
        log.info("refreshed id=%s path=%s extractor=%s", aid, row.path, extractor)


def _relinked(article: Article, photos: Photos, when: datetime) -> Article:
    """Photos point at their local copies again; with no client, nothing is fetched."""
    return dataclasses.replace(article, body_html=photos.mirror(article.body_html, when).body_html)


def day_bounds(since: date | None, until: date | None, zone: tzinfo) -> tuple[str | None, str | None]:
    """Days of ``zone`` as UTC instants, ``YYYY-MM-DD HH:MM:SS``: from the start of ``since``
    up to (not including) the start of the day after ``until``."""

    def start(day: date) -> str:
        return datetime.combine(day, day_time.min, zone).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")

    return (start(since) if since else None, start(until + timedelta(days=1)) if until else None)


def choose(state: State, *, ids: list[str], since: date | None, until: date | None, fallback: bool, zone: tzinfo = UTC) -> list[WrittenRow]:
    if not ids and since is None and not fallback:
        raise ConfigError("refresh needs --fallback, --ids ID... or --since DATE")
    start, end = day_bounds(since, until, zone)
    return state.written(ids=ids, extractor=Extractor.FALLBACK if fallback else None, since=start, until=end)


def refresh(
    config: Config,
    *,
    ids: list[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    fallback: bool = False,
    from_archive: bool = False,
    force: bool = False,
    http: Http | None = None,
) -> Refreshed:
    """Render the chosen written articles again; see the module's docstring."""
    if from_archive and config.archive is None:
        raise ConfigError("--from-archive needs an archive (archive: in feeds.yaml, or --archive DIR)")
    with opened(config, "refresh", network=not from_archive, http=None if from_archive else http) as run:
        rows = choose(run.state, ids=ids or [], since=since, until=until, fallback=fallback, zone=config.zone)
        done = Refresher(run, force=force).run(rows)
        for aid in dict.fromkeys(ids or []):
            if aid not in {r.job.article_id for r in rows}:
                done.add(aid, Outcome.FAILED, "no written article has this id")
        return done
