"""What every run opens around its work: the HTTP client (with the archive), and the state
and post files of its output, under the output's lock; and the state rebuilt from the posts."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from .archive import Archive
from .config import Config
from .http import Http
from .models import RunReport
from .postfiles import PostFiles
from .state import State
from .urls import identities

log = logging.getLogger(__name__)


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


@contextlib.contextmanager
def open_run(config: Config, kind: str, *, dry_run: bool = False, now: float) -> Iterator[tuple[State, PostFiles]]:
    """The state and post files of ``config``'s output for one run of ``kind``.

    The output folder's lock is taken before anything is written; a second run of the
    same kind exits at once. A dry run takes no lock and writes nothing at all: it
    reads the state as it is, or none. A state that is empty while ``_posts`` holds
    posts (a lost or new state file) is first rebuilt from the posts.
    """
    files = PostFiles(config.output)
    if dry_run:
        state = State(config.state_path, readonly=True)
        try:
            yield state, files
        finally:
            state.close()
        return
    with files.lock(kind):
        files.prepare()
        state = State(config.state_path)
        try:
            if state.is_empty() and files.has_posts():
                recorded, _ = reindex(state, files, now)
                log.warning("state was empty but %s holds posts: recorded %d of them, none will be written again", files.posts_dir, recorded)
            yield state, files
        finally:
            state.close()
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
