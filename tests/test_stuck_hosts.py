"""Stuck hosts: the per-host limit holds for connections really open (a request abandoned
at the deadline keeps its place), a host that timed out gets one request at a time, and
once its timed-out requests used a deadline's worth of time it is skipped for the run.

Counted on the client side, by a transport that logs every connection as it opens and
closes: the order of events is asserted, never a duration."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx

from scraper.config import HttpConfig
from scraper.errors import FetchError
from scraper.net.http import Http
from tests.server import Reply, Request, Server


class _Closing(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, done: threading.Event, on_close: object) -> None:
        self.inner, self.done, self.on_close = inner, done, on_close

    def __iter__(self) -> Iterator[bytes]:
        yield from self.inner

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            if not self.done.is_set():
                self.done.set()
                self.on_close()  # type: ignore[operator]


class Counting(httpx.BaseTransport):
    """Logs ("open", others open, timeouts so far) and ("close",) for every request."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.lock = threading.Lock()
        self.open = 0
        self.timeouts = 0
        self.log: list[tuple[str, int, int]] = []

    def _closed(self, timed_out: bool = False) -> None:
        with self.lock:
            self.open -= 1
            self.timeouts += timed_out
            self.log.append(("close", self.open, self.timeouts))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.log.append(("open", self.open, self.timeouts))
            self.open += 1
        try:
            response = self.inner.handle_request(request)
        except httpx.TimeoutException:
            self._closed(timed_out=True)
            raise
        except BaseException:
            self._closed()
            raise
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _Closing(response.stream, threading.Event(), self._closed)
        return response

    def close(self) -> None:
        self.inner.close()


def _fetch_all(http: Http, urls: list[str]) -> list[str]:
    def one(url: str) -> str:
        try:
            http.get(url)
            return "ok"
        except FetchError as exc:
            return exc.reason

    with ThreadPoolExecutor(len(urls)) as pool:
        return list(pool.map(one, urls))


def test_a_host_that_timed_out_gets_one_request_at_a_time_then_is_skipped() -> None:
    release = threading.Event()

    def stuck(request: Request) -> Reply:
        release.wait(30)  # never answers while the client waits
        return Reply(200, b"late")

    with Server() as server:
        server.route_prefix = ("/", stuck)
        transport = Counting()
        config = HttpConfig(timeout=0.2, deadline=1.5, max_per_host=3, retries=1, delay=0, backoff=0.01)
        with Http(config, transport=transport) as http:
            results = _fetch_all(http, [server.url(f"/feed{i}.xml") for i in range(24)])
        release.set()

    opens = [e for e in transport.log if e[0] == "open"]
    assert max(others for _, others, _ in opens) <= 2  # at most max_per_host open
    assert opens[0][2] == 0 and len([e for e in opens if e[2] == 0]) <= 3
    # After the first timeout, a request opens only when nothing else to the host is open.
    assert all(others == 0 for _, others, timeouts in opens if timeouts > 0)
    assert len(opens) < 24 and len(server.log) == len(opens)
    skipped = [r for r in results if "skipped until the next run" in r]
    assert skipped and len(skipped) == 24 - len(opens)
    assert all(r.startswith("timed out") for r in results if r not in skipped)


def test_the_per_host_limit_counts_requests_abandoned_at_the_deadline() -> None:
    """A host that drips its headers: each request is abandoned at the deadline but keeps
    its connection while the server drips; no more than max_per_host are ever open."""
    with Server() as server:
        server.route_prefix = ("/", Reply(200, b"x", header_drip=0.04))  # about 2.6 s, well past the 1.1 s watchdog
        transport = Counting()
        config = HttpConfig(timeout=5, deadline=0.1, max_per_host=2, retries=1, delay=0, backoff=0.01)
        with Http(config, transport=transport) as http:
            http.limiter.budget = float("inf")  # the limit alone: never skip the host
            results = _fetch_all(http, [server.url(f"/p{i}") for i in range(3)])
            while True:  # the abandoned requests end when the server has dripped its reply
                with transport.lock:
                    if transport.open == 0 and len(transport.log) == 6:
                        break
                threading.Event().wait(0.05)
    opens = [e for e in transport.log if e[0] == "open"]
    assert len(opens) == 3 and all("deadline" in r for r in results)
    assert max(others for _, others, _ in opens) <= 1
    # the one that started after the first abandonment waited for both open ones to end
    assert [others for _, others, _ in opens[2:]] == [0], transport.log
