"""The exceptions the scraper raises on purpose.

Everything a user can cause or meet (a bad config file, a dead network, a page that
is not an article) is a ``ScraperError``; the CLI turns each into one line on
standard error. Any other exception is a bug and is allowed to propagate.
"""

from __future__ import annotations


class ScraperError(Exception):
    """Base of every foreseeable failure."""


class ConfigError(ScraperError):
    """``feeds.yaml`` (or a command-line override) is wrong; names the file and key."""


class FetchError(ScraperError):
    """A URL could not be fetched: network, HTTP status, size or time limits."""

    def __init__(self, url: str, reason: str, *, transient: bool = False) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.transient = transient


class RetryLater(FetchError):
    """The server asked us to come back later (429/503 with ``Retry-After``)."""

    def __init__(self, url: str, reason: str, retry_after: float) -> None:
        super().__init__(url, reason, transient=True)
        self.retry_after = retry_after


class OffSite(FetchError):
    """A redirect to a host we do not fetch articles from (another CNA site, YouTube)."""


class FeedError(ScraperError):
    """A feed's bytes hold no usable items."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class ExtractError(ScraperError):
    """A page could not be turned into an article."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class NotAnArticle(ExtractError):
    """The page is no article at all (CNA's 404 page, a newsletter hub)."""


class LayoutChanged(ExtractError):
    """The page looks like an article but the expected skeleton is missing."""


class StoreError(ScraperError):
    """The output folder or the state database cannot be used."""


class AlreadyRunning(ScraperError):
    """Another run holds the lock for this output folder."""
