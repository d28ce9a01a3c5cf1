"""The name index of `_posts`: the same free names and adopted files as a listing of the
folder gives, temporary files of dead runs removed, and no listing while it is fresh."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scraper.runner import write_post
from scraper.site import posts
from scraper.site.postfiles import PostFiles
from scraper.store.state import State
from tests.test_postfiles import fetched

WHEN = datetime(2023, 12, 5, 1, 0, tzinfo=UTC)
TITLES = ["美中會談：進展有限", "美中會談「進展有限」", "標題.", "標題", "A/B test", "A--B test", "x  y", "x y", "其他新聞"]


def listed_free_name(posts_dir: Path, post: posts.Post) -> str:
    """The free name as a full listing of the folder decides it (the rule before the index)."""
    names = [n for n in os.listdir(posts_dir) if n.endswith(".md") and not n.startswith(".")]

    def near(name: str) -> bool:
        day = posts.name_day(name)
        for other in names:
            other_day = posts.name_day(other)
            if posts.jekyll_slug(other) == posts.jekyll_slug(name) and (day is None or other_day is None or abs((other_day - day).days) <= 1):
                return True
        return False

    for name in (post.filename, post.other_filename):
        if posts.jekyll_slug(name) and not (posts_dir / name).exists() and not near(name):
            return name
    stem = post.other_filename[:-3]
    return next(f"{stem}-{n}.md" for n in range(2, 1000) if not (posts_dir / f"{stem}-{n}.md").exists() and not near(f"{stem}-{n}.md"))


def test_free_names_are_those_a_listing_gives(tmp_path: Path) -> None:
    out = tmp_path / "out"
    state = State(out / ".scraper" / "state.db")
    serial = 0
    for delta in (0, 1, 3, 0, 1):
        for title in TITLES:
            serial += 1
            f = fetched(f"20231205{serial:04d}", title, WHEN + timedelta(days=delta))
            files = PostFiles(out)  # a new run each time: the index is read back from disk
            files.prepare()
            expected = listed_free_name(files.posts_dir, f.post)
            assert files.free_name(f.post) == expected
            assert write_post(state, files, f.job, f, 1.0) == f"_posts/{expected}"
            files.close()
    assert len(os.listdir(out / "_posts")) == serial


def test_a_post_written_by_hand_between_runs_is_seen_by_the_next(tmp_path: Path) -> None:
    out = tmp_path / "out"
    state = State(out / ".scraper" / "state.db")
    files = PostFiles(out)
    files.prepare()
    write_post(state, files, fetched("202312050001", "其他").job, fetched("202312050001", "其他"), 1.0)
    files.close()
    clash = fetched("202312050002", "美中會談「進展有限」")
    (out / "_posts" / posts.filename(WHEN, "美中會談：進展有限")).write_text("---\ntitle: by hand\n---\n", encoding="utf-8")
    orphan = fetched("202312050003", "舊標題")
    (out / "_posts" / orphan.post.filename).write_text(orphan.post.text, encoding="utf-8")
    files = PostFiles(out)
    files.prepare()
    assert files.free_name(clash.post) == clash.post.other_filename
    assert files.existing(fetched("202312050003", "新標題").post) == orphan.post.filename


def test_a_dead_run_s_temporary_file_is_removed_and_a_fresh_index_lists_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    state = State(out / ".scraper" / "state.db")
    files = PostFiles(out)
    files.prepare()
    write_post(state, files, fetched("202312050001", "一").job, fetched("202312050001", "一"), 1.0)
    files.close()
    dead = out / "_posts" / ".tmp-999999999-1-2023-12-05-x.md"  # no such pid
    dead.write_text("half", encoding="utf-8")
    files = PostFiles(out)
    files.prepare()
    assert not dead.exists()
    write_post(state, files, fetched("202312050002", "二").job, fetched("202312050002", "二"), 1.0)
    files.close()

    # One run lists the folder after it changed (its time set a minute back: no listing
    # within a clock tick of a change is trusted); the run after lists nothing.
    then = os.stat(out / "_posts").st_mtime_ns - 60 * 10**9
    os.utime(out / "_posts", ns=(then, then))
    files = PostFiles(out)
    files.prepare()
    files.close()
    listed: list[str] = []
    real_scandir = os.scandir

    def counting(path: object = ".") -> object:
        listed.append(str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", counting)
    files = PostFiles(out)
    files.prepare()
    third = fetched("202312050003", "一")  # clashes with the first post's name
    assert write_post(state, files, third.job, third, 1.0) == f"_posts/{third.post.other_filename}"
    assert not [p for p in listed if Path(p) == out / "_posts"]
