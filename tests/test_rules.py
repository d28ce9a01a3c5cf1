"""Per-feed ``rules:`` (CSS selectors for title, body, time, photos; ``drop``): checked when
feeds.yaml is loaded, applied before the general extractor; and the rule sets shipped for
the sites of the corpus, each on its real page against the facts read from it by hand."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from scraper.articles.extractors import rules as site_rules
from scraper.articles.fetch import extract_page
from scraper.cli import main
from scraper.commands.poll import poll
from scraper.config import load
from scraper.errors import ConfigError
from scraper.models import Job
from tests.conftest import _need
from tests.helpers import body, front_matter, images, paragraphs
from tests.server import Server
from tests.sitebuilder import posts_in

GOOD = """site: 測試
output: out
feeds:
  - name: 範例
    url: http://127.0.0.1:9/feed.xml
    site: 範例新聞
    rules:
      title: "h1.headline"
      body: "div.story-text"
      time: "span.when"
      photos: "div.story-text figure"
      drop:
        - div.promo
        - "div.story-text > p.note"
"""


def write(tmp: Path, text: str) -> Path:
    path = tmp / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_rules_are_loaded_onto_their_feed(tmp_path: Path) -> None:
    feed = load(write(tmp_path, GOOD)).feeds[0]
    assert feed.rules is not None
    assert (feed.rules.title, feed.rules.body, feed.rules.time, feed.rules.photos) == ("h1.headline", "div.story-text", "span.when", "div.story-text figure")
    assert feed.rules.drop == ("div.promo", "div.story-text > p.note")
    assert load(write(tmp_path, GOOD.replace("  - div.promo\n        - ", "  - "))).feeds[0].rules.drop == ("div.story-text > p.note",)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ('body: "div.story-text"', 'body: "div.story-text >"', ":9: feeds[0].rules.body: not a valid CSS selector: 'div.story-text >'"),
        ('title: "h1.headline"', 'title: "h1[class=]"', ":8: feeds[0].rules.title: not a valid CSS selector"),
        ('"div.story-text > p.note"', '"p:nth-child(x)"', ":14: feeds[0].rules.drop[1]: not a valid CSS selector"),
        ('photos: "div.story-text figure"', "photos: 12", ":11: feeds[0].rules.photos: must be a non-empty string"),
        ('time: "span.when"', 'when: "span.when"', ":10: feeds[0].rules.when: unknown key"),
    ],
)
def test_a_bad_rule_exits_2_naming_file_line_and_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, where: str) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert str(caught.value).startswith(str(path) + where), str(caught.value)
    assert main(["poll", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) + where.split(": not")[0] in err and "Traceback" not in err


STORY = ["第一段：這是一個由規則選出的故事段落，長度足夠。", "第二段：規則選到的正文，第二段文字也夠長。", "第三段：最後一段，結束這個故事。"]
PAGE = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>頁面標題 | 範例新聞</title>
<meta property="og:title" content="頁面標題 | 範例新聞"><meta property="og:site_name" content="範例新聞">
<meta property="article:published_time" content="2024-05-06T07:08:00+08:00"></head><body>
<div class="layout"><h1 class="headline">規則選的標題　全形空白</h1><span class="when">2024/05/06 09:10</span>
<div class="sidebar"><p>{"側欄的長篇文字，一般抽取器可能當成正文。" * 12}</p><p>{"側欄第二段，同樣很長很長。" * 12}</p></div>
<div class="story-text"><p>{STORY[0]}</p><div class="promo">下載我們的應用程式</div>
<figure><img src="/photo.jpg" alt="照片"><figcaption>照片說明</figcaption></figure><p>{STORY[1]}<br><br>{STORY[2]}</p>
<p class="note">本文由範例新聞提供</p></div></div></body></html>"""
FEED = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>範例</title><link>{base}/</link><description>d</description>
<item><title>規則選的標題</title><link>{base}/story/1</link><guid>s-1</guid><pubDate>Mon, 06 May 2024 09:10:00 +0800</pubDate></item>
</channel></rss>"""


def feeds_yaml(tmp: Path, server: Server, rules: dict[str, Any] | None) -> Path:
    feed: dict[str, Any] = {"name": "範例", "url": server.url("/feed.xml"), "site": "範例新聞", "content": "page"}
    if rules is not None:
        feed["rules"] = rules
    data = {"site": "測試", "output": "out", "feeds": [feed], "http": {"delay": 0, "retries": 1, "backoff": 0.01}}
    (tmp / "out").mkdir(exist_ok=True)
    (tmp / "out" / "_config.yml").write_text("title: t\n", encoding="utf-8")
    return write(tmp, yaml.safe_dump(data, allow_unicode=True))


def run_poll(tmp: Path, server: Server, rules: dict[str, Any] | None) -> tuple[str, str]:
    server.page("/story/1", PAGE.encode("utf-8"))
    server.feed("/feed.xml", FEED.format(base=server.base).encode("utf-8"))
    report = poll(load(feeds_yaml(tmp, server, rules)))
    assert report.ok and report.written == 1, report
    (post,) = posts_in(tmp)
    with sqlite3.connect(tmp / "out" / ".scraper" / "state.db") as conn:
        (extractor,) = conn.execute("SELECT extractor FROM articles").fetchone()
    return post.read_text(encoding="utf-8"), extractor


def test_rules_are_applied_before_the_general_extractor_in_a_poll(tmp_path: Path, server: Server) -> None:
    rules = {"title": "h1.headline", "body": "div.story-text", "time": "span.when", "photos": "div.story-text figure", "drop": ["div.promo", "div.story-text > p.note"]}
    text, extractor = run_poll(tmp_path, server, rules)
    assert extractor == "rules"
    assert front_matter(text)["title"] == "規則選的標題　全形空白"  # the rule's element, its U+3000 kept
    assert paragraphs(body(text)) == STORY  # <br><br> split; the promo and the note dropped; no sidebar
    assert [img["src"] for img in images(body(text))] == [server.url("/photo.jpg")]
    assert "<figcaption>照片說明</figcaption>" in body(text)


def test_fetch_reads_a_page_with_its_feeds_rules_as_the_poll_writes_it(tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    rules = {"title": "h1.headline", "body": "div.story-text", "time": "span.when", "photos": "div.story-text figure", "drop": ["div.promo", "div.story-text > p.note"]}
    text, _ = run_poll(tmp_path, server, rules)
    capsys.readouterr()
    assert main(["fetch", server.url("/story/1"), "--config", str(tmp_path / "feeds.yaml")]) == 0
    fetched = capsys.readouterr().out
    assert front_matter(fetched)["title"] == front_matter(text)["title"] == "規則選的標題　全形空白"
    assert body(fetched) == body(text)


def test_what_the_rules_do_not_give_the_general_extractor_fills(tmp_path: Path, server: Server) -> None:
    text, extractor = run_poll(tmp_path, server, {"body": "div.story-text", "drop": ["div.promo", "div.story-text > p.note"]})
    assert extractor == "rules"
    assert front_matter(text)["title"] == "頁面標題"  # the general extractor's: og:title without the site's name
    assert paragraphs(body(text)) == STORY


def test_a_rule_that_matches_nothing_leaves_its_part_to_the_general_extractor(tmp_path: Path, server: Server) -> None:
    text, extractor = run_poll(tmp_path, server, {"title": "h1.gone", "body": "div.story-text", "time": "time.gone", "drop": ["div.promo"]})
    assert extractor == "rules"
    assert front_matter(text)["title"] == "頁面標題"
    assert text.splitlines()[3] == "date: 2024-05-06T01:10:00.000Z"  # the feed item's date, as for every source
    assert paragraphs(body(text))[:3] == STORY


def test_without_rules_the_general_extractor_reads_the_page(tmp_path: Path, server: Server) -> None:
    text, extractor = run_poll(tmp_path, server, None)
    assert extractor == "generic"
    assert front_matter(text)["title"] != "規則選的標題　全形空白"


# ----------------------------------------------------------------- the shipped rule sets

OTHER = json.loads((Path(__file__).parent / "expected_other.json").read_text(encoding="utf-8"))["pages"]


def shipped_cases(corpus: Path) -> list[tuple[Path, dict[str, Any]]]:
    other2 = corpus / "other2"
    _need(other2 / "expected.json", "the other2 pages")
    cases = [(other2 / "pages" / e["file"], e) for e in json.loads((other2 / "expected.json").read_text(encoding="utf-8")) if not e["file"].startswith("cna")]
    return cases + [(corpus / "other" / "pages" / e["file"], e) for e in OTHER]


def facts(path: Path, exp: dict[str, Any]) -> dict[str, bool]:
    """The five facts of a page read through the pipeline's path for a feed with its own site."""
    job = Job(article_id="x", url=exp["url"], source="feed", site="其他")
    article, extractor, _ = extract_page(job, exp["url"], path.read_bytes(), None)
    assert extractor == "rules"
    paras = paragraphs(article.body_html)
    wanted = [exp.get("published") or exp["published_utc"].replace("Z", "+00:00"), *exp.get("published_alt", [])]
    last = exp.get("last_paragraph_starts")
    return {
        "title": article.title == exp["title"],
        "time": article.published is not None and any(article.published == datetime.fromisoformat(w) for w in wanted),
        "first": bool(paras) and paras[0].startswith(" ".join(exp["first_paragraph_starts"].split())),
        "last": bool(paras) and (paras[-1].startswith(" ".join(last.split())) if last else paras[-1].endswith(" ".join(exp["last_paragraph_ends"].split()))),
        "photos": len(images(article.body_html)) == exp["photos"],
    }


