"""What the state says about the feeds and the runs, for ``status``, ``feeds list`` and the
metrics: every feed's last success, next check and items, the articles still pending or
given up on with their last reason, and the totals across runs (counters that only grow).

Queries over the state's own connection; the rules of when a feed is due stay ``schedule``'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .. import schedule
from ..config import FeedConfig
from ..models import RunReport, Status
from .state import State


@dataclass(frozen=True)
class FeedView:
    """One feed of feeds.yaml as the state knows it."""

    name: str
    url: str
    last_ok: float | None  # the last poll that answered (200 or 304)
    next_check: float | None  # None: the next run (no backoff); else when it is due again
    seen: int  # articles first found by this feed
    written: int
    failures: int
    last_error: str | None
    gone: bool
    redirect: str | None

    @property
    def condition(self) -> str:
        if self.gone:
            return "gone"
        if self.failures:
            return f"failing ({self.failures} in a row)"
        if self.last_ok is None:
            return "never polled"
        return "moved" if self.redirect else "ok"


def feed_views(state: State, feeds: Iterable[FeedConfig], now: float) -> list[FeedView]:
    counts: dict[str, tuple[int, int]] = {str(r[0]): (int(r[1]), int(r[2])) for r in state.execute("SELECT source, count(*), sum(status = 'written') FROM articles GROUP BY source").fetchall()}
    out = []
    for feed in feeds:
        r = state.execute("SELECT last_ok, failures, next_attempt, last_error, gone, redirect FROM feeds WHERE url = ?", (feed.url,)).fetchone()
        last_ok, failures, next_attempt, error, gone, redirect = r if r else (None, 0, 0.0, None, 0, None)
        seen, written = counts.get(feed.url, (0, 0))
        wait = schedule.feed_wait(bool(gone), float(next_attempt or 0), now)
        nxt = float(next_attempt) if wait == "backoff" else None
        out.append(FeedView(feed.name, feed.url, last_ok, nxt, seen, written, int(failures or 0), error, bool(gone), redirect))
    return out


def mark_seen(state: State, urls: Iterable[str], now: float) -> None:
    """The feeds that answered this run: their last success, in one write for the run."""
    wanted = list(urls)
    if wanted:
        with state.transaction():
            for url in wanted:
                state.execute("UPDATE feeds SET last_ok = ? WHERE url = ?", (now, url))


@dataclass(frozen=True)
class Waiting:
    article_id: str
    url: str
    status: Status
    attempts: int
    reason: str | None
    next_attempt: float


def waiting(state: State, limit: int = 50) -> list[Waiting]:
    """Pending and failed articles, failed first, each with its last reason."""
    rows = state.execute(
        "SELECT id, url, status, attempts, reason, next_attempt FROM articles WHERE status IN ('pending', 'failed') ORDER BY status = 'pending', changed DESC LIMIT ?",
        (limit,),
    ).fetchall()
    return [Waiting(str(r[0]), str(r[1]), Status(r[2]), int(r[3] or 0), r[4], float(r[5] or 0)) for r in rows]


# The counters kept across runs: name -> the RunReport figure it adds up.
COUNTERS = ("articles_written", "articles_skipped", "articles_failed", "articles_given_up", "articles_deferred", "articles_fallback", "feeds_polled", "feeds_unchanged", "feeds_failed", "runs")


def run_figures(report: RunReport) -> dict[tuple[str, str], float]:
    """What one run adds to the totals."""
    figures: dict[tuple[str, str], float] = {
        ("articles_written", ""): report.written,
        ("articles_skipped", ""): report.skipped,
        ("articles_failed", ""): report.failed,
        ("articles_given_up", ""): len(report.gave_up),
        ("articles_deferred", ""): report.deferred,
        ("articles_fallback", ""): report.fallback,
        ("feeds_polled", ""): report.feeds_polled,
        ("feeds_unchanged", ""): report.unchanged,
        ("feeds_failed", ""): report.feeds_failed,
        ("runs", ""): 1,
    }
    for host, (requests, size) in report.per_host.items():
        figures[("requests", host)] = requests
        figures[("bytes_read", host)] = size
    return figures


def add_totals(state: State, report: RunReport, command: str) -> None:
    """Add one run's figures to the totals of ``command`` (poll, backfill), in one transaction.
    Each command keeps its own, so that its metrics file holds its own counters."""
    with state.transaction():
        for (name, label), value in run_figures(report).items():
            state.execute(
                "INSERT INTO totals (name, label, value) VALUES (?, ?, ?) ON CONFLICT(name, label) DO UPDATE SET value = value + excluded.value",
                (f"{command}.{name}", label, value),
            )


def totals(state: State, command: str) -> dict[tuple[str, str], float]:
    """The totals of ``command``: (name, host or '') -> value."""
    rows = state.execute("SELECT name, label, value FROM totals WHERE name LIKE ? ESCAPE '\\'", (command.replace("_", "\\_") + ".%",)).fetchall()
    return {(str(n).split(".", 1)[1], str(lb)): float(v) for n, lb, v in rows}
