"""CNA changes its layout: the fallback extractor keeps the mirror going and the run says so.

The unknown layouts are built inside the test from the real corpus pages: (a) today's
pages with their classes renamed, the title in h1 or h2; (b) the 2016 page likewise;
(c) CNA's pre-2016 layout (``<form id="aspnetForm">`` around the page, ``div.news_content``
with an ``h2`` title, a 「最新更新時間：」 line and one ``<p>`` split by ``<br /><br />``),
holding a real page's text. Each goes through a whole
``scraper poll`` against a local server.
"""

from __future__ import annotations

import html
import re
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from scraper.articles.extractors import fallback
from scraper.cli import main
from scraper.commands.poll import poll
from scraper.config import load
from scraper.net.urls import TAIPEI
from scraper.store.state import State
from tests.helpers import POST_RE, body, front_matter, paragraphs
from tests.server import Server
from tests.sitebuilder import config, path_of, posts_in, real_feed

RENAMES = {"centralContent": "mainBox", "paragraph": "txt", "fullPic": "pic"}
COPYRIGHT = "本網站之文字、圖片及影音"
SUMMARY = "CNA's layout changed"


def renamed(raw: bytes, *, h2: bool) -> bytes:
    """The page with CNA's body classes renamed (a redesign the CNA extractor does not know)."""

    def swap(m: re.Match[str]) -> str:
        return f"class={m[1]}" + " ".join(RENAMES.get(c, c) for c in m[2].split()) + m[1]

    text = re.sub(r"""class=(["'])([^"']*)\1""", swap, raw.decode("utf-8"))
    if h2:
        text = re.sub(r"<(/?)h1\b", r"<\1h2", text)
    return text.encode("utf-8")


def old_layout(raw: bytes, exp: dict[str, Any], *, table: bool = False) -> bytes:
    """CNA's pre-2016 article page (2012-2015), holding the text of a real page.

    As those pages were served: ASP.NET wraps the whole body in ``<form id="aspnetForm">``
    with its hidden ``__VIEWSTATE``; the story is ``div.news_content``: an ``h2`` headline,
    a ``div.date`` line 「最新更新時間：YYYY/MM/DD HH:MM:SS」, then one ``<p>`` whose paragraphs
    are split by ``<br /><br />``; a sidebar of other headlines, a search box (a form of its
    own) and the copyright footer around it. ``table``: the columns are a layout table.
    """
    root = etree.fromstring(raw, etree.HTMLParser(encoding="utf-8"))
    body_box = root.xpath("//div[@class='paragraph']")[0]
    paras = "<br /><br />\r\n".join(html.escape("".join(p.itertext())) for p in body_box.findall("p"))
    title = html.escape(exp["title"])
    when = datetime.fromisoformat(exp["published_utc"].replace("Z", "+00:00")).astimezone(TAIPEI).strftime("%Y/%m/%d %H:%M:%S")
    old_url = exp["url"].replace("https://", "http://").replace(".aspx", "-1.aspx")
    story = (
        '<div class="news_content"><div class="soc_function"><a href="#" class="print">列印</a><a href="#" class="mail">轉寄</a></div>'
        f'<h2>{title}</h2><div class="date">最新更新時間：{when}</div>'
        f"<p>{paras}</p>"
        '<div class="relate_news"><h3>延伸閱讀</h3><ul><li><a href="/news/aopl/201404030001-1.aspx">另一則新聞標題</a></li>'
        '<li><a href="/news/aopl/201404030002-1.aspx">再一則新聞標題</a></li></ul></div></div>'
    )
    side = (
        '<div class="hot_news"><h3>熱門新聞</h3><ul><li><a href="/news/firstnews/201404040011-1.aspx">一則熱門新聞的標題</a></li>'
        '<li><a href="/news/firstnews/201404040012-1.aspx">另一則熱門新聞的標題</a></li></ul></div>'
    )
    columns = (
        f'<table class="layout" width="980" cellpadding="0" cellspacing="0"><tr><td class="left_content" valign="top">{story}</td><td class="right_content" valign="top">{side}</td></tr></table>'
        if table
        else f'<div class="left_content">{story}</div><div class="right_content">{side}</div>'
    )
    return (
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8" />'
        f"<title>\r\n\t{title} - 中央社即時新聞 CNA NEWS\r\n</title>"
        f'<meta property="og:url" content="{old_url}" /><meta property="og:image" content="http://www.cna.com.tw/images/cnalogo.jpg" />'
        '<script type="text/javascript" src="/js/jquery.js"></script></head><body>'
        f'<form name="aspnetForm" method="post" action="{old_url.rsplit("/", 1)[1]}" id="aspnetForm"><div>'
        '<input type="hidden" name="__VIEWSTATE" id="__VIEWSTATE" value="/wEPDwUKMTY1NDU2MTA1MmRkZ2ZsZ3h0b2tlbg==" /></div>'
        "<script type=\"text/javascript\">//<![CDATA[\nvar theForm = document.forms['aspnetForm'];\n//]]></script>"
        '<div id="wrap"><div class="header"><h1 class="logo"><a href="/">中央社即時新聞</a></h1>'
        '<div class="search"><input type="text" name="ctl00$q" /><input type="submit" value="搜尋" /></div>'
        '<ul class="nav"><li><a href="/list/aipl-1.aspx">政治</a></li><li><a href="/list/aopl-1.aspx">國際</a></li></ul></div>'
        f"{columns}"
        f'<div class="footer"><p>{COPYRIGHT}，非經授權，不得轉載。</p><p>中央通訊社 版權所有</p></div></div>'
        '<div><input type="hidden" name="__EVENTVALIDATION" id="__EVENTVALIDATION" value="/wEWAgKf" /></div></form></body></html>'
    ).encode()


