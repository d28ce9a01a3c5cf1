"""``scraper fetch``: one article, from the network or a saved page, to post text. Writes nothing."""

from __future__ import annotations

from pathlib import Path

from . import posts
from .config import HttpConfig
from .errors import ConfigError, FetchError
from .http import Http
from .sites import cna


def fetch_post(url: str, *, html: Path | None, site: str, http_config: HttpConfig | None = None) -> str:
    if cna.article_id(url) is None:
        raise ConfigError(f"{url}: not a CNA article URL (https://www.cna.com.tw/news/<section>/<12-digit id>.aspx)")
    if html is not None:
        try:
            data = html.read_bytes()
        except OSError as exc:
            raise FetchError(str(html), f"cannot read: {exc.strerror}") from exc
        article = cna.extract(data, url)
    else:
        with Http(http_config or HttpConfig()) as http:
            response = http.get(url, allowed_hosts=cna.HOSTS, accept="text/html")
            article = cna.extract(response.content, response.url, response.charset)
    return posts.build(article, site=site).text
