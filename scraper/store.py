"""The only module that touches the state database and the post files.

State is SQLite (WAL, so a backfill and a cron poll can share it). An article's
identity is its id; a post is written atomically (temporary file, fsync, rename,
fsync of the folder) inside the database's write lock, and only then marked
written in the same transaction, so two processes can never both write one article
and a crash leaves either no file or a whole one that the next run recognises.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .errors import AlreadyRunning, StoreError
from .models import Post
from .sites import identity

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,          -- CNA's 12-digit id
    url TEXT NOT NULL,            -- where the page is fetched from
    status TEXT NOT NULL,         -- pending | written | failed | skipped
    reason TEXT,                  -- why failed or skipped
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    published TEXT,               -- the feed item's pubDate (ISO), when there was one
    path TEXT,                    -- the post, relative to the output folder
    canonical TEXT,
    source TEXT,                  -- feed URL, 'backfill', 'reindex' or 'fetch'
    first_seen REAL NOT NULL,
    changed REAL NOT NULL,
    site TEXT,                    -- the feed's own site name, when it has one
    author TEXT,                  -- the item's author
    title TEXT,                   -- the item's title (content: feed)
    content TEXT,                 -- the item's full text (content: feed), until written
    guid TEXT                     -- the item's GUID, to notice a feed that changes it
);
CREATE INDEX IF NOT EXISTS articles_due ON articles (status, next_attempt);
CREATE TABLE IF NOT EXISTS feeds (
    url TEXT PRIMARY KEY,
    etag TEXT,
    last_modified TEXT,
    failures INTEGER NOT NULL DEFAULT 0,   -- current failure streak
    next_attempt REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    last_ok REAL,
    redirect TEXT,                         -- target of a permanent redirect
    redirect_seen INTEGER NOT NULL DEFAULT 0,
    gone INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS hosts (
    host TEXT PRIMARY KEY,
    blocked_until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS days (
    day TEXT PRIMARY KEY,                  -- YYYYMMDD, a backfilled day
    finished REAL,                         -- set when the walk of the day completed
    last_serial INTEGER NOT NULL DEFAULT 0
);
"""

FINAL = ("written", "skipped", "failed")


@dataclass(frozen=True)
class Pending:
    article_id: str
    url: str
    published: datetime | None
    attempts: int
    site: str | None = None
    author: str | None = None
    title: str | None = None
    content: str | None = None


@dataclass(frozen=True)
class FeedState:
    url: str
    etag: str | None
    last_modified: str | None
    failures: int
    next_attempt: float
    redirect: str | None
    redirect_seen: int
    gone: bool


_OS_REASONS = {errno.ENOSPC: "disk full", errno.EROFS: "read-only file system", errno.EACCES: "permission denied", errno.EDQUOT: "disk quota exceeded"}


def _reason(exc: OSError) -> str:
    return _OS_REASONS.get(exc.errno or 0, exc.strerror or str(exc))


def _diagnose(path: Path, exc: sqlite3.Error) -> str:
    """SQLite says "disk I/O error" or "unable to open database file"; say what is wrong."""
    folder = path.parent
    if folder.exists() and not os.access(folder, os.W_OK):
        return "read-only file system (or no permission to write)"
    try:
        stat = os.statvfs(folder)
        if stat.f_bavail * stat.f_frsize < 256 * 1024:
            return "disk full"
    except OSError:
        pass
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and ("malformed" in text or "not a database" in text):
        return f"{text} (move the file aside and run `scraper reindex`)"
    return text


