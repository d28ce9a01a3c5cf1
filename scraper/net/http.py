"""The only module that speaks HTTP: client, per-host limits, retries, size and time caps.

(robots.txt is ``robots``'s, the retry rules are ``schedule``'s; this module applies them.)

Policy (see README, "Reliability"):
- connect/read timeout on every request and a total deadline on every response, so a
  server that drips a byte a second cannot hang a run;
- a cap on the decoded body, applied as bytes come out of the decoder (we decode
  gzip and deflate ourselves, with a byte budget), so a gzip bomb is refused after
  ``max_bytes`` and never decompressed into memory; stacked encodings are refused;
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
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpcore
import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from .. import schedule, stopping
from ..config import HttpConfig
from ..errors import FetchError, OffSite, Refused, RetryLater
from ..models import Exchange
from .codings import Decoder
from .hostlimit import HostLimiter
from .netguard import AddressRefused, Guard
from .netguard import transport as guarded_transport
from .urls import host_of, is_web, resolve

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
    exchange: Exchange | None = None  # for the archive, recorded by the caller's thread


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; None when it is
    neither (``²`` is a digit to ``str.isdigit`` but no number to ``float``)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(min(int(value[:12]), 10**11))
    try:
        when = parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _exchange(r: httpx.Response, url: str, body: bytes) -> Exchange:
    return Exchange(
        url=url,
        when=time.time(),
        http_version=r.http_version,
        request_headers=tuple(r.request.headers.items()),
        status=r.status_code,
        reason=r.reason_phrase or "OK",
        response_headers=tuple(r.headers.items()),
        body=body,
    )


class _NotStarted(Exception):
    """The request's thread could not be started (the process is out of threads)."""