CASES = {
    "a: classes renamed, h1": [("001.html", "renamed-h1"), ("003.html", "renamed-h1"), ("004.html", "renamed-h1"), ("006.html", "renamed-h1")],
    "a: classes renamed, h2": [("001.html", "renamed-h2"), ("004.html", "renamed-h2")],
    "c: pre-2016 layout": [("001.html", "old"), ("003.html", "old"), ("006.html", "old")],
    "c: pre-2016 layout, layout table": [("004.html", "old-table"), ("006.html", "old-table")],
}


def variant(corpus: Path, exp: dict[str, Any], how: str) -> bytes:
    raw = (corpus / "cna" / "pages" / exp["file"]).read_bytes()
    if how.startswith("old"):
        return old_layout(raw, exp, table=how == "old-table")
    return renamed(raw, h2=how == "renamed-h2")


def undated_feed(corpus: Path, links: list[str]) -> bytes:
    """The real feed without its pubDates, so that a post's date is the time read off the page."""
    return re.sub(rb"<pubDate>[^<]*</pubDate>", b"", real_feed(corpus, links))


def extractor_of(tmp: Path, article_id: str) -> str | None:
    with sqlite3.connect(tmp / "out" / ".scraper" / "state.db") as conn:
        row = conn.execute("SELECT extractor FROM articles WHERE id = ? AND status = 'written'", (article_id,)).fetchone()
    return row[0] if row else None


def check_post(text: str, exp: dict[str, Any], how: str, tmp: Path) -> None:
    """Title, time, first and last paragraphs as expected.json says; no clutter; the state says "fallback"."""
    assert POST_RE.match(text), how
    assert front_matter(text)["title"] == exp["title"], how
    assert text.splitlines()[3] == f"date: {exp['published_utc']}", how  # the page's time: the feed has none
    paras = paragraphs(body(text))
    assert paras[0] == " ".join(exp["first_paragraph"].split()), how
    assert len(paras) == exp["paragraphs"], how  # <br /><br /> splits paragraphs; nothing else is one
    assert " ".join(exp["last_paragraph"].split()) in paras, how
    for junk in (COPYRIGHT, "延伸閱讀", "另一則新聞標題", "一手新聞", "聚焦新聞", "已過查詢時效", "發稿時間", "最新更新時間", "熱門新聞", "列印"):
        assert junk not in body(text), (how, junk)
    assert extractor_of(tmp, exp["id"]) == "fallback"


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_an_unknown_layout_is_written_by_the_fallback_and_said_once(case: str, server: Server, corpus: Path, expected: list[dict[str, Any]], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pages = [(next(e for e in expected if e["file"] == name), how) for name, how in CASES[case]]
    for exp, how in pages:
        server.page(path_of(exp["url"]), variant(corpus, exp, how))
    server.feed("/feed", undated_feed(corpus, [server.url(path_of(exp["url"])) for exp, _ in pages]))
    cfg = config(tmp_path, [("intl", server.url("/feed"))])
    now = datetime(2026, 11, 20, 3, 0, tzinfo=UTC).timestamp()

    report = poll(load(cfg), clock=lambda: now)
    assert report.fallback == len(pages)
    assert report.errors == [f"{SUMMARY}: {len(pages)} article{'' if len(pages) == 1 else 's'} written by the fallback extractor; run `scraper check`"]
    assert not report.ok  # exit status 1 from the CLI
    written = {front_matter(p.read_text(encoding="utf-8"))["from"]: p.read_text(encoding="utf-8") for p in posts_in(tmp_path)}
    for exp, how in pages:
        check_post(written[exp["url"]], exp, how, tmp_path)
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "written by the fallback extractor" in r.getMessage()]
    assert len(warnings) == len(pages)
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == report.errors


