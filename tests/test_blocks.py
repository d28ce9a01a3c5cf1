"""Block rules by shape: the containers that hold the story stay; <br><br> runs split paragraphs."""

from __future__ import annotations

from lxml import etree

from scraper.sites import blocks


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
