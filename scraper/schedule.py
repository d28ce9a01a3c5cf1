"""When to try again: the retry, backoff and reporting rules, as pure decisions.

Every function is handed ``now`` (seconds since the epoch) and the facts it needs,
and returns a decision; nothing here reads a clock, the database or the network. The
state module stores what these return; the runner and the HTTP client act on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from .errors import FetchError, RetryLater
from .models import FeedWait, Status

MAX_ARTICLE_WAIT = 7 * 24 * 3600.0  # a failing article is tried at least weekly until given up
MAX_FEED_WAIT = 6 * 3600.0  # a failing feed is polled at least every six hours
FOLLOW_REDIRECT_AFTER = 3  # polls that saw the same permanent redirect before it is followed directly
MAX_HOST_PAUSE = 24 * 3600.0  # no Retry-After pauses a host longer, whatever the settings say


@dataclass(frozen=True)
class Policy:
    """The settings the rules need, from feeds.yaml."""

    max_attempts: int = 5  # failed tries across runs before an article is given up
    article_backoff: float = 600.0  # first wait after a failed article; doubles
    feed_backoff: float = 300.0  # first wait after a feed failed twice; doubles
    report_after: int = 3  # failed runs of a feed before it is reported
    max_retry_after: float = 3600.0  # cap on a host's Retry-After
    wait_in_run: float = 60.0  # a longer pause ends the host's turn for this run


@dataclass(frozen=True)
class Attempt:
    """What a failed try of an article leads to."""

    attempts: int  # tries so far, this one included
    final: bool  # given up: the article is failed and never due again
    next_attempt: float  # when it is due again (meaningless when final)


def _doubling(base: float, times: int, cap: float) -> float:
    """``base * 2**times``, capped, without overflow for any count."""
    if base <= 0 or times < 0:
        return max(0.0, min(base, cap))
    if times >= 64:
        return cap
    return min(base * 2.0**times, cap)


def after_failure(attempts_before: int, now: float, policy: Policy) -> Attempt:
    """An article failed once more: count it, and give up at ``max_attempts``."""
    attempts = max(0, attempts_before) + 1
    wait = article_interval(attempts, policy)
    return Attempt(attempts, attempts >= policy.max_attempts, now + wait)


def within(stored: float, now: float, interval: float) -> float:
    """A stored moment to wait for, never further from ``now`` than the wait that set it.

    Waits are stored as moments (seconds since the epoch). When the clock is set back
    (NTP after a bad RTC, a restored VM), a moment set an hour ahead is days ahead of the
    new ``now``: clamped, a wait lasts at most its own interval from now, whatever the
    clock did. A moment in the past, or NaN, is due now."""
    if math.isnan(stored):
        return now
    return min(stored, now + max(0.0, interval))


def article_interval(attempts: int, policy: Policy) -> float:
    """The wait after an article's ``attempts``-th failed try (see after_failure)."""
    return _doubling(policy.article_backoff, max(0, attempts) - 1, MAX_ARTICLE_WAIT)


def feed_interval(failures: int, policy: Policy) -> float:
    """The wait after a feed's ``failures``-th failure in a row (see feed_failed)."""
    return _doubling(policy.feed_backoff, failures - 1, MAX_FEED_WAIT) if failures > 1 else 0.0


def host_interval(policy: Policy) -> float:
    """The longest pause a host's Retry-After can set (see host_pause)."""
    return max(0.0, min(policy.max_retry_after, MAX_HOST_PAUSE))


def wait_interval(kind: str, count: int, policy: Policy) -> float:
    """The interval of a stored wait: an ``article``'s after ``count`` tries, a ``feed``'s
    after ``count`` failures, a ``host``'s pause."""
    if kind == "article":
        return article_interval(count, policy)
    if kind == "feed":
        return feed_interval(count, policy)
    return host_interval(policy)


def is_due(status: str, next_attempt: float, now: float) -> bool:
    """Pending articles are due once their backoff has passed; nothing else ever is."""
    return status == Status.PENDING and next_attempt <= now


@dataclass(frozen=True)
class Deferral:
    """A fetch the host put off (Retry-After): no attempt counted, unless the pause never ends."""

    counts_as_failure: bool
    deferred_since: float | None  # when the current run of deferrals began


def after_deferral(deferred_since: float | None, now: float, policy: Policy) -> Deferral:
    """A host that keeps asking us to wait (``503`` with ``Retry-After: 0`` on every run)
    would hold an article pending forever. Once the deferrals have lasted longer than
    the longest pause we honour, one failed attempt is counted, and another each time
    they last that long again, so the article is reported after ``max_attempts`` such
    periods."""
    bound = max(policy.max_retry_after, policy.wait_in_run, 60.0)
    if deferred_since is None or deferred_since > now:
        return Deferral(False, now)
    if now - deferred_since >= bound:
        return Deferral(True, now)
    return Deferral(False, deferred_since)


@dataclass(frozen=True)
class FeedFailure:
    failures: int  # the streak, this failure included
    next_attempt: float
    report: bool  # say it as an error this run


def feed_failed(failures_before: int, now: float, policy: Policy) -> FeedFailure:
    """A feed failed: the first failure is retried next run; later ones back off, doubling."""
    failures = max(0, failures_before) + 1
    wait = feed_interval(failures, policy)
    return FeedFailure(failures, now + wait, failures >= policy.report_after)


def feed_wait(gone: bool, next_attempt: float, now: float) -> FeedWait | None:
    """Why a feed is not polled now (``gone``, ``backoff``), or None when it is due."""
    if gone:
        return "gone"
    if next_attempt > now:
        return "backoff"
    return None


def redirect_streak(old_target: str | None, old_seen: int, target: str | None) -> int:
    """Polls in a row that were permanently redirected to the same ``target``."""
    if not target:
        return 0
    return old_seen + 1 if target == old_target else 1


def follow_redirect(target: str | None, seen: int) -> bool:
    """Poll the redirect's target directly, once it has been seen often enough."""
    return bool(target) and seen >= FOLLOW_REDIRECT_AFTER


def host_pause(retry_after: float, policy: Policy) -> float:
    """How long a host's ``Retry-After`` pauses it: never negative, never past the caps."""
    if math.isnan(retry_after) or retry_after <= 0:
        return 0.0
    return min(retry_after, policy.max_retry_after, MAX_HOST_PAUSE)


def retry_within_run(error: BaseException, policy: Policy) -> bool:
    """Whether a failed request is tried again in this run: transient failures, and
    pauses short enough to wait out; everything else waits for a later run."""
    if isinstance(error, RetryLater):
        return error.retry_after <= policy.wait_in_run
    return isinstance(error, FetchError) and error.transient


def wait_before_retry(error: BaseException | None, backoff: float) -> float:
    """Seconds to wait before trying a request again within the run."""
    if isinstance(error, RetryLater):
        return max(0.0, error.retry_after)
    return max(0.0, backoff)


def iso(stamp: float) -> str:
    """A moment as messages and reports give it: ISO 8601 in UTC, to the second."""
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# A notice that stays true for days (CNA's layout changed) is an error once a day at most.
NOTICE_EVERY = 24 * 3600.0


def notice_due(last_said: float | None, now: float, every: float = NOTICE_EVERY) -> bool:
    """Whether a lasting notice is to be said (as an error) now: never said, or said ``every``
    seconds ago or more. A clock set back counts as due, so a notice is never lost."""
    return last_said is None or now - last_said >= every or now < last_said
