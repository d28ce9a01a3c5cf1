"""Per-site extractors behind one small interface: page bytes -> Article.

A site module offers ``claims(url, data) -> bool`` (is this page one of mine?) and
``extract(data, url, charset) -> Article``. ``SITES`` lists them, most specific
first; ``generic`` (any news page) comes last and claims everything. Adding a site is
one module here, one line in ``SITES`` and one test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

from ..models import Article
from ..urls import strip_tracking
from . import cna, generic


class Site(Protocol):
    def claims(self, url: str, data: bytes) -> bool: ...

    def extract(self, data: bytes, url: str, charset: str | None = None) -> Article: ...


SITES: tuple[Site, ...] = (cna, generic)  # type: ignore[assignment]


def extractor_for(url: str, data: bytes) -> Callable[[bytes, str, str | None], Article]:
    """The extractor of the first site that claims the page."""
    for site in SITES:
        if site.claims(url, data):
            return site.extract
    return generic.extract


def identity(url: str) -> str:
    """An article's identity from its URL: CNA's 12-digit id, else a hash of the link
    without tracking parameters and fragment (12 hex digits, safe in a file name)."""
    return cna.article_id(url) or digest(normalise(url))


def normalise(url: str) -> str:
    """The link as identity: no tracking parameters or fragment, lower-case scheme and host."""
    stripped = strip_tracking(url.strip())
    scheme, _, rest = stripped.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


def digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]
