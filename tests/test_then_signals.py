"""--then and signals: a stopping run starts no build and owes it to the next run, and a
build cut short by a signal leaves nothing running behind the run's lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scraper import stopping
from scraper.commands.poll import THEN_OWED, run_then
from scraper.config import Config
from scraper.models import RunReport
from scraper.store.state import State

ROOT = Path(__file__).resolve().parent.parent


def test_a_stopping_run_starts_no_build_and_the_next_run_owes_it(tmp_path: Path) -> None:
    config = Config(path=tmp_path / "feeds.yaml", site="x", output=tmp_path / "out", feeds=())
    marker = tmp_path / "built"
    with State(tmp_path / "state.db") as state:
        try:
            stopping.request(signal.SIGTERM)
            run_then(f"touch {marker}", RunReport(written=3), config, state, 1.0)
        finally:
            stopping.reset()
        assert not marker.exists() and state.notice_said(THEN_OWED) == 1.0
        run_then(f"touch {marker}", RunReport(), config, state, 2.0)  # nothing new, but the build is owed
        assert marker.exists() and state.notice_said(THEN_OWED) is None
        marker.unlink()
        run_then(f"touch {marker}", RunReport(), config, state, 3.0)  # paid: nothing changed, no build
        assert not marker.exists()


@pytest.mark.slow
def test_a_signal_during_the_build_reaches_all_it_started_and_the_run_waits_for_it(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    command = f"sleep 60 & echo $! > {pids}; wait"
    code = f"from scraper import stopping\nwith stopping.handling():\n    print(stopping.run_child({command!r}, {{}}))"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    for _ in range(600):  # the build has started its own child, however loaded the machine
        if pids.exists() and pids.read_text().strip():
            break
        time.sleep(0.05)
    sleeper = int(pids.read_text())
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert out.strip() == str(-signal.SIGTERM) or out.strip() == str(128 + signal.SIGTERM)  # the shell, ended by the signal passed on
    with pytest.raises(ProcessLookupError):  # the build's own child is gone too: nothing outlives the run
        for _ in range(600):
            os.kill(sleeper, 0)
            time.sleep(0.05)
