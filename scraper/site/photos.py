"""``photos: mirror``: a local copy of each photo of an article, before its post is written.

A photo is stored by its content: ``<output>/assets/photos/<yyyy>/<mm>/<hash>.<ext>``
(the hash of its bytes, the month of the article's date), once whatever the number of
URLs that serve those bytes, and the post's ``src`` points there, below the site's
``baseurl``. Only real images are kept: the type is sniffed from the bytes (JPEG, PNG,
GIF, WebP, AVIF), never taken from the header; SVG (it can carry script) and everything
else are refused.

Whether a URL's photo (or given bytes) is stored already is one indexed lookup in the
state (``photoindex``). An article's photos are fetched side by side, through the same
client as pages (per-host limits, deadlines, the address guard), at most
``photo_limits.per_article`` of them and ``bytes_per_article`` bytes in all. A host that
failed to answer in this run is not asked again in this run. A photo that fails keeps
its remote URL, the post is not held back, and the photo is tried again on later runs
with a doubling backoff (``photoretry`` then updates the post).
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .. import atomic, stopping
from ..config import PhotoConfig
from ..errors import FetchError, Refused, RetryLater, StoreError
from ..errors import os_reason as reason
from ..net.http import Http
from ..net.urls import host_of, is_web
from .photoindex import FAILED, GAVE_UP, STORED, PhotoIndex

log = logging.getLogger(__name__)
ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9"
EXTENSIONS = ("jpg", "png", "gif", "webp", "avif")
_SRC = re.compile(r'(<img\b[^>]*?\ssrc=")([^"]+)(")')
_BASEURL = re.compile(r"""^baseurl:\s*["']?([^"'#\n]*?)["']?\s*(?:#.*)?$""", re.M)


def sniff(data: bytes) -> str | None:
    """The file extension of an image by its first bytes; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "avif"
    return None


def baseurl(output: Path) -> str:
    """The site's ``baseurl`` from ``<output>/_config.yml`` (``""`` when none), as a path prefix."""
    try:
        text = (output / "_config.yml").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    m = _BASEURL.search(text)
    value = m.group(1).strip().strip("/") if m else ""
    return f"/{value}" if value else ""


@dataclass(frozen=True)
class Mirrored:
    body_html: str
    stored: int  # photos now local (fetched this time or already there)
    failed: int  # photos left on their remote URL


class _Later(FetchError):
    """A photo not asked for now (its backoff, or its host failed in this run)."""


class _NoRequest(FetchError):
    """A photo not stored yet, in a run that makes no request."""


class _OverBudget(FetchError):
    """A photo over what the article's byte limit leaves: kept remote, not tried again."""


class _Budget:
    """The bytes an article's photos may still take; each fetch reserves its cap first, so
    photos fetched side by side cannot overshoot, and gives back what it did not use."""

    def __init__(self, total: int) -> None:
        self.left = total
        self._lock = threading.Lock()

    def take(self, most: int) -> int:
        with self._lock:
            got = min(most, self.left)
            self.left -= got
            return got

    def give(self, unused: int) -> None:
        with self._lock:
            self.left += unused


class Photos:
    """The photo store of one output site, for one run."""

    def __init__(self, output: Path, http: Http | None, index: PhotoIndex, limits: PhotoConfig | None = None, *, clock: Callable[[], float] = time.time) -> None:
        """Without ``http``, photos already stored are linked and no request is made."""
        self.root = output / "assets" / "photos"
        self.output = output
        self.http = http
        self.index = index
        self.limits = limits or PhotoConfig()
        self.prefix = baseurl(output) + "/assets/photos"
        self.clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, threading.Lock] = {}  # one download of a URL, one write of bytes, at a time
        self.dead_hosts: dict[str, str] = {}  # hosts that did not answer in this run, and why
        self._gates: dict[str, threading.BoundedSemaphore] = {}

    def mirror(self, body_html: str, when: datetime, article_id: str | None = None) -> Mirrored:
        """``body_html`` with every remote photo replaced by its local copy where one could be made."""
        srcs = list(dict.fromkeys(html.unescape(m.group(2)) for m in _SRC.finditer(body_html)))
        urls = [u for u in srcs if is_web(u)]
        here = sum(src.startswith(self.prefix + "/") for src in srcs)  # stored by an earlier run
        wanted = urls[: max(0, self.limits.per_article - here)]
        if len(urls) > len(wanted):
            log.warning("photos of %s: %d over the limit of %d per article keep their remote URL", article_id or "an article", len(urls) - len(wanted), self.limits.per_article)
        budget = _Budget(self.limits.bytes_per_article)
        local: dict[str, str] = {}
        if wanted:
            workers = max(1, min(len(wanted), self.http.config.max_connections if self.http else 1))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photo") as pool:
                for url, path in zip(wanted, pool.map(lambda u: self._one(u, when, budget, article_id), wanted), strict=True):
                    if path is not None:
                        local[url] = path
        stored = failed = 0

        def swap(m: re.Match[str]) -> str:
            nonlocal stored, failed
            url = html.unescape(m.group(2))
            if not is_web(url):
                return m.group(0)
            if url in local:
                stored += 1
                return m.group(1) + local[url] + m.group(3)
            failed += 1
            return m.group(0)

        return Mirrored(_SRC.sub(swap, body_html), stored, failed)

    def _one(self, url: str, when: datetime, budget: _Budget, article_id: str | None) -> str | None:
        with self._lock:
            key_lock = self._keys.setdefault(url, threading.Lock())
        with key_lock:  # two articles of one run sharing a photo fetch it once
            try:
                return self.fetch(url, when, budget, article_id)
            except Refused as exc:
                self.index.failed(url, exc.reason, self.clock(), backoff=0, max_attempts=1, article_id=None, final=True)
                log.warning("photo kept remote url=%s: %s", url, exc.reason)
            except _NoRequest:  # a run that makes no request (refresh --from-archive): nothing to record
                log.info("photo kept remote url=%s: not stored yet, and no request is made", url)
            except _OverBudget as exc:  # a limit, not a failure: not tried again
                log.warning("photo kept remote url=%s: %s", url, exc.reason)
            except (_Later, stopping.Stopped) as exc:  # not tried now (later, or the run is stopping): no attempt counted, the post waits for it
                self.index.postponed(url, exc.reason, self.clock(), backoff=self.limits.retry_backoff, article_id=article_id)
                (log.info if stopping.requested() else log.warning)("photo kept remote url=%s: %s", url, exc.reason)
            except (FetchError, StoreError) as exc:
                self._failed(url, exc, article_id)
            return None

    def _failed(self, url: str, exc: FetchError | StoreError, article_id: str | None) -> None:
        row = self.index.failed(url, str(exc), self.clock(), backoff=self.limits.retry_backoff, max_attempts=self.limits.max_attempts, article_id=article_id)
        later = "tried again on a later run" if row.status == FAILED else f"given up after {row.attempts} attempts"
        log.warning("photo kept remote url=%s: %s (%s)", url, exc, later)

    def fetch(self, url: str, when: datetime, budget: _Budget | None = None, article_id: str | None = None) -> str:
        """The site path of the local copy of ``url``, fetched when not stored yet."""
        row = self.index.photo(url)
        if row is not None and row.status == STORED and row.path and (self.output / row.path).is_file():
            return self._site_path(self.output / row.path)
        legacy = self._legacy(url, when)
        if legacy is not None:
            self.index.stored(url, None, str(legacy.relative_to(self.output)), self.clock())
            return self._site_path(legacy)
        if self.http is None:
            raise _NoRequest(url, "not stored yet, and no request is made")
        # A refused row is not taken as final here: the guard answers again, at no cost to
        # anyone, so an address allowed since (http.allow_private) is fetched.
        if row is not None and row.status == GAVE_UP:
            raise FetchError(url, f"given up after {row.attempts} attempts ({row.reason})")
        if row is not None and row.status == FAILED and row.next_attempt > self.clock():
            raise _Later(url, f"failed before ({row.reason}); tried again after its backoff")
        host = host_of(url)
        with self._gate(host):  # no more photo requests to a host than it takes at once
            dead = self.dead_hosts.get(host)  # asked in turn, so a failure stops those queued
            if dead is not None:
                raise _Later(url, f"its host failed earlier in this run ({dead}); not asked again in this run")
            budget = budget or _Budget(self.limits.bytes_per_article)
            cap = budget.take(self.limits.bytes_per_photo)
            if cap <= 0:
                raise _OverBudget(url, f"the article's photos reached their {self.limits.bytes_per_article}-byte limit")
            try:
                response = self.http.get(url, accept=ACCEPT, max_bytes=cap)
            except BaseException as exc:
                budget.give(cap)
                if isinstance(exc, FetchError) and (exc.unreachable or isinstance(exc, RetryLater)):
                    with self._lock:  # said before the gate opens for the next one
                        self.dead_hosts.setdefault(host, exc.reason)
                if isinstance(exc, FetchError) and cap < self.limits.bytes_per_photo and f"{cap}-byte cap" in exc.reason:
                    raise _OverBudget(url, f"over what is left of the article's {self.limits.bytes_per_article}-byte limit") from None
                raise
        budget.give(cap - len(response.content))
        return self._keep(url, response.content, when)

    def _gate(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            gate = self._gates.get(host)
            if gate is None:
                gate = self._gates[host] = threading.BoundedSemaphore(self.http.config.max_per_host if self.http else 1)
            return gate

    def _keep(self, url: str, data: bytes, when: datetime) -> str:
        ext = sniff(data)
        if ext is None:
            raise FetchError(url, "not an image (JPEG, PNG, GIF, WebP or AVIF) by its bytes")
        sha = hashlib.sha256(data).hexdigest()
        with self._lock:
            sha_lock = self._keys.setdefault("sha:" + sha, threading.Lock())
        with sha_lock:
            known = self.index.file_of(sha)
            if known is not None and (self.output / known).is_file():
                target = self.output / known
            else:
                month = when.astimezone(UTC)
                target = self.root / f"{month:%Y}" / f"{month:%m}" / f"{sha[:24]}.{ext}"
                _write(target, data)
            self.index.stored(url, sha, str(target.relative_to(self.output)), self.clock())
        return self._site_path(target)

    def _legacy(self, url: str, when: datetime) -> Path | None:
        """A photo stored by an earlier version under its URL's hash (five stats, no glob)."""
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
        month = when.astimezone(UTC)
        folder = self.root / f"{month:%Y}" / f"{month:%m}"
        return next((p for p in (folder / f"{key}.{ext}" for ext in EXTENSIONS) if p.is_file()), None)

    def _site_path(self, path: Path) -> str:
        return f"{self.prefix}/{path.relative_to(self.root).as_posix()}"


def _write(target: Path, data: bytes) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic.write(target, data)
    except OSError as exc:
        raise StoreError(f"{target}: cannot write photo: {reason(exc)}") from exc
