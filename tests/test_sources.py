"""Sources other than CNA: feeds with their own `site`, `content: feed` and `content: page`."""

from __future__ import annotations

import html
from datetime import UTC
from email.utils import format_datetime
from pathlib import Path

import pytest
import yaml

from scraper.articles.clean import clean_html
from tests.helpers import POST_RE, body, front_matter, paragraphs, poll
from tests.server import Reply, Server
from tests.sitebuilder import corpus_urls, path_of, posts_in

NON_CNA = ["2013-10-15-韩国不加入美飞弹防御系统.md", "2018-11-21-节日上陆？.md", "2023-08-20-[Chinese] 台海军演：台湾称42架次中国战机进入防空识别区，26架次飞越中线.md"]


def rss(items: str, *, encoding: str = "UTF-8", title: str = "t") -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{title}</title><link>https://example.org/</link><description>d</description>{items}</channel></rss>"
    )


def write_config(tmp: Path, feeds: list[dict[str, str]]) -> Path:
    data = {"site": "(臺)中央社CNA", "output": "out", "feeds": feeds, "http": {"delay": 0, "retries": 1, "backoff": 0.01}, "article_backoff": 3600}
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_real_non_cna_posts_come_back_from_their_own_feed_items(server: Server, corpus: Path, tmp_path: Path) -> None:
    feeds = []
    reals = {}
    for n, name in enumerate(NON_CNA):
        real = (corpus / "posts" / name).read_text(encoding="utf-8")
        fm = front_matter(real)
        reals[name] = real
        date = fm["date"] if fm["date"].tzinfo else fm["date"].replace(tzinfo=UTC)
        content = body(real).replace("]]>", "]]]]><![CDATA[>")
        entry = (
            f"<item><title>{html.escape(fm['title'])}</title><link>{html.escape(fm['from'])}</link>"
            f"<pubDate>{format_datetime(date, usegmt=True)}</pubDate><content:encoded><![CDATA[{content}]]></content:encoded></item>"
        )
        server.feed(f"/source{n}", rss(entry).encode("utf-8"))
        feeds.append({"name": fm["author"], "url": server.url(f"/source{n}"), "site": fm["author"], "content": "feed"})
    assert poll(write_config(tmp_path, feeds)) == 0
    written = {p.name: p.read_text(encoding="utf-8") for p in posts_in(tmp_path)}
    assert sorted(written) == sorted(NON_CNA)
    for name, real in reals.items():
        ours = written[name]
        assert POST_RE.match(ours)
        assert ours.split("<div>\n", 1)[0] == real.split("<div>\n", 1)[0]  # front matter, comment, link and ------ lines
        assert body(ours) == clean_html(body(real), front_matter(real)["from"])
    assert server.article_hits() == 0  # content: feed fetches no page


def test_atom_rss1_and_big5_feeds_each_give_correct_posts(server: Server, tmp_path: Path) -> None:
    atom = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>a</title><id>urn:a</id><updated>2023-12-01T00:00:00Z</updated>'
        '<entry><title>原子新聞一則</title><link href="https://atom.example/n/1"/><id>urn:a:1</id><updated>2023-12-01T08:30:00+08:00</updated>'
        '<author><name>王小明</name></author><content type="html">&lt;p&gt;原子內文&lt;/p&gt;</content></entry></feed>'
    )
    rdf = (
        '<?xml version="1.0" encoding="utf-8"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel rdf:about="https://rdf.example/"><title>r</title><link>https://rdf.example/</link><description>d</description></channel>'
        '<item rdf:about="https://rdf.example/n/2"><title>資源描述新聞</title><link>https://rdf.example/n/2</link><dc:date>2023-12-02T10:00:00+08:00</dc:date>'
        "<description>&lt;p&gt;資源內文&lt;/p&gt;</description></item></rdf:RDF>"
    )
    big5 = rss(
        "<item><title>繁體新聞標題</title><link>https://big5.example/n/3</link><pubDate>Sun, 03 Dec 2023 12:00:00 +0800</pubDate><description>&lt;p&gt;臺灣內文測試&lt;/p&gt;</description></item>",
        encoding="big5",
    ).encode("cp950")
    server.routes["/atom"] = Reply(200, atom.encode("utf-8"), {"Content-Type": "application/atom+xml"})
    server.routes["/rdf"] = Reply(200, rdf.encode("utf-8"), {"Content-Type": "application/rdf+xml"})
    server.routes["/big5"] = Reply(200, big5, {"Content-Type": "application/rss+xml"})  # no charset: the XML declaration says it
    feeds = [{"name": n, "url": server.url(f"/{n}"), "site": s, "content": "feed"} for n, s in (("atom", "原子"), ("rdf", "資源"), ("big5", "繁體"))]
    assert poll(write_config(tmp_path, feeds)) == 0
    by_title = {front_matter(p.read_text(encoding="utf-8"))["title"]: p.read_text(encoding="utf-8") for p in posts_in(tmp_path)}
    assert set(by_title) == {"原子新聞一則", "資源描述新聞", "繁體新聞標題"}
    atom_post = by_title["原子新聞一則"]
    assert front_matter(atom_post)["author"] == "王小明" and front_matter(atom_post)["tags"] == ["原子"]
    assert "date: 2023-12-01T00:30:00.000Z" in atom_post and paragraphs(body(atom_post)) == ["原子內文"]
    assert "date: 2023-12-02T02:00:00.000Z" in by_title["資源描述新聞"] and front_matter(by_title["資源描述新聞"])["author"] == "資源"
    assert paragraphs(body(by_title["繁體新聞標題"])) == ["臺灣內文測試"] and "date: 2023-12-03T04:00:00.000Z" in by_title["繁體新聞標題"]


