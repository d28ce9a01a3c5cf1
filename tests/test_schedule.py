"""The retry, backoff and reporting rules: pure, handed `now`, no I/O."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper import schedule
from scraper.errors import FetchError, RetryLater
from scraper.schedule import Policy

POLICY = Policy(max_attempts=5, article_backoff=600, feed_backoff=300, report_after=3, max_retry_after=3600, wait_in_run=60)


@pytest.mark.parametrize(
    ("attempts_before", "attempts", "final", "wait"),
    [(0, 1, False, 600), (1, 2, False, 1200), (2, 3, False, 2400), (3, 4, False, 4800), (4, 5, True, 9600)],
)
def test_article_backoff_doubles_and_gives_up_at_max_attempts(attempts_before: int, attempts: int, final: bool, wait: float) -> None:
    decision = schedule.after_failure(attempts_before, 1000.0, POLICY)
    assert (decision.attempts, decision.final, decision.next_attempt) == (attempts, final, 1000.0 + wait)


def test_article_backoff_is_capped_for_any_count() -> None:
    decision = schedule.after_failure(10**9, 0.0, Policy(max_attempts=10**9 + 5, article_backoff=600))
    assert decision.next_attempt == schedule.MAX_ARTICLE_WAIT and not decision.final


@pytest.mark.parametrize(("before", "failures", "wait", "report"), [(0, 1, 0, False), (1, 2, 600, False), (2, 3, 1200, True), (30, 31, schedule.MAX_FEED_WAIT, True)])
def test_feed_failures_back_off_from_the_second_and_report_at_report_after(before: int, failures: int, wait: float, report: bool) -> None:
    decision = schedule.feed_failed(before, 50.0, POLICY)
    assert (decision.failures, decision.next_attempt, decision.report) == (failures, 50.0 + wait, report)


@pytest.mark.parametrize(
    ("gone", "next_attempt", "now", "why"),
    [(True, 0, 10, "gone"), (False, 20, 10, "backoff"), (False, 10, 10, None), (False, 0, 10, None)],
)
def test_feed_wait_says_why_a_feed_is_not_polled(gone: bool, next_attempt: float, now: float, why: str | None) -> None:
    assert schedule.feed_wait(gone, next_attempt, now) == why


def test_redirect_is_followed_after_three_polls_that_saw_it() -> None:
    seen = 0
    for _ in range(3):
        assert not schedule.follow_redirect("https://new/feed", seen)
        seen = schedule.redirect_streak("https://new/feed", seen, "https://new/feed")
    assert schedule.follow_redirect("https://new/feed", seen)
    assert schedule.redirect_streak("https://new/feed", seen, "https://other/feed") == 1
    assert schedule.redirect_streak("https://new/feed", seen, None) == 0


def test_a_host_pause_that_never_ends_counts_as_a_failure_after_the_longest_pause_honoured() -> None:
    first = schedule.after_deferral(None, 1000.0, POLICY)
    assert first == schedule.Deferral(False, 1000.0)
    later = schedule.after_deferral(first.deferred_since, 1000.0 + 3599, POLICY)
    assert later == schedule.Deferral(False, 1000.0)
    counted = schedule.after_deferral(later.deferred_since, 1000.0 + 3600, POLICY)
    assert counted == schedule.Deferral(True, 4600.0)  # and the clock starts again


@pytest.mark.parametrize(("retry_after", "pause"), [(-5, 0), (0, 0), (30, 30), (7200, 3600), (math.inf, 3600), (math.nan, 0), (1e300, 3600)])
def test_host_pause_is_never_negative_nor_past_the_cap(retry_after: float, pause: float) -> None:
    assert schedule.host_pause(retry_after, POLICY) == pause


@pytest.mark.parametrize(
    ("error", "again"),
    [
        (FetchError("u", "HTTP 503", status=503, transient=True), True),
        (FetchError("u", "HTTP 404", status=404), False),
        (RetryLater("u", "wait", 30), True),
        (RetryLater("u", "wait", 61), False),
        (ValueError("bug"), False),
    ],
)
def test_within_a_run_only_transient_failures_and_short_pauses_are_retried(error: BaseException, again: bool) -> None:
    assert schedule.retry_within_run(error, POLICY) is again


def test_wait_before_retry_honours_retry_after_else_the_backoff() -> None:
    assert schedule.wait_before_retry(RetryLater("u", "wait", 7), 1.5) == 7
    assert schedule.wait_before_retry(FetchError("u", "x", transient=True), 1.5) == 1.5
    assert schedule.wait_before_retry(None, -1) == 0


policies = st.builds(
    Policy,
    max_attempts=st.integers(1, 50),
    article_backoff=st.floats(0, 1e6),
    feed_backoff=st.floats(0, 1e6),
    report_after=st.integers(1, 50),
    max_retry_after=st.floats(0, 86400),
    wait_in_run=st.floats(0, 3600),
)


@given(policies, st.integers(0, 10**6), st.floats(0, 2e9))
def test_backoff_never_shrinks(policy: Policy, attempts: int, now: float) -> None:
    one = schedule.after_failure(attempts, now, policy)
    two = schedule.after_failure(attempts + 1, now, policy)
    assert two.next_attempt >= one.next_attempt >= now


@given(policies, st.integers(0, 100), st.floats(0, 2e9), st.floats(0, 4e9))
def test_a_given_up_article_is_never_due(policy: Policy, attempts: int, now: float, later: float) -> None:
    decision = schedule.after_failure(attempts, now, policy)
    status = "failed" if decision.final else "pending"
    if decision.final:
        assert not schedule.is_due(status, decision.next_attempt, later)
    else:
        assert schedule.is_due(status, decision.next_attempt, max(later, decision.next_attempt))


@given(policies, st.one_of(st.none(), st.floats(0, 2e9)), st.floats(0, 2e9))
def test_deferrals_count_at_most_once_per_bound(policy: Policy, since: float | None, now: float) -> None:
    decision = schedule.after_deferral(since, now, policy)
    assert decision.deferred_since is not None and decision.deferred_since <= now
    if decision.counts_as_failure:
        assert decision.deferred_since == now  # the next one cannot count at once
        assert not schedule.after_deferral(decision.deferred_since, now, policy).counts_as_failure


# --- the clock set back: every stored wait is cut to its own interval from now

DAYS_3 = 3 * 24 * 3600.0


def test_a_backed_off_feed_waits_its_interval_not_the_days_the_clock_went_back() -> None:
    failed = schedule.feed_failed(3, 1_000_000.0, POLICY)  # 4th failure: 2400 s
    back = 1_000_000.0 - DAYS_3
    assert schedule.feed_wait(False, failed.next_attempt, back) == "backoff"
    until = schedule.within(failed.next_attempt, back, schedule.feed_interval(failed.failures, POLICY))
    assert until == back + 2400.0
    assert schedule.feed_wait(False, until, back + 2400.0) is None


def test_an_article_and_a_host_pause_wait_their_interval_after_the_clock_went_back() -> None:
    failed = schedule.after_failure(1, 1_000_000.0, POLICY)  # 2nd try: 1200 s
    back = 1_000_000.0 - DAYS_3
    assert schedule.within(failed.next_attempt, back, schedule.article_interval(failed.attempts, POLICY)) == back + 1200.0
    paused = 1_000_000.0 + schedule.host_pause(3600.0, POLICY)
    assert schedule.within(paused, back, schedule.host_interval(POLICY)) == back + 3600.0


@given(st.floats(allow_infinity=True, allow_nan=True), st.floats(0, 4e9), st.floats(0, 1e9))
def test_a_clamped_wait_is_never_longer_than_its_interval_nor_than_stored(stored: float, now: float, interval: float) -> None:
    at = schedule.within(stored, now, interval)
    assert now <= at <= now + interval or at == stored < now
    if not math.isnan(stored):
        assert at <= stored  # never waits longer than was decided
        if stored <= now + interval:
            assert at == stored  # a wait the clock did not stretch is kept as it is


@given(policies, st.integers(0, 200), st.floats(0, 2e9), st.floats(0, 2e9))
def test_any_decision_survives_any_clock_jump(policy: Policy, count: int, then: float, now: float) -> None:
    """Whatever the clock does between the run that decided and the next, the wait from
    the next run's ``now`` is at most the interval that was decided."""
    article = schedule.after_failure(count, then, policy)
    feed = schedule.feed_failed(count, then, policy)
    assert schedule.within(article.next_attempt, now, schedule.article_interval(article.attempts, policy)) <= now + schedule.article_interval(article.attempts, policy)
    assert schedule.within(feed.next_attempt, now, schedule.feed_interval(feed.failures, policy)) <= now + schedule.feed_interval(feed.failures, policy)
    # and when the clock did not go back, nothing changes
    later = max(now, then)
    assert schedule.within(article.next_attempt, later, schedule.article_interval(article.attempts, policy)) == article.next_attempt
    assert schedule.within(feed.next_attempt, later, schedule.feed_interval(feed.failures, policy)) == feed.next_attempt
