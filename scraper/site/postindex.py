"""The names in ``_posts``, by day and by Jekyll slug, in a small SQLite table beside the
run locks (``<output>/.scraper/names.db``), so a run never lists ``_posts``.

A site of a year holds 100k to 350k posts; listing them on every poll cost a second and
100 MB. The table is trusted while the folder's modification time is the one recorded
when the table last matched it: any file added, removed or renamed in ``_posts`` (a post
written by hand, a temporary file of a run that died) changes it, and the next run lists
the folder once and brings the table up to date. A run's own posts are entered before
their file is linked, so a run killed in between leaves at most a name with no file.

A modification time recorded within ``RACY_NS`` of the listing that read it is not
trusted (a change in the same clock tick would not move it): the next run lists again.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from . import posts

RACY_NS = 50_000_000
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS names (name TEXT PRIMARY KEY, day TEXT NOT NULL, slug TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS names_slug ON names (slug)",
    "CREATE INDEX IF NOT EXISTS names_day ON names (day)",
    "CREATE TABLE IF NOT EXISTS folder (id INTEGER PRIMARY KEY CHECK (id = 1), mtime INTEGER NOT NULL, trusted INTEGER NOT NULL)",
)


def is_post(name: str) -> bool:
    return name.endswith(".md") and not name.startswith(".")


class NameIndex:
    """The post names of one ``_posts`` folder. A database that cannot be opened (a
    read-only site) falls back to a table in memory, filled by one listing."""

    def __init__(self, db: Path, posts_dir: Path) -> None:
        self.posts_dir = posts_dir
        self.lock = threading.RLock()  # one connection, shared by a run's writer threads
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(db, timeout=60, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode = WAL")
            self._schema()
        except (OSError, sqlite3.Error):
            self.conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            self._schema()

    def _schema(self) -> None:
        for sql in SCHEMA:
            self.conn.execute(sql)

    def close(self) -> None:
        self.conn.close()

    def _mtime(self) -> int | None:
        try:
            return os.stat(self.posts_dir).st_mtime_ns
        except OSError:
            return None

    def fresh(self) -> bool:
        """True when the table holds what ``_posts`` holds, by the folder's modification time."""
        row = self.conn.execute("SELECT mtime, trusted FROM folder WHERE id = 1").fetchone()
        now = self._mtime()
        return row is not None and bool(row[1]) and now is not None and now == row[0]

    def _record(self, mtime: int | None, trusted: bool) -> None:
        if mtime is not None:
            self.conn.execute("INSERT INTO folder (id, mtime, trusted) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET mtime = excluded.mtime, trusted = excluded.trusted", (mtime, int(trusted)))

    def sync(self, temporary: Callable[[str], None]) -> None:
        """List ``_posts`` once, unless the table is fresh: each temporary file's name goes to
        ``temporary`` (which removes those of dead runs), each post's into the table."""
        if self.fresh():
            return
        before = self._mtime()
        names: set[str] = set()
        tmp = False
        with contextlib.suppress(FileNotFoundError), os.scandir(self.posts_dir) as entries:
            for entry in entries:
                if entry.name.startswith(".tmp-"):
                    tmp = True
                    temporary(entry.name)
                elif is_post(entry.name):
                    names.add(entry.name)
        if tmp and before != self._mtime():  # dead runs' files removed: the time to keep is the one after
            return self.sync(lambda name: None)
        racy = before is None or time.time_ns() - before < RACY_NS
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            known = {str(r[0]) for r in self.conn.execute("SELECT name FROM names")}
            self.conn.executemany("DELETE FROM names WHERE name = ?", ((n,) for n in known - names))
            self.conn.executemany("INSERT OR IGNORE INTO names (name, day, slug) VALUES (?, ?, ?)", ((n, n[:10], posts.jekyll_slug(n)) for n in names - known))
            self._record(before, not racy)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def add(self, name: str) -> int | None:
        """Enter ``name`` before its file is linked; returns the folder's time before the link."""
        before = self._mtime() if self.fresh() else None
        self.conn.execute("INSERT OR IGNORE INTO names (name, day, slug) VALUES (?, ?, ?)", (name, name[:10], posts.jekyll_slug(name)))
        return before

    def linked(self, before: int | None) -> None:
        """The file is in place: the table is still fresh if it was before the link."""
        if before is not None:
            row = self.conn.execute("SELECT mtime FROM folder WHERE id = 1").fetchone()
            if row is not None and row[0] == before:
                self._record(self._mtime(), True)

    def remove(self, name: str) -> None:
        self.conn.execute("DELETE FROM names WHERE name = ?", (name,))

    def same_slug(self, slug: str) -> list[str]:
        return [str(r[0]) for r in self.conn.execute("SELECT name FROM names WHERE slug = ?", (slug,))]

    def on_day(self, day: str) -> list[str]:
        return [str(r[0]) for r in self.conn.execute("SELECT name FROM names WHERE day = ? ORDER BY name", (day,))]

    def all(self) -> Iterator[str]:
        for row in self.conn.execute("SELECT name FROM names ORDER BY name"):
            yield str(row[0])
