"""The one-shot commands: print one article's post, rebuild the state, show the state.

Each is one library call for the CLI; they share the stages and storage of ``poll``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from . import posts, schedule
from .archive import Archive
from .config import Config, HttpConfig
from .errors import ConfigError, FetchError
from .http import Http
from .postfiles import PostFiles
from .runner import HTML_ACCEPT, reindex
from .sites import cna
from .state import State
from .urls import CNA_HOSTS, cna_id

log = logging.getLogger(__name__)


def fetch_post(url: str, *, html: Path | None, site: str, http_config: HttpConfig | None = None, archive: Path | None = None) -> str:
    """The post text for one CNA article, from ``html`` or the network; writes nothing."""
    wanted = cna_id(url)
    if wanted is None:
        raise ConfigError(f"{url}: not a CNA article URL (https://www.cna.com.tw/news/<section>/<12-digit id>.aspx)")
    if html is not None:
        try:
            data = html.read_bytes()
        except OSError as exc:
            raise FetchError(str(html), f"cannot read: {exc.strerror}") from exc
        article = cna.extract(data, url)
    else:
        with Http(http_config or HttpConfig()) as http:
            if archive is not None:
                http.recorder = Archive(archive).record
            response = http.get(url, allowed_hosts=CNA_HOSTS, accept=HTML_ACCEPT)
            article = cna.extract(response.content, response.url, response.charset)
    if article.article_id != wanted:
        log.warning("the page is article %s, not %s as the URL says; the post is the page's article and links %s", article.article_id, wanted, article.url)
    if article.truncated:
        log.warning("%s: CNA truncated this page (已過查詢時效), so the post holds only its opening; poll skips such pages, backfill writes them only with --include-truncated", article.url)
    return posts.build(article, site=site).text


def rebuild(config: Config) -> tuple[int, list[str]]:
    """``scraper reindex``: record the posts already in ``<output>/_posts`` as written."""
    files = PostFiles(config.output)
    with files.lock("poll"):
        state = State(config.state_path)
        try:
            return reindex(state, files, time.time())
        finally:
            state.close()


STATUSES = ("written", "pending", "failed", "skipped")


def status_data(config: Config, now: float) -> dict[str, Any]:
    """What the state holds, as plain values (``scraper status --json``): articles by
    status, the latest failed articles, feeds in trouble, hosts that asked us to wait."""
    state = State(config.state_path, readonly=True)
    try:
        counts = state.counts()
        names = {f.url: f.name for f in config.feeds}
        return {
            "state": str(config.state_path),
            "schema_version": state.version(),
            "articles": {k: counts.get(k, 0) for k in (*STATUSES, *sorted(set(counts) - set(STATUSES)))},
            "failed_articles": [{"id": r.article_id, "url": r.url, "attempts": r.attempts, "reason": r.reason} for r in state.failed()],
            "feeds": [
                {
                    "name": names.get(f.url),
                    "url": f.url,
                    "failures": f.failures,
                    "next_attempt": schedule.iso(f.next_attempt) if f.next_attempt > now and not f.gone else None,
                    "gone": f.gone,
                    "redirect": f.redirect,
                    "last_error": f.last_error,
                }
                for f in state.troubled_feeds()
            ],
            "host_pauses": [{"host": host, "until": schedule.iso(until)} for host, until in sorted(state.host_pauses(now).items())],
        }
    finally:
        state.close()


def status(config: Config, now: float | None = None) -> list[str]:
    """Lines describing the state (``scraper status``): the same facts as ``status_data``."""
    data = status_data(config, time.time() if now is None else now)
    lines = [f"state {data['state']} (schema version {data['schema_version']})", "articles " + " ".join(f"{k}={n}" for k, n in data["articles"].items())]
    for row in data["failed_articles"]:
        lines.append(f"failed {row['id']} {row['url']} attempts={row['attempts']} reason={row['reason']}")
    for feed in data["feeds"]:
        name = f"{feed['name']} ({feed['url']})" if feed["name"] else f"{feed['url']} (not in {config.path.name})"
        lines.append(
            f"feed {name} failures={feed['failures']} next_attempt={feed['next_attempt'] or '-'} gone={feed['gone']} redirect={feed['redirect'] or '-'} last_error={feed['last_error'] or '-'}"
        )
    for pause in data["host_pauses"]:
        lines.append(f"host {pause['host']} paused until {pause['until']}")
    return lines
