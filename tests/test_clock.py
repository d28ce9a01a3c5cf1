"""The clock set back: a whole poll after NTP moves the clock back three days."""

from __future__ import annotations

from pathlib import Path

from scraper.commands.poll import poll
from scraper.config import load
from tests.helpers import rss
from tests.server import Reply, Server
from tests.sitebuilder import config, item, posts_in, serve_pages

DAY = 86400.0


def test_a_backed_off_feed_is_polled_after_its_interval_when_the_clock_went_back(server: Server, corpus: Path, tmp_path: Path) -> None:
    pages = serve_pages(server, corpus)
    server.routes["/feed"] = Reply(500, b"down")
    cfg = load(config(tmp_path, [("f", server.url("/feed"))], feed_backoff=300))
    start = 1_800_000_000.0
    for run in range(2):  # two failures in a row: the feed backs off 600 s
        poll(cfg, clock=lambda run=run: start + run)
    server.feed("/feed", rss(item("a", pages["004.html"])))
    back = start - 3 * DAY
    poll(cfg, clock=lambda: back)
    assert server.hits["/feed"] == 2 and posts_in(tmp_path) == []  # still inside its 600 s
    poll(cfg, clock=lambda: back + 601.0)
    assert server.hits["/feed"] == 3, "the feed waited the days the clock went back"
    assert len(posts_in(tmp_path)) == 1
