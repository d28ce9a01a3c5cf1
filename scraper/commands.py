"""The one-shot commands: print one article's post, rebuild the state, show the state.

Each is one library call for the CLI; they share the stages and storage of ``poll``.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from . import posts
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
    if cna_id(url) is None:
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


def status(config: Config) -> list[str]:
    """Lines describing the state: articles by status, and feeds that are failing."""
    state = State(config.state_path, readonly=True)
    try:
        counts = state.counts()
        lines = [f"state {config.state_path}", "articles " + " ".join(f"{k}={counts.get(k, 0)}" for k in ("written", "pending", "failed", "skipped"))]
        for row in state.failed():
            lines.append(f"failed {row.article_id} {row.url} attempts={row.attempts} reason={row.reason}")
        for feed in state.troubled_feeds():
            lines.append(f"feed {feed.url} failures={feed.failures} gone={feed.gone} redirect={feed.redirect or '-'} last_error={feed.last_error or '-'}")
        return lines
    finally:
        state.close()
