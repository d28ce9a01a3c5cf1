"""The outcome of one article and a run's exit status, decided without I/O."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from scraper import outcomes
from scraper.errors import AlreadyRunning, ConfigError, FeedError, FetchError, LayoutChanged, NotAnArticle, OffSite, Refused, RetryLater, RobotsDenied, ScraperError, StoreError
from scraper.models import Article, Job
from scraper.outcomes import Exit, Outcome, after_error, after_fetch, exit_for, refresh_error
from scraper.stopping import Stopped

URL = "https://www.cna.com.tw/news/aopl/202312050001.aspx"
JOB = Job(article_id="202312050001", url=URL, source="https://feeds.example/f")
WALK = dataclasses.replace(JOB, source="walk", walk=True)
ARTICLE = Article("202312050001", URL, "標題", None, None, "政治", (), None, "<p>本文</p>")


@pytest.mark.parametrize(
    ("exc", "outcome", "reason"),
    [
        (Stopped(URL), Outcome.STOPPED, ""),
        (RetryLater(URL, "429 Too Many Requests", 60.0, status=429), Outcome.DEFERRED, "429 Too Many Requests"),
        (Refused(URL, "127.0.0.1 is not a public address"), Outcome.SKIPPED, "refused: 127.0.0.1 is not a public address"),
        (RobotsDenied(URL, "robots.txt disallows it"), Outcome.SKIPPED, "robots.txt disallows it"),
        (OffSite(URL, "redirected to https://www.youtube.com/"), Outcome.SKIPPED, "redirected to https://www.youtube.com/"),
        (FetchError(URL, "HTTP 404", status=404), Outcome.FAILED, f"{URL}: HTTP 404"),
        (FetchError(URL, "timed out", transient=True), Outcome.FAILED, f"{URL}: timed out"),
        (NotAnArticle(URL, "CNA's not-found page"), Outcome.FAILED, f"{URL}: CNA's not-found page"),
        (LayoutChanged(URL, "no title", field="title"), Outcome.FAILED, f"{URL}: no title"),
    ],
)
def test_a_feed_article_that_raised_gets_the_outcome_of_its_class(exc: Exception, outcome: Outcome, reason: str) -> None:
    decision = after_error(JOB, exc)
    assert (decision.outcome, decision.reason, decision.unexpected) == (outcome, reason, False)


def test_a_walk_counts_a_missing_page_as_a_miss_but_not_an_off_site_one() -> None:
    assert after_error(WALK, FetchError(URL, "HTTP 404", status=404)).outcome is Outcome.MISS
    assert after_error(WALK, FetchError(URL, "HTTP 410", status=410)).outcome is Outcome.MISS
    assert after_error(WALK, NotAnArticle(URL, "a hub")).outcome is Outcome.MISS
    assert after_error(WALK, OffSite(URL, "redirected", status=404)).outcome is Outcome.SKIPPED
    assert after_error(WALK, FetchError(URL, "HTTP 500", status=500, transient=True)).outcome is Outcome.FAILED


def test_robots_and_refusals_say_what_the_runner_must_report() -> None:
    assert after_error(JOB, RobotsDenied(URL, "disallowed")).robots_host == "www.cna.com.tw"
    assert after_error(JOB, Refused(URL, "private")).refused
    assert after_error(JOB, OffSite(URL, "elsewhere")).robots_host is None


def test_an_unplanned_exception_is_a_failure_of_the_article_with_its_type() -> None:
    decision = after_error(JOB, KeyError("title"))
    assert decision == outcomes.Decision(Outcome.FAILED, f"{URL}: unexpected KeyError: 'title'", unexpected=True)


def test_a_fetched_article_is_written_unless_unwanted_or_truncated() -> None:
    truncated = dataclasses.replace(ARTICLE, truncated=True)
    assert after_fetch(ARTICLE, wanted=True, include_truncated=False).outcome is Outcome.WRITTEN
    assert after_fetch(ARTICLE, wanted=False, include_truncated=False).outcome is Outcome.NOT_WANTED
    assert after_fetch(truncated, wanted=False, include_truncated=True).outcome is Outcome.NOT_WANTED
    assert after_fetch(truncated, wanted=True, include_truncated=False) == outcomes.Decision(Outcome.SKIPPED, outcomes.TRUNCATED)
    assert after_fetch(truncated, wanted=True, include_truncated=True).outcome is Outcome.WRITTEN


def test_refresh_fails_a_post_for_any_error_but_a_stop() -> None:
    assert refresh_error("1", Stopped(URL)).outcome is Outcome.STOPPED
    assert refresh_error("1", FetchError(URL, "not in the archive")) == outcomes.Decision(Outcome.FAILED, f"{URL}: not in the archive")
    assert refresh_error("1", ValueError("bad")) == outcomes.Decision(Outcome.FAILED, "unexpected ValueError: bad", unexpected=True)


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (ConfigError("feeds.yaml: feeds: is missing"), 2),
        (AlreadyRunning("locked"), 3),
        (StoreError("disk full"), 4),
        (FeedError("https://feeds.example/f", "no items"), 1),
        (Stopped(URL), 1),
        (ScraperError("anything"), 1),
        (BrokenPipeError(), 0),
        (KeyboardInterrupt(), 130),
        (RuntimeError("a bug"), 1),
    ],
)
def test_one_table_gives_every_exit_status(exc: BaseException, status: int) -> None:
    assert exit_for(exc) == status


def test_an_interrupt_takes_the_status_of_the_signal_that_asked_for_the_stop() -> None:
    assert exit_for(KeyboardInterrupt(), 143) == 143
    assert exit_for(StoreError("x"), 143) == 4  # a stop does not hide the store's failure


def test_every_exit_status_has_a_meaning_and_the_cli_lists_each() -> None:
    from scraper import cli

    assert set(outcomes.EXIT_MEANINGS) == set(Exit)
    assert cli.__doc__ is not None
    listed = {int(line.split()[0]) for line in cli.__doc__.splitlines() if line.startswith("  ") and line.split()[0].isdigit()}
    assert listed == {int(code) for code in Exit}


def test_the_statuses_stored_in_the_state_keep_their_strings() -> None:
    from scraper.models import Extractor, Status

    assert [s.value for s in Status] == ["pending", "written", "failed", "skipped"]
    assert {e.value for e in Extractor} == {"cna", "fallback", "generic", "rules", "feed"}
    assert Status.WRITTEN == "written" and f"{Extractor.RULES}" == "rules"


def test_no_bare_status_string_is_compared_in_the_package() -> None:
    bare = re.compile(r"status (==|!=|in) \(?\"(pending|written|failed|skipped)\"")
    package = Path(outcomes.__file__).parent
    found = [f"{path}:{n}" for path in package.rglob("*.py") for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if bare.search(line)]
    assert found == []
