"""A stop asked for by a signal: SIGINT (Ctrl-C) or SIGTERM (systemd, ``kill``, ``timeout``).

The command line installs the handlers around the whole command, every phase of it. The
first signal asks the run to stop: nothing new starts, the articles in flight are
finished and recorded, and a request still in flight gets ``GRACE`` seconds more before it
is abandoned (``Stopped``: no attempt is counted, the article stays pending). The command
then exits 128 + the signal's number (130 for SIGINT, 143 for SIGTERM) with one line. A
second signal aborts at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator

from .errors import FetchError

GRACE = 3.0  # seconds a request in flight may still take once a stop is asked for
REASON = "abandoned: the run is stopping"

_event = threading.Event()
_asked: dict[str, float] = {}  # "signum", "when"
_installed = threading.local()


class Stopped(FetchError):
    """A request abandoned because the run is stopping; not a failure of the URL."""

    def __init__(self, url: str) -> None:
        super().__init__(url, REASON, transient=True)


def requested() -> bool:
    return _event.is_set()


def signal_number() -> int | None:
    """The signal that asked for the stop, if one did."""
    return int(_asked["signum"]) if "signum" in _asked else None


def request(signum: int) -> None:
    if not _event.is_set():
        _asked.update(signum=signum, when=time.monotonic())
        _event.set()


def reset() -> None:
    _asked.clear()
    _event.clear()


def sleep(seconds: float) -> None:
    """``time.sleep`` that ends early when a stop is asked for."""
    if seconds > 0:
        _event.wait(seconds)


def join(thread: threading.Thread, timeout: float) -> bool:
    """Wait for ``thread`` at most ``timeout`` seconds, and at most ``GRACE`` seconds after a
    stop was asked for; True when it finished."""
    end = time.monotonic() + timeout
    while thread.is_alive():
        now = time.monotonic()
        limit = min(end, _asked.get("when", end) + GRACE) if _event.is_set() else end
        if now >= limit:
            return False
        thread.join(min(0.25, limit - now))
    return True


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """SIGINT and SIGTERM ask for a stop while the block runs (in the main thread only;
    nested blocks share the outer one's handlers)."""
    if threading.current_thread() is not threading.main_thread() or getattr(_installed, "on", False):
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if _event.is_set():
            raise KeyboardInterrupt
        request(signum)
        # A second signal ends the process at once, by the signal's default action: in a
        # long call into C (an extractor on a huge page) no Python handler would run.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    reset()
    old_int = signal.signal(signal.SIGINT, handler)
    old_term = signal.signal(signal.SIGTERM, handler)
    _installed.on = True
    try:
        yield
    finally:
        _installed.on = False
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)


def exit_status() -> int | None:
    """128 + the signal's number when a signal stopped the run (130, 143), else None."""
    signum = signal_number()
    return 128 + signum if signum is not None else None


def run_child(command: str, env: dict[str, str]) -> int:
    """Run a shell command in a process group of its own and wait for it. A signal meanwhile
    asks the run to stop and is passed on to the whole group (a second one kills it), which
    is still waited for: nothing the command started outlives the run and its lock."""
    proc = subprocess.Popen(command, shell=True, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
    signals = 0

    def forward(signum: int, frame: object) -> None:
        nonlocal signals
        signals += 1
        request(signum)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signum if signals == 1 else signal.SIGKILL)

    main = threading.current_thread() is threading.main_thread()
    old = {signum: signal.signal(signum, forward) for signum in (signal.SIGINT, signal.SIGTERM)} if main else {}
    try:
        return proc.wait()
    finally:
        for signum, handler in old.items():
            signal.signal(signum, handler)
