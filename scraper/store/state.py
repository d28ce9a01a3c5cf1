"""The state database, and nothing else: SQLite in, frozen rows out.

State is SQLite in WAL mode, so a backfill and a cron poll can share it. The schema
is versioned with ``PRAGMA user_version`` and every older file is migrated in place,
never discarded. The rules (what is due, how long to back off) are ``schedule``'s; this
module stores what they decide. Every SQLite failure (disk full, read-only, corrupt)
becomes a StoreError naming the file.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import schedule
from ..errors import StoreError
from ..models import ArticleRow, Extractor, FeedRow, Job, Status, WrittenRow
from .schema import V1, V1_LATE_COLUMNS, V2, V3, V4, VERSION, WAITS

_JOB_COLUMNS = "id, url, source, title, published, site, author, content, guid, attempts"


def _diagnose(path: Path, exc: sqlite3.Error) -> str:
    """SQLite says "disk I/O error" or "unable to open database file"; say what is wrong."""
    folder = path.parent
    if folder.exists() and not os.access(folder, os.W_OK):
        return "read-only file system (or no permission to write)"
    with contextlib.suppress(OSError):
        stat = os.statvfs(folder)
        if stat.f_bavail * stat.f_frsize < 256 * 1024:
            return "disk full"
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and ("malformed" in text or "not a database" in text):
        return f"{text} (move the file aside and run `scraper reindex`)"
    return text


def _job(row: Sequence[object]) -> Job:
    published = datetime.fromisoformat(str(row[4])) if row[4] else None
    return Job(
        article_id=str(row[0]),
        url=str(row[1]),
        source=str(row[2] or "feed"),
        title=str(row[3] or ""),
        published=published,
        site=row[5] if isinstance(row[5], str) else None,
        author=row[6] if isinstance(row[6], str) else None,
        content=row[7] if isinstance(row[7], str) else None,
        guid=row[8] if isinstance(row[8], str) else None,
        attempts=int(row[9] or 0),  # type: ignore[call-overload]
    )


def _read_only(path: Path) -> sqlite3.Connection:
    """The state file read-only in place (no copy: memory stays flat), writing nothing beside
    it: with no ``-wal`` (no run has it open) it is read as immutable, so no ``-shm`` either."""
    if not path.exists():
        return sqlite3.connect(":memory:", isolation_level=None)
    mode = "mode=ro" if Path(f"{path}-wal").exists() else "immutable=1"
    return sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True, timeout=60, isolation_level=None)


def _snapshot(path: Path) -> sqlite3.Connection:
    """An in-memory copy, for a file of an older schema that a read-only run sees migrated."""
    memory = sqlite3.connect(":memory:", isolation_level=None)
    source = _read_only(path)
    try:
        source.backup(memory)
    finally:
        source.close()
    return memory


def _feed_row(r: Sequence[object]) -> FeedRow:
    return FeedRow(
        url=str(r[0]),
        etag=r[1] if isinstance(r[1], str) else None,
        last_modified=r[2] if isinstance(r[2], str) else None,
        failures=int(r[3] or 0),  # type: ignore[call-overload]
        next_attempt=float(r[4] or 0),  # type: ignore[arg-type]
        last_error=r[5] if isinstance(r[5], str) else None,
        redirect=r[6] if isinstance(r[6], str) else None,
        redirect_seen=int(r[7] or 0),  # type: ignore[call-overload]
        gone=bool(r[8]),
    )


class State:
    """One state database. ``readonly`` opens the file read-only and never writes to it
    (``status``, ``--dry-run``); a missing file then reads as empty."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        try:
            if readonly:
                self.conn = _read_only(path)
                if self.conn.execute("PRAGMA user_version").fetchone()[0] != VERSION:  # a new or older file: migrated in memory
                    self.conn.close()
                    self.conn = _snapshot(path)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.conn = sqlite3.connect(path, timeout=60, isolation_level=None)
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the state folder: {exc.strerror}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: state database unusable: {_diagnose(path, exc)}") from exc
        self.execute("PRAGMA busy_timeout = 60000")
        if not readonly:
            self.execute("PRAGMA journal_mode = WAL")
            self.execute("PRAGMA synchronous = FULL")
        self._migrate()

    # ---------------------------------------------------------------- plumbing

    def execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: state database: {_diagnose(self.path, exc)}") from exc

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction, taken at once (``BEGIN IMMEDIATE``): it serialises writers
        across processes, so a poll and a backfill never both write one article."""
        self.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(StoreError):
                self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    def version(self) -> int:
        return int(self.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        if self.version() >= VERSION:
            return
        with self.transaction():
            version = self.version()
            if version < 1:
                for statement in V1.split(";"):
                    if statement.strip():
                        self.execute(statement)
                have = {row[1] for row in self.execute("PRAGMA table_info(articles)").fetchall()}
                for column in V1_LATE_COLUMNS:
                    if column not in have:
                        self.execute(f"ALTER TABLE articles ADD COLUMN {column} TEXT")
            if version < 2:
                for statement in V2.split(";"):
                    if statement.strip():
                        self.execute(statement)
            if version < 3:
                self.execute(V3)
            if version < 4:
                for statement in V4.split(";"):
                    if statement.strip():
                        self.execute(statement)
            self.execute(f"PRAGMA user_version = {VERSION}")

    # ---------------------------------------------------------------- articles

    def article(self, article_id: str) -> ArticleRow | None:
        row = self.execute("SELECT id, url, status, reason, attempts, path, deferred_since, sha FROM articles WHERE id = ?", (article_id,)).fetchone()
        return _article_row(row) if row else None

    def known(self, ids: Iterable[str]) -> dict[str, Status]:
        """Status of each id that the state holds."""
        wanted = list(dict.fromkeys(ids))
        out: dict[str, Status] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            out.update((aid, Status(status)) for aid, status in self.execute(f"SELECT id, status FROM articles WHERE id IN ({marks})", chunk).fetchall())
        return out

    def remember(self, jobs: Iterable[Job], now: float) -> int:
        """Record newly seen articles as pending; returns how many were new."""
        new = 0
        for job in jobs:
            cur = self.execute(
                "INSERT OR IGNORE INTO articles (id, url, status, published, source, first_seen, changed, site, author, title, content, guid) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job.article_id, job.url, job.published.isoformat() if job.published else None, job.source, now, now, job.site, job.author, job.title, job.content, job.guid),
            )
            new += cur.rowcount
        return new

    def changed_guids(self, jobs: Iterable[Job]) -> list[tuple[str, str]]:
        """(id, stored GUID) of known articles whose GUID differs from the one first seen;
        the stored GUID is updated so each change is told once."""
        changed = []
        for job in jobs:
            if not job.guid:
                continue
            row = self.execute("SELECT guid FROM articles WHERE id = ?", (job.article_id,)).fetchone()
            if row and row[0] and row[0] != job.guid:
                changed.append((job.article_id, str(row[0])))
                self.execute("UPDATE articles SET guid = ? WHERE id = ?", (job.guid, job.article_id))
        return changed

    def due(self, now: float) -> list[Job]:
        """Pending articles whose backoff has passed, oldest first."""
        rows = self.execute(f"SELECT {_JOB_COLUMNS} FROM articles WHERE status = 'pending' AND next_attempt <= ? ORDER BY first_seen", (now,)).fetchall()
        return [_job(r) for r in rows]

    def clamp_waits(self, now: float, policy: schedule.Policy) -> int:
        """Cut each stored wait to its interval from ``now``: a clock set back would stretch it."""
        cuts = []
        for kind, table, key, count, moment, which in WAITS:
            for k, n, stored in self.execute(f"SELECT {key}, {count}, {moment} FROM {table} WHERE {which} AND {moment} > ?", (now,)).fetchall():
                if (at := schedule.within(float(stored), now, schedule.wait_interval(kind, int(n), policy))) < float(stored):
                    cuts.append((f"UPDATE {table} SET {moment} = ? WHERE {key} = ?", (at, k)))
        with self.transaction():
            for sql, params in cuts:
                self.execute(sql, params)
        return len(cuts)

    def record_failure(self, job: Job, reason: str, now: float, policy: schedule.Policy) -> schedule.Attempt | None:
        """Count a failed try (the job's row is created when missing); None when the article
        is written already."""
        with self.transaction():
            self.remember([job], now)
            row = self.article(job.article_id)
            if row is None or row.status == Status.WRITTEN:
                return None
            attempt = schedule.after_failure(row.attempts, now, policy)
            self.execute(
                "UPDATE articles SET attempts = ?, reason = ?, status = ?, next_attempt = ?, deferred_since = NULL, changed = ? WHERE id = ?",
                (attempt.attempts, reason, Status.FAILED if attempt.final else Status.PENDING, attempt.next_attempt, now, job.article_id),
            )
            return attempt

    def record_deferral(self, job: Job, now: float, policy: schedule.Policy) -> schedule.Deferral:
        """The host put the fetch off; returns whether it now counts as a failure."""
        with self.transaction():
            self.remember([job], now)
            row = self.article(job.article_id)
            decision = schedule.after_deferral(row.deferred_since if row else None, now, policy)
            self.execute("UPDATE articles SET deferred_since = ? WHERE id = ?", (decision.deferred_since, job.article_id))
        return decision

    def record_skip(self, job: Job, reason: str, now: float) -> None:
        with self.transaction():
            self.remember([job], now)
            self.execute("UPDATE articles SET status = 'skipped', reason = ?, changed = ? WHERE id = ? AND status != 'written'", (reason, now, job.article_id))

    def record_written(self, job: Job, *, url: str, path: str, sha: str | None, extractor: Extractor, now: float) -> None:
        """Mark an article written (inside the caller's transaction, with the file in place)."""
        self.execute(
            "INSERT INTO articles (id, url, status, path, canonical, first_seen, changed, source, sha, extractor) VALUES (?, ?, 'written', ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET status = 'written', path = excluded.path, canonical = excluded.canonical, reason = NULL, content = NULL, "
            "deferred_since = NULL, sha = excluded.sha, extractor = excluded.extractor, changed = excluded.changed",
            (job.article_id, job.url, path, url, now, now, job.source, sha, extractor),
        )

    def written(self, *, ids: Sequence[str] = (), extractor: Extractor | None = None, since: str | None = None, until: str | None = None) -> list[WrittenRow]:
        """Written articles, chosen by id, by the extractor that wrote them, or by time: ``since``
        (included) and ``until`` (excluded) are UTC instants, ``YYYY-MM-DD HH:MM:SS``."""
        when = "coalesce(datetime(published), datetime(first_seen, 'unixepoch'))"
        where, params = ["status = 'written'", "path IS NOT NULL"], []
        for sql, value in ((f"id IN ({','.join('?' * len(ids))})", list(ids) or None), ("extractor = ?", extractor), (f"{when} >= ?", since), (f"{when} < ?", until)):
            if value is not None:
                where.append(sql)
                params += value if isinstance(value, list) else [value]
        rows = self.execute(f"SELECT {_JOB_COLUMNS}, canonical, path, sha, extractor FROM articles WHERE {' AND '.join(where)} ORDER BY id", params).fetchall()
        return [WrittenRow(_job(r), r[10], str(r[11]), r[12], Extractor(r[13]) if r[13] else None) for r in rows]

    def record_refreshed(self, article_id: str, *, sha: str, extractor: Extractor, now: float) -> None:
        self.execute("UPDATE articles SET sha = ?, extractor = ?, changed = ? WHERE id = ?", (sha, extractor, now, article_id))

    def set_title(self, article_id: str, title: str) -> None:
        """The feed title an update was last rendered for (``updates: rewrite``)."""
        self.execute("UPDATE articles SET title = ? WHERE id = ?", (title, article_id))

    def titles(self, ids: Iterable[str]) -> dict[str, str]:
        """The title each article had when first seen in a feed."""
        wanted = list(dict.fromkeys(ids))
        marks = ",".join("?" * len(wanted))
        return dict(self.execute(f"SELECT id, title FROM articles WHERE title IS NOT NULL AND id IN ({marks})", wanted).fetchall()) if wanted else {}

    def retry_failed(self) -> int:
        """Give every failed article a fresh set of attempts (``scraper poll --retry-failed``)."""
        return int(self.execute("UPDATE articles SET status = 'pending', attempts = 0, next_attempt = 0, deferred_since = NULL WHERE status = 'failed'").rowcount)

    def counts(self) -> dict[str, int]:
        return dict(self.execute("SELECT status, count(*) FROM articles GROUP BY status").fetchall())

    def failed(self, limit: int = 20) -> list[ArticleRow]:
        rows = self.execute("SELECT id, url, status, reason, attempts, path, deferred_since, sha FROM articles WHERE status = 'failed' ORDER BY changed DESC LIMIT ?", (limit,))
        return [_article_row(r) for r in rows.fetchall()]

    def is_empty(self) -> bool:
        return self.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is None

    def reindexed(self, found: Iterable[tuple[tuple[str, ...], str, str, str | None]], now: float, *, batch: int = 2000) -> int:
        """Record posts found on disk, (ids, from: URL, path, sha) each, as written, ``batch``
        posts a transaction; returns how many posts (files) were new. One written row a file:
        its other ids (the link spelt percent-encoded or not) are skipped aliases."""
        recorded, rows = 0, iter(found)
        while chunk := list(itertools.islice(rows, batch)):
            with self.transaction():
                for ids, url, path, sha in chunk:
                    known = dict(self.execute(f"SELECT id, status FROM articles WHERE id IN ({', '.join('?' * len(ids))})", ids).fetchall())
                    main = next((i for i in ids if known.get(i) == "written"), ids[0])
                    recorded += self.execute(
                        "INSERT INTO articles (id, url, status, path, canonical, source, first_seen, changed, sha) VALUES (?, ?, 'written', ?, ?, 'reindex', ?, ?, ?) "
                        "ON CONFLICT(id) DO UPDATE SET status = 'written', path = excluded.path, sha = excluded.sha WHERE articles.status != 'written'",
                        (main, url, path, url, now, now, sha),
                    ).rowcount
                    for alias in (i for i in ids if i != main):
                        self.execute(
                            "INSERT INTO articles (id, url, status, reason, source, first_seen, changed) VALUES (?, ?, 'skipped', ?, 'reindex', ?, ?) "
                            "ON CONFLICT(id) DO UPDATE SET status = 'skipped', reason = excluded.reason, path = NULL, changed = excluded.changed",
                            (alias, url, f"same article as {main}", now, now),
                        )
        return recorded

    # ---------------------------------------------------------------- feeds and hosts

    def feed(self, url: str) -> FeedRow:
        row = self.execute("SELECT url, etag, last_modified, failures, next_attempt, last_error, redirect, redirect_seen, gone FROM feeds WHERE url = ?", (url,)).fetchone()
        return _feed_row(row) if row else FeedRow(url)

    def troubled_feeds(self) -> list[FeedRow]:
        rows = self.execute("SELECT url, etag, last_modified, failures, next_attempt, last_error, redirect, redirect_seen, gone FROM feeds WHERE failures > 0 OR gone OR redirect IS NOT NULL")
        return [_feed_row(r) for r in rows.fetchall()]

    def feed_ok(self, url: str, etag: str | None, last_modified: str | None, redirect: str | None, now: float) -> FeedRow:
        old = self.feed(url)
        seen = schedule.redirect_streak(old.redirect, old.redirect_seen, redirect)
        self.execute(
            "INSERT INTO feeds (url, etag, last_modified, failures, next_attempt, last_ok, redirect, redirect_seen) VALUES (?, ?, ?, 0, 0, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, failures = 0, next_attempt = 0, "
            "last_error = NULL, last_ok = excluded.last_ok, redirect = excluded.redirect, redirect_seen = excluded.redirect_seen",
            (url, etag, last_modified, now, redirect, seen),
        )
        return self.feed(url)

    def feed_failed(self, url: str, reason: str, now: float, policy: schedule.Policy, *, gone: bool = False) -> schedule.FeedFailure:
        """Count a failed poll of a feed; returns the decision (streak, next poll, report)."""
        decision = schedule.feed_failed(self.feed(url).failures, now, policy)
        self.execute(
            "INSERT INTO feeds (url, failures, next_attempt, last_error, gone) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET failures = excluded.failures, next_attempt = excluded.next_attempt, last_error = excluded.last_error, gone = excluded.gone",
            (url, decision.failures, decision.next_attempt, reason, int(gone)),
        )
        return decision

    def host_pauses(self, now: float) -> dict[str, float]:
        return dict(self.execute("SELECT host, blocked_until FROM hosts WHERE blocked_until > ?", (now,)).fetchall())

    def save_host_pauses(self, pauses: dict[str, float]) -> None:
        with self.transaction():
            for host, until in pauses.items():
                self.execute(
                    "INSERT INTO hosts (host, blocked_until) VALUES (?, ?) ON CONFLICT(host) DO UPDATE SET blocked_until = max(blocked_until, excluded.blocked_until)",
                    (host, until),
                )

    # ---------------------------------------------------------------- notices

    def notice_said(self, name: str) -> float | None:
        """When the lasting notice ``name`` was last said as an error, or None."""
        row = self.execute("SELECT said FROM notices WHERE name = ?", (name,)).fetchone()
        return float(row[0]) if row else None

    def forget_notice(self, name: str) -> None:
        self.execute("DELETE FROM notices WHERE name = ?", (name,))

    def record_notice(self, name: str, now: float) -> None:
        self.execute("INSERT INTO notices (name, said) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET said = excluded.said", (name, now))

    # ---------------------------------------------------------------- backfill days

    def day_finished(self, day: str) -> bool:
        row = self.execute("SELECT finished FROM days WHERE day = ?", (day,)).fetchone()
        return row is not None and row[0] is not None

    def finish_day(self, day: str, now: float) -> None:
        self.execute("INSERT INTO days (day, finished) VALUES (?, ?) ON CONFLICT(day) DO UPDATE SET finished = excluded.finished", (day, now))


def _article_row(row: tuple[Any, ...]) -> ArticleRow:
    return ArticleRow(row[0], row[1], Status(row[2]), *row[3:])
