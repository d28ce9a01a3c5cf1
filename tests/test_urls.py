"""URL and id rules: total on any input, and CNA's ids on CNA's hosts only."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.net import urls

HOSTILE = ["http://[x", "http://[::1", "https://www.cna.com.tw:99999/news/aopl/202308230370.aspx", "http://x]y/", "javascript:alert(1)", "", "   ", "%zz", "http://"]


@given(st.one_of(st.sampled_from(HOSTILE), st.text()), st.one_of(st.sampled_from(HOSTILE), st.text()))
def test_every_url_rule_is_total(a: str, b: str) -> None:
    urls.split(a)
    urls.is_web(a)
    urls.host_of(a)
    urls.strip_tracking(a)
    urls.absolute(a, b)
    urls.resolve(a, b)
    urls.printable(a)
    urls.cna_id(a)
    urls.id_in_path(a)
    urls.cna_canonical(a)
    urls.feed_article(a, b)
    assert len(urls.identity(a)) >= 12


@pytest.mark.parametrize(
    ("link", "found"),
    [
        ("https://www.cna.com.tw/news/aopl/202308230370.aspx?utm_source=rss", ("https://www.cna.com.tw/news/aopl/202308230370.aspx", "202308230370")),
        ("https://www.cna.com.tw:443/news/aopl/202308230370.aspx", ("https://www.cna.com.tw:443/news/aopl/202308230370.aspx", "202308230370")),
        ("https://www.cna.com.tw:22/news/aopl/202308230370.aspx", None),  # any port is no CNA host
        ("http://127.0.0.1:8000/news/aopl/202308230370.aspx", ("http://127.0.0.1:8000/news/aopl/202308230370.aspx", "202308230370")),  # the feed's own host
        ("http://127.0.0.1:9000/news/aopl/202308230370.aspx", None),
        ("http://[x/news/aopl/202308230370.aspx", None),
        ("javascript:alert(1)", None),
    ],
)
def test_a_cna_feed_takes_article_links_on_cna_or_its_own_host(link: str, found: tuple[str, str] | None) -> None:
    assert urls.feed_article(link, "http://127.0.0.1:8000/rss") == found


def test_cna_ids_only_on_cna_hosts_on_their_default_port() -> None:
    assert urls.cna_id("https://m.cna.com.tw/news/aopl/202308230370.aspx") == "202308230370"
    assert urls.cna_id("https://www.cna.com.tw:8443/news/aopl/202308230370.aspx") is None
    assert urls.cna_id("https://evil.example/news/aopl/202308230370.aspx") is None
    assert urls.identity("https://www.cna.com.tw/news/aopl/202308230370.aspx") == "202308230370"
    assert urls.identity("https://example.org/a?utm_source=x#top") == urls.identity("HTTPS://EXAMPLE.ORG/a")


@pytest.mark.parametrize(
    ("url", "printed"),
    [
        ("https://www.cna.com.tw/news/aopl/202210070352.aspx", "https://www.cna.com.tw/news/aopl/202210070352.aspx"),
        ("https://www.bbc.com/zhongwen/simp/chinese-news-66562278?at_medium=RSS&at_campaign=KARANGA", "https://www.bbc.com/zhongwen/simp/chinese-news-66562278?at_medium=RSS&at_campaign=KARANGA"),
        ("https://www.rfi.fr/tw/%E5%9C%8B%E9%9A%9B/x", "https://www.rfi.fr/tw/%E5%9C%8B%E9%9A%9B/x"),
        ("https://www.rfi.fr/tw/國際/x", "https://www.rfi.fr/tw/%E5%9C%8B%E9%9A%9B/x"),
        ("https://x.example/a{% raw %}b", "https://x.example/a%7B%25%20raw%20%25%7Db"),
        ('https://x.example/"><script>', "https://x.example/%22%3E%3Cscript%3E"),
        ("https://x.example/a) [b](c", "https://x.example/a%29%20[b]%28c"),
        ("javascript:alert(1)", None),
        ("ftp://x.example/a", None),
    ],
)
def test_printable_urls_are_web_links_that_cannot_break_a_post(url: str, printed: str | None) -> None:
    assert urls.printable(url) == printed


def test_redirect_targets_resolve_or_are_refused() -> None:
    assert urls.resolve("/b", "https://x.example/a") == "https://x.example/b"
    assert urls.resolve("http://[x", "https://x.example/a") is None
    assert urls.resolve("mailto:a@b", "https://x.example/a") is None


def test_id_days_are_real_dates() -> None:
    day = urls.id_day("202308230370")
    assert day is not None and (day.year, day.month, day.day) == (2023, 8, 23)
    assert urls.id_day("202313450001") is None and urls.id_day("abc") is None


def test_hosts_take_turns_and_keep_their_own_order() -> None:
    items = ["http://a/1", "http://a/2", "http://a/3", "http://b/1", "http://c/1", "http://c/2"]
    assert urls.by_host_in_turn(items, lambda u: u) == ["http://a/1", "http://b/1", "http://c/1", "http://a/2", "http://c/2", "http://a/3"]
    assert urls.by_host_in_turn([], lambda u: u) == []
