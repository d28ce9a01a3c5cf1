"""Shared fixtures: the real corpus beside the checkout, a local HTTP server, jekyll."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tests.server import Server

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("SCRAPER_CORPUS", ROOT.parent / "shared" / "corpus"))
IN_CI = os.environ.get("CI", "").lower() == "true"


# Hypothesis: no test may fail on a draw that the next run would not make, and none on
# the machine's speed. Under CI=true the examples are derandomized (the same every run,
# from the test's own source); elsewhere they are random, to find new cases, and a failure
# prints the blob that replays it (@reproduce_failure). No deadline anywhere: a shared,
# loaded machine makes any per-example time limit a flake.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if IN_CI else "dev"))


CORPUS_HINT = "(the real CNA corpus lives in ../shared/corpus beside the checkout)"


def _need(path: Path, what: str) -> None:
    if path.exists():
        return
    message = f"{what} not found at {path} {CORPUS_HINT}"
    if IN_CI:
        pytest.fail(message + "; CI=true, so this is a failure, not a skip")
    pytest.skip(message)


@pytest.fixture(scope="session")
def corpus() -> Path:
    _need(CORPUS / "cna" / "expected.json", "the corpus")
    return CORPUS


@pytest.fixture(scope="session")
def expected(corpus: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((corpus / "cna" / "expected.json").read_text(encoding="utf-8"))
    return data


# The plugins output/_config.yml names (Debian: ruby-jekyll-feed and so on).
JEKYLL_PLUGINS = ("jekyll-feed", "jekyll-paginate-v2", "jekyll-archives", "jekyll-sitemap")


def _missing(message: str) -> None:
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def jekyll() -> str:
    exe = shutil.which("jekyll")
    if exe is None:
        _missing("jekyll is not installed (make test installs Debian's package when run as root)")
    assert exe is not None
    ruby = shutil.which("ruby") or "ruby"
    script = "; ".join(f"require '{name}'" for name in ("jekyll", *JEKYLL_PLUGINS))
    if subprocess.run([ruby, "-e", script], capture_output=True, timeout=60).returncode != 0:
        _missing(f"a Jekyll plugin of {', '.join(JEKYLL_PLUGINS)} is missing (make test installs Debian's packages when run as root)")
    return exe


@pytest.fixture(scope="session")
def chromium() -> str:
    from tests.siteview import find_chromium

    exe = find_chromium()
    if exe is None:
        _missing("chromium is not installed (make test installs Debian's chromium and fonts-noto-cjk when run as root)")
    assert exe is not None
    return exe


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """Each test gets the logging it found: an in-process main() sets the root level and
    handlers (and -q raises it to ERROR), which would silence caplog in the next test."""
    root = logging.getLogger()
    level, handlers, disabled = root.level, root.handlers[:], logging.root.manager.disable
    ours = {name: lg.level for name, lg in _touched_loggers()}
    yield
    root.setLevel(level)
    root.handlers[:] = handlers
    logging.disable(disabled)
    for name, lg in _touched_loggers():
        lg.setLevel(ours.get(name, logging.NOTSET))
        lg.disabled = False


def _touched_loggers() -> list[tuple[str, logging.Logger]]:
    """The loggers the command line sets levels on: the package's and its HTTP libraries'."""
    return [(name, lg) for name, lg in list(logging.root.manager.loggerDict.items()) if isinstance(lg, logging.Logger) and name.split(".")[0] in ("scraper", "httpx", "httpcore")]


@pytest.fixture
def server() -> Iterator[Server]:
    with Server() as srv:
        yield srv


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line that says how much of the suite did not run for want of the corpus,
    so that a green run without it is not mistaken for a full one (CI fails instead)."""
    fuzz = sys.modules.get("tests.test_fuzz")
    if fuzz is not None and fuzz.FIGURES["examples"]:
        figures = fuzz.FIGURES
        built = f", {figures['sites']} sites built by jekyll" if figures["sites"] else ""
        terminalreporter.write_line(f"fuzz: {figures['examples']} examples, {len(figures['hostile'])} distinct hostile values{built}")
    skipped = 0
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        skipped += CORPUS_HINT in reason
    if skipped:
        tests = "test" if skipped == 1 else "tests"
        terminalreporter.write_line(f'{skipped} {tests} skipped: the corpus is not at {CORPUS} (see README, "Tests")')
