"""The HTTP client on its own, through its ``transport=`` seam: no socket, no server."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import httpx
import pytest

from scraper.config import HttpConfig
from scraper.errors import FetchError, OffSite, RetryLater
from scraper.net.http import Http

CONFIG = HttpConfig(delay=0, retries=3, backoff=0.01, max_bytes=1000)
PAGE = "https://www.cna.com.tw/news/aopl/202312050001.aspx"


def reply(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> httpx.Response:
    """A response as a server streams it (the client reads the raw bytes itself)."""
    return httpx.Response(status, stream=httpx.ByteStream(body), headers=headers)


def client(handler: Callable[[httpx.Request], httpx.Response], config: HttpConfig = CONFIG) -> Http:
    return Http(config, transport=httpx.MockTransport(handler))


def test_a_conditional_get_sends_the_validators_and_reads_a_304_as_unchanged() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return reply(304, headers={"ETag": '"v1"'})

    with client(handler) as http:
        response = http.get(PAGE, etag='"v1"', last_modified="Tue, 05 Dec 2023 00:00:00 GMT")
    assert (response.status, response.content, response.etag) == (304, b"", '"v1"')
    assert seen[0].headers["If-None-Match"] == '"v1"' and seen[0].headers["If-Modified-Since"] == "Tue, 05 Dec 2023 00:00:00 GMT"
    assert seen[0].headers["User-Agent"] == CONFIG.user_agent


def test_a_server_error_is_tried_again_within_the_run_and_then_read() -> None:
    answers = iter([reply(500), reply(502), reply(200, b"<p>ok</p>", {"Content-Type": "text/html; charset=big5"})])
    with client(lambda request: next(answers)) as http:
        response = http.get(PAGE)
    assert (response.status, response.content, response.charset) == (200, b"<p>ok</p>", "big5")
    assert http.requests == 3 and http.per_host["www.cna.com.tw"] == [3, len(b"<p>ok</p>")]


def test_a_missing_page_is_not_tried_again_and_says_it_is_gone() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return reply(404)

    with client(handler) as http, pytest.raises(FetchError) as caught:
        http.get(PAGE)
    assert len(calls) == 1 and caught.value.gone and not caught.value.transient and caught.value.status == 404


def test_a_long_retry_after_puts_the_host_off_for_a_later_run() -> None:
    with client(lambda request: reply(429, headers={"Retry-After": "7200"})) as http, pytest.raises(RetryLater) as caught:
        http.get(PAGE)
    assert caught.value.retry_after == pytest.approx(3600.0)  # capped at max_retry_after
    assert "www.cna.com.tw" in http.pauses()


def test_a_redirect_to_a_host_not_allowed_is_off_site() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return reply(302, headers={"Location": "https://www.youtube.com/watch?v=x"})

    with client(handler) as http, pytest.raises(OffSite):
        http.get(PAGE, allowed_hosts={"www.cna.com.tw"})


def test_a_body_is_decoded_and_held_to_the_cap_after_decoding() -> None:
    small = gzip.compress(b"x" * 900)
    big = gzip.compress(b"x" * 5000)  # 5000 bytes decoded from a few dozen sent
    with client(lambda request: reply(200, small, {"Content-Encoding": "gzip"})) as http:
        assert http.get(PAGE).content == b"x" * 900
    with client(lambda request: reply(200, big, {"Content-Encoding": "gzip"})) as http, pytest.raises(FetchError) as caught:
        http.get(PAGE)
    assert "1000" in caught.value.reason
