"""`scraper fetch URL --html PAGE` on every real CNA page agrees with expected.json."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from scraper.cli import main
from tests.helpers import POST_RE, body, front_matter, images, paragraphs
from tests.server import Reply, Server

TRUNCATED = "scraper: WARNING: {url}: CNA truncated this page (已過查詢時效), so the post holds only its opening; poll skips such pages, backfill writes them only with --include-truncated\n"
FORBIDDEN = ["本網站之文字、圖片及影音", "聚焦新聞", "<script", "<style", "中央社電子報", "fb like", "聽新聞", "分享", "javascript:", "<iframe"]


def fetch(capsys: pytest.CaptureFixture[str], url: str, page: Path, *, truncated: bool = False) -> str:
    code = main(["fetch", url, "--html", str(page), "--config", "/nonexistent/feeds.yaml"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == (TRUNCATED.format(url=url) if truncated else "")
    return out


@pytest.fixture(params=["001.html", "003.html", "004.html", "006.html", "2016-truncated.html"])
def case(request: pytest.FixtureRequest, expected: list[dict[str, Any]], corpus: Path) -> tuple[dict[str, Any], Path]:
    entry = next(e for e in expected if e["file"] == request.param)
    return entry, corpus / "cna" / "pages" / entry["file"]


def test_fetch_prints_post_agreeing_with_expected_facts(capsys: pytest.CaptureFixture[str], case: tuple[dict[str, Any], Path]) -> None:
    exp, page = case
    text = fetch(capsys, exp["url"], page, truncated=exp["truncated"])
    assert POST_RE.match(text)
    fm = front_matter(text)
    assert fm["title"] == exp["title"]
    assert fm["from"] == exp["url"]
    assert text.splitlines()[3] == f"date: {exp['published_utc']}"
    assert f"<!--{exp['epoch_ms']}-->" in text
    assert f"[{exp['title']}]({exp['url']})" in text
    html = body(text)
    paras = paragraphs(html)
    assert len(paras) == exp["paragraphs"]
    assert paras[0] == " ".join(exp["first_paragraph"].split())
    assert paras[-1] == " ".join(exp["last_paragraph"].split())
    imgs = images(html)
    assert len(imgs) == exp["inline_images"] + (1 if exp["lead_image"] else 0)
    if exp["lead_image"]:
        assert imgs[0]["src"] == exp["lead_image_src"]
        assert html.startswith("<div><figure>")
    else:
        assert html.startswith("<div></div><div>")
    assert "已過查詢時效" not in html


def test_fetched_body_holds_no_page_furniture(capsys: pytest.CaptureFixture[str], case: tuple[dict[str, Any], Path]) -> None:
    exp, page = case
    html = body(fetch(capsys, exp["url"], page, truncated=exp["truncated"]))
    for needle in FORBIDDEN:
        assert needle not in html, needle
    for img in images(html):
        assert img["src"].startswith("https://"), img
        assert "data-src" not in img
    assert 'href="/' not in html and 'src="/' not in html
    assert 'href="http://' not in html or "cna.com.tw" not in html
    assert "\n" not in html


def test_related_links_are_kept_absolute(capsys: pytest.CaptureFixture[str], expected: list[dict[str, Any]], corpus: Path) -> None:
    exp = next(e for e in expected if e["file"] == "004.html")
    html = body(fetch(capsys, exp["url"], corpus / "cna" / "pages" / "004.html"))
    assert "<h4>延伸閱讀</h4>" in html
    assert '<a href="https://www.cna.com.tw/news/aopl/202308220115.aspx">泰國流亡前總理戴克辛抵曼谷 支持者聚集聲援</a>' in html
    # an in-body 「延伸閱讀」 link (a.insert) is written as the canonical article URL
    assert "https://www.cna.com.tw/news/aopl/202308220341.aspx" in html


def test_truncated_page_is_flagged(expected: list[dict[str, Any]], corpus: Path) -> None:
    from scraper.articles.extractors import cna

    exp = next(e for e in expected if e["truncated"])
    article = cna.extract((corpus / "cna" / "pages" / exp["file"]).read_bytes(), exp["url"])
    assert article.truncated
    assert article.tags == ()
    assert article.published == datetime.fromisoformat(exp["published_utc"].replace("Z", "+00:00"))


def test_extractor_facts_match_expected(expected: list[dict[str, Any]], corpus: Path) -> None:
    from scraper.articles.extractors import cna

    for exp in expected:
        article = cna.extract((corpus / "cna" / "pages" / exp["file"]).read_bytes(), exp["url"])
        assert article.article_id == exp["id"]
        assert list(article.tags) == exp["tags"]
        assert (article.lead_photo is not None) == exp["lead_image"]
        assert article.inline_photos == exp["inline_images"]
        assert article.published.tzinfo is not None
        assert article.updated is None or article.updated >= article.published
        assert article.category


def test_python_dash_m_fetch_from_a_messy_url(expected: list[dict[str, Any]], corpus: Path) -> None:
    exp = expected[0]
    messy = exp["url"].replace("https://www.cna.com.tw", "http://WWW.CNA.COM.TW").replace(".aspx", "-1.aspx") + "?utm_source=x#top"
    proc = subprocess.run(
        [sys.executable, "-m", "scraper", "fetch", messy, "--html", str(corpus / "cna" / "pages" / exp["file"])],
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert proc.returncode == 0, proc.stderr
    assert f"from: {exp['url']}\n" in proc.stdout


def test_fetch_failures_are_one_line_without_traceback(tmp_path: Path) -> None:
    not_article = tmp_path / "hub.html"
    not_article.write_text("<html><head><title>電子報</title></head><body><a href='/x'>看完整報導</a></body></html>", encoding="utf-8")
    cases = [
        (["fetch", "ftp://example.com/news/aopl/202308230370.aspx", "--html", str(not_article)], "not an http(s) URL"),
        (["fetch", "https://example.com/a", "--html", str(not_article)], "no article text found"),
        (["fetch", "https://www.cna.com.tw/news/aopl/202308230370.aspx", "--html", str(tmp_path / "missing.html")], "cannot read"),
        (["fetch", "https://www.cna.com.tw/news/aopl/202308230370.aspx", "--html", str(not_article)], "newsletter hub"),
    ]
    for argv, needle in cases:
        proc = subprocess.run([sys.executable, "-m", "scraper", *argv], capture_output=True, text=True, cwd=tmp_path)
        assert proc.returncode != 0
        assert proc.stdout == ""
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_byte_order_mark_on_bytes_that_do_not_decode_is_an_extract_error(corpus: Path) -> None:
    import codecs

    from scraper.articles.extractors import cna
    from scraper.errors import ExtractError

    page = (corpus / "cna" / "pages" / "004.html").read_bytes()
    url = "https://www.cna.com.tw/news/aopl/202308230370.aspx"
    utf16 = page.decode("utf-8").encode("utf-16")
    for data in (utf16[: len(utf16) // 2 * 2 - 1], codecs.BOM_UTF8 + page.decode("utf-8").encode("cp950", errors="ignore")):
        with pytest.raises(ExtractError, match="byte-order mark"):
            cna.extract(data, url)
    with pytest.raises(ExtractError):  # UTF-16 of UTF-8 bytes decodes, into no article
        cna.extract(codecs.BOM_UTF16_LE + page, url)
    assert cna.extract(utf16, url).article_id == "202308230370"  # a whole UTF-16 page still reads


def _fetch(tmp: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scraper", "fetch", *argv], capture_output=True, text=True, cwd=tmp)


def test_another_sites_page_is_named_by_the_page_never_as_cna(corpus: Path, tmp_path: Path) -> None:
    """No --site and no feeds.yaml: the source is the page's own og:site_name, said as a
    warning; a page that names no site is refused with the hint. Never 「(臺)中央社CNA」."""
    url = "https://www.bbc.com/zhongwen/trad/chinese-news-66748432"
    page = corpus / "other" / "pages" / "bbc-001.html"
    proc = _fetch(tmp_path, url, "--html", str(page))
    assert proc.returncode == 0, proc.stderr
    assert front_matter(proc.stdout)["author"] == "BBC News 中文" and "中央社" not in proc.stdout
    (line,) = proc.stderr.strip().splitlines()
    assert "WARNING" in line and "'BBC News 中文'" in line and "--site NAME" in line
    nameless = tmp_path / "nameless.html"
    text = page.read_text(encoding="utf-8")
    nameless.write_text(re.sub(r"<meta[^>]*(og:site_name|application-name|twitter:app:name)[^>]*>", "", text), encoding="utf-8")
    proc = _fetch(tmp_path, url, "--html", str(nameless))
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert "names no site" in line and "--site NAME" in line
    assert _fetch(tmp_path, url, "--html", str(nameless), "--site", "BBC中文").returncode == 0


@pytest.mark.parametrize(
    ("body", "content_type", "what"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "application/pdf", "a PDF document"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png", "a PNG image"),
        (b"\xff\xd8\xff\xe0" + bytes(64), "text/html", "a JPEG image"),  # the bytes say more than the header
        (b"\x00\x01binary\xfe\xff" * 8, "application/octet-stream; x=1", None),
        (b"\x00\x01binary\xfe\xff" * 8, "video/mp4", "served as video/mp4"),
    ],
)
def test_a_url_that_is_no_html_page_says_so_in_one_line(server: Server, tmp_path: Path, body: bytes, content_type: str, what: str | None) -> None:
    server.routes["/a/1"] = Reply(200, body, {"Content-Type": content_type})
    proc = _fetch(tmp_path, server.url("/a/1"), "--site", "X")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and proc.stdout == "" and len(lines) == 1, proc.stderr
    if what is not None:
        assert f"not an HTML page: {what}" in lines[0]
    (tmp_path / "saved").write_bytes(body)
    saved = _fetch(tmp_path, "https://example.org/a/1", "--html", str(tmp_path / "saved"), "--site", "X")
    assert saved.returncode == 1 and len(saved.stderr.strip().splitlines()) == 1, saved.stderr
