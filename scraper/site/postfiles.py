"""The only module that touches ``<output>``: post files, their names, the run locks.

- A post is written atomically: a dot-named temporary file in ``_posts`` itself (Jekyll
  ignores it; the same file system, so the rename cannot fail with EXDEV), fsync, a
  link that refuses to replace anything, fsync of the folder. An existing file is
  never overwritten.
- A name is free when no file holds it and no post of the days around it has the same
  URL once Jekyll slugs the name (「美中會談：進展有限」 and 「美中會談「進展有限」」 are one
  URL to Jekyll): otherwise the article's id goes before ``.md``.
- Which article a file holds is read from its ``from:`` line, with a bounded read of
  regular files only: a FIFO or a link to ``/dev/zero`` in ``_posts`` is passed over.
- The run locks live in ``<output>/.scraper``: two configs on one output folder share them.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from .. import atomic
from ..atomic import TMP_PREFIX
from ..errors import AlreadyRunning, StoreError
from ..errors import os_reason as reason
from ..models import Post
from ..net.urls import identities
from . import posts
from .postindex import NameIndex

log = logging.getLogger(__name__)
FRONT_MATTER_BYTES = 4096  # the from: line sits in the first lines of every post


class PostChanged(Exception):
    """A post file changed on disk between its check and its replacement."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_head(path: Path, limit: int = FRONT_MATTER_BYTES) -> bytes | None:
    """The first ``limit`` bytes of a regular file; None for anything else (FIFO, device,
    a link to one, a folder) or a file that cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return os.read(fd, limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def from_line(head: bytes) -> str | None:
    """The URL of the ``from:`` line in a post's front matter."""
    for line in head.decode("utf-8", errors="replace").splitlines()[:12]:
        if line.startswith("from: "):
            return line[6:].strip()
    return None


