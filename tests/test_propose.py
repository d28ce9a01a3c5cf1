"""Self-healing: when CNA's layout changes, ``scraper check`` proposes a ``rules:`` block,
and the block, pasted into feeds.yaml, makes a poll write what CNA's extractor wrote before.

The redesign is built at test time: the real corpus pages with their classes renamed, and
the real feed with its items naming those pages (their titles, and their leads as the
descriptions, as CNA's feed gives them)."""

from __future__ import annotations

import difflib
import html
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from scraper.articles.extractors import cna, fallback, propose
from scraper.cli import main
from scraper.commands.poll import poll
from scraper.config import load
from tests.helpers import body, front_matter, paragraphs
from tests.server import Server
from tests.sitebuilder import config, path_of, posts_in, real_feed
from tests.test_fallback import renamed

NAMES = ["001.html", "003.html", "004.html", "006.html"]
PROPOSAL = "check: CNA's layout changed; these rules read the title and body of all 4 pages (verified on each); paste them under each CNA feed in feeds.yaml:"


def feed_of(corpus: Path, server: Server, exps: list[dict[str, Any]]) -> bytes:
    """The real feed, its first items naming the pages: link, title, and the lead as description."""
    xml = real_feed(corpus, [server.url(path_of(e["url"])) for e in exps]).decode("utf-8")
    items = iter(exps)

    def swap(m: re.Match[str]) -> str:
        exp = next(items, None)
        if exp is None:
            return m.group(0)
        item = re.sub(r"<title>[^<]*</title>", f"<title>{html.escape(exp['title'])}</title>", m.group(0), count=1)
        return re.sub(r"<description><!\[CDATA\[.*?\]\]></description>", f"<description><![CDATA[{exp['first_paragraph']}]]></description>", item, count=1, flags=re.S)

    return re.sub(r"<item>.*?</item>", swap, xml, flags=re.S).encode("utf-8")


@pytest.fixture
def redesign(server: Server, corpus: Path, expected: list[dict[str, Any]], tmp_path: Path) -> tuple[Path, list[dict[str, Any]]]:
    exps = [next(e for e in expected if e["file"] == n) for n in NAMES]
    for exp in exps:
        server.page(path_of(exp["url"]), renamed((corpus / "cna" / "pages" / exp["file"]).read_bytes(), h2=False))
    server.feed("/feed", feed_of(corpus, server, exps))
    return config(tmp_path, [("intl", server.url("/feed"))]), exps


def test_check_proposes_rules_that_read_the_renamed_pages_as_cna_did(redesign: tuple[Path, list[dict[str, Any]]], corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, exps = redesign
    assert main(["check", "--config", str(cfg), "-n", "4"]) == 1
    lines = capsys.readouterr().out.splitlines()
    start = lines.index(PROPOSAL)
    block = lines[start + 1 :]
    assert block[0] == "    rules:" and [line.split(":")[0].strip() for line in block[1:]] == ["title", "body"]
    for line in block[1:]:  # by structure only: no page's text, id or URL
        assert not re.search(r"\d{6}|contains|cna\.com", line), line

    # pasted under the feed, as the line says
    text = cfg.read_text(encoding="utf-8")
    pasted = re.sub(r"(\n  url: [^\n]+\n)", lambda m: m.group(1) + "\n".join(line[2:] for line in block) + "\n", text, count=1)
    assert pasted != text, text
    cfg.write_text(pasted, encoding="utf-8")
    report = poll(load(cfg))
    assert report.ok and report.fallback == 0 and report.written == 4, report
    with sqlite3.connect(tmp_path / "out" / ".scraper" / "state.db") as conn:
        assert {row[0] for row in conn.execute("SELECT extractor FROM articles WHERE status = 'written'")} == {"rules"}
    posts = {front_matter(p.read_text(encoding="utf-8"))["from"]: p.read_text(encoding="utf-8") for p in posts_in(tmp_path)}
    for exp in exps:
        original = cna.extract((corpus / "cna" / "pages" / exp["file"]).read_bytes(), exp["url"])
        post = posts[exp["url"]]
        assert front_matter(post)["title"] == original.title
        got = paragraphs(body(post))
        want = [" ".join(p.split()) for p in original.paragraphs]
        ratio = difflib.SequenceMatcher(None, "\n".join(want), "\n".join(got), autojunk=False).ratio()
        assert got == want, (exp["file"], ratio)
        assert body(post).count("<img ") == original.body_html.count("<img ")  # the photos the fallback finds


def test_no_rules_are_proposed_when_the_pages_share_no_structure(corpus: Path, expected: list[dict[str, Any]]) -> None:
    """Two pages whose story boxes share no class and sit at different places: nothing holds on both."""
    samples = []
    for n, name in enumerate(("003.html", "006.html")):
        exp = next(e for e in expected if e["file"] == name)
        raw = (corpus / "cna" / "pages" / name).read_bytes().decode("utf-8")
        raw = raw.replace('class="paragraph"', f'class="story{n}"').replace('class="centralContent"', f'class="col{n}"')
        raw = raw.replace("<h1", "<h2" if n else "<h3").replace("</h1>", "</h2>" if n else "</h3>")
        if n:
            raw = raw.replace(f'<div class="story{n}">', f'<section><div class="story{n}">', 1)
        article = cna.extract((corpus / "cna" / "pages" / name).read_bytes(), exp["url"])
        samples.append(propose.Sample(raw.encode("utf-8"), exp["url"], article.title, article.paragraphs[0]))
    assert propose.propose(samples, fallback.extract) is None


def test_rules_that_match_nothing_leave_a_cna_page_to_cnas_extractor(server: Server, corpus: Path, expected: list[dict[str, Any]], tmp_path: Path) -> None:
    """Rules pasted for one redesign, on the layout CNA's extractor knows: it writes the posts."""
    exp = next(e for e in expected if e["file"] == "003.html")
    server.page(path_of(exp["url"]), (corpus / "cna" / "pages" / "003.html").read_bytes())
    server.feed("/feed", real_feed(corpus, [server.url(path_of(exp["url"]))]))
    cfg = config(tmp_path, [("intl", server.url("/feed"))])
    text = cfg.read_text(encoding="utf-8")
    cfg.write_text(re.sub(r"(\n  url: [^\n]+\n)", r'\1  rules:\n    title: "h2.gone"\n    body: "div.gone > p"\n', text, count=1), encoding="utf-8")
    assert load(cfg).feeds[0].rules is not None
    report = poll(load(cfg))
    assert report.ok and report.written == 1 and report.fallback == 0
    with sqlite3.connect(tmp_path / "out" / ".scraper" / "state.db") as conn:
        assert conn.execute("SELECT extractor FROM articles WHERE id = ?", (exp["id"],)).fetchone() == ("cna",)
