"""Per-site extractors behind one small interface: page bytes -> Article.

A site module offers ``claims(url, data) -> bool`` (is this page one of mine?) and
``extract(data, url, charset) -> Article``. ``SITES`` lists them, most specific
first; ``generic`` (any news page) comes last and claims everything. Adding a site is
one module here, one line in ``SITES`` and one test. URL and id rules are ``urls``'s.
"""

from __future__ import annotations

from typing import Protocol

from ...models import Article
from . import cna, generic


class Site(Protocol):
    def claims(self, url: str, data: bytes) -> bool: ...

    def extract(self, data: bytes, url: str, charset: str | None = None) -> Article: ...


SITES: tuple[Site, ...] = (cna, generic)


def site_for(url: str, data: bytes, *, any_site: bool) -> Site:
    """The one rule that says which site's extractor reads a page: a page of CNA's own
    feeds and backfills is always CNA's; one that may be of ``any_site`` (a feed with a
    ``site:`` of its own, ``scraper fetch``) is the first site's that claims it
    (``generic`` claims every page)."""
    if not any_site:
        return cna
    return next((site for site in SITES if site.claims(url, data)), generic)
