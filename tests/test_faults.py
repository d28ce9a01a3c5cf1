"""The fault-injection suite: every scenario of tests/faults.py, each on its own server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults import SCENARIOS, Outcome
from tests.server import Server


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_fault_loses_nothing_and_duplicates_nothing(scenario: Callable[[Server, Path, Path], Outcome], corpus: Path, tmp_path: Path) -> None:
    with Server() as server:
        outcome = scenario(server, corpus, tmp_path)
    assert outcome.lost == 0
    assert outcome.duplicates == 0
    assert outcome.intact
    assert outcome.observed == outcome.expected
