"""How many requests a host may have open, how far apart they start, and which hosts
asked us to wait or got stuck in this run: one limiter a client, shared by its threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..errors import FetchError, RetryLater


class HostLimiter:
    """At most ``max_per_host`` requests open to a host, starts at least ``delay`` apart,
    and no request at all while the host asked us to wait (``Retry-After``).

    A request holds its place until its connection is really done: one abandoned at the
    deadline keeps it while the server holds the socket. A host that timed out in this run
    gets one request open at a time, and once its timed-out requests have used ``budget``
    seconds (one response's deadline) it is skipped for the rest of the run, so a stuck
    host cannot stretch a pass.
    """

    def __init__(self, max_per_host: int, delay: float, clock: Callable[[], float] = time.time, *, budget: float = float("inf")) -> None:
        self.max_per_host = max_per_host
        self.delay = delay
        self.clock = clock
        self.budget = budget
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._open: dict[str, int] = {}
        self._next: dict[str, float] = {}
        self._timed_out: dict[str, float] = {}  # host -> seconds its timed-out requests used
        self.blocked_until: dict[str, float] = {}

    def _check(self, host: str, url: str) -> None:
        used = self._timed_out.get(host)
        if used is not None and used >= self.budget:
            raise FetchError(url, f"{host} timed out for {used:.0f} s in this run; skipped until the next run")
        now = self.clock()
        blocked = self.blocked_until.get(host, 0.0)
        if blocked > now:
            raise RetryLater(url, f"{host} asked us to wait until {time.strftime('%H:%M:%S', time.localtime(blocked))}", blocked - now)

    def acquire(self, host: str, url: str) -> None:
        """Wait for a place for one request to ``host`` (and its turn after ``delay``); the
        caller gives it back with ``release`` once the request's connection is done."""
        with self._freed:
            while True:
                self._check(host, url)
                limit = 1 if host in self._timed_out else self.max_per_host
                if self._open.get(host, 0) < limit:
                    break
                self._freed.wait()
            self._open[host] = self._open.get(host, 0) + 1
            now = self.clock()
            start = max(now, self._next.get(host, 0.0))
            self._next[host] = start + self.delay
        if start > now:
            time.sleep(start - now)

    def release(self, host: str) -> None:
        with self._freed:
            self._open[host] -= 1
            self._freed.notify_all()

    def timed_out(self, host: str, seconds: float) -> None:
        """A request to ``host`` timed out after ``seconds``: the host gets one request at a
        time from now on, and is skipped once the budget is used."""
        with self._freed:
            self._timed_out[host] = self._timed_out.get(host, 0.0) + seconds
            self._freed.notify_all()

    def open_requests(self, host: str) -> int:
        with self._lock:
            return self._open.get(host, 0)

    @contextmanager
    def slot(self, host: str, url: str) -> Iterator[None]:
        self.acquire(host, url)
        try:
            yield
        finally:
            self.release(host)

    def block(self, host: str, seconds: float) -> None:
        with self._lock:
            until = self.clock() + seconds
            self.blocked_until[host] = max(self.blocked_until.get(host, 0.0), until)

    def pauses(self) -> dict[str, float]:
        with self._lock:
            return dict(self.blocked_until)

    def restore(self, pauses: dict[str, float]) -> None:
        with self._lock:
            for host, until in pauses.items():
                self.blocked_until[host] = max(self.blocked_until.get(host, 0.0), until)
