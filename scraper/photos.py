"""``photos: mirror``: a local copy of each photo of an article, before its post is written.

A photo goes to ``<output>/assets/photos/<yyyy>/<mm>/<hash>.<ext>`` (the hash of its
URL, the month of the article's date) and the post's ``src`` points there, below the
site's ``baseurl``. Only real images are kept: the type is sniffed from the bytes
(JPEG, PNG, GIF, WebP, AVIF), never taken from the header; SVG (it can carry script)
and everything else are refused. Fetches go through the same client as pages, so the
per-host limits, deadlines and a size cap apply. The same photo used by two posts is
stored once. A photo that fails keeps its remote URL and is counted; the post is not
held back.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from . import atomic, stopping
from .errors import FetchError, StoreError
from .errors import os_reason as reason
from .http import Http
from .urls import is_web

log = logging.getLogger(__name__)
DEFAULT_MAX_BYTES = 10_000_000
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


class Photos:
    """The photo store of one output site."""

    def __init__(self, output: Path, http: Http | None, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        """Without ``http``, photos already stored are linked and no request is made."""
        self.root = output / "assets" / "photos"
        self.http = http
        self.max_bytes = max_bytes
        self.prefix = baseurl(output) + "/assets/photos"
        self._lock = threading.Lock()
        self._keys: dict[str, threading.Lock] = {}  # one download of a photo at a time

    def mirror(self, body_html: str, when: datetime) -> Mirrored:
        """``body_html`` with every remote photo replaced by its local copy where one could be made."""
        stored = failed = 0

        def swap(m: re.Match[str]) -> str:
            nonlocal stored, failed
            url = html.unescape(m.group(2))
            if not is_web(url):
                return m.group(0)
            try:
                local = self.fetch(url, when)
            except (FetchError, StoreError) as exc:
                failed += 1
                (log.info if stopping.requested() else log.warning)("photo kept remote url=%s: %s", url, exc)
                return m.group(0)
            stored += 1
            return m.group(1) + local + m.group(3)

        return Mirrored(_SRC.sub(swap, body_html), stored, failed)

    def fetch(self, url: str, when: datetime) -> str:
        """The site path of the local copy of ``url``, fetched when not stored yet."""
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
        with self._lock:
            key_lock = self._keys.setdefault(key, threading.Lock())
        with key_lock:  # two articles of one run sharing a photo fetch it once
            return self._fetch(url, key, when)

    def _fetch(self, url: str, key: str, when: datetime) -> str:
        found = next(self.root.glob(f"*/*/{key}.*"), None) if self.root.is_dir() else None
        if found is not None:
            return self._site_path(found)
        if self.http is None:
            raise FetchError(url, "not stored yet, and no request is made")
        response = self.http.get(url, accept="image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9", max_bytes=self.max_bytes)
        ext = sniff(response.content)
        if ext is None:
            raise FetchError(url, "not an image (JPEG, PNG, GIF, WebP or AVIF) by its bytes")
        month = when.astimezone(UTC)
        target = self.root / f"{month:%Y}" / f"{month:%m}" / f"{key}.{ext}"
        _write(target, response.content)
        return self._site_path(target)

    def _site_path(self, path: Path) -> str:
        return f"{self.prefix}/{path.relative_to(self.root).as_posix()}"


def _write(target: Path, data: bytes) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic.write(target, data)
    except OSError as exc:
        raise StoreError(f"{target}: cannot write photo: {reason(exc)}") from exc