def test_every_shipped_rule_set_is_valid_and_selects_by_structure() -> None:
    shipped = site_rules.shipped()
    assert {"news.ltn.com.tw", "udn.com", "www.ettoday.net", "www.setn.com", "www.chinatimes.com", "tw.appledaily.com", "cn.nytimes.com", "www.rfi.fr", "www.bbc.com"} <= set(shipped)
    for rules in shipped.values():
        for selector in (rules.title, rules.body, rules.time, rules.photos, *rules.drop):
            assert selector is None or "contains" not in selector  # never a page's own text


def test_each_shipped_rule_set_gets_the_facts_of_its_real_page(corpus: Path) -> None:
    measured = {path.name: facts(path, exp) for path, exp in shipped_cases(corpus)}
    assert len(measured) == 9
    wrong = {(name, fact) for name, got in measured.items() for fact, ok in got.items() if not ok}
    assert wrong == set(), wrong
    for path, exp in shipped_cases(corpus):  # every selector given matches on its page
        rules = site_rules.shipped_for(exp["url"])
        assert rules is not None
        from bs4 import BeautifulSoup

        soup = BeautifulSoup(path.read_bytes(), "lxml")
        for selector in (rules.title, rules.body, rules.time, rules.photos):
            assert selector is None or soup.select(selector), (path.name, selector)


