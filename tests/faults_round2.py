"""Fault scenarios of the second hardening round: the clock, the archive, signals, one-off
commands. Each returns an Outcome as those of tests/faults.py do, and joins its table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.faults import FAULTY, GOOD, Outcome, Scene
from tests.server import Reply, Server

Scenario = Callable[[Server, Path, Path], Outcome]
DAY = 86400.0


def clock_back(server: Server, corpus: Path, tmp: Path) -> Outcome:
    """A feed that failed twice backs off 600 s; then NTP moves the clock back 3 days.
    The feed is polled again 600 s after the new now, not 3 days and 600 s later."""
    from scraper.config import load
    from scraper.poll import poll

    s = Scene(server, corpus, tmp)
    server.page(s.fault_path, s.page(FAULTY))
    good_feed = server.routes["/feed"]
    server.routes["/feed"] = Reply(500, b"down")
    s.extra["feed_backoff"] = 300
    config = load(s.cfg())
    start = 1_800_000_000.0
    for run in range(2):
        poll(config, clock=lambda run=run: start + run)
    server.routes["/feed"] = good_feed
    back = start - 3 * DAY
    waited = []
    for minutes in (0, 5, 11):
        before = server.hits["/feed"]
        poll(config, clock=lambda m=minutes: back + m * 60.0)
        waited.append(int(server.hits["/feed"] > before))
    observed = f"feed polled after the clock went back: {waited} (at 0, 5, 11 min); {len(s.ids())} posts"
    return s.outcome("clock moved back 3 days during a feed's 600 s backoff", "feed polled after the clock went back: [0, 0, 1] (at 0, 5, 11 min); 4 posts", observed, (*GOOD, FAULTY))


SCENARIOS: list[Scenario] = [clock_back]
