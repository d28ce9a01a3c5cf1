"""The state database on its own: migration of old files, rows in and out, read-only use."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scraper.errors import StoreError
from scraper.models import Job
from scraper.run import reindex
from scraper.schedule import Policy
from scraper.site.postfiles import PostFiles
from scraper.store.state import VERSION, State

FIXTURE = Path(__file__).parent / "fixtures" / "state-v0"
POLICY = Policy(max_attempts=3, article_backoff=10)


def job(article_id: str = "202312050001", **kw: object) -> Job:
    fields: dict[str, object] = {"url": f"https://www.cna.com.tw/news/aopl/{article_id}.aspx", "source": "https://feeds.example/f"}
    fields.update(kw)
    return Job(article_id=article_id, **fields)  # type: ignore[arg-type]


@pytest.fixture
def old(tmp_path: Path) -> Path:
    """A copy of the state and posts written by scraper 0.1."""
    shutil.copytree(FIXTURE / "output", tmp_path / "output")
    return tmp_path / "output"


def test_a_state_file_of_0_1_is_migrated_keeping_every_row(old: Path) -> None:
    db = old / ".scraper" / "state.db"
    before = sqlite3.connect(db).execute("SELECT id, status, attempts, reason, site, author, title, content, guid FROM articles ORDER BY id").fetchall()
    state = State(db)
    assert state.version() == VERSION
    after = state.execute("SELECT id, status, attempts, reason, site, author, title, content, guid FROM articles ORDER BY id").fetchall()
    assert after == before and len(after) == 6
    # 0.1's reindex kept the id in the url column; the migration gives it a URL again
    assert state.article("202312040005") is not None
    assert state.article("202312040005").url == "https://www.cna.com.tw/news/aall/202312040005.aspx"  # type: ignore[union-attr]
    assert state.feed("https://feeds.example/intworld").etag == '"etag-1"'
    assert state.feed("https://feeds.example/politics").failures == 2
    assert "www.cna.com.tw" in state.host_pauses(0)
    assert state.day_finished("20231203")
    state.close()
    assert State(db).version() == VERSION  # opening again changes nothing


def test_a_migrated_state_keeps_working(old: Path) -> None:
    state = State(old / ".scraper" / "state.db")
    due = {j.article_id: j for j in state.due(2e9)}
    assert set(due) == {"202312040002", "a1b2c3d4e5f6"}  # written, failed and skipped ones are not due
    other = due["a1b2c3d4e5f6"]
    assert (other.site, other.author, other.title, other.content, other.guid) == ("Example 新聞", "Staff", "另一個網站", "<p>全文</p>", "tag:example.org,2023:1")
    assert due["202312040002"].attempts == 1
    assert state.known(["202312040001", "202312040003", "nope"]) == {"202312040001": "written", "202312040003": "failed"}
    assert state.retry_failed() == 1 and state.article("202312040003").status == "pending"  # type: ignore[union-attr]
    # its posts are recognised: nothing to record again
    assert reindex(state, PostFiles(old), 0.0) == (0, [])


def test_a_lost_state_is_rebuilt_from_the_posts(old: Path) -> None:
    (old / ".scraper" / "state.db").unlink()
    state = State(old / ".scraper" / "state.db")
    recorded, unknown = reindex(state, PostFiles(old), 0.0)
    assert (recorded, unknown) == (2, [])
    row = state.article("202312040005")
    assert row is not None and row.status == "written" and row.url == "https://www.cna.com.tw/news/acn/202312040005.aspx"


def test_failures_count_across_runs_and_give_up() -> None:
    state = State(Path(":memory:"))
    first = state.record_failure(job(), "HTTP 503", 100.0, POLICY)
    assert first is not None and (first.attempts, first.final) == (1, False)
    assert state.due(100.0) == [] and [j.article_id for j in state.due(first.next_attempt)] == ["202312050001"]
    state.record_failure(job(), "HTTP 503", 200.0, POLICY)
    last = state.record_failure(job(), "HTTP 503", 300.0, POLICY)
    assert last is not None and last.final
    assert state.article("202312050001").status == "failed"  # type: ignore[union-attr]
    assert state.due(1e12) == []


def test_a_written_article_is_never_failed_or_skipped_again() -> None:
    state = State(Path(":memory:"))
    with state.transaction():
        state.record_written(job(), url="https://www.cna.com.tw/news/aopl/202312050001.aspx", path="_posts/x.md", sha="ab", extractor="cna", now=1.0)
    assert state.record_failure(job(), "HTTP 500", 2.0, POLICY) is None
    state.record_skip(job(), "truncated", 3.0)
    row = state.article("202312050001")
    assert row is not None and (row.status, row.path, row.sha) == ("written", "_posts/x.md", "ab")


def test_remember_keeps_the_first_sighting_and_its_fields() -> None:
    state = State(Path(":memory:"))
    when = datetime(2023, 12, 5, 1, 2, 3, tzinfo=UTC)
    assert state.remember([job(title="一", published=when, author="A")], 1.0) == 1
    assert state.remember([job(title="二")], 2.0) == 0
    (due,) = state.due(5.0)
    assert (due.title, due.published, due.author, due.source) == ("一", when, "A", "https://feeds.example/f")


def test_deferrals_are_counted_once_they_outlast_the_longest_pause() -> None:
    state = State(Path(":memory:"))
    policy = Policy(max_attempts=3, max_retry_after=60, wait_in_run=1)
    assert not state.record_deferral(job(), 0.0, policy).counts_as_failure
    assert not state.record_deferral(job(), 59.0, policy).counts_as_failure
    assert state.record_deferral(job(), 60.0, policy).counts_as_failure


def test_dry_run_reads_the_state_and_writes_nothing(old: Path, tmp_path: Path) -> None:
    db = old / ".scraper" / "state.db"
    stamp = db.stat().st_mtime_ns, sorted(p.name for p in db.parent.iterdir())
    state = State(db, readonly=True)
    assert state.known(["202312040001"]) == {"202312040001": "written"}
    assert state.retry_failed() == 1  # on the copy only
    state.close()
    assert State(db, readonly=True).known(["202312040003"]) == {"202312040003": "failed"}
    assert (db.stat().st_mtime_ns, sorted(p.name for p in db.parent.iterdir())) == stamp
    missing = tmp_path / "none" / "state.db"
    empty = State(missing, readonly=True)
    assert empty.known(["x"]) == {} and empty.due(1e12) == []
    assert not missing.parent.exists()


def test_an_unusable_state_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "state.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"state.db: state database: .*(move the file aside and run `scraper reindex`)"):
        State(bad)


@pytest.mark.parametrize("lose_state", [True, False])
def test_reindex_counts_each_post_once_whatever_its_link_spells(tmp_path: Path, lose_state: bool, capsys: pytest.CaptureFixture[str]) -> None:
    """Posts from a feed's own text whose links hold 中文 (printed percent-encoded in from:)."""
    import json

    from scraper.cli import main
    from tests.server import Reply, Server
    from tests.sitebuilder import config, posts_in

    with Server() as server:
        items = "".join(
            f"<item><title>第{i}篇</title><link>{server.url(f'/新聞/{i}?q=台 北')}</link><pubDate>Tue, 05 Dec 2023 00:1{i}:00 +0800</pubDate>"
            f"<description><![CDATA[<p>{'這是全文。' * 60}{i}</p>]]></description></item>"
            for i in range(3)
        )
        feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
        server.routes["/feed"] = Reply(200, feed, {"Content-Type": "application/rss+xml"})
        cfg = config(tmp_path, [("f", server.url("/feed"))])
        text = cfg.read_text(encoding="utf-8").replace("url: http", "site: 某站\n  content: feed\n  url: http", 1)
        cfg.write_text(text, encoding="utf-8")
        assert main(["poll", "--config", str(cfg)]) == 0
        assert len(posts_in(tmp_path)) == 3
        if lose_state:
            (tmp_path / "out" / ".scraper" / "state.db").unlink()
        assert main(["reindex", "--config", str(cfg)]) == 0
        assert main(["poll", "--config", str(cfg)]) == 0  # nothing written twice
    assert len(posts_in(tmp_path)) == 3
    capsys.readouterr()
    assert main(["status", "--config", str(cfg), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["articles"]["written"] == 3


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("writer_open", [False, True])
def test_status_reads_a_read_only_state_file_in_place(tmp_path: Path, writer_open: bool) -> None:
    from scraper.commands.commands import status_data
    from scraper.config import Config

    db = tmp_path / "state" / "state.db"
    state = State(db)
    state.remember([job(f"2023120500{i:02d}") for i in range(30)], 1.0)
    state.record_failure(job("202312050001"), "HTTP 500", 2.0, POLICY)
    writer = State(db) if writer_open else None  # a run in progress keeps its -wal beside the file
    if writer is None:
        state.close()
    db.chmod(0o444)
    db.parent.chmod(0o555)
    try:
        before = _files(db.parent)
        reader = State(db, readonly=True)
        files = reader.conn.execute("PRAGMA database_list").fetchall()
        assert files[0][2] == str(db.resolve())  # the file itself, not a copy in memory
        reader.close()
        data = status_data(Config(path=tmp_path / "feeds.yaml", site="x", output=tmp_path / "out", feeds=(), state=db), 3.0)
        assert data["articles"]["pending"] == 30 and data["articles"]["written"] == 0
        assert _files(db.parent) == before
    finally:
        db.parent.chmod(0o755)
        db.chmod(0o644)
        if writer is not None:
            writer.close()
            state.close()


def test_reindex_in_batches_gives_the_rows_of_one_transaction(old: Path, tmp_path: Path) -> None:
    found = [((f"20231205{i:04d}",), f"https://www.cna.com.tw/news/aopl/20231205{i:04d}.aspx", f"_posts/p{i}.md", None) for i in range(1, 24)]
    found += [(("202312050001",), "https://www.cna.com.tw/news/aopl/202312050001.aspx", "_posts/again.md", None)]  # a second file of one article
    counts, rows = [], []
    for batch in (1, 5, 1000):
        state = State(tmp_path / f"b{batch}.db")
        counts.append(state.reindexed(iter(found), 1.0, batch=batch))
        rows.append(state.execute("SELECT id, url, status, path, canonical, source, sha FROM articles ORDER BY id").fetchall())
        state.close()
    assert counts == [23, 23, 23] and rows[0] == rows[1] == rows[2] and len(rows[0]) == 23


def test_waits_set_before_the_clock_went_back_last_their_interval_not_days() -> None:
    """Backoffs and host pauses are stored as moments: after the clock moves back three
    days they would wait three days more. Read back, each is cut to its interval from now."""
    state = State(Path(":memory:"))
    then, back = 1_000_000.0, 1_000_000.0 - 3 * 86400.0
    first = state.record_failure(job(), "HTTP 503", then, POLICY)
    assert first is not None and first.next_attempt == then + 10
    state.save_host_pauses({"www.cna.com.tw": then + 3600.0})
    assert state.clamp_waits(then, POLICY) == 0  # nothing to cut while the clock runs on
    assert state.clamp_waits(back, POLICY) == 2
    assert state.due(back) == []  # its interval has not passed since the new now
    assert [j.article_id for j in state.due(back + 10)] == ["202312050001"]
    assert state.host_pauses(back) == {"www.cna.com.tw": back + 3600.0}
    assert state.clamp_waits(back + 5, POLICY) == 0  # cut once, not again from each new now
