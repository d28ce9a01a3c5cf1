"""`scraper fetch` on real pages of seven Chinese-language news sites (``corpus/other2``), against
the five facts read by hand from each page in its expected.json: title, time, first and last
paragraph of the story, and the number of its photos."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from scraper.cli import main
from tests.conftest import _need
from tests.helpers import body, front_matter, images, paragraphs


@pytest.fixture(scope="session")
def other2(corpus: Path) -> Path:
    _need(corpus / "other2" / "expected.json", "the other2 pages")
    return corpus / "other2"


def entries() -> list[str]:
    from tests.conftest import CORPUS

    path = CORPUS / "other2" / "expected.json"
    return [e["file"] for e in json.loads(path.read_text(encoding="utf-8"))] if path.exists() else ["expected.json"]


@pytest.fixture(params=entries())
def fetched(request: pytest.FixtureRequest, other2: Path, capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], str, str]:
    exp = next(e for e in json.loads((other2 / "expected.json").read_text(encoding="utf-8")) if e["file"] == request.param)
    # --site: a page that names no site of its own is refused without it (not every page here has og:site_name)
    code = main(["fetch", exp["url"], "--html", str(other2 / "pages" / exp["file"]), "--config", "/nonexistent/feeds.yaml", "--site", "測試來源", "-v"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return exp, out, err


def test_title_is_the_headline_with_the_pages_own_spaces(fetched: tuple[dict[str, Any], str, str]) -> None:
    exp, post, _ = fetched
    assert front_matter(post)["title"] == exp["title"]


def test_time_is_the_pages_read_in_its_zone(fetched: tuple[dict[str, Any], str, str]) -> None:
    exp, post, log = fetched
    accepted = [datetime.fromisoformat(t) for t in [exp["published"], *exp.get("published_alt", [])]]
    assert front_matter(post)["date"] in accepted
    if "NO offset" in exp.get("published_note", ""):  # the zone was the page's, and -v says which
        assert "a time without an offset read in Asia/Taipei, " in log


def test_first_and_last_paragraph_are_the_storys(fetched: tuple[dict[str, Any], str, str]) -> None:
    exp, post, _ = fetched
    paras = paragraphs(body(post))
    assert paras[0].startswith(exp["first_paragraph_starts"]), paras[:2]
    assert paras[-1].startswith(exp["last_paragraph_starts"]), paras[-2:]
    if "first_paragraph_byline_before" in exp:  # the byline above the story is no paragraph of it
        assert exp["first_paragraph_byline_before"] not in paras


def test_photos_of_the_story_are_counted_and_none_else(fetched: tuple[dict[str, Any], str, str]) -> None:
    exp, post, _ = fetched
    assert len(images(body(post))) == exp["photos"]
