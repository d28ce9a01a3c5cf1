"""The one-shot commands: print one article's post, rebuild the state, show the state.

Each is one library call for the CLI; they share the stages and storage of ``poll``.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from .. import schedule
from ..articles import page
from ..articles.extractors import cna, fallback, pagemeta, site_for
from ..articles.fetch import HTML_ACCEPT, extract_page
from ..config import Config, FeedConfig, HttpConfig
from ..errors import ConfigError, ExtractError, FetchError, NotAnArticle
from ..models import Job, Status
from ..net.robots import Robots
from ..net.urls import CNA_HOSTS, cna_id, host_of, id_in_path, identity, is_web
from ..run import http_client, opened, reindex
from ..site import posts
from ..site.postfiles import read_head
from ..store import stats
from ..store.state import State
from .columns import rows

log = logging.getLogger(__name__)


def _site_named(url: str, final: str, data: bytes, charset: str | None) -> str | None:
    """The name the page gives its site (``og:site_name`` and the like), said as a warning."""
    try:
        names = pagemeta.site_names(page.metas(page.parse(data, final, charset)))
    except ExtractError:
        return None  # the extractor says what is wrong with the page
    if names:
        log.warning("%s: no --site given: the source is named %r, as the page says (og:site_name); use --site NAME to name it otherwise", url, names[0])
    return names[0] if names else None


def fetch_post(
    url: str,
    *,
    html: Path | None,
    site: str,
    http_config: HttpConfig | None = None,
    archive: Path | None = None,
    own_site: str | None = None,
    sites: dict[str, str] | None = None,
    feeds: tuple[FeedConfig, ...] = (),
) -> str:
    """The post text for one article of any site, from ``html`` or the network; writes nothing.

    CNA's pages (by their URL or their canonical link) go to CNA's extractor, with its
    fallback; any other page to the general one. ``own_site`` names the source as a
    feed's ``site:`` does (author, tags, categories); CNA's posts use ``site``. Another
    site's page without ``own_site`` takes the ``site:`` of a feed on its host (``sites``:
    host -> name), else the name the page gives itself (``og:site_name``, with a warning),
    else is refused: it is never labelled as CNA's. Bytes that are no HTML page (a PDF,
    an image) are refused as such.
    """
    sites = sites or {}
    if not is_web(url):
        raise ConfigError(f"{url}: not an http(s) URL")
    if html is not None:
        cap = (http_config or HttpConfig()).max_bytes
        saved = read_head(html, limit=cap + 1)  # a regular file, read with the same cap as a download
        if saved is None:
            raise FetchError(str(html), "cannot read: no such regular file")
        if len(saved) > cap:
            raise FetchError(str(html), f"over the {cap}-byte cap")
        data, final, charset, declared = saved, url, None, None
    else:
        with http_client((http_config or HttpConfig()).naming(url), archive) as http:  # the operator named this URL
            Robots(http).check(url)
            response = http.get(url, allowed_hosts=None if cna_id(url) is None else CNA_HOSTS, accept=HTML_ACCEPT)
            data, final, charset, declared = response.content, response.url, response.charset, response.headers.get("content-type")
    what = page.not_html(data, declared)
    if what is not None:
        raise NotAnArticle(url, f"not an HTML page: {what}")
    if site_for(final, data, any_site=True) is not cna:
        name = own_site or sites.get(host_of(final)) or sites.get(host_of(url)) or _site_named(url, final, data, charset)
        # a feed of feeds.yaml on the page's host: its rules: and timezone:, as a poll reads it
        feed = next((f for f in feeds if f.site and host_of(f.url) in (host_of(final), host_of(url))), None)
        job = Job(article_id=identity(url), url=url, source="fetch", site=name or "-", timezone=feed.timezone if feed else None)
        article, _, _ = extract_page(job, final, data, charset, feed.rules if feed else None)
        text = posts.build(article, site=name or "-").text  # what is wrong with the page is said first
        if name is None:
            raise ConfigError(f"{url}: not a CNA page, and the page names no site (og:site_name): name its source with --site NAME")
        return text
    article, why = fallback.cna_or_fallback(data, final, charset)
    if why is not None:
        log.warning("%s: CNA's extractor could not read this page (%s); the post is the fallback extractor's", url, why)
    wanted = cna_id(url) or id_in_path(url)
    if wanted is not None and article.article_id != wanted:
        log.warning("the page is article %s, not %s as the URL says; the post is the page's article and links %s", article.article_id, wanted, article.url)
    if article.truncated:
        log.warning("%s: CNA truncated this page (已過查詢時效), so the post holds only its opening; poll skips such pages, backfill writes them only with --include-truncated", article.url)
    return posts.build(article, site=site).text


def rebuild(config: Config) -> tuple[int, list[str]]:
    """``scraper reindex``: record the posts already in ``<output>/_posts`` as written."""
    with opened(config, "reindex", network=False) as run:
        return reindex(run.state, run.files, run.clock())


STATUSES = (Status.WRITTEN, Status.PENDING, Status.FAILED, Status.SKIPPED)


def _iso(stamp: float | None) -> str | None:
    return schedule.iso(stamp) if stamp else None


def _feeds_data(config: Config, state: State, now: float) -> list[dict[str, Any]]:
    """Every feed of feeds.yaml, then any feed in trouble that the file no longer lists."""
    out = [
        {
            "name": v.name,
            "url": v.url,
            "state": v.condition,
            "last_success": _iso(v.last_ok),
            "next_check": _iso(v.next_check),  # None: the next run
            "next_attempt": _iso(v.next_check),  # the same; the name of earlier versions
            "items_seen": v.seen,
            "items_written": v.written,
            "failures": v.failures,
            "gone": v.gone,
            "redirect": v.redirect,
            "last_error": v.last_error,
        }
        for v in stats.feed_views(state, config.feeds, now)
    ]
    listed = {f.url for f in config.feeds}
    for f in state.troubled_feeds():
        if f.url not in listed:
            nxt = f.next_attempt if f.next_attempt > now and not f.gone else None
            out.append({"name": None, "url": f.url, "state": "not in feeds.yaml", "last_success": None, "next_check": _iso(nxt), "next_attempt": _iso(nxt), "items_seen": None, "items_written": None,
                        "failures": f.failures, "gone": f.gone, "redirect": f.redirect, "last_error": f.last_error})  # fmt: skip
    return out


def status_data(config: Config, now: float) -> dict[str, Any]:
    """What the state holds, as plain values (``scraper status --json``): articles by status,
    every feed with its last success and next check, the articles pending or given up on
    with their last reason, hosts that asked us to wait. Times are UTC (``…Z``)."""
    with opened(config, "status", network=False) as run:
        state = run.state
        counts = state.counts()
        waiting = stats.waiting(state)
        return {
            "state": str(config.state_path),
            "schema_version": state.version(),
            "timezone": config.timezone,
            "articles": {k: counts.get(k, 0) for k in (*STATUSES, *sorted(set(counts) - set(STATUSES)))},
            "feeds": _feeds_data(config, state, now),
            "failed_articles": [{"id": w.article_id, "url": w.url, "attempts": w.attempts, "reason": w.reason} for w in waiting if w.status == Status.FAILED],
            "pending_articles": [
                {"id": w.article_id, "url": w.url, "attempts": w.attempts, "reason": w.reason, "next_attempt": _iso(w.next_attempt if w.next_attempt > now else None)}
                for w in waiting
                if w.status == Status.PENDING
            ],
            "host_pauses": [{"host": host, "until": schedule.iso(until)} for host, until in sorted(state.host_pauses(now).items())],
        }


def _local(iso: str | None, zone: tzinfo, default: str = "-") -> str:
    """A UTC time of ``status_data`` in the site's zone, to the minute."""
    if iso is None:
        return default
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def status(config: Config, now: float | None = None) -> list[str]:
    """Lines describing the state (``scraper status``): the same facts as ``status_data``,
    times in the site's zone (feeds.yaml ``timezone:``)."""
    data = status_data(config, time.time() if now is None else now)
    zone = config.zone
    lines = [f"state {data['state']} (schema version {data['schema_version']}; times in {config.timezone})", "articles " + " ".join(f"{k}={n}" for k, n in data["articles"].items())]
    table = [["feed", "state", "last success", "next check", "seen", "written", "url"]]
    for f in data["feeds"]:
        seen = "-" if f["items_seen"] is None else str(f["items_seen"])
        written = "-" if f["items_written"] is None else str(f["items_written"])
        nxt = "never (gone)" if f["gone"] else _local(f["next_check"], zone, "next run")
        table.append([f["name"] or "-", f["state"], _local(f["last_success"], zone), nxt, seen, written, f["url"]])
    lines += rows(table)
    for f in data["feeds"]:
        if f["last_error"]:
            lines.append(f"feed {f['name'] or f['url']}: last error: {f['last_error']}" + (f"; moved to {f['redirect']}" if f["redirect"] else ""))
    for row in data["failed_articles"]:
        lines.append(f"failed {row['id']} {row['url']} attempts={row['attempts']} reason={row['reason']}")
    for row in data["pending_articles"]:
        lines.append(f"pending {row['id']} {row['url']} attempts={row['attempts']} next={_local(row['next_attempt'], zone, 'next run')} reason={row['reason'] or 'not fetched yet'}")
    for pause in data["host_pauses"]:
        lines.append(f"host {pause['host']} paused until {_local(pause['until'], zone)}")
    return lines
