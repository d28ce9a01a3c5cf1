"""`content: feed | page | auto` on the real feeds of other sites, served locally."""

from __future__ import annotations

import re
from pathlib import Path

import feedparser
import pytest
import yaml

from scraper.cli import main
from scraper.feeds.parse import FULL_TEXT_CHARS, is_full_text
from tests.helpers import POST_RE, body, front_matter
from tests.server import Reply, Server
from tests.sitebuilder import posts_in

FEEDS = {"bbc": "bbc-2015-03-16.atom.xml", "nyt": "nyt-2015-03-16.rss.xml", "cdt": "cdt-2015-03-16.rss.xml"}


def local_feed(server: Server, corpus: Path, name: str, keep: int) -> tuple[str, list[str]]:
    """A real feed cut to its first ``keep`` items, every item link pointing at the local
    server, which answers each with the real BBC page; returns the feed URL and the links."""
    text = (corpus / "other" / "feeds" / FEEDS[name]).read_text(encoding="utf-8")
    tag = "entry" if name == "bbc" else "item"
    head, *items = re.split(rf"(?=<{tag}[ >])", text)
    tail = items[-1][items[-1].index(f"</{tag}>") + len(f"</{tag}>") :]
    items = [i[: i.index(f"</{tag}>") + len(f"</{tag}>")] for i in items[:keep]]
    links = []
    for n, _ in enumerate(items):
        path = f"/story/{name}/{n}"
        links.append(server.url(path))
        server.page(path, (corpus / "other" / "pages" / "bbc-001.html").read_bytes())
        if name == "bbc":
            items[n] = re.sub(r'(<link rel="alternate"[^>]*?href=")[^"]*(")', lambda m, p=path: m.group(1) + server.url(p) + m.group(2), items[n], count=1)
        else:
            items[n] = re.sub(r"<link>[^<]*</link>", f"<link>{server.url(path)}</link>", items[n], count=1)
    server.routes[f"/{name}.xml"] = Reply(200, (head + "".join(items) + tail).encode("utf-8"), {"Content-Type": "application/xml"})
    return server.url(f"/{name}.xml"), links


def poll(tmp: Path, feeds: list[dict[str, str]], *extra: str) -> int:
    tmp.mkdir(exist_ok=True)
    cfg = tmp / "feeds.yaml"
    cfg.write_text(yaml.safe_dump({"site": "S", "output": "out", "feeds": feeds, "http": {"delay": 0, "retries": 1}}, allow_unicode=True), encoding="utf-8")
    return main(["poll", "--config", str(cfg), *extra])


def page_hits(server: Server) -> int:
    return sum(n for p, n in server.hits.items() if p.startswith("/story/"))


@pytest.mark.parametrize(("name", "fetches"), [("cdt", False), ("nyt", False), ("bbc", True)])
def test_auto_writes_full_text_feeds_as_they_are_and_fetches_the_pages_of_summaries(server: Server, corpus: Path, tmp_path: Path, name: str, fetches: bool, capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = local_feed(server, corpus, name, keep=3)
    assert poll(tmp_path, [{"name": name, "url": url, "site": name.upper()}], "-v") == 0  # content: auto is the default
    texts = [p.read_text(encoding="utf-8") for p in posts_in(tmp_path)]
    assert len(texts) == 3 and all(POST_RE.match(t) for t in texts)
    assert page_hits(server) == (3 if fetches else 0)
    said = [line for line in capsys.readouterr().err.splitlines() if "content-auto" in line]
    assert len(said) == 1 and said[0].endswith(f"from_feed={0 if fetches else 3} from_page={3 if fetches else 0}")


def test_content_feed_never_fetches_and_writes_an_item_without_text_as_its_title_link(server: Server, corpus: Path, tmp_path: Path) -> None:
    """DW's RSS 1.0 items may have no description at all."""
    server.routes["/dw.rdf"] = Reply(
        200,
        (
            '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel rdf:about="x"><title>DW</title><link>https://www.dw.com/zh</link></channel>'
            f'<item rdf:about="{server.url("/a")}"><title>沒有內文的條目</title><link>{server.url("/a")}</link><dc:date>2015-03-16T08:00:00Z</dc:date></item>'
            "</rdf:RDF>"
        ).encode(),
        {"Content-Type": "application/rdf+xml"},
    )
    assert poll(tmp_path, [{"name": "dw", "url": server.url("/dw.rdf"), "site": "DW", "content": "feed"}]) == 0
    assert server.hits["/a"] == 0
    (text,) = [p.read_text(encoding="utf-8") for p in posts_in(tmp_path)]
    assert POST_RE.match(text) and front_matter(text)["title"] == "沒有內文的條目" and body(text) == ""
    # and with auto, the same item's page is fetched
    server.routes["/a"] = Reply(200, (corpus / "other" / "pages" / "bbc-001.html").read_bytes())
    assert poll(tmp_path / "auto", [{"name": "dw", "url": server.url("/dw.rdf"), "site": "DW"}]) == 0
    assert server.hits["/a"] == 1


def test_the_full_text_rule_separates_the_real_feeds(corpus: Path) -> None:
    for name, full in (("bbc", False), ("nyt", True)):
        parsed = feedparser.parse((corpus / "other" / "feeds" / FEEDS[name]).read_bytes())
        verdicts = {is_full_text(e.get("summary"), encoded=False) for e in parsed.entries}
        assert verdicts == {full}, name
    assert not is_full_text("字" * (FULL_TEXT_CHARS + 50) + "…閱讀全文", encoded=False)
    assert not is_full_text(None, encoded=True) and is_full_text("<p>短</p>", encoded=True)


def test_fetch_prints_the_post_of_any_page_with_the_general_extractor(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = "https://www.bbc.com/zhongwen/trad/chinese-news-66748432"
    assert main(["fetch", url, "--html", str(corpus / "other" / "pages" / "bbc-001.html"), "--site", "BBC中文", "--config", "/nonexistent.yaml"]) == 0
    text = capsys.readouterr().out
    fm = front_matter(text)
    assert POST_RE.match(text) and fm["author"] == "BBC中文" and fm["tags"] == ["BBC中文"] and fm["from"] == url
    assert fm["title"] == "華為：新款5G手機橫空出世 中國半導體突破美國封鎖？"  # the page's h1, no site suffix
    assert main(["fetch", "ftp://example.org/x"]) == 2