def test_the_2016_layout_renamed_is_read_truncated_and_written_when_asked(server: Server, corpus: Path, expected: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exp = next(e for e in expected if e["file"] == "2016-truncated.html")
    server.page(path_of(exp["url"]), variant(corpus, exp, "renamed-h1"))
    server.feed("/feed", undated_feed(corpus, [server.url(path_of(exp["url"]))]))
    cfg = config(tmp_path, [("intl", server.url("/feed"))], backfill={"base": server.base, "sitemaps": []})
    assert main(["poll", "--config", str(cfg)]) == 0
    assert posts_in(tmp_path) == []  # CNA's truncation notice is found by the fallback too: skipped
    capsys.readouterr()
    urls = tmp_path / "urls.txt"
    urls.write_text(server.url(path_of(exp["url"])) + "\n", encoding="utf-8")
    shutil.rmtree(tmp_path / "out")
    assert main(["backfill", "--config", str(cfg), "--urls", str(urls), "--include-truncated"]) == 1
    err = capsys.readouterr().err
    assert err.count("CNA's layout changed: 1 article written by the fallback extractor; run `scraper check`") == 1
    (post,) = posts_in(tmp_path)
    check_post(post.read_text(encoding="utf-8"), exp, "2016 renamed", tmp_path)


def test_the_notice_is_an_error_once_a_day_while_the_layout_stays_changed(server: Server, corpus: Path, expected: list[dict[str, Any]], tmp_path: Path) -> None:
    exps = [e for e in expected if not e["truncated"]]
    for exp in exps:
        server.page(path_of(exp["url"]), renamed((corpus / "cna" / "pages" / exp["file"]).read_bytes(), h2=False))
    links = [server.url(path_of(e["url"])) for e in exps]
    cfg = load(config(tmp_path, [("intl", server.url("/feed"))]))
    start = datetime(2026, 11, 20, 3, 0, tzinfo=UTC).timestamp()
    seen = []
    for n, hours in enumerate((0, 1, 23, 24.5)):  # a new article appears in the feed before each run
        server.feed("/feed", real_feed(corpus, links[: n + 1]))
        report = poll(cfg, clock=lambda h=hours: start + h * 3600)
        seen.append((report.fallback, len(report.errors)))
    assert seen == [(1, 1), (1, 0), (1, 0), (1, 1)]
    state = State(cfg.state_path)
    assert state.notice_said("layout-changed") == start + 24.5 * 3600
    state.close()


def test_the_cli_exits_1_on_the_first_run_and_0_within_the_day(server: Server, corpus: Path, expected: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exps = [e for e in expected if e["file"] in ("003.html", "006.html")]
    for exp in exps:
        server.page(path_of(exp["url"]), renamed((corpus / "cna" / "pages" / exp["file"]).read_bytes(), h2=True))
    server.feed("/feed", real_feed(corpus, [server.url(path_of(exps[0]["url"]))]))
    cfg = config(tmp_path, [("intl", server.url("/feed"))])
    assert main(["poll", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert err.count("WARNING") == 1 and "fallback id=" + exps[0]["id"] in err
    assert err.count("ERROR") == 1 and "CNA's layout changed: 1 article written by the fallback extractor" in err
    server.feed("/feed", real_feed(corpus, [server.url(path_of(e["url"])) for e in exps]))
    assert main(["poll", "--config", str(cfg)]) == 0
    err = capsys.readouterr().err
    assert "ERROR" not in err and err.count("WARNING") == 1  # the article's own line; the summary is info


def test_known_layouts_never_use_the_fallback(server: Server, corpus: Path, expected: list[dict[str, Any]], tmp_path: Path) -> None:
    for exp in expected:
        server.page(path_of(exp["url"]), (corpus / "cna" / "pages" / exp["file"]).read_bytes())
    server.feed("/feed", real_feed(corpus, [server.url(path_of(e["url"])) for e in expected]))
    cfg = config(tmp_path, [("intl", server.url("/feed"))])
    report = poll(load(cfg))
    assert report.fallback == 0 and report.ok
    for exp in expected:
        if not exp["truncated"]:
            assert extractor_of(tmp_path, exp["id"]) == "cna"


def test_a_short_flash_the_fallback_cannot_better_stays_cnas(corpus: Path, expected: list[dict[str, Any]]) -> None:
    exp = next(e for e in expected if e["file"] == "003.html")
    raw = (corpus / "cna" / "pages" / "003.html").read_bytes().decode("utf-8")
    start = raw.index('<div class="paragraph">') + len('<div class="paragraph">')
    end = raw.index("<div", raw.index("</p>", start))
    flash = raw[:start] + "<p>（中央社台北23日電）快訊。</p>" + raw[end:]
    article, why = fallback.cna_or_fallback(flash.encode("utf-8"), exp["url"])
    assert why is None and article.paragraphs == ("（中央社台北23日電）快訊。",)


def test_pages_that_are_no_article_stay_no_article() -> None:
    from scraper.errors import NotAnArticle

    url = "https://www.cna.com.tw/news/aopl/202311300999.aspx"
    hub = "<html><head><title>中央社電子報</title></head><body><ul><li><a href='/news/a/1.aspx'>看完整報導</a></li></ul></body></html>"
    listing = "<html><head><title>國際 | 中央社 CNA</title></head><body><h1>國際</h1>" + "<p>2023/08/23 12:00 一則新聞的標題與摘要，長度足以像一段文字。</p>" * 10 + "</body></html>"
    for page in (hub, listing):
        with pytest.raises(NotAnArticle):
            fallback.cna_or_fallback(page.encode("utf-8"), url)
