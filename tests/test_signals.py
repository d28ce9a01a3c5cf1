"""SIGINT and SIGTERM sent to a real run: exit 130 / 143 after the articles in flight, in
every phase and every command, with one line; nothing half-written, nothing lost.

Each test holds the requests it wants in flight at a gate on the local server, waits
until the server has seen them, signals the process, then lets them go. No test asserts
a time: a run that does not stop fails on ``wait``'s limit instead of hanging the suite."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers import POST_RE, front_matter, rss
from tests.server import Reply, Request, Server
from tests.sitebuilder import config, corpus_urls, item, path_of, posts_in, with_id
from tests.test_photos import png, serve_with_local_photos

ROOT = Path(__file__).resolve().parent.parent
CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
LIMIT = 90.0  # seconds a stopped run may take before the test fails (it takes a few)


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # whatever the test did, no server thread stays held


def held(gate: threading.Event, reply: Reply) -> Callable[[Request], Reply]:
    return lambda req: (gate.wait(LIMIT), reply)[1]


def start(tmp: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "scraper", *args], env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def until(seen: Callable[[], bool], what: str, proc: subprocess.Popen[str]) -> None:
    end = time.monotonic() + LIMIT
    while not seen():
        if proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before {what}: {proc.stderr.read() if proc.stderr else ''}")
        if time.monotonic() > end:
            pytest.fail(f"never saw {what}")
        time.sleep(0.05)


def stop(proc: subprocess.Popen[str], signum: int, gate: threading.Event | None = None) -> tuple[int, str, str]:
    proc.send_signal(signum)
    if gate is not None:
        time.sleep(1.0)  # the handler runs at once; then the requests in flight may finish
        gate.set()
    out, err = proc.communicate(timeout=LIMIT)
    return proc.returncode, out, err


def one_stop_line(err: str, signum: int) -> bool:
    lines = [line for line in err.splitlines() if line.strip()]
    return len(lines) == 1 and lines[0].startswith(f"scraper: stopped by {signal.Signals(signum).name} after the articles in flight")


def derived(server: Server, corpus: Path, count: int) -> list[str]:
    """``count`` articles derived from a real page, each at its own local URL."""
    base = corpus_urls(corpus)["004.html"]
    page = (corpus / "cna" / "pages" / "004.html").read_bytes()
    urls = []
    for i in range(count):
        aid = f"2023120800{i:02d}"
        url = server.url(f"/news/aopl/{aid}.aspx")
        server.page(path_of(url), with_id(page, base, aid, f"訊號測試第{i}則"))
        urls.append(url)
    return urls


def ids_written(tmp: Path) -> list[str]:
    return [front_matter(p.read_text(encoding="utf-8"))["from"].rsplit("/", 1)[1][:12] for p in posts_in(tmp)]


def intact(tmp: Path) -> bool:
    return all(POST_RE.match(p.read_text(encoding="utf-8")) for p in posts_in(tmp)) and not list((tmp / "out" / ".scraper" / "tmp").glob("*"))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_in_the_article_phase_finishes_the_articles_in_flight_then_exits(server: Server, corpus: Path, tmp_path: Path, gate: threading.Event, signum: int) -> None:
    urls = derived(server, corpus, 8)
    for url in urls:
        server.routes[path_of(url)] = held(gate, server.routes[path_of(url)])  # type: ignore[arg-type]
    server.feed("/feed", rss(*(item(f"t{i}", u) for i, u in enumerate(urls))))
    cfg = config(tmp_path, [("f", server.url("/feed"))], http={"max_per_host": 2})
    proc = start(tmp_path, "poll", "--config", str(cfg))
    until(lambda: server.article_hits() >= 2, "two articles in flight", proc)
    code, _, err = stop(proc, signum, gate)
    assert code == CODES[signum] and one_stop_line(err, signum), err
    first = ids_written(tmp_path)
    assert 2 <= len(first) < 8 and intact(tmp_path)  # the two in flight were written, not all
    with sqlite3.connect(tmp_path / "out" / ".scraper" / "state.db") as db:
        pending = db.execute("SELECT count(*), coalesce(max(attempts), 0) FROM articles WHERE status = 'pending'").fetchone()
    assert pending == (8 - len(first), 0)  # the rest wait for the next run, no attempt counted
    proc = start(tmp_path, "poll", "--config", str(cfg))
    _, err = proc.communicate(timeout=LIMIT)
    ids = ids_written(tmp_path)
    assert proc.returncode == 0, err
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 8 and intact(tmp_path)


def test_sigterm_in_the_feed_phase_exits_143_and_counts_no_feed_failure(server: Server, tmp_path: Path, gate: threading.Event) -> None:
    server.routes["/feed"] = held(gate, Reply(200, rss(), {"Content-Type": "application/rss+xml"}))
    cfg = config(tmp_path, [("f", server.url("/feed"))])
    proc = start(tmp_path, "poll", "--config", str(cfg))
    until(lambda: server.hits["/feed"] >= 1, "the feed requested", proc)
    code, _, err = stop(proc, signal.SIGTERM)  # the feed never answers: abandoned after the grace
    assert code == 143 and one_stop_line(err, signal.SIGTERM), err
    with sqlite3.connect(tmp_path / "out" / ".scraper" / "state.db") as db:
        assert db.execute("SELECT coalesce(sum(failures), 0) FROM feeds").fetchone()[0] == 0


def test_a_stop_with_slow_photos_in_flight_writes_the_post_with_remote_photos(server: Server, corpus: Path, tmp_path: Path) -> None:
    link, _ = serve_with_local_photos(server, corpus, "004.html", photo=Reply(200, png(1) * 50, {"Content-Type": "image/png"}, drip=1.0))
    server.feed("/feed", rss(item("a", link)))
    cfg = config(tmp_path, [("f", server.url("/feed"))], photos="mirror", http={"deadline": 600, "timeout": 600})
    proc = start(tmp_path, "poll", "--config", str(cfg))
    until(lambda: any(p.startswith("/img/") for p in server.hits), "a photo in flight", proc)
    code, _, err = stop(proc, signal.SIGTERM)  # each photo would take minutes: they are abandoned
    assert code == 143 and one_stop_line(err, signal.SIGTERM), err
    (post,) = posts_in(tmp_path)
    assert intact(tmp_path) and server.url("/img/") in post.read_text(encoding="utf-8")


def _poll_first(server: Server, tmp: Path, url: str) -> Path:
    server.feed("/feed", rss(item("a", url)))
    cfg = config(tmp, [("f", server.url("/feed"))])
    assert subprocess.run([sys.executable, "-m", "scraper", "poll", "--config", str(cfg)], cwd=tmp, env={**os.environ, "PYTHONPATH": str(ROOT)}).returncode == 0
    return cfg


@pytest.mark.parametrize("command", ["backfill", "fetch", "refresh", "check"])
def test_every_command_exits_130_on_sigint_after_what_is_in_flight(server: Server, corpus: Path, tmp_path: Path, gate: threading.Event, command: str) -> None:
    (url,) = derived(server, corpus, 1)
    cfg = _poll_first(server, tmp_path, url) if command in ("refresh", "check") else config(tmp_path, [("f", server.url("/feed"))])
    before = server.article_hits()
    server.routes[path_of(url)] = held(gate, server.routes[path_of(url)])  # type: ignore[arg-type]
    (tmp_path / "urls.txt").write_text(url + "\n", encoding="utf-8")
    args = {
        "backfill": ["backfill", "--urls", "urls.txt"],
        "fetch": ["fetch", url],
        "refresh": ["refresh", "--ids", "202312080000", "--force"],
        "check": ["check", "-n", "1"],
    }[command]
    proc = start(tmp_path, *args, "--config", str(cfg))
    until(lambda: server.article_hits() > before, "the page in flight", proc)
    code, out, err = stop(proc, signal.SIGINT, gate)
    assert code == 130 and one_stop_line(err, signal.SIGINT), err
    assert intact(tmp_path)
    if command == "fetch":
        assert POST_RE.match(out)  # the page in flight was finished and printed
    if command == "backfill":
        assert ids_written(tmp_path) == ["202312080000"]