OTHER_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Harbour reopens after storm | Example News</title>
<meta property="og:title" content="Harbour reopens after storm"><meta property="article:published_time" content="2023-12-01T10:00:00+00:00"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article><h1>Harbour reopens after storm</h1>
<p>The harbour reopened on Friday after a storm closed it for three days, the port authority said in a statement to reporters.</p>
<p>Fishing boats returned to their moorings by the afternoon, and ferries resumed their normal timetable across the bay.</p>
<p>Officials said the breakwater had held, though repairs to the northern pier would take several more weeks to finish.</p>
<script>alert(1)</script></article><footer>Copyright Example News 2023. Subscribe to our newsletter.</footer></body></html>"""


def test_mixed_feed_under_content_page_uses_the_right_extractor_for_each(server: Server, corpus: Path, tmp_path: Path) -> None:
    cna_url = corpus_urls(corpus)["004.html"]
    server.page(path_of(cna_url), (corpus / "cna" / "pages" / "004.html").read_bytes())
    server.page("/world/harbour.html?utm_source=rss", OTHER_PAGE.encode("utf-8"))  # fetched as the feed gives it
    items = (
        f"<item><title>泰王任命</title><link>{server.url(path_of(cna_url))}</link><pubDate>Wed, 23 Aug 2023 21:55:00 +0800</pubDate></item>"
        f"<item><title>Harbour reopens after storm</title><link>{server.url('/world/harbour.html')}?utm_source=rss</link><pubDate>Fri, 01 Dec 2023 10:00:00 +0000</pubDate></item>"
    )
    server.feed("/mixed", rss(items).encode("utf-8"))
    cfg = write_config(tmp_path, [{"name": "mixed", "url": server.url("/mixed"), "site": "混合來源", "content": "page"}])
    assert poll(cfg) == 0
    posts = {front_matter(p.read_text(encoding="utf-8"))["from"]: p.read_text(encoding="utf-8") for p in posts_in(tmp_path)}
    assert set(posts) == {cna_url, server.url("/world/harbour.html") + "?utm_source=rss"}
    cna_post = posts[cna_url]  # the CNA extractor: canonical URL, CNA's framing, the corpus facts
    assert body(cna_post).startswith("<div><figure>") and "<div></div><div><p>（中央社曼谷23日綜合外電報導）" in body(cna_post)
    assert front_matter(cna_post)["author"] == "混合來源"
    other = body(posts[server.url("/world/harbour.html") + "?utm_source=rss"])  # the general extractor
    assert "The harbour reopened on Friday" in other and "breakwater had held" in other
    for clutter in ("Home", "Subscribe", "alert(1)", "<script"):
        assert clutter not in other
    assert poll(cfg) == 0 and len(posts_in(tmp_path)) == 2


def test_repeated_guids_are_detected_and_links_keep_items_apart(server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    items = (
        "".join(
            f"<item><title>同一GUID之{i}</title><link>https://guid.example/n/{i}</link><guid>same-guid</guid><pubDate>Fri, 01 Dec 2023 10:0{i}:00 +0000</pubDate>"
            f"<description>內文{i}</description></item>"
            for i in range(3)
        )
        + "<item><title>只有GUID</title><guid isPermaLink='false'>only-guid-1</guid><pubDate>Fri, 01 Dec 2023 11:00:00 +0000</pubDate><description>無連結</description></item>"
    )
    server.feed("/g", rss(items).encode("utf-8"))
    cfg = write_config(tmp_path, [{"name": "g", "url": server.url("/g"), "site": "G", "content": "feed"}])
    assert poll(cfg) == 0
    assert "GUID 'same-guid' repeats" in capsys.readouterr().err
    froms = sorted(front_matter(p.read_text(encoding="utf-8"))["from"] for p in posts_in(tmp_path))
    assert froms == ["https://example.org/", "https://guid.example/n/0", "https://guid.example/n/1", "https://guid.example/n/2"]
    assert poll(cfg) == 0 and len(posts_in(tmp_path)) == 4  # identities are stable across polls
    capsys.readouterr()
    server.feed("/g", rss(items.replace("same-guid", "new-guid")).encode("utf-8"))  # the feed re-issues its GUIDs
    assert poll(cfg) == 0 and len(posts_in(tmp_path)) == 4
    err = capsys.readouterr().err
    assert err.count("changed (was 'same-guid')") == 3


@pytest.mark.jekyll
def test_jekyll_builds_posts_of_other_sources(server: Server, corpus: Path, tmp_path: Path, jekyll: str) -> None:
    from tests.helpers import jekyll_build, site_with

    test_real_non_cna_posts_come_back_from_their_own_feed_items(server, corpus, tmp_path)
    written = {p.name: p.read_text(encoding="utf-8") for p in posts_in(tmp_path)}
    built = jekyll_build(jekyll, site_with(written, tmp_path))
    pages = [p for p in built.rglob("*.html") if p.name != "index.html"]
    assert len(pages) == 3
    for page in pages:
        assert "&lt;/" not in page.read_text(encoding="utf-8")
