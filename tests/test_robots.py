"""robots.txt by RFC 9309: the rules (longest match, ``*``, ``$``) and what each answer means.

The rules are checked on their own; the answers go through Http's ``transport=`` seam, so
no socket is opened."""

from __future__ import annotations

import httpx
import pytest

from scraper.config import HttpConfig
from scraper.errors import FetchError, RobotsDenied
from scraper.net.http import Http
from scraper.net.robots import Robots, allowed, parse

UA = HttpConfig().user_agent
CNA = "https://www.cna.com.tw"


def may(text: str, path: str, user_agent: str = UA) -> bool:
    return allowed(parse(text), CNA + path, user_agent)


def test_the_longest_matching_rule_wins_whatever_its_order() -> None:
    for text in ("User-agent: *\nDisallow: /news/\nAllow: /news/aopl/\n", "User-agent: *\nAllow: /news/aopl/\nDisallow: /news/\n"):
        assert may(text, "/news/aopl/202308230370.aspx")
        assert not may(text, "/news/acn/202308230370.aspx")
        assert may(text, "/about")


def test_an_allow_wins_a_tie_with_a_disallow_of_the_same_length() -> None:
    assert may("User-agent: *\nDisallow: /news/\nAllow: /news/\n", "/news/aopl/1.aspx")


def test_a_star_matches_any_run_of_characters() -> None:
    text = "User-agent: *\nDisallow: /*/print/\n"
    assert not may(text, "/news/print/1.aspx")
    assert not may(text, "/a/b/print/1.aspx")
    assert may(text, "/news/aopl/1.aspx")


def test_a_dollar_anchors_the_end_of_the_path() -> None:
    text = "User-agent: *\nDisallow: /*.pdf$\n"
    assert not may(text, "/files/report.pdf")
    assert may(text, "/files/report.pdf?page=2")
    assert may(text, "/files/report.pdf.html")


def test_the_group_naming_our_product_token_overrides_the_star_group() -> None:
    text = "User-agent: *\nDisallow: /\n\nUser-agent: cna-jekyll-scraper\nDisallow: /private/\n"
    assert may(text, "/news/aopl/1.aspx")
    assert not may(text, "/private/1.aspx")
    assert not may(text, "/news/aopl/1.aspx", "another-bot/1.0")


def robots_answering(status: int, body: bytes = b"") -> tuple[Robots, list[str]]:
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return httpx.Response(status, stream=httpx.ByteStream(body), headers={"Content-Type": "text/plain"})

    http = Http(HttpConfig(retries=1, delay=0, backoff=0), transport=httpx.MockTransport(answer))
    return Robots(http), asked


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_a_4xx_answer_means_no_rules(status: int) -> None:
    robots, asked = robots_answering(status, b"User-agent: *\nDisallow: /\n")
    robots.check(CNA + "/news/aopl/1.aspx")
    robots.check(CNA + "/news/acn/2.aspx")
    assert asked == ["/robots.txt"]  # once per site and run


@pytest.mark.parametrize("status", [429, 500, 503])
def test_a_5xx_or_429_answer_means_not_now_a_transient_failure(status: int) -> None:
    robots, _ = robots_answering(status)
    with pytest.raises(FetchError) as raised:
        robots.check(CNA + "/news/aopl/1.aspx")
    assert raised.value.transient and not isinstance(raised.value, RobotsDenied)
    assert "cannot be read now" in raised.value.reason


def test_a_2xx_answer_applies_its_rules_by_the_longest_match() -> None:
    robots, _ = robots_answering(200, b"User-agent: *\nDisallow: /news/\nAllow: /news/aopl/\n")
    robots.check(CNA + "/news/aopl/1.aspx")
    with pytest.raises(RobotsDenied):
        robots.check(CNA + "/news/acn/1.aspx")
