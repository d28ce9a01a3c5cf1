"""Pages derived from the real ones inside the test: hostile injections, today's layout
variants, and pages that are no article."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest

from scraper.articles.extractors import cna
from scraper.errors import LayoutChanged, NotAnArticle
from scraper.site import posts
from tests.helpers import POST_RE, body, images, jekyll_build, paragraphs, site_with, visible_text

INJECTED = (
    '<script>alert("pwned")</script>'
    '<img src="https://evil.example/x.png" onerror="alert(1)">'
    '<a href="javascript:alert(2)" onclick="alert(3)">點我</a>'
    '<iframe src="https://evil.example/frame"></iframe>'
    "<style>body{display:none}</style>"
    "{% raw %} and {{ site }} and {%endraw%}"
)


def page(corpus: Path, name: str) -> bytes:
    return (corpus / "cna" / "pages" / name).read_bytes()


def url_of(expected: list[dict[str, Any]], name: str) -> str:
    return str(next(e["url"] for e in expected if e["file"] == name))


def hostile(raw: bytes) -> bytes:
    text = raw.decode("utf-8")
    # into the first paragraph of the article body
    text = re.sub(r'(<div class="paragraph">\s*<p>)', lambda m: m.group(1) + INJECTED, text, count=1)
    return text.encode("utf-8")


@pytest.mark.parametrize("name", ["001.html", "004.html"])
def test_injected_script_handlers_and_liquid_do_not_survive(corpus: Path, expected: list[dict[str, Any]], name: str) -> None:
    article = cna.extract(hostile(page(corpus, name)), url_of(expected, name))
    text = posts.build(article, site="(臺)中央社CNA").text
    assert POST_RE.match(text)
    out = body(text)
    for needle in ("<script", 'alert("pwned")', "onerror", "onclick", "javascript:", "<iframe", "evil.example/frame", "<style", "{{", "{%"):
        assert needle not in out, needle
    assert "點我" in out  # the link's words stay, the link goes
    assert html.unescape(out).count("{{ site }}") == 1


@pytest.mark.jekyll
def test_jekyll_builds_hostile_and_real_posts_showing_liquid_literally(corpus: Path, expected: list[dict[str, Any]], jekyll: str, tmp_path: Path) -> None:
    written = {}
    for name in ("001.html", "003.html", "004.html", "006.html"):
        post = posts.build(cna.extract(hostile(page(corpus, name)), url_of(expected, name)), site="(臺)中央社CNA")
        written[post.filename] = post.text
    site = jekyll_build(jekyll, site_with(written, tmp_path))
    built = [p for p in site.rglob("*.html") if p.name != "index.html"]
    assert len(built) == len(written)
    for path in built:
        page_html = path.read_text(encoding="utf-8")
        assert "&lt;/" not in page_html  # no markup escaped into visible text
        assert "<script" not in page_html and "onerror" not in page_html
        shown = visible_text(page_html)
        assert "{{ site }}" in shown and "{% raw %}" in shown
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.count("<li>") == len(written)


def modern(raw: bytes) -> bytes:
    """The 2023 photo blocks rewritten into 2025-2026 form, with today's clutter added."""
    text = raw.decode("utf-8")
    # div.floatImg > div.BGimgWrap > picture + div.picinfo  ->  figure.floatImg > picture + figcaption
    text = re.sub(
        r"""<div class=["']floatImg center["']><div class=["']BGimgWrap["'][^>]*>(<picture>.*?</picture>)</div><div class=["']picinfo["']>(.*?)</div></div>""",
        r'<figure class="floatImg center">\1<figcaption>\2</figcaption></figure>',
        text,
        flags=re.S,
    )
    clutter = (
        '<div class="gmailNews"><p>訂閱中央社電子報 每日新聞</p></div>'
        '<div class="lineAd"><a href="https://line.me/x">加入LINE好友</a></div>'
        '<div class="paragraph moreArticle"><div class="moreArticle-title">相關新聞</div><div class="topicTheme"><ul class="timeline">'
        '<li class="timelineItem"><a href="https://www.cna.com.tw/news/aopl/202308220001.aspx">時間軸新聞</a></li></ul></div></div>'
        '<div class="paragraph appDownload"><p>支持中央社 小額贊助</p></div>'
        '<div class="MarketPC"><p>台股 16000</p></div>'
    )
    text = re.sub(r"""(<div class=["']articlekeywordGroup["']>)""", lambda m: clutter + m.group(1), text, count=1)
    text = text.replace("（譯者：何宏儒/核稿：楊昭彥）1120823", "（編譯：何宏儒）1141113")
    return text.encode("utf-8")


