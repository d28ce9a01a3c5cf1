"""The fault-injection suite: every scenario of tests/faults.py, each on its own server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults import SCENARIOS, Outcome
from tests.server import Reply, Server


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_fault_loses_nothing_and_duplicates_nothing(scenario: Callable[[Server, Path, Path], Outcome], corpus: Path, tmp_path: Path) -> None:
    with Server() as server:
        outcome = scenario(server, corpus, tmp_path)
    assert outcome.lost == 0
    assert outcome.duplicates == 0
    assert outcome.intact
    assert outcome.observed == outcome.expected


def run(cfg: Path, *extra: str) -> int:
    from scraper.cli import main

    return main(["poll", "--config", str(cfg), *extra])


def test_permanent_redirect_is_remembered_after_three_polls_and_reported(server: Server, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.sitebuilder import config, real_feed

    server.routes["/old"] = Reply(301, b"", {"Location": "/new"})
    server.feed("/new", real_feed(corpus, []))
    cfg = config(tmp_path, [("moved", server.url("/old"))], article_backoff=3600)
    codes = [run(cfg) for _ in range(3)]
    err = capsys.readouterr().err
    assert codes == [0, 0, 0]
    assert err.count("moved permanently") == 1 and server.url("/new") in err
    assert run(cfg) == 0
    assert server.hits["/old"] == 3 and server.hits["/new"] == 4  # the fourth poll went straight to the new URL


def test_failing_feed_is_quiet_until_its_streak_reaches_the_threshold(server: Server, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.sitebuilder import config

    server.routes["/flaky"] = Reply(502, b"bad gateway")
    cfg = config(tmp_path, [("flaky", server.url("/flaky"))], report_after=3, feed_backoff=0)
    codes = [run(cfg) for _ in range(3)]
    err = capsys.readouterr().err
    assert codes == [0, 0, 1]
    assert err.count("failed 3 runs in a row") == 1 and "HTTP 502" in err
    server.routes["/flaky"] = Reply(200, b"<rss version='2.0'><channel><title>t</title></channel></rss>", {"Content-Type": "application/rss+xml"})
    assert run(cfg) == 0
    server.routes["/flaky"] = Reply(502, b"bad gateway")
    assert run(cfg) == 0  # the streak started again


def test_retry_after_blocks_the_host_across_runs_with_a_cap(server: Server, corpus: Path, tmp_path: Path) -> None:
    import sqlite3
    import time

    from tests.sitebuilder import config, corpus_urls, path_of, real_feed

    url = corpus_urls(corpus)["004.html"]
    server.routes[path_of(url)] = Reply(429, b"", {"Retry-After": "7200"})
    server.feed("/feed", real_feed(corpus, [server.url(path_of(url))]))
    cfg = config(tmp_path, [("f", server.url("/feed"))], article_backoff=0, http={"max_retry_after": 600})
    before = time.time()
    assert run(cfg) == 0
    with sqlite3.connect(tmp_path / "out" / ".scraper" / "state.db") as db:
        until = db.execute("SELECT blocked_until FROM hosts").fetchone()[0]
        attempts = db.execute("SELECT attempts, status FROM articles WHERE id = '202308230370'").fetchone()
    assert before + 590 < until < time.time() + 610  # capped at 600 s, not 7200
    assert attempts == (0, "pending")  # a pause asked by the server is no failed attempt
    hits = sum(server.hits.values())
    assert run(cfg) == 0
    assert sum(server.hits.values()) == hits  # the second run sends nothing to the paused host


def test_client_errors_are_not_retried_within_a_run_but_server_errors_are(server: Server, corpus: Path, tmp_path: Path) -> None:
    from tests.sitebuilder import config, real_feed

    server.routes["/news/aopl/202312040001.aspx"] = Reply(404, b"gone")
    server.routes["/news/aopl/202312040002.aspx"] = Reply(502, b"bad gateway")
    server.feed("/feed", real_feed(corpus, [server.url("/news/aopl/202312040001.aspx"), server.url("/news/aopl/202312040002.aspx")]))
    cfg = config(tmp_path, [("f", server.url("/feed"))], article_backoff=3600, http={"retries": 3})
    assert run(cfg) == 0
    assert server.hits["/news/aopl/202312040001.aspx"] == 1  # 4xx: final for this run
    assert server.hits["/news/aopl/202312040002.aspx"] == 3  # 5xx: tried `retries` times
