"""Feed bytes -> jobs, on their own: which items are taken, which are passed over and why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scraper.errors import FeedError
from scraper.feeds.parse import FULL_TEXT_CHARS, is_full_text, parse
from tests.helpers import rss

NOW = datetime(2023, 12, 6, tzinfo=UTC)
FEED = "https://feeds.example/a"
CNA = "https://www.cna.com.tw/news/aopl/202312050001.aspx"


def item(title: str, link: str, extra: str = "") -> str:
    return f"<item><title>{title}</title><link>{link}</link>{extra}</item>"


def test_a_cna_feed_takes_cna_articles_with_their_dates_in_utc_and_says_what_it_passed_over() -> None:
    result = parse(rss(item("A", CNA, "<pubDate>Tue, 05 Dec 2023 00:10:00 +0800</pubDate>"), item("B", "https://example.org/x")), FEED, NOW)
    (job,) = result.entries
    assert (job.article_id, job.url, job.source, job.title) == ("202312050001", CNA, FEED, "A")
    assert job.published == datetime(2023, 12, 4, 16, 10, tzinfo=UTC)
    assert result.skipped == ("https://example.org/x is not a CNA article URL",) and result.title == "t"


def test_a_feed_of_another_site_takes_its_own_links() -> None:
    result = parse(rss(item("B", "https://example.org/news/1")), FEED, NOW, any_site=True)
    assert [j.url for j in result.entries] == ["https://example.org/news/1"] and result.skipped == ()


def test_bytes_that_are_no_feed_are_a_feed_error_naming_the_feed() -> None:
    with pytest.raises(FeedError) as caught:
        parse(b"<html><body>maintenance</body></html>", FEED, NOW)
    assert caught.value.url == FEED


def test_an_item_is_full_text_when_it_is_long_enough_or_sent_as_the_whole_text() -> None:
    assert not is_full_text(None, False)
    assert not is_full_text("短" * 10, False)
    assert is_full_text("<p>" + "字" * (FULL_TEXT_CHARS + 1) + "</p>", False)
