"""Block rules by shape: the containers that hold the story stay; <br><br> runs split paragraphs."""

from __future__ import annotations

import html
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from scraper import config
from scraper.articles.extractors import blocks
from scraper.errors import ConfigError
from tests.conftest import IN_CI


def _root(html: str) -> etree._Element:
    return etree.fromstring(html, etree.HTMLParser())


def _ps(root: etree._Element) -> list[str]:
    return ["".join(p.itertext()).strip() for p in root.iter("p")]


STORY = "第一段的文字，長到足以是一段新聞。" * 3


def test_a_br_br_run_splits_a_paragraph_and_a_single_br_stays_a_line_break() -> None:
    root = _root(f"<div><p>{STORY}<br /><br />\r\n第二段，<a href='/x'>有連結</a>。<br>同段第二行<br/> <br/><br>第三段</p><p>下一段</p></div>")
    assert blocks.split_breaks(root) == 3
    assert _ps(root) == [STORY, "第二段，有連結。同段第二行", "第三段", "下一段"]
    second = list(root.iter("p"))[1]
    assert [el.tag for el in second] == ["a", "br"]


def test_a_block_holding_other_blocks_is_not_split() -> None:
    root = _root("<div>甲<br><br>乙<div>丙</div></div>")
    assert blocks.split_breaks(root) == 0


def test_the_form_around_the_story_is_kept_and_a_search_form_is_not_its_container() -> None:
    root = _root(
        "<html><body><form id='aspnetForm'><div class='header'><form class='search'><input name='q'></form></div>"
        f"<table><tr><td><h2>標題</h2><p>{STORY}</p></td><td><ul><li><a href='/a'>別的新聞</a></li></ul></td></tr></table></form></body></html>"
    )
    assert blocks.unwrap_containers(root) == 4  # the page's form, the table, its row, the story's cell
    assert [el.tag for el in root.iter("form")] == ["form"]  # the search box's, left to the cleaner
    assert root.find(".//body/div").get("id") == "aspnetForm"
    assert [el.tag for el in root.iter("td")] == ["td"]  # the sidebar cell is not the story's


PIECES = st.one_of(
    st.text(alphabet="甲乙丙 \u3000ab\r\n", min_size=1, max_size=8).map(html.escape),
    st.sampled_from(["<br>", "<br />", "<b>粗</b>", "<a href='/x'>連</a>", "<span style='display:block'></span>", "<!-- c -->"]),
)


@settings(max_examples=150, deadline=None, derandomize=IN_CI)
@given(st.lists(PIECES, max_size=25))
def test_splitting_keeps_every_character_and_leaves_no_break_run(pieces: list[str]) -> None:
    root = _root(f"<div><p>{''.join(pieces)}</p></div>")
    before = "".join("".join(root.itertext()).split())
    blocks.split_breaks(root)
    assert "".join("".join(root.itertext()).split()) == before
    for p in root.iter("p"):
        kids = list(p)
        assert not any(blocks._is_break_run(kids, i) for i in range(len(kids)))


@settings(max_examples=150, deadline=None, derandomize=IN_CI)
@given(st.text(max_size=40))
def test_any_selector_text_is_taken_or_refused_with_one_line(selector: str) -> None:
    text = yaml.safe_dump({"site": "s", "output": "out", "feeds": [{"name": "n", "url": "http://127.0.0.1:9/f", "site": "x", "rules": {"body": selector, "drop": [selector]}}]}, allow_unicode=True)
    try:
        config.parse(text, Path("feeds.yaml"))
    except ConfigError as exc:
        assert "\n" not in str(exc) and "feeds[0].rules." in str(exc)
