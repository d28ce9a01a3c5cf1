"""The photo mirror's index in the state database: constant-time answers to "is this
URL's photo stored, and where?" and "are these bytes stored already?", and the
failures to try again on later runs.

It has its own connection (WAL: the run's own connection writes beside it), used from
the fetch threads under one lock; each write is its own short transaction.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import StoreError
from ..store.schema import PHOTOS

STORED, FAILED, REFUSED, GAVE_UP = "stored", "failed", "refused", "gave-up"


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8", errors="surrogatepass")).hexdigest()[:32]


@dataclass(frozen=True)
class PhotoRow:
    url: str
    path: str | None
    status: str
    attempts: int
    next_attempt: float
    reason: str | None


class PhotoIndex:
    """The ``photos``, ``photo_files`` and ``photo_waits`` tables of one state file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA busy_timeout = 60000")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.executescript(PHOTOS)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{path}: photo index unusable: {exc}") from exc

    def _run(self, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: photo index: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def photo(self, url: str) -> PhotoRow | None:
        rows = self._run("SELECT url, path, status, attempts, next_attempt, reason FROM photos WHERE url_key = ?", (url_key(url),))
        return PhotoRow(*rows[0]) if rows else None  # type: ignore[arg-type]

    def file_of(self, sha: str) -> str | None:
        rows = self._run("SELECT path FROM photo_files WHERE sha = ?", (sha,))
        return str(rows[0][0]) if rows else None

    def stored(self, url: str, sha: str | None, path: str, now: float) -> None:
        """``url``'s photo is at ``path`` (site-relative), which holds the bytes of ``sha``."""
        if sha is not None:
            self._run("INSERT OR IGNORE INTO photo_files (sha, path) VALUES (?, ?)", (sha, path))
        self._run(
            "INSERT INTO photos (url_key, url, path, status, attempts, next_attempt, reason, changed) VALUES (?, ?, ?, 'stored', 0, 0, NULL, ?) "
            "ON CONFLICT(url_key) DO UPDATE SET path = excluded.path, status = 'stored', reason = NULL, next_attempt = 0, changed = excluded.changed",
            (url_key(url), url, path, now),
        )

    def failed(self, url: str, reason: str, now: float, *, backoff: float, max_attempts: int, article_id: str | None, final: bool = False) -> PhotoRow:
        """One failed attempt at ``url``: tried again after ``backoff`` seconds, doubling, until
        ``max_attempts``; ``final`` (a refused address) is never tried again."""
        old = self.photo(url)
        attempts = (old.attempts if old else 0) + 1
        status = REFUSED if final else (GAVE_UP if attempts >= max_attempts else FAILED)
        wait = backoff * 2 ** min(attempts - 1, 20)
        self._run(
            "INSERT INTO photos (url_key, url, path, status, attempts, next_attempt, reason, changed) VALUES (?, ?, NULL, ?, ?, ?, ?, ?) "
            "ON CONFLICT(url_key) DO UPDATE SET status = excluded.status, attempts = excluded.attempts, next_attempt = excluded.next_attempt, "
            "reason = excluded.reason, changed = excluded.changed",
            (url_key(url), url, status, attempts, now + wait, reason, now),
        )
        if article_id is not None and status == FAILED:
            self._run("INSERT OR IGNORE INTO photo_waits (url_key, article_id) VALUES (?, ?)", (url_key(url), article_id))
        return PhotoRow(url, None, status, attempts, now + wait, reason)

    def postponed(self, url: str, reason: str, now: float, *, backoff: float, article_id: str | None) -> None:
        """``url`` was not asked for now: no attempt is counted; its post waits for it."""
        self._run(
            "INSERT INTO photos (url_key, url, path, status, attempts, next_attempt, reason, changed) VALUES (?, ?, NULL, 'failed', 0, ?, ?, ?) ON CONFLICT(url_key) DO NOTHING",
            (url_key(url), url, now + backoff, reason, now),
        )
        if article_id is not None:
            self._run("INSERT OR IGNORE INTO photo_waits (url_key, article_id) VALUES (?, ?)", (url_key(url), article_id))

    def due(self, now: float, *, before: float, limit: int = 500) -> list[str]:
        """Articles whose posts wait for a photo that is due for another try and did not
        fail at or after ``before`` (the start of this run: not tried twice in one run)."""
        rows = self._run(
            "SELECT DISTINCT w.article_id FROM photos p JOIN photo_waits w ON w.url_key = p.url_key WHERE p.status = 'failed' AND p.next_attempt <= ? AND p.changed < ? LIMIT ?",
            (now, before, limit),
        )
        return [str(r[0]) for r in rows]

    def settled(self, article_id: str, *, everything: bool = False) -> None:
        """The article's post waits no more for photos no longer failing (or, with
        ``everything``, for any photo: its post was edited by hand, or is gone)."""
        if everything:
            self._run("DELETE FROM photo_waits WHERE article_id = ?", (article_id,))
        else:
            self._run("DELETE FROM photo_waits WHERE article_id = ? AND url_key NOT IN (SELECT url_key FROM photos WHERE status = 'failed')", (article_id,))
