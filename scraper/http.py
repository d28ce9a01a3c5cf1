"""The only module that speaks HTTP: client, per-host limits, retries, size and time caps.

Policy (see README, "Reliability"):
- connect/read timeout on every request and a total deadline on every response, so a
  server that drips a byte a second cannot hang a run;
- a cap on the decoded body, checked while reading, so a gzip bomb is refused after
  ``max_bytes`` and never decompressed into memory;
- redirects followed by hand: at most ``MAX_REDIRECTS``, loops end with an error, and
  a redirect to a host outside ``allowed_hosts`` is refused;
- 429 and 503 honour ``Retry-After`` (seconds or an HTTP date) per host, capped;
  other 4xx are final; 5xx, timeouts and connection errors are retried with
  exponential backoff and jitter, ``retries`` times within a run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from .config import HttpConfig
from .errors import FetchError, OffSite, RetryLater
from .urls import host_of

log = logging.getLogger(__name__)
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
PERMANENT_REDIRECTS = (301, 308)


@dataclass(frozen=True)
class Response:
    url: str  # final URL after redirects
    status: int  # 200 or 304
    content: bytes
    charset: str | None
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None  # where a 301/308 chain led, if all hops were permanent
    headers: dict[str, str] = field(default_factory=dict)


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


class HostLimiter:
    """At most ``max_per_host`` requests in flight to a host, starts at least ``delay`` apart,
    and no request at all while the host asked us to wait (``Retry-After``)."""

    def __init__(self, max_per_host: int, delay: float, clock: Callable[[], float] = time.time) -> None:
        self.max_per_host = max_per_host
        self.delay = delay
        self.clock = clock
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._next: dict[str, float] = {}
        self.blocked_until: dict[str, float] = {}

    @contextmanager
    def slot(self, host: str, url: str) -> Iterator[None]:
        with self._lock:
            sem = self._slots.setdefault(host, threading.BoundedSemaphore(self.max_per_host))
        with sem:
            with self._lock:
                now = self.clock()
                blocked = self.blocked_until.get(host, 0.0)
                if blocked > now:
                    raise RetryLater(url, f"{host} asked us to wait until {time.strftime('%H:%M:%S', time.localtime(blocked))}", blocked - now)
                start = max(now, self._next.get(host, 0.0))
                self._next[host] = start + self.delay
            if start > now:
                time.sleep(start - now)
            yield

    def block(self, host: str, seconds: float) -> None:
        with self._lock:
            until = self.clock() + seconds
            self.blocked_until[host] = max(self.blocked_until.get(host, 0.0), until)


class Http:
    """A polite HTTP client. Thread-safe; one per run."""

    def __init__(self, config: HttpConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.limiter = HostLimiter(config.max_per_host, config.delay)
        self.requests = 0  # sent, for reports and tests
        # exponential backoff with jitter between tries of one request
        self._backoff = wait_exponential(multiplier=config.backoff, max=config.backoff * 30) + wait_random(0, config.backoff)
        self._count_lock = threading.Lock()
        self._robots: dict[str, RobotFileParser] = {}
        self.client = httpx.Client(
            headers={"User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(config.timeout),
            follow_redirects=False,
            transport=transport,
            limits=httpx.Limits(max_connections=max(10, config.max_per_host * 4)),
        )

    def allowed_by_robots(self, url: str) -> bool:
        """Whether the site's robots.txt lets our User-Agent fetch ``url``; read once per host per run.

        A robots.txt that cannot be fetched (404, network) allows everything, as crawlers
        conventionally do; a 401/403 disallows everything.
        """
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._count_lock:
            parser = self._robots.get(origin)
        if parser is None:
            parser = RobotFileParser()
            try:
                response = self.get(origin + "/robots.txt", accept="text/plain")
                parser.parse(response.content.decode("utf-8", errors="replace").splitlines())
            except FetchError as exc:
                parser.parse(["User-agent: *", "Disallow: /"] if exc.reason in ("HTTP 401", "HTTP 403") else [])
            parser.modified()  # can_fetch() answers False until the file counts as read
            with self._count_lock:
                self._robots[origin] = parser
        return parser.can_fetch(self.config.user_agent, url)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        allowed_hosts: Collection[str] | None = None,
        accept: str = "*/*",
    ) -> Response:
        """GET ``url`` with retries for transient failures only."""

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, RetryLater):
                return exc.retry_after
            return float(self._backoff(state))

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, RetryLater):
                return exc.retry_after <= self.config.wait_in_run
            return isinstance(exc, FetchError) and exc.transient

        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.config.retries)),
            wait=wait,
            retry=retry_if_exception(retryable),
            reraise=True,
        )
        result: Response = retrying(self._get_once, url, etag, last_modified, allowed_hosts, accept)
        return result

    def _get_once(self, url: str, etag: str | None, last_modified: str | None, allowed_hosts: Collection[str] | None, accept: str) -> Response:
        seen = [url]
        permanent = True
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            headers = {"Accept": accept}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            response = self._send(current, headers)
            if response.status not in REDIRECTS:
                if current == url:
                    return response
                return Response(
                    url=response.url,
                    status=response.status,
                    content=response.content,
                    charset=response.charset,
                    etag=response.etag,
                    last_modified=response.last_modified,
                    permanent_redirect=current if permanent else None,
                    headers=response.headers,
                )
            location = response.headers.get("location")
            if not location:
                raise FetchError(current, f"HTTP {response.status} redirect without a Location")
            target = urljoin(current, location)
            if not target.startswith(("http://", "https://")):
                raise FetchError(current, f"redirect to a non-web URL {target!r}")
            if allowed_hosts is not None and host_of(target) not in allowed_hosts:
                raise OffSite(url, f"redirect to another site ({host_of(target)}) refused")
            if target in seen:
                raise FetchError(url, f"redirect loop ({' -> '.join([*seen, target])})")
            permanent = permanent and response.status in PERMANENT_REDIRECTS
            seen.append(target)
            current = target
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")

    def _send(self, url: str, headers: dict[str, str]) -> Response:
        host = host_of(url)
        with self.limiter.slot(host, url):
            with self._count_lock:
                self.requests += 1
            return self._watched(url, headers, host)

    def _watched(self, url: str, headers: dict[str, str], host: str) -> Response:
        """The request under the total deadline, headers included.

        httpx bounds each read, not the whole response: a server that drips its status
        line and headers a byte at a time would hold a plain call forever. The request
        runs in a daemon thread; past the deadline it is abandoned (its socket is closed
        by the server or at exit) and the fetch fails as a transient error.
        """
        box: dict[str, Response | BaseException] = {}

        def work() -> None:
            try:
                box["ok"] = self._send_now(url, headers, host)
            except BaseException as exc:  # handed to the caller below
                box["error"] = exc

        worker = threading.Thread(target=work, name="http-watched", daemon=True)
        worker.start()
        worker.join(self.config.deadline + 1.0)
        if worker.is_alive():
            raise FetchError(url, f"no complete response within the {self.config.deadline:.0f} s deadline", transient=True)
        error = box.get("error")
        if isinstance(error, BaseException):
            raise error
        result = box["ok"]
        assert isinstance(result, Response)
        return result

    def _send_now(self, url: str, headers: dict[str, str], host: str) -> Response:
        started = time.monotonic()
        try:
            with self.client.stream("GET", url, headers=headers) as r:
                return self._read(url, r, started, host)
        except httpx.TimeoutException as exc:
            raise FetchError(url, f"timed out ({type(exc).__name__})", transient=True) from exc
        except httpx.TransportError as exc:
            raise FetchError(url, f"network error: {exc or type(exc).__name__}", transient=True) from exc
        except httpx.InvalidURL as exc:
            raise FetchError(url, f"invalid URL: {exc}") from exc

    def _read(self, url: str, r: httpx.Response, started: float, host: str) -> Response:
        status = r.status_code
        if status in (429, 503):
            delay = retry_after_seconds(r.headers.get("retry-after"), time.time())
            if delay is not None:
                delay = min(delay, self.config.max_retry_after)
                self.limiter.block(host, delay)
                raise RetryLater(url, f"HTTP {status}, Retry-After {delay:.0f} s", delay)
            raise FetchError(url, f"HTTP {status}", transient=True)
        if status >= 500:
            raise FetchError(url, f"HTTP {status}", transient=True)
        if status == 410:
            raise FetchError(url, "HTTP 410 Gone")
        if status >= 400:
            raise FetchError(url, f"HTTP {status}")
        headers = {k.lower(): v for k, v in r.headers.items()}
        if status in REDIRECTS or status == 304:
            return Response(url, status, b"", None, headers.get("etag"), headers.get("last-modified"), headers=headers)
        if status != 200:
            raise FetchError(url, f"HTTP {status} (expected 200)")
        declared = r.headers.get("content-length")
        encoded = "content-encoding" in r.headers
        if declared and declared.isdigit() and not encoded and int(declared) > self.config.max_bytes:
            raise FetchError(url, f"body of {int(declared)} bytes is over the {self.config.max_bytes}-byte cap")
        chunks = []
        size = 0
        for chunk in r.iter_bytes():
            size += len(chunk)
            if size > self.config.max_bytes:
                raise FetchError(url, f"body over the {self.config.max_bytes}-byte cap (decoded)")
            if time.monotonic() - started > self.config.deadline:
                raise FetchError(url, f"response took over the {self.config.deadline:.0f} s deadline", transient=True)
            chunks.append(chunk)
        return Response(
            url=str(r.url),
            status=200,
            content=b"".join(chunks),
            charset=r.charset_encoding,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            headers=headers,
        )
