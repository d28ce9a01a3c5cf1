"""The general extractor and feeds with their own site, on real pages and feeds of other
news sites (``corpus/other``), against facts read from those pages (expected_other.json)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from lxml import html as lhtml

from scraper.articles.extractors import generic
from scraper.feeds import parse as feeds
from scraper.site import posts
from tests.conftest import _need
from tests.helpers import POST_RE, body, front_matter, images, paragraphs

EXPECTED: dict[str, list[dict[str, Any]]] = json.loads((Path(__file__).parent / "expected_other.json").read_text(encoding="utf-8"))
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def other(corpus: Path) -> Path:
    _need(corpus / "other" / "pages", "the other sites' pages")
    return corpus / "other"


@pytest.fixture(params=[e["file"] for e in EXPECTED["pages"]])
def page(request: pytest.FixtureRequest, other: Path) -> tuple[dict[str, Any], Path]:
    exp = next(e for e in EXPECTED["pages"] if e["file"] == request.param)
    return exp, other / "pages" / exp["file"]


def fetch(url: str, path: Path) -> str:
    """The post text for a saved page, as the pipeline writes it for a ``content: page`` source."""
    article = generic.extract(path.read_bytes(), url)
    return posts.build(article, site="其他來源").text


def squash(s: str) -> str:
    return " ".join(s.split())


def figures(body_html: str) -> list[lhtml.HtmlElement]:
    return list(lhtml.fragment_fromstring(body_html, create_parent="div").iter("figure"))


def test_post_of_a_page_agrees_with_facts_read_from_it(page: tuple[dict[str, Any], Path]) -> None:
    exp, path = page
    text = fetch(exp["url"], path)
    assert POST_RE.match(text)
    assert front_matter(text)["title"] == exp["title"]
    assert text.splitlines()[3] == f"date: {exp['published_utc']}"
    paras = paragraphs(body(text))
    assert paras[0].startswith(squash(exp["first_paragraph_starts"]))
    assert paras[-1].endswith(squash(exp["last_paragraph_ends"]))


def test_photos_keep_their_captions_as_figures(page: tuple[dict[str, Any], Path]) -> None:
    exp, path = page
    html = body(fetch(exp["url"], path))
    figs = figures(html)
    assert len(images(html)) == exp["photos"]
    assert len(figs) == exp["photos"]
    captions = [squash(f.findtext("figcaption") or "") for f in figs]
    for want, got in zip(exp["captions"], captions, strict=False):
        assert got.startswith(squash(want))
    for fig in figs:  # the shape of CNA's photos: <figure><img src alt><figcaption>
        assert [c.tag for c in fig] == ["img", "figcaption"]
        assert fig[0].get("src", "").startswith("https://")
    assert re.search(r"<figure><img src=\"https://[^\"]+\" alt=\"[^\"]*\"><figcaption>", html)


def test_section_headings_stay_in_order(page: tuple[dict[str, Any], Path]) -> None:
    exp, path = page
    html = body(fetch(exp["url"], path))
    found = [squash(h.text_content()) for h in lhtml.fragment_fromstring(html, create_parent="div").iter("h2", "h3")]
    assert found == exp["headings"]


def test_page_furniture_stays_out(page: tuple[dict[str, Any], Path]) -> None:
    exp, path = page
    text = fetch(exp["url"], path)
    html = body(text)
    for junk in exp["junk"]:
        assert junk not in html, junk
    assert junk_free_title(front_matter(text)["title"])
    for p in paragraphs(html):  # no bare label or ad marker left as a paragraph
        assert not re.fullmatch(r".{0,8}[:：]", p), p
        assert p not in ("廣告", "广告", "Advertisement"), p


def junk_free_title(title: str) -> bool:
    return not re.search(r" [-|] |_", title)


def test_nyt_body_is_the_story_not_the_author_bios(other: Path) -> None:
    exp = next(e for e in EXPECTED["pages"] if e["file"] == "nytimes-001.html")
    article = generic.extract((other / "pages" / exp["file"]).read_bytes(), exp["url"])
    assert "David E. Sanger" not in article.body_html
    assert len(paragraphs(article.body_html)) > 20  # the whole story, not two bios


@pytest.fixture(params=[e["file"] for e in EXPECTED["feeds"]])
def feed(request: pytest.FixtureRequest, other: Path) -> tuple[dict[str, Any], bytes]:
    exp = next(e for e in EXPECTED["feeds"] if e["file"] == request.param)
    return exp, (other / "feeds" / exp["file"]).read_bytes()


def plain(content: str | None) -> str:
    return squash(lhtml.fromstring(f"<div>{content or ''}</div>").text_content())


def test_feed_items_keep_their_text_and_lose_the_repeated_footer(feed: tuple[dict[str, Any], bytes]) -> None:
    exp, data = feed
    result = feeds.parse(data, "https://example.org/feed", NOW, any_site=True)
    assert len(result.entries) == exp["items"]
    first = result.entries[0]
    assert first.title == exp["first_title"]
    assert plain(first.content).startswith(squash(exp["first_item_starts"]))
    assert plain(first.content).endswith(squash(exp["first_item_ends"]))
    for entry in result.entries:
        for needle in exp["footer"]:
            assert needle not in (entry.content or ""), (entry.title, needle)


def test_feed_without_a_shared_footer_is_left_as_it_came(other: Path) -> None:
    data = (other / "feeds" / "bbc-2015-03-16.atom.xml").read_bytes()
    raw = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    result = feeds.parse(data, "https://example.org/feed", NOW, any_site=True)
    assert [e.content for e in result.entries] == [e.get("summary") for e in raw.entries]


def test_cdt_footer_is_gone_from_the_posts_written_from_the_feed(other: Path) -> None:
    data = (other / "feeds" / "cdt-2015-03-16.rss.xml").read_bytes()
    for entry in feeds.parse(data, "https://example.org/feed", NOW, any_site=True).entries:
        article = generic.from_feed(entry.article_id, entry.url, entry.title, entry.content or "", NOW)
        assert "del.icio.us" not in article.body_html and "Post tags" not in article.body_html
        assert "<hr>" not in article.body_html
        assert len(paragraphs(article.body_html)) >= 2
