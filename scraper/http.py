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
import zlib
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from . import schedule, stopping
from .config import HttpConfig
from .errors import FetchError, OffSite, RetryLater
from .models import Exchange
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


class Decoder:
    """Content-Encoding decoded by hand with a byte budget: each call returns at most what
    the budget leaves, so a bomb is refused after ``budget`` bytes, whatever it expands to."""

    def __init__(self, encoding: str | None, budget: int, url: str) -> None:
        codings = [c.strip().lower() for c in (encoding or "").split(",") if c.strip() and c.strip().lower() != "identity"]
        if len(codings) > 1:
            raise FetchError(url, f"stacked content encodings ({encoding}) refused")
        self.coding = codings[0] if codings else None
        if self.coding not in (None, "gzip", "x-gzip", "deflate"):
            raise FetchError(url, f"content encoding {self.coding!r} not supported")
        self.budget = budget
        self.url = url
        self.size = 0
        self._z = self._new() if self.coding else None
        self._raw_deflate_tried = False

    def _new(self, wbits: int | None = None) -> zlib._Decompress:
        if wbits is None:
            wbits = 16 + zlib.MAX_WBITS if self.coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        return zlib.decompressobj(wbits)

    def _count(self, data: bytes) -> bytes:
        self.size += len(data)
        if self.size > self.budget:
            raise FetchError(self.url, f"body over the {self.budget}-byte cap (decoded)")
        return data

    def feed(self, chunk: bytes) -> bytes:
        if self._z is None:
            return self._count(chunk)
        out = []
        data = chunk
        while data:
            try:
                piece = self._z.decompress(data, self.budget - self.size + 1)
            except zlib.error as exc:
                if self.coding == "deflate" and not self._raw_deflate_tried and self.size == 0:
                    self._raw_deflate_tried = True  # servers send raw deflate as often as zlib's
                    self._z = self._new(-zlib.MAX_WBITS)
                    continue
                raise FetchError(self.url, f"body does not decode as {self.coding} ({exc})") from exc
            out.append(self._count(piece))
            data = self._z.unconsumed_tail
            if self._z.eof and self._z.unused_data:
                data = self._z.unused_data  # another gzip member follows
                self._z = self._new()
        return b"".join(out)

    def flush(self) -> bytes:
        return self._count(self._z.flush()) if self._z is not None else b""


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

    def pauses(self) -> dict[str, float]:
        with self._lock:
            return dict(self.blocked_until)

    def restore(self, pauses: dict[str, float]) -> None:
        with self._lock:
            for host, until in pauses.items():
                self.blocked_until[host] = max(self.blocked_until.get(host, 0.0), until)


class Http:
    """A polite HTTP client. Thread-safe; one per run."""

    def __init__(self, config: HttpConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.limiter = HostLimiter(config.max_per_host, config.delay)
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
        self.client = httpx.Client(
            headers={"User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(config.timeout),
            follow_redirects=False,
            transport=transport,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=max(10, config.max_per_host * 4)),
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
        with self.limiter.slot(host, url):
            self._count(host, requests=1)
            response = self._watched(url, headers, host, cap)
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

        worker = threading.Thread(target=work, name="http-watched", daemon=True)
        worker.start()
        if not stopping.join(worker, self.config.deadline + 1.0):
            if stopping.requested():
                raise stopping.Stopped(url)
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
            raise FetchError(url, f"timed out ({type(exc).__name__})", transient=True) from exc
        except httpx.TransportError as exc:
            raise FetchError(url, f"network error: {exc or type(exc).__name__}", transient=True) from exc
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
            raise FetchError(url, f"invalid URL: {exc}") from exc

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