class _Db:
    """The state connection; every SQLite failure (disk full, read-only, corrupt) becomes a
    StoreError naming the file, so a full disk is a clear line, not a traceback."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, timeout=60, isolation_level=None)

    def execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        try:
            return self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: state database: {_diagnose(self.path, exc)}") from exc

    def executescript(self, sql: str) -> None:
        try:
            self.conn.executescript(sql)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: state database: {_diagnose(self.path, exc)}") from exc

    def close(self) -> None:
        self.conn.close()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Store:
    """State database plus the ``_posts`` folder of one output site."""

    def __init__(self, output: Path, state_path: Path) -> None:
        self.output = output
        self.posts_dir = output / "_posts"
        self.state_path = state_path
        self.tmp_dir = state_path.parent / "tmp"
        try:
            self.posts_dir.mkdir(parents=True, exist_ok=True)
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{exc.filename}: cannot create folder: {exc.strerror}") from exc
        try:
            self.db = _Db(state_path)
            self.db.execute("PRAGMA busy_timeout = 60000")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = FULL")
            self.db.executescript(SCHEMA)
            # State files written before sources other than CNA: add their columns.
            have = {row[1] for row in self.db.execute("PRAGMA table_info(articles)").fetchall()}
            for column in ("site", "author", "title", "content", "guid"):
                if column not in have:
                    self.db.execute(f"ALTER TABLE articles ADD COLUMN {column} TEXT")
        except sqlite3.Error as exc:
            raise StoreError(f"{state_path}: state database unusable: {_diagnose(state_path, exc)}") from exc
        self._clean_tmp()

    def close(self) -> None:
        self.db.close()

    # ---------------------------------------------------------------- locks

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """An exclusive lock for one kind of run; a second one exits at once."""
        path = self.state_path.parent / f"{name}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"{path}: cannot open the run lock: {_reason(exc)}") from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
                raise AlreadyRunning(f"another `scraper {name}` (pid {holder}) is running on {self.output}; this one exits") from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(StoreError):
                self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    # ---------------------------------------------------------------- articles

    def status(self, article_id: str) -> str | None:
        row = self.db.execute("SELECT status FROM articles WHERE id = ?", (article_id,)).fetchone()
        return row[0] if row else None

    def known(self, ids: list[str]) -> dict[str, str]:
        """Status of each id that the state holds."""
        out: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(f"SELECT id, status FROM articles WHERE id IN ({marks})", chunk).fetchall())
        return out

    def remember(
        self,
        article_id: str,
        url: str,
        published: datetime | None,
        source: str,
        now: float,
        *,
        site: str | None = None,
        author: str | None = None,
        title: str | None = None,
        content: str | None = None,
        guid: str | None = None,
    ) -> bool:
        """Record a newly seen article as pending; False when it was known already."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO articles (id, url, status, published, source, first_seen, changed, site, author, title, content, guid) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (article_id, url, published.isoformat() if published else None, source, now, now, site, author, title, content, guid),
        )
        return cur.rowcount == 1

    def changed_guids(self, entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """(id, stored GUID) of the given (id, GUID) pairs whose GUID differs from the one first seen;
        the stored GUID is updated so each change is told once."""
        changed = []
        for article_id, guid in entries:
            row = self.db.execute("SELECT guid FROM articles WHERE id = ?", (article_id,)).fetchone()
            if row and row[0] and row[0] != guid:
                changed.append((article_id, str(row[0])))
                self.db.execute("UPDATE articles SET guid = ? WHERE id = ?", (guid, article_id))
        return changed

    def due(self, now: float) -> list[Pending]:
        """Pending articles whose backoff has passed (retries of earlier runs)."""
        rows = self.db.execute(
            "SELECT id, url, published, attempts, site, author, title, content FROM articles WHERE status = 'pending' AND next_attempt <= ? ORDER BY first_seen",
            (now,),
        ).fetchall()
        return [Pending(r[0], r[1], datetime.fromisoformat(r[2]) if r[2] else None, r[3], r[4], r[5], r[6], r[7]) for r in rows]

    def record_failure(self, article_id: str, reason: str, now: float, max_attempts: int, backoff: float) -> bool:
        """Count a failed try; True when this one used up the attempts (the article is now failed)."""
        with self.transaction():
            row = self.db.execute("SELECT attempts, status FROM articles WHERE id = ?", (article_id,)).fetchone()
            if row is None or row[1] == "written":
                return False
            attempts = int(row[0]) + 1
            final = attempts >= max_attempts
            self.db.execute(
                "UPDATE articles SET attempts = ?, reason = ?, status = ?, next_attempt = ?, changed = ? WHERE id = ?",
                (attempts, reason, "failed" if final else "pending", now + backoff * 2 ** (attempts - 1), now, article_id),
            )
            return final

    def record_skip(self, article_id: str, reason: str, now: float) -> None:
        self.db.execute(
            "UPDATE articles SET status = 'skipped', reason = ?, changed = ? WHERE id = ? AND status != 'written'",
            (reason, now, article_id),
        )

    def retry_failed(self) -> int:
        """Give every failed article a fresh set of attempts (``scraper poll --retry-failed``)."""
        return self.db.execute("UPDATE articles SET status = 'pending', attempts = 0, next_attempt = 0 WHERE status = 'failed'").rowcount

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT status, count(*) FROM articles GROUP BY status").fetchall())

    # ---------------------------------------------------------------- posts

    def _owner(self, path: Path) -> str | None:
        """The article id a post file belongs to, read from its ``from:`` line."""
        try:
            with path.open("r", encoding="utf-8", errors="replace") as fh:
                for _, line in zip(range(12), fh, strict=False):
                    if line.startswith("from: "):
                        return identity(line[6:].strip())
        except OSError:
            return None
        return None

    def _choose_name(self, post: Post) -> str:
        path = self.posts_dir / post.filename
        if not path.exists() or self._owner(path) == post.article_id:
            return post.filename
        return post.other_filename

    def write_post(self, post: Post, now: float) -> str | None:
        """Write the post unless its article is written already; returns the file's path
        relative to the output folder, or None when nothing was written."""
        with self.transaction():
            row = self.db.execute("SELECT status FROM articles WHERE id = ?", (post.article_id,)).fetchone()
            if row and row[0] == "written":
                return None
            name = self._choose_name(post)
            target = self.posts_dir / name
            tmp = self.tmp_dir / f"{os.getpid()}-{post.article_id}.md"
            try:
                with open(tmp, "wb") as fh:
                    fh.write(post.text.encode("utf-8"))
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
                _fsync_dir(self.posts_dir)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    tmp.unlink()
                    raise StoreError(f"{target}: cannot write post: {_reason(exc)}") from exc
            rel = str(target.relative_to(self.output))
            self.db.execute(
                "INSERT INTO articles (id, url, status, path, canonical, first_seen, changed, source) VALUES (?, ?, 'written', ?, ?, ?, ?, 'fetch') "
                "ON CONFLICT(id) DO UPDATE SET status = 'written', path = excluded.path, canonical = excluded.canonical, reason = NULL, content = NULL, "
                "changed = excluded.changed",
                (post.article_id, post.url, rel, post.url, now, now),
            )
            return rel

    def _clean_tmp(self) -> None:
        """Remove temporary files of runs that died (SIGKILL, power loss)."""
        for tmp in self.tmp_dir.glob("*.md"):
            pid = tmp.name.split("-", 1)[0]
            if pid.isdigit() and not _pid_alive(int(pid)):
                with contextlib.suppress(OSError):
                    tmp.unlink()

    def is_empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is None

    def reindex(self, now: float) -> tuple[int, list[str]]:
        """Record every post in ``_posts`` as written (by its ``from:`` URL). Returns the
        number recorded and the files that name no article."""
        recorded = 0
        unknown: list[str] = []
        with self.transaction():
            for path in sorted(self.posts_dir.glob("*.md")):
                owner = self._owner(path)
                if owner is None:
                    unknown.append(str(path))
                    continue
                rel = str(path.relative_to(self.output))
                cur = self.db.execute(
                    "INSERT INTO articles (id, url, status, path, source, first_seen, changed) VALUES (?, ?, 'written', ?, 'reindex', ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET status = 'written', path = excluded.path WHERE articles.status != 'written'",
                    (owner, owner, rel, now, now),
                )
                recorded += cur.rowcount
        return recorded, unknown

    def has_posts(self) -> bool:
        return any(self.posts_dir.glob("*.md"))

    # ---------------------------------------------------------------- feeds and hosts

    def feed(self, url: str) -> FeedState:
        row = self.db.execute("SELECT url, etag, last_modified, failures, next_attempt, redirect, redirect_seen, gone FROM feeds WHERE url = ?", (url,)).fetchone()
        if row is None:
            return FeedState(url, None, None, 0, 0.0, None, 0, False)
        return FeedState(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]))

    def feed_ok(self, url: str, etag: str | None, last_modified: str | None, redirect: str | None, now: float) -> FeedState:
        old = self.feed(url)
        seen = old.redirect_seen + 1 if redirect and redirect == old.redirect else (1 if redirect else 0)
        self.db.execute(
            "INSERT INTO feeds (url, etag, last_modified, failures, next_attempt, last_ok, redirect, redirect_seen) VALUES (?, ?, ?, 0, 0, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, failures = 0, next_attempt = 0, "
            "last_error = NULL, last_ok = excluded.last_ok, redirect = excluded.redirect, redirect_seen = excluded.redirect_seen",
            (url, etag, last_modified, now, redirect, seen),
        )
        return self.feed(url)

    def feed_failed(self, url: str, reason: str, now: float, backoff: float, gone: bool = False) -> int:
        """Count a failed poll of a feed; returns the failure streak."""
        old = self.feed(url)
        failures = old.failures + 1
        wait = min(backoff * 2 ** (failures - 1), 6 * 3600)
        self.db.execute(
            "INSERT INTO feeds (url, failures, next_attempt, last_error, gone) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET failures = excluded.failures, next_attempt = excluded.next_attempt, last_error = excluded.last_error, gone = excluded.gone",
            (url, failures, now + wait if failures > 1 else now, reason, int(gone)),
        )
        return failures

    def host_blocks(self, now: float) -> dict[str, float]:
        return dict(self.db.execute("SELECT host, blocked_until FROM hosts WHERE blocked_until > ?", (now,)).fetchall())

    def save_host_blocks(self, blocks: dict[str, float]) -> None:
        with self.transaction():
            for host, until in blocks.items():
                self.db.execute(
                    "INSERT INTO hosts (host, blocked_until) VALUES (?, ?) ON CONFLICT(host) DO UPDATE SET blocked_until = max(blocked_until, excluded.blocked_until)",
                    (host, until),
                )

    # ---------------------------------------------------------------- backfill days

    def day_finished(self, day: str) -> bool:
        row = self.db.execute("SELECT finished FROM days WHERE day = ?", (day,)).fetchone()
        return row is not None and row[0] is not None

    def finish_day(self, day: str, now: float) -> None:
        self.db.execute("INSERT INTO days (day, finished) VALUES (?, ?) ON CONFLICT(day) DO UPDATE SET finished = excluded.finished", (day, now))