class PostFiles:
    """The ``_posts`` folder and the locks of one output site."""

    def __init__(self, output: Path) -> None:
        self.output = output
        self.posts_dir = output / "_posts"
        self.lock_dir = output / ".scraper"
        self._index: NameIndex | None = None  # the names in _posts by day and slug, checked on first need
        self._in_use = False
        self._owners: dict[str, frozenset[str]] = {}  # file name -> article ids its from: names, as read this run
        self._ids_by_day: dict[str, dict[str, str]] = {}  # "YYYY-MM-DD" -> article id -> file name

    # ---------------------------------------------------------------- locks

    @contextlib.contextmanager
    def lock(self, kind: str) -> Iterator[None]:
        """An exclusive lock for one kind of run on this output folder; a second one exits at once."""
        path = self.lock_dir / f"{kind}.lock"
        try:
            self.lock_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"{path}: cannot open the run lock: {reason(exc)}") from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
                raise AlreadyRunning(f"another `scraper {kind}` (pid {holder}) is running on {self.output}; this one exits") from None
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            os.close(fd)

    # ---------------------------------------------------------------- reading

    def prepare(self) -> None:
        """Create ``_posts`` and remove temporary files of runs that died (SIGKILL, power loss)."""
        try:
            self.posts_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{exc.filename}: cannot create folder: {reason(exc)}") from exc
        self._names(check=True)

    def _dead_tmp(self, name: str) -> None:
        pid = name[len(TMP_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            with contextlib.suppress(OSError):
                (self.posts_dir / name).unlink()

    def _names(self, *, check: bool = False) -> NameIndex:
        """The name index, brought up to date with ``_posts`` on first need in a run (and by
        ``prepare``): a listing only when the folder changed behind the index's back."""
        if self._index is None:
            self._index = NameIndex(self.lock_dir / "names.db", self.posts_dir)
        if check or not self._in_use:
            with self._index.lock:
                self._index.sync(self._dead_tmp)
            self._in_use = not check
        return self._index

    def close(self) -> None:
        if self._index is not None:
            self._index.close()
            self._index = None

    def has_posts(self) -> bool:
        return self.posts_dir.is_dir() and any(self.posts_dir.glob("*.md"))

    def owners(self, name: str) -> frozenset[str]:
        """The article ids the post file ``name`` may hold, by its ``from:`` line (empty when none)."""
        if name not in self._owners:
            head = read_head(self.posts_dir / name)
            url = from_line(head) if head else None
            self._owners[name] = frozenset(identities(url)) if url else frozenset()
        return self._owners[name]

    def _day_ids(self, day: str) -> dict[str, str]:
        """Article id -> file name for the posts of one day, read once a run."""
        if day not in self._ids_by_day:
            index = self._names()
            with index.lock:
                names = index.on_day(day)
            found: dict[str, str] = {}
            for name in names:
                for aid in self.owners(name):
                    found.setdefault(aid, name)
            self._ids_by_day[day] = found
        return self._ids_by_day[day]

    def scan(self) -> Iterator[tuple[str, str | None]]:
        """(file name, ``from:`` URL) of every regular ``.md`` file in ``_posts``."""
        if not self.posts_dir.is_dir():
            return
        with os.scandir(self.posts_dir) as entries:
            names = sorted(e.name for e in entries if e.name.endswith(".md") and not e.name.startswith("."))
        for name in names:
            head = read_head(self.posts_dir / name)
            if head is None:
                log.warning("%s: not a regular file; passed over", self.posts_dir / name)
                continue
            yield name, from_line(head)

    def _near(self, name: str) -> list[str]:
        """Files whose Jekyll URL could equal ``name``'s: the same slug, a day either side."""
        day = posts.name_day(name)
        out = []
        index = self._names()
        with index.lock:
            same = index.same_slug(posts.jekyll_slug(name))
        for other in same:
            other_day = posts.name_day(other)
            if day is None or other_day is None or abs((other_day - day).days) <= 1:
                out.append(other)
        return out

    # ---------------------------------------------------------------- finding and naming

    def existing(self, post: Post) -> str | None:
        """A file that already holds ``post``'s article: at one of its names, or among the
        posts of the days around it (a run killed between writing a post and recording
        it, then a title changed by the source)."""
        for name in (post.filename, post.other_filename):
            if (self.posts_dir / name).exists() and post.article_id in self.owners(name):
                return name
        day = posts.name_day(post.filename)
        if day is None:
            return None
        for delta in (-1, 0, 1):
            held = self._day_ids((day + timedelta(days=delta)).isoformat()).get(post.article_id)
            if held is not None and (self.posts_dir / held).exists():
                return held
        return None

    def free_name(self, post: Post) -> str:
        """``post.filename`` unless another file holds it or Jekyll would give it the URL of
        another post; then the name with the article's id, then with a counter."""
        for name in (post.filename, post.other_filename):
            # A title Jekyll slugs to nothing would give the page the URL ".html".
            if posts.jekyll_slug(name) and not (self.posts_dir / name).exists() and not self._near(name):
                return name
        stem = post.other_filename[: -len(".md")]
        for n in range(2, 1000):
            name = f"{stem}-{n}.md"
            if not (self.posts_dir / name).exists() and not self._near(name):
                return name
        raise StoreError(f"{self.posts_dir}: no free name for {post.filename}")

    # ---------------------------------------------------------------- writing

    def write(self, name: str, text: str) -> str:
        """Write a new post file atomically; returns its path relative to the output folder.
        Never replaces a file: a name taken meanwhile is a StoreError, the article stays pending."""
        target = self.posts_dir / name
        index = self._names()
        with index.lock:  # entered before the link: a run killed in between leaves a name, no lost file
            before = index.add(name)
            try:
                atomic.write(target, text.encode("utf-8"), replace=False)
            except OSError as exc:
                if not isinstance(exc, FileExistsError):
                    index.remove(name)
                raise StoreError(f"{target}: cannot write post: {reason(exc)}") from exc
            index.linked(before)
        return str(target.relative_to(self.output))

    def wrote(self, name: str, article_id: str) -> None:
        """Remember that ``name`` holds ``article_id`` (for the days already read this run)."""
        day = self._ids_by_day.get(name[:10])
        if day is not None:
            day.setdefault(article_id, name)

    def read(self, rel: str) -> str | None:
        """The text of a post file (a path relative to the output folder); None when it is gone."""
        head = read_head(self.output / rel, limit=64 * 1024 * 1024)
        return head.decode("utf-8", errors="replace") if head is not None else None

    def rewrite(self, rel: str, text: str, *, was: str | None = None) -> None:
        """Put new text in place of a post this run has checked is ours (``scraper refresh``),
        atomically. The name stays. With ``was``, the file is read again once the new text
        is on disk, just before it takes the old one's place, and left as it is (PostChanged)
        unless it still holds ``was``: an edit made while the new text was being made wins."""
        target = self.output / rel

        def unchanged() -> None:
            if was is not None and self.read(rel) != was:
                raise PostChanged(f"{target}: changed while its new version was being made; left as it is")

        try:
            atomic.write(target, text.encode("utf-8"), before_replace=unchanged)
        except OSError as exc:
            raise StoreError(f"{target}: cannot write post: {reason(exc)}") from exc
