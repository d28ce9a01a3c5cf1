"""Per-site extractors behind one small interface: page bytes -> Article.

A site module offers ``claims(url, data) -> bool`` (is this page one of mine?) and
``extract(data, url, charset) -> Article``. ``SITES`` lists them, most specific
first; ``generic`` (any news page) comes last and claims everything. Adding a site is
one module here, one line in ``SITES`` and one test. URL and id rules are ``urls``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from ..models import Article
from . import cna, generic


class Site(Protocol):
    def claims(self, url: str, data: bytes) -> bool: ...

    def extract(self, data: bytes, url: str, charset: str | None = None) -> Article: ...


SITES: tuple[Site, ...] = (cna, generic)


def extractor_for(url: str, data: bytes) -> Callable[[bytes, str, str | None], Article]:
    """The extractor of the first site that claims the page."""
    for site in SITES:
        if site.claims(url, data):
            return site.extract
    return generic.extract
