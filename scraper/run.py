"""What every command's run works with, opened in one place: ``opened`` gives a ``Run``
(the configuration, the state and post files of its output under the output's lock, the
HTTP client with the archive, the photo store, the report, the clock and the stop) and
closes all of it however the run ends. Also the state rebuilt from the posts."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from . import stopping
from .config import Config, HttpConfig
from .models import RunReport
from .net.http import Http
from .net.urls import identities
from .site.photoindex import PhotoIndex
from .site.photos import Photos
from .site.postfiles import PostFiles
from .store.archive import Archive
from .store.state import State

log = logging.getLogger(__name__)

# What a run does to the output folder: a writing run takes its lock (reindex takes poll's:
# the two never write side by side); a reading one takes none and writes nothing at all.
Kind = Literal["poll", "backfill", "refresh", "reindex", "status"]
LOCKS: dict[Kind, str | None] = {"poll": "poll", "backfill": "backfill", "refresh": "refresh", "reindex": "poll", "status": None}
FEEDING: frozenset[Kind] = frozenset({"poll", "backfill"})  # runs that write new posts: _posts made ready, a lost state rebuilt first


class Stop:
    """Set by Ctrl-C (SIGINT) or SIGTERM (see stopping): finish the articles in flight, then stop."""

    def __bool__(self) -> bool:
        return stopping.requested()

    def installed(self) -> contextlib.AbstractContextManager[None]:
        return stopping.handling()


@dataclass(frozen=True)
class Run:
    """One command's run: what its stages share. ``http`` is None for a run that asks the
    network nothing (reindex, status, ``refresh --from-archive``)."""

    config: Config
    state: State
    files: PostFiles
    http: Http | None
    report: RunReport
    clock: Callable[[], float] = time.time
    stop: Stop = field(default_factory=Stop)
    dry_run: bool = False

    @property
    def archive(self) -> Archive | None:
        """Where responses are kept (WARC), when the configuration keeps them."""
        return Archive(self.config.archive) if self.config.archive is not None else None

    @functools.cached_property
    def photos(self) -> Photos:
        """The run's photo store (its index opened when a feed mirrors photos first needs it)."""
        return Photos(self.files.output, self.http, PhotoIndex(self.state.path), self.config.photo_limits, clock=self.clock)

    def close_photos(self) -> None:
        if "photos" in self.__dict__:
            self.photos.index.close()


@contextlib.contextmanager
def opened(
    config: Config,
    kind: Kind,
    *,
    dry_run: bool = False,
    network: bool = True,
    http: Http | None = None,
    report: RunReport | None = None,
    clock: Callable[[], float] = time.time,
) -> Iterator[Run]:
    """The ``Run`` of one command of ``kind`` on ``config``'s output; see the module's
    docstring. ``http``: a client of the caller's (left open), else one of its own when
    ``network``. A dry run, like ``status``, takes no lock and writes nothing."""
    report = report if report is not None else RunReport()
    with contextlib.ExitStack() as stack:
        client_ = stack.enter_context(client(config, http, report, dry_run=dry_run)) if network or http is not None else None
        state, files = stack.enter_context(_output(config, kind, dry_run=dry_run, now=clock()))
        run = Run(config, state, files, client_, report, clock, Stop(), dry_run)
        stack.callback(run.close_photos)
        yield run


@contextlib.contextmanager
def client(config: Config, http: Http | None, report: RunReport, *, dry_run: bool) -> Iterator[Http]:
    """The run's HTTP client (``http`` when given, else a new one it closes), keeping the
    archive when one is set (not in a dry run); its requests and bytes per host go to
    ``report`` however the run ends."""
    own = http is None
    http = http or Http(config.http)
    if config.archive is not None and not dry_run:
        http.recorder = Archive(config.archive).record
    try:
        yield http
    finally:
        report.per_host.update({host: (n, size) for host, (n, size) in http.per_host.items()})
        if own:
            http.close()


def http_client(config: HttpConfig, archive: Path | None = None) -> Http:
    """A client of its own for a command that reads one page or a few (``fetch``, ``check``,
    ``feeds add/test``),
    keeping the archive at ``archive`` when given; the caller closes it (``with``)."""
    http = Http(config)
    if archive is not None:
        http.recorder = Archive(archive).record
    return http


@contextlib.contextmanager
def _output(config: Config, kind: Kind, *, dry_run: bool, now: float) -> Iterator[tuple[State, PostFiles]]:
    """The state and post files of ``config``'s output for one run of ``kind``.

    The output folder's lock is taken before anything is written; a second run of the
    same kind exits at once. A dry run (or a run that only reads) takes no lock and
    writes nothing at all: it reads the state as it is, or none. A state that is empty
    while ``_posts`` holds posts (a lost or new state file) is first rebuilt from the posts.
    """
    files = PostFiles(config.output)
    lock = LOCKS[kind]
    if dry_run or lock is None:
        with State(config.state_path, readonly=True) as state:
            yield state, files
        return
    with files.lock(lock):
        if kind in FEEDING:
            files.prepare()
        try:
            with State(config.state_path) as state:
                if kind in FEEDING and state.is_empty() and files.has_posts():
                    recorded, _ = reindex(state, files, now)
                    log.warning("state was empty but %s holds posts: recorded %d of them, none will be written again", files.posts_dir, recorded)
                yield state, files
        finally:
            files.close()


def reindex(state: State, files: PostFiles, now: float) -> tuple[int, list[str]]:
    """Record every post in ``_posts`` as written, by its ``from:`` URL, streamed in batches.
    Returns the number recorded and the files that name no article."""
    unknown: list[str] = []

    def found() -> Iterator[tuple[tuple[str, ...], str, str, str | None]]:
        for name, url in files.scan():
            if not url:
                unknown.append(str(files.posts_dir / name))
                continue
            rel = str((files.posts_dir / name).relative_to(files.output))
            yield identities(url), url, rel, None

    return state.reindexed(found(), now), unknown
