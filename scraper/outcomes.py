"""What becomes of one article, and the exit status of a whole run: decided without I/O.

``after_error`` and ``after_fetch`` turn a job and what its fetch gave (an exception, or
an article) into a ``Decision``: an ``Outcome`` and its reason. They read nothing and
write nothing; the runner, backfill and refresh apply the decision to the state and the
report (recording a failure may still turn it into ``GAVE_UP`` or ``KNOWN``). ``EXITS``
is the one table from an exception to the process's exit status.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

from .errors import AlreadyRunning, ConfigError, ExtractError, FetchError, NotAnArticle, OffSite, Refused, RetryLater, RobotsDenied, ScraperError, StoreError
from .models import Article, Job
from .net.urls import host_of
from .stopping import Stopped

TRUNCATED = "truncated by CNA (已過查詢時效)"


class Outcome(StrEnum):
    """What became of one article in one run (poll, backfill) or one refresh."""

    WRITTEN = "written"  # a post was written
    KNOWN = "known"  # written already: by an earlier run, or under another id
    NOT_WANTED = "not-wanted"  # outside the categories a backfill asked for: neither written nor recorded
    SKIPPED = "skipped"  # never written: truncated, refused, off-site, denied by robots.txt
    FAILED = "failed"  # tried again on a later run
    GAVE_UP = "gave-up"  # failed max_attempts times
    DEFERRED = "deferred"  # its host asked us to wait: no attempt counted
    MISS = "miss"  # a backfill walk's id with no article: nothing recorded
    STOPPED = "stopped"  # abandoned for a stop: no attempt counted, left for the next run
    REWRITTEN = "rewritten"  # refresh: the post's text replaced
    UNCHANGED = "unchanged"  # refresh: rendered again to the same text
    LEFT_ALONE = "left-alone"  # refresh: not as this tool last wrote it (edited by hand?)
    FROM_FEED = "from-feed"  # refresh: written from a feed's own text, no page to render


@dataclass(frozen=True)
class Decision:
    """An outcome and its reason, with what the one applying it must say or count."""

    outcome: Outcome
    reason: str = ""
    unexpected: bool = False  # a bug, or input nobody planned for: logged with its traceback
    refused: bool = False  # an address outside content must not reach: one warning line
    robots_host: str | None = None  # the host whose robots.txt kept it out


def after_error(job: Job, exc: Exception) -> Decision:
    """What ``exc``, raised while fetching or extracting ``job``, makes of it. A
    ``StoreError`` is no article's outcome: the caller lets it end the run."""
    if isinstance(exc, Stopped):
        return Decision(Outcome.STOPPED)
    if isinstance(exc, RetryLater):
        return Decision(Outcome.DEFERRED, exc.reason)
    if isinstance(exc, Refused):
        return Decision(Outcome.SKIPPED, f"refused: {exc.reason}", refused=True)
    if isinstance(exc, (FetchError, NotAnArticle)):
        return _unfetched(job, exc)
    if isinstance(exc, ExtractError):
        return Decision(Outcome.FAILED, str(exc))
    return Decision(Outcome.FAILED, f"{job.url}: unexpected {type(exc).__name__}: {exc}", unexpected=True)


def _unfetched(job: Job, exc: FetchError | NotAnArticle) -> Decision:
    if job.walk and (isinstance(exc, NotAnArticle) or (isinstance(exc, FetchError) and exc.gone and not isinstance(exc, OffSite))):
        return Decision(Outcome.MISS)  # nothing recorded: the walk's finished day remembers it
    if isinstance(exc, RobotsDenied):
        return Decision(Outcome.SKIPPED, exc.reason, robots_host=host_of(job.url))
    if isinstance(exc, OffSite):
        return Decision(Outcome.SKIPPED, exc.reason)
    # An address a feed (or a list) names that shows no article now (CNA's not-found page, a
    # maintenance page served as 200) may show it later: tried again on its backoff and
    # reported after max_attempts, never dropped without a word.
    return Decision(Outcome.FAILED, str(exc))


def after_fetch(article: Article, *, wanted: bool, include_truncated: bool) -> Decision:
    """What a fetched article is to become: ``WRITTEN`` means "write it" (the writer may
    still find it written already, ``KNOWN``)."""
    if not wanted:
        return Decision(Outcome.NOT_WANTED)
    if article.truncated and not include_truncated:
        return Decision(Outcome.SKIPPED, TRUNCATED)
    return Decision(Outcome.WRITTEN)


def refresh_error(article_id: str, exc: Exception) -> Decision:
    """A refresh's failure for ``exc`` (``STOPPED`` for a stop): every other one is
    ``FAILED``, with the article's id before its reason as ``scraper refresh`` prints it."""
    if isinstance(exc, Stopped):
        return Decision(Outcome.STOPPED)
    if isinstance(exc, (FetchError, ExtractError)):
        return Decision(Outcome.FAILED, str(exc))
    return Decision(Outcome.FAILED, f"unexpected {type(exc).__name__}: {exc}", unexpected=True)


class Exit(IntEnum):
    """The process's exit statuses."""

    OK = 0
    FAILED = 1
    CONFIG = 2
    LOCKED = 3
    STORE = 4
    SIGINT = 130
    SIGTERM = 143


EXIT_MEANINGS: dict[Exit, str] = {
    Exit.OK: "all good",
    Exit.FAILED: "some items failed (an article given up on, a feed failing for several runs, a fetch that failed)",
    Exit.CONFIG: "bad configuration or command line",
    Exit.LOCKED: "another run of the same kind holds the lock for this output folder",
    Exit.STORE: "the output folder or state database cannot be used",
    Exit.SIGINT: "stopped by SIGINT (Ctrl-C) after the articles in flight",
    Exit.SIGTERM: "stopped by SIGTERM after the articles in flight",
}

# The one table from an exception to an exit status: the first class that matches.
EXITS: tuple[tuple[type[BaseException], Exit], ...] = (
    (ConfigError, Exit.CONFIG),
    (AlreadyRunning, Exit.LOCKED),
    (StoreError, Exit.STORE),
    (ScraperError, Exit.FAILED),
    (BrokenPipeError, Exit.OK),  # a reader that stopped reading (``| head``) is no failure
    (KeyboardInterrupt, Exit.SIGINT),
)


def exit_for(exc: BaseException, signalled: int | None = None) -> int:
    """The exit status of a run that ended with ``exc``; ``signalled``: the status a stop
    asked for by a signal gives (``stopping.exit_status()``), which an interrupt takes."""
    if isinstance(exc, KeyboardInterrupt) and signalled is not None:
        return signalled
    return next((int(code) for kind, code in EXITS if isinstance(exc, kind)), int(Exit.FAILED))