def test_the_shipped_rules_keep_captions_headings_and_no_furniture_on_the_other_pages(corpus: Path) -> None:
    """What expected_other.json says beyond the five facts holds through the rules too."""
    from lxml import html as lhtml

    _need(corpus / "other" / "pages", "the other sites' pages")
    for exp in OTHER:
        job = Job(article_id="x", url=exp["url"], source="feed", site="其他")
        article, extractor, _ = extract_page(job, exp["url"], (corpus / "other" / "pages" / exp["file"]).read_bytes(), None)
        assert extractor == "rules"
        root = lhtml.fragment_fromstring(article.body_html, create_parent="div")
        captions = [" ".join((f.findtext("figcaption") or "").split()) for f in root.iter("figure")]
        assert len(captions) == exp["photos"] and all(got.startswith(" ".join(want.split())) for want, got in zip(exp["captions"], captions, strict=True)), exp["file"]
        assert [" ".join(h.text_content().split()) for h in root.iter("h2", "h3")] == exp["headings"], exp["file"]
        assert [junk for junk in exp["junk"] if junk in article.body_html] == [], exp["file"]


@pytest.mark.parametrize(
    ("value", "zone", "instant"),
    [
        ("2018-07-31T08:19:35+08:00", None, "2018-07-31T00:19:35+00:00"),
        ("建立時間：2016/05/21 11:44", "Asia/Taipei", "2016-05-21T03:44:00+00:00"),
        ("2017年12月9日 00:26", "Asia/Taipei", "2017-12-08T16:26:00+00:00"),
        ("2023-09-13T10:55:53.000Z", None, "2023-09-13T10:55:53+00:00"),
        ("2023-09-12", None, "2023-09-12T00:00:00+00:00"),  # a bare day stays that day
    ],
)
def test_a_rules_time_is_read_with_its_offset_or_the_rule_sets_zone(value: str, zone: str | None, instant: str) -> None:
    found = site_rules.parse_when(value, zone)
    assert found is not None and found[0] == datetime.fromisoformat(instant)


def test_a_time_without_an_offset_or_a_zone_is_not_guessed() -> None:
    assert site_rules.parse_when("2018-02-21 18:03", None) is None
    assert site_rules.parse_when("2018-02-30 18:03", "Asia/Taipei") is None  # no such day
    assert site_rules.parse_when("9999-12-31T23:59:59-12:00", None) is None  # past the last UTC instant
    assert site_rules.parse_when("2020-01-01T00:00+25:00", None) is None
