"""Post files: free names as Jekyll sees them, never overwriting, orphans found by `from:`,
special files passed over, failures that lose nothing."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scraper.articles.fetch import Fetched
from scraper.errors import StoreError
from scraper.models import Article, Job
from scraper.run import reindex
from scraper.runner import write_post
from scraper.site import posts
from scraper.site.postfiles import PostFiles
from scraper.store.state import State

WHEN = datetime(2023, 12, 5, 1, 0, tzinfo=UTC)


def article(article_id: str, title: str, when: datetime = WHEN) -> Article:
    return Article(article_id, f"https://www.cna.com.tw/news/aopl/{article_id}.aspx", title, when, None, "", (), None, "<p>本文</p>")


def fetched(article_id: str, title: str, when: datetime = WHEN) -> Fetched:
    a = article(article_id, title, when)
    job = Job(article_id=article_id, url=a.url, source="test")
    return Fetched(job, a, posts.build(a, site="(臺)中央社CNA"), "cna")


@pytest.fixture
def site(tmp_path: Path) -> tuple[State, PostFiles]:
    files = PostFiles(tmp_path / "out")
    files.prepare()
    return State(tmp_path / "out" / ".scraper" / "state.db"), files


def write(site: tuple[State, PostFiles], f: Fetched) -> str | None:
    state, files = site
    return write_post(state, files, f.job, f, 1.0)


@pytest.mark.parametrize(
    ("a", "b"),
    [("美中會談：進展有限", "美中會談「進展有限」"), ("A/B test", "A--B test"), ("標題.", "標題"), ("x  y", "x y")],
)
def test_titles_jekyll_would_give_one_url_get_two_names(a: str, b: str) -> None:
    assert posts.jekyll_slug(posts.filename(WHEN, a)) == posts.jekyll_slug(posts.filename(WHEN, b))


def test_a_slug_clash_writes_the_second_post_under_its_id(site: tuple[State, PostFiles]) -> None:
    assert write(site, fetched("202312050001", "美中會談：進展有限")) == "_posts/2023-12-05-美中會談：進展有限.md"
    assert write(site, fetched("202312050002", "美中會談「進展有限」")) == "_posts/2023-12-05-美中會談「進展有限」-202312050002.md"
    # a day later is another URL only when Jekyll's dates differ by more than the zone can shift
    later = datetime(2023, 12, 7, 1, 0, tzinfo=UTC)
    assert write(site, fetched("202312070003", "美中會談：進展有限", later)) == "_posts/2023-12-07-美中會談：進展有限.md"


def test_a_post_written_by_hand_is_never_overwritten(site: tuple[State, PostFiles]) -> None:
    _state, files = site
    mine = fetched("202312050001", "標題")
    hand = files.posts_dir / mine.post.filename
    hand.write_text("---\nlayout: post\ntitle: mine\n---\nmy own words\n", encoding="utf-8")
    rel = write(site, mine)
    assert rel == "_posts/2023-12-05-標題-202312050001.md"
    assert hand.read_text(encoding="utf-8").endswith("my own words\n")


def test_a_post_that_names_the_article_is_adopted_not_written_twice(site: tuple[State, PostFiles]) -> None:
    """A run killed between writing a post and recording it, then a changed title."""
    state, files = site
    first = fetched("202312050001", "舊標題")
    (files.posts_dir / first.post.filename).write_text(first.post.text, encoding="utf-8")
    assert write(site, fetched("202312050001", "新標題（更新）")) is None
    assert [p.name for p in files.posts_dir.iterdir()] == [first.post.filename]
    row = state.article("202312050001")
    assert row is not None and row.status == "written" and row.path == f"_posts/{first.post.filename}"


def test_a_failed_write_is_an_error_and_the_article_stays_pending(site: tuple[State, PostFiles]) -> None:
    """The temporary file cannot be created (here: its name is taken by a folder)."""
    state, files = site
    f = fetched("202312050001", "標題")
    state.remember([f.job], 0.0)
    (files.posts_dir / f".tmp-{os.getpid()}-{threading.get_ident()}-{f.post.filename}").mkdir()
    with pytest.raises(StoreError, match="cannot write post"):
        write(site, f)
    row = state.article("202312050001")
    assert row is not None and row.status == "pending" and row.path is None
    assert [p.name for p in files.posts_dir.iterdir() if not p.name.startswith(".")] == []


def test_temporary_files_of_dead_runs_are_removed(tmp_path: Path) -> None:
    files = PostFiles(tmp_path)
    files.posts_dir.mkdir()
    (files.posts_dir / ".tmp-999999999-x.md").write_text("half", encoding="utf-8")
    (files.posts_dir / f".tmp-{os.getpid()}-y.md").write_text("mine", encoding="utf-8")
    files.prepare()
    assert sorted(p.name for p in files.posts_dir.iterdir()) == [f".tmp-{os.getpid()}-y.md"]


def test_reindex_passes_over_fifos_and_links_to_devices(site: tuple[State, PostFiles]) -> None:
    state, files = site
    good = fetched("202312050001", "標題")
    (files.posts_dir / good.post.filename).write_text(good.post.text, encoding="utf-8")
    os.mkfifo(files.posts_dir / "2023-12-05-fifo.md")
    (files.posts_dir / "2023-12-05-zero.md").symlink_to("/dev/zero")
    (files.posts_dir / "2023-12-05-big.md").write_text("---\nlayout: post\n" + "x" * 10_000_000, encoding="utf-8")
    result: list[tuple[int, list[str]]] = []

    def rebuild() -> None:
        own = State(state.path)  # SQLite connections stay in their thread
        result.append(reindex(own, files, 0.0))
        own.close()

    worker = threading.Thread(target=rebuild, daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "reindex hung on a special file"
    recorded, unknown = result[0]
    assert recorded == 1 and unknown == [str(files.posts_dir / "2023-12-05-big.md")]
    # and a poll writing next to them neither hangs nor reads them
    assert write(site, fetched("202312050002", "fifo")) == "_posts/2023-12-05-fifo-202312050002.md"


def test_the_run_lock_is_the_output_folders(tmp_path: Path) -> None:
    from scraper.errors import AlreadyRunning

    with PostFiles(tmp_path / "out").lock("poll"), pytest.raises(AlreadyRunning, match="another `scraper poll`"), PostFiles(tmp_path / "out").lock("poll"):
        pass
    with PostFiles(tmp_path / "out").lock("poll"), PostFiles(tmp_path / "out").lock("backfill"):
        pass  # a backfill may run beside a poll


def test_a_title_jekyll_slugs_to_nothing_gets_the_name_with_its_id(site: tuple[State, PostFiles]) -> None:
    assert write(site, fetched("202312050001", "???")) == "_posts/2023-12-05-???-202312050001.md"
