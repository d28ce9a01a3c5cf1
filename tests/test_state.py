"""The state database on its own: migration of old files, rows in and out, read-only use."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scraper.errors import StoreError
from scraper.models import Job
from scraper.postfiles import PostFiles
from scraper.runner import reindex
from scraper.schedule import Policy
from scraper.state import VERSION, State

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
