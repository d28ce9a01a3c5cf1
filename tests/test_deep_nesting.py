"""A page nested deeper than the HTML parser reads (libxml2 stops at 256 levels and keeps
the tree so far) fails with a clear reason instead of becoming a post with its text gone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from scraper.cli import main
from tests.server import Server
from tests.sitebuilder import config, corpus_urls, item, path_of, posts_in
from tests.test_photos import rss


def nested(corpus: Path, depth: int, tag: bytes = b"b") -> bytes:
    """Page 004 with its first paragraph's text inside ``depth`` nested ``tag`` elements."""
    page = (corpus / "cna" / "pages" / "004.html").read_bytes()
    start = page.index(b"<p>", page.index(b'<div class="paragraph">')) + 3
    end = page.index(b"</p>", start)
    return page[:start] + (b"<" + tag + b">") * depth + page[start:end] + (b"</" + tag + b">") * depth + page[end:]


@pytest.mark.parametrize("tag", [b"b", b"span", b"font"])
def test_a_page_nested_100k_deep_fails_with_its_reason(corpus: Path, tmp_path: Path, tag: bytes, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "page.html"
    saved.write_bytes(nested(corpus, 100_000, tag))
    assert main(["fetch", corpus_urls(corpus)["004.html"], "--html", str(saved)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "beyond what the HTML parser reads whole (Excessive depth in document: 256" in err


def test_a_deep_page_in_a_poll_is_a_failed_article_not_a_post(server: Server, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = corpus_urls(corpus)["004.html"]
    server.page(path_of(url), nested(corpus, 100_000))
    server.feed("/feed", rss(item("t", server.url(path_of(url)))))
    cfg = config(tmp_path, [("f", server.url("/feed"))], article_backoff=3600)
    assert main(["poll", "--config", str(cfg)]) == 0  # one failed attempt: reported after max_attempts
    assert posts_in(tmp_path) == []
    with sqlite3.connect(tmp_path / "out" / ".scraper" / "state.db") as db:
        status, reason = db.execute("SELECT status, reason FROM articles").fetchone()
    assert status == "pending" and "Excessive depth in document" in reason  # tried again on its backoff, then reported


def test_a_page_nested_within_the_limit_keeps_its_text(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "page.html"
    saved.write_bytes(nested(corpus, 200))
    assert main(["fetch", corpus_urls(corpus)["004.html"], "--html", str(saved)]) == 0
    plain = (corpus / "cna" / "pages" / "004.html").read_bytes()
    first = plain[plain.index(b"<p>", plain.index(b'<div class="paragraph">')) + 3 : plain.index(b"</p>", plain.index(b'<div class="paragraph">'))]
    assert first.decode("utf-8")[:20] in capsys.readouterr().out