def test_todays_layout_keeps_photos_and_drops_new_clutter(corpus: Path, expected: list[dict[str, Any]]) -> None:
    raw = modern(page(corpus, "004.html"))
    assert raw.count(b'<figure class="floatImg center">') == 3 and b"gmailNews" in raw
    article = cna.extract(raw, url_of(expected, "004.html"))
    out = article.body_html
    assert article.lead_photo is not None
    assert article.lead_photo.src.endswith("1151x768_wmkn_0_C20230823000231.jpg")
    assert "（為泰黨提供）" in article.lead_photo.caption
    assert len(images(out)) == 3
    assert out.count("<figcaption>") == 3
    for needle in ("訂閱中央社電子報", "加入LINE好友", "時間軸新聞", "小額贊助", "台股 16000"):
        assert needle not in out, needle
    assert paragraphs(out)[-1].endswith("（編譯：何宏儒）1141113")


def test_title_with_ideographic_space_is_kept(corpus: Path, expected: list[dict[str, Any]]) -> None:
    raw = page(corpus, "003.html").decode("utf-8").replace("<h1><span>庫克群島總理：", "<h1><span>庫克群島總理：\u3000", 1)
    article = cna.extract(raw.encode("utf-8"), url_of(expected, "003.html"))
    assert "\u3000" in article.title


def test_big5_page_yields_the_same_chinese(corpus: Path, expected: list[dict[str, Any]]) -> None:
    raw = page(corpus, "006.html").decode("utf-8").replace('<meta charset="utf-8" />', '<meta charset="big5" />')
    big5 = raw.encode("cp950", errors="ignore")
    article = cna.extract(big5, url_of(expected, "006.html"), charset="iso-8859-1")  # a wrong header too
    exp = next(e for e in expected if e["file"] == "006.html")
    assert article.title == exp["title"]
    assert article.paragraphs[0] == exp["first_paragraph"]


def test_undecodable_bytes_are_an_error_not_mojibake() -> None:
    from scraper.errors import ExtractError

    junk = b"<html><head><meta charset='utf-8'></head><body>" + bytes(range(0x80, 0x100)) * 50 + b"</body></html>"
    with pytest.raises(ExtractError):
        cna.extract(junk, "https://www.cna.com.tw/news/aopl/202308230370.aspx")


def test_missing_skeleton_says_layout_changed(corpus: Path, expected: list[dict[str, Any]]) -> None:
    url = url_of(expected, "004.html")
    raw = page(corpus, "004.html").decode("utf-8")
    no_central = raw.replace("centralContent", "mainColumn")
    with pytest.raises(LayoutChanged, match="layout seems to have changed") as info:
        cna.extract(no_central.encode(), url)
    assert url in str(info.value)
    no_paragraph = raw.replace('class="paragraph"', 'class="articleText"')
    with pytest.raises(LayoutChanged, match=r"div\.paragraph"):
        cna.extract(no_paragraph.encode(), url)


def test_title_mentioning_404_is_still_an_article(corpus: Path, expected: list[dict[str, Any]]) -> None:
    raw = page(corpus, "003.html").decode("utf-8").replace("庫克群島總理：", "404名島民與總理：")
    article = cna.extract(raw.encode("utf-8"), url_of(expected, "003.html"))
    assert article.title.startswith("404名島民")


def test_pages_that_are_no_article_raise_naming_the_url() -> None:
    url = "https://www.cna.com.tw/news/aopl/202311300999.aspx"
    not_found = "<html><head><title>404 找不到網頁 | 中央社 CNA</title></head><body><div class='errorPage'>找不到</div></body></html>"
    hub = "<html><head><title>中央社電子報</title></head><body><ul><li><a href='/news/a/1.aspx'>看完整報導</a></li></ul></body></html>"
    empty_body = (
        "<html><head><title>x</title></head><body><article class='article'><div class='centralContent'><h1><span>標題</span></h1>"
        "<div class='paragraph'><div class='articlekeywordGroup'></div></div></div></article></body></html>"
    )
    for raw, needle in ((not_found, "page-not-found"), (hub, "newsletter hub"), (empty_body, "no article text")):
        with pytest.raises(NotAnArticle, match=needle) as info:
            cna.extract(raw.encode(), url)
        assert url in str(info.value)
