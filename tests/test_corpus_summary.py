"""Without the corpus, the suite says how many tests it skipped for want of it; CI fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS, ROOT

# two tests that need the corpus, one that does not
NODES = [
    "tests/test_posts.py::test_writer_reproduces_every_real_posts_framing_and_name",
    "tests/test_fetch_corpus.py::test_related_links_are_kept_absolute",
    "tests/test_posts.py::test_sample_post_date_and_comment_agree",
]


def _pytest(corpus: Path, *, ci: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["SCRAPER_CORPUS"] = str(corpus)
    if ci is not None:
        env["CI"] = ci
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *NODES]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_summary_counts_the_tests_skipped_for_want_of_the_corpus(tmp_path: Path) -> None:
    proc = _pytest(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert f'2 tests skipped: the corpus is not at {tmp_path} (see README, "Tests")' in lines, proc.stdout
    assert any(line.startswith("1 passed, 2 skipped") for line in lines), proc.stdout


def test_summary_is_silent_when_the_corpus_is_there() -> None:
    if not (CORPUS / "cna" / "expected.json").exists():
        pytest.skip(f"the corpus is not at {CORPUS}")
    proc = _pytest(CORPUS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "skipped: the corpus" not in proc.stdout
    assert any(line.startswith("3 passed") for line in proc.stdout.splitlines()), proc.stdout


def test_ci_fails_instead_of_skipping_without_the_corpus(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, ci="true")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "CI=true, so this is a failure, not a skip" in proc.stdout
    assert "skipped: the corpus" not in proc.stdout
