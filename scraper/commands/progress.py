"""How far a long run (a backfill) has come, and its display.

On a terminal the bar is tqdm's: it measures the rate and the time left itself, keeps log
lines above the bar (``tqdm.write``), and leaves the bar and a summary line on screen at the
end. Without a terminal (cron, systemd) there is no bar: an INFO line at most every
``every`` seconds (30), timed by the clock it is handed, so tests need no sleeping.

The estimate: a day of the id walk takes minutes, so counting finished days alone shows no
estimate for the first day. Each day's walk also reports how far into the day it is, by
serials walked against a day's expected count (see ``DAY_SERIALS``), so the first minute
already gives a rate.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from tqdm import tqdm

from ..models import RunReport
from .columns import plural

log = logging.getLogger("scraper")
# Serials a CNA day is expected to walk before the id walk's misses end it: CNA's ids count
# the day's articles, and the corpus article 202308230370 was published at 21:55, serial
# 370 at 91% of the day: about 405 a day, plus the 40 misses that end the walk.
DAY_SERIALS = 445
BAR = "COUNTS {percentage:3.0f}%|{bar}| FIGURES [{elapsed}, {remaining} left]"


@dataclass
class Progress:
    """What a backfill has done so far, for the progress display."""

    total_units: int
    unit: str  # "days" or "urls"
    done_units: int = 0
    fetched: int = 0
    started: float = 0.0
    partial: float = 0.0  # how far into the current unit (0 to 1), where that is known

    @property
    def position(self) -> float:
        return min(float(self.total_units), self.done_units + min(max(self.partial, 0.0), 0.99))

    def eta(self, now: float) -> float | None:
        """Seconds left at the rate so far; None before any progress at all."""
        if self.position <= 0:
            return None
        return (now - self.started) / self.position * (self.total_units - self.position)


def _line(p: Progress, r: RunReport, now: float) -> str:
    eta = p.eta(now)
    left = f"about {eta / 60:.0f} min left" if eta is not None else "estimating"
    share = f" ({100 * p.position / p.total_units:.0f}%)" if p.total_units else ""
    return f"{p.unit} {p.done_units}/{p.total_units}{share} fetched {p.fetched} written {r.written} failed {r.failed}, {left}"


class _Above(logging.Handler):
    """Log records written above the bar rather than into it."""

    def __init__(self, bar: tqdm[Any], stream: TextIO, template: logging.Handler) -> None:
        super().__init__(template.level)
        self.bar, self.stream = bar, stream
        self.setFormatter(template.formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.bar.write(self.format(record), file=self.stream)


class Display:
    """The progress of one run; call it with (Progress, RunReport) as the run goes."""

    def __init__(self, stream: TextIO, *, tty: bool | None = None, clock: Callable[[], float] = time.monotonic, every: float = 30.0) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.clock = clock
        self.every = every
        self.last = clock()
        self.bar: tqdm[Any] | None = None
        self.seen: Progress | None = None
        self.shape: tuple[int, str] | None = None

    def __call__(self, p: Progress, r: RunReport) -> None:
        self.seen = p
        if not self.tty:
            now = self.clock()
            if now - self.last >= self.every:
                self.last = now
                log.info("progress %s", _line(p, r, time.time()))
            return
        shape = f"{p.unit} {p.done_units}/{p.total_units}", f"fetched {p.fetched} written {r.written} failed {r.failed}"
        layout = BAR.replace("COUNTS", shape[0], 1).replace("FIGURES", shape[1], 1)
        if self.bar is None or self.shape != (p.total_units, p.unit):  # a new stage (the sitemaps' URLs, then the days)
            self._close_bar()
            self.shape = (p.total_units, p.unit)
            self.bar = tqdm(total=p.total_units, file=self.stream, leave=True, dynamic_ncols=True, mininterval=0.5, bar_format=layout)
            self._redirect()
        bar = self.bar
        bar.n = p.position  # a fraction of the current day counts: tqdm's rate and time left start at once
        bar.bar_format = layout
        bar.refresh()

    def _redirect(self) -> None:
        root = logging.getLogger()
        assert self.bar is not None
        root.handlers[:] = [_Above(self.bar, self.stream, h) if isinstance(h, logging.StreamHandler) and not isinstance(h, _Above) else h for h in root.handlers]

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
            self.shape = None

    @contextlib.contextmanager
    def session(self, name: str, report: RunReport) -> Iterator[None]:
        """Around a run: log lines above the bar while it lasts; then the bar stays, with a
        summary line under it (on a terminal)."""
        root = logging.getLogger()
        handlers = list(root.handlers)
        started = time.time()
        try:
            yield
        finally:
            self._close_bar()
            root.handlers[:] = handlers
            if self.tty and self.seen is not None:
                took = time.time() - started
                print(
                    f"{name}: {plural(report.written, 'post')} written, {report.failed} failed, {report.skipped} skipped, {self.seen.fetched} fetched in {took / 60:.1f} min",
                    file=self.stream,
                    flush=True,
                )