class Http:
    """A polite HTTP client. Thread-safe; one per run."""

    def __init__(self, config: HttpConfig, transport: httpx.BaseTransport | None = None, network: httpcore.NetworkBackend | None = None) -> None:
        """``network``: the sockets under the address guard; ``transport`` replaces both (tests)."""
        self.config = config
        self.limiter = HostLimiter(config.max_per_host, config.delay, budget=config.deadline)
        self.policy = schedule.Policy(max_retry_after=config.max_retry_after, wait_in_run=config.wait_in_run)
        self.requests = 0  # sent, for reports and tests
        self.per_host: dict[str, list[int]] = {}  # host -> [requests, bytes read]
        # exponential backoff with jitter between tries of one request
        self._backoff = wait_exponential(multiplier=config.backoff, max=config.backoff * 30) + wait_random(0, config.backoff)
        self._count_lock = threading.Lock()
        self.recorder: Callable[[Exchange], None] | None = None  # the archive, when one is kept
        # No cap on pooled connections: a request abandoned at the deadline keeps its
        # connection until the server lets go, and must not starve healthy hosts. The
        # per-host limiter is what bounds the requests in flight.
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=max(10, config.max_per_host * 4))
        self.guard = Guard.of(config.named, config.allow_private)
        self.client = httpx.Client(
            headers={"User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(config.timeout),
            follow_redirects=False,
            transport=transport or guarded_transport(self.guard, limits, network),
            trust_env=False,  # no environment proxy: the address reached must be the one checked
        )

    def pauses(self) -> dict[str, float]:
        """Hosts that asked us to wait, and until when (to keep across runs)."""
        return self.limiter.pauses()

    def restore_pauses(self, pauses: dict[str, float]) -> None:
        self.limiter.restore(pauses)

    def _count(self, host: str, requests: int = 0, size: int = 0) -> None:
        with self._count_lock:
            self.requests += requests
            counts = self.per_host.setdefault(host, [0, 0])
            counts[0] += requests
            counts[1] += size

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
        max_bytes: int | None = None,
    ) -> Response:
        """GET ``url`` with retries for transient failures only; ``max_bytes`` replaces the
        configured cap on the decoded body for this request."""

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return schedule.wait_before_retry(exc, float(self._backoff(state)))

        def retryable(exc: BaseException) -> bool:
            return schedule.retry_within_run(exc, self.policy) and not stopping.requested()

        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.config.retries)),
            wait=wait,
            sleep=stopping.sleep,
            retry=retry_if_exception(retryable),
            reraise=True,
        )
        result: Response = retrying(self._get_once, url, etag, last_modified, allowed_hosts, accept, max_bytes or self.config.max_bytes)
        return result

    def _get_once(self, url: str, etag: str | None, last_modified: str | None, allowed_hosts: Collection[str] | None, accept: str, cap: int) -> Response:
        seen = [url]
        permanent = True
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            headers = {"Accept": accept}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            response = self._send(current, headers, cap)
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
                raise FetchError(current, f"HTTP {response.status} redirect without a Location", status=response.status)
            target = resolve(location, current)
            if target is None:
                raise FetchError(current, f"redirect to a URL that is no web address ({location[:200]!r})", status=response.status)
            if allowed_hosts is not None and host_of(target) not in allowed_hosts:
                raise OffSite(url, f"redirect to another site ({host_of(target)}) refused")
            if target in seen:
                raise FetchError(url, f"redirect loop ({' -> '.join([*seen, target])})")
            permanent = permanent and response.status in PERMANENT_REDIRECTS
            seen.append(target)
            current = target
        raise FetchError(url, f"more than {MAX_REDIRECTS} redirects")

    def _send(self, url: str, headers: dict[str, str], cap: int) -> Response:
        if not is_web(url):
            raise FetchError(url, "not an http(s) URL that can be fetched")
        if stopping.requested():
            raise stopping.Stopped(url)  # nothing new starts once the run is stopping
        host = host_of(url)
        self.limiter.acquire(host, url)  # given back by the request's thread, when its connection is done
        try:
            self._count(host, requests=1)
            response = self._watched(url, headers, host, cap)
        except _NotStarted:
            self.limiter.release(host)
            raise FetchError(url, "cannot start a request thread", transient=True) from None
        if response.exchange is not None and self.recorder is not None:
            self.recorder(response.exchange)  # on this thread: no archive write runs on the deadline
        return response

    def _watched(self, url: str, headers: dict[str, str], host: str, cap: int) -> Response:
        """The request under the total deadline, headers included.

        httpx bounds each read, not the whole response: a server that drips its status
        line and headers a byte at a time would hold a plain call forever. The request
        runs in a daemon thread; past the deadline it is abandoned (its socket is closed
        by the server or at exit) and the fetch fails as a transient error.
        """
        box: dict[str, Response | BaseException] = {}

        def work() -> None:
            try:
                box["ok"] = self._send_now(url, headers, host, cap)
            except BaseException as exc:  # handed to the caller below
                box["error"] = exc
            finally:
                self.limiter.release(host)

        worker = threading.Thread(target=work, name="http-watched", daemon=True)
        try:
            worker.start()
        except RuntimeError as exc:
            raise _NotStarted from exc
        if not stopping.join(worker, self.config.deadline + 1.0):
            if stopping.requested():
                raise stopping.Stopped(url)
            self.limiter.timed_out(host, self.config.deadline + 1.0)
            raise FetchError(url, f"no complete response within the {self.config.deadline:.0f} s deadline", transient=True)
        error = box.get("error")
        if isinstance(error, BaseException):
            raise error
        result = box["ok"]
        assert isinstance(result, Response)
        return result

    def _send_now(self, url: str, headers: dict[str, str], host: str, cap: int) -> Response:
        started = time.monotonic()
        try:
            with self.client.stream("GET", url, headers=headers) as r:
                return self._read(url, r, started, host, cap)
        except httpx.TimeoutException as exc:
            self.limiter.timed_out(host, time.monotonic() - started)
            raise FetchError(url, f"timed out ({type(exc).__name__})", transient=True) from exc
        except httpx.TransportError as exc:
            raise FetchError(url, f"network error: {exc or type(exc).__name__}", transient=True) from exc
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
            raise FetchError(url, f"invalid URL: {exc}") from exc
        except AddressRefused as exc:
            raise Refused(url, exc.reason) from None

    def _read(self, url: str, r: httpx.Response, started: float, host: str, cap: int) -> Response:
        status = r.status_code
        if status in (429, 503):
            delay = retry_after_seconds(r.headers.get("retry-after"), time.time())
            if delay is not None:
                delay = schedule.host_pause(delay, self.policy)
                self.limiter.block(host, delay)
                raise RetryLater(url, f"HTTP {status}, Retry-After {delay:.0f} s", delay, status=status)
            raise FetchError(url, f"HTTP {status}", status=status, transient=True)
        if status >= 500:
            raise FetchError(url, f"HTTP {status}", status=status, transient=True)
        if status == 410:
            raise FetchError(url, "HTTP 410 Gone", status=status)
        if status >= 400:
            raise FetchError(url, f"HTTP {status}", status=status)
        headers = {k.lower(): v for k, v in r.headers.items()}
        if status in REDIRECTS or status == 304:
            return Response(url, status, b"", None, headers.get("etag"), headers.get("last-modified"), headers=headers)
        if status != 200:
            raise FetchError(url, f"HTTP {status} (expected 200)", status=status)
        declared = r.headers.get("content-length", "")
        encoding = r.headers.get("content-encoding")
        if declared.isascii() and declared.isdigit() and not encoding and int(declared) > cap:
            raise FetchError(url, f"body of {int(declared)} bytes is over the {cap}-byte cap")
        decoder = Decoder(encoding, cap, url)
        chunks = []
        raw: list[bytes] = []
        for chunk in r.iter_raw():
            self._count(host, size=len(chunk))
            chunks.append(decoder.feed(chunk))
            if self.recorder is not None:
                raw.append(chunk)
            if time.monotonic() - started > self.config.deadline:
                self.limiter.timed_out(host, time.monotonic() - started)
                raise FetchError(url, f"response took over the {self.config.deadline:.0f} s deadline", transient=True)
        chunks.append(decoder.flush())
        return Response(
            url=str(r.url),
            status=200,
            content=b"".join(chunks),
            charset=r.charset_encoding,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            headers=headers,
            exchange=_exchange(r, url, b"".join(raw)) if self.recorder is not None else None,
        )
