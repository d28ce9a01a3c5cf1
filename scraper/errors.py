"""The exceptions the scraper raises on purpose, and what each one means.

Everything a user can cause or meet is a ``ScraperError``; the CLI turns each into
one line on standard error. Behaviour hangs on the class and its fields, never on
the wording of a message::

    ScraperError                 every foreseeable failure
    ├── ConfigError              feeds.yaml or the command line is wrong          exit 2
    ├── AlreadyRunning           another run holds the output folder's lock       exit 3
    ├── StoreError               output folder or state database unusable         exit 4, ends a run
    ├── FeedError                a feed's bytes hold no usable items
    ├── FetchError               a URL could not be fetched: .url .reason .status .transient .unreachable
    │   ├── RetryLater           the host asked for a pause (429/503, Retry-After): .retry_after
    │   ├── OffSite              a redirect to a host we do not fetch from
    │   └── RobotsDenied         robots.txt disallows the URL for our User-Agent
    └── ExtractError             a page could not be turned into an article: .url .reason
        ├── NotAnArticle         no article at all (CNA's not-found page, a hub, no text)
        └── LayoutChanged        looks like an article, but the expected skeleton is missing

Per item (one feed, one article) any of these becomes that item's outcome (for an
article, ``outcomes.after_error`` decides which) and the run goes on; only ``StoreError``
and ``AlreadyRunning`` end a run. ``outcomes.EXITS`` maps them to exit statuses.
"""

from __future__ import annotations

import errno

_OS_REASONS = {errno.ENOSPC: "disk full", errno.EROFS: "read-only file system", errno.EACCES: "permission denied", errno.EDQUOT: "disk quota exceeded"}


def os_reason(exc: OSError) -> str:
    """What an OSError means to a user: "disk full" rather than "[Errno 28] …"."""
    return _OS_REASONS.get(exc.errno or 0, exc.strerror or str(exc))


class ScraperError(Exception):
    """Base of every foreseeable failure."""


class ConfigError(ScraperError):
    """``feeds.yaml`` (or a command-line value) is wrong; names the file and key."""


class AlreadyRunning(ScraperError):
    """Another run holds the lock of this output folder."""


class StoreError(ScraperError):
    """The output folder or the state database cannot be used."""


class FeedError(ScraperError):
    """A feed's bytes hold no usable items."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class FetchError(ScraperError):
    """A URL could not be fetched: network, HTTP status, size or time limits.

    ``status`` is the HTTP status when the server answered one; ``transient`` says a
    later try may succeed (network trouble, 5xx, time limits).
    """

    def __init__(self, url: str, reason: str, *, status: int | None = None, transient: bool = False) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status
        self.transient = transient

    @property
    def gone(self) -> bool:
        """The server says the resource is no more (404 or 410)."""
        return self.status in (404, 410)

    @property
    def unreachable(self) -> bool:
        """No answer from the server at all: DNS, a refused or reset connection, a timeout."""
        return self.status is None and self.transient


class RetryLater(FetchError):
    """The server asked us to come back later (429/503 with ``Retry-After``)."""

    def __init__(self, url: str, reason: str, retry_after: float, *, status: int | None = None) -> None:
        super().__init__(url, reason, status=status, transient=True)
        self.retry_after = retry_after

    @property
    def unreachable(self) -> bool:
        return False  # a pause the host asked for (perhaps in an earlier run), not silence


class OffSite(FetchError):
    """A redirect to a host we do not fetch articles from (another CNA site, YouTube)."""


class Refused(FetchError):
    """A URL learned from outside content leads to an address that is not public
    (loopback, private, link-local…): never fetched, never retried."""


class RobotsDenied(FetchError):
    """The site's robots.txt disallows the URL for our User-Agent."""


class ExtractError(ScraperError):
    """A page could not be turned into an article."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class NotAnArticle(ExtractError):
    """The page is no article at all (CNA's not-found page served as 200, a hub, no text).

    A feed's item that gives one is a failed attempt, tried again on its backoff and given
    up on after ``max_attempts``; a backfill walk counts it as a miss.
    """


class LayoutChanged(ExtractError):
    """The page looks like an article, but the expected skeleton is missing.

    ``field`` names the part that was not found: ``title``, ``time`` or ``body``.
    """

    def __init__(self, url: str, reason: str, *, field: str = "body") -> None:
        super().__init__(url, reason)
        self.field = field
