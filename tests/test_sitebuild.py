"""`scraper build`: the site built in parts (closed days once, a small live site), with
Jekyll's duplicate check made linear by the skeleton's plugin."""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import feedparser
import pytest
from lxml import html as lhtml

from scraper.site import sitebuild
from scraper.site.skeleton import init
from tests.siteview import chromium as browse
from tests.siteview import post_facts, serve

TAIPEI = ZoneInfo("Asia/Taipei")
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def _text(el: lhtml.HtmlElement) -> str:
    return " ".join(el.text_content().split())


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.status == 200, url
        data: bytes = resp.read()
        return data


def _site(corpus: Path, where: Path, count: int) -> list[Path]:
    init(where)
    (where / "_posts").mkdir()
    posts = sorted((corpus / "posts").glob("*.md"))[:count]
    for post in posts:
        shutil.copy(post, where / "_posts" / post.name)
    return [where / "_posts" / p.name for p in posts]


def _dated(post: Path, when: datetime, folder: Path) -> Path:
    """The post re-dated to ``when`` (a new article of that day), written into ``folder``."""
    text = re.sub(r"^date: .*$", f"date: {when.astimezone(UTC):%Y-%m-%dT%H:%M:%S.000Z}", post.read_text(encoding="utf-8"), count=1, flags=re.M)
    text = re.sub(r'^title: "', 'title: "新 ', text, count=1, flags=re.M)
    text = re.sub(r"^<!--\d+-->$", f"<!--{round(when.timestamp() * 1000)}-->", text, count=1, flags=re.M)
    target = folder / f"{when.astimezone(UTC):%Y-%m-%d}-新{post.name[11:]}"
    target.write_text(text, encoding="utf-8")
    return target


def test_a_post_s_day_is_the_taipei_day_of_its_date_line() -> None:
    assert sitebuild.post_day(b"---\nlayout: post\ndate: 2023-08-23T17:30:00.000Z\n") == "2023-08-24"
    assert sitebuild.post_day(b"---\ndate: 2023-08-23T15:59:59.000Z\n") == "2023-08-23"
    assert sitebuild.post_day(b"---\ntitle: x\n") is None


@pytest.mark.jekyll
def test_the_linear_plugin_is_loaded_and_the_site_builds(jekyll: str, corpus: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    posts = _site(corpus, site, 3)
    proc = subprocess.run([jekyll, "build", "--verbose"], cwd=site, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Linear site files: Site#each_site_file keyed by identity" in proc.stdout
    index = lhtml.fromstring((site / "_site" / "index.html").read_text(encoding="utf-8"))
    assert len(index.xpath("//ul[@class='posts']/li")) == len(posts)


@pytest.mark.jekyll
def test_closed_days_and_the_live_site_link_up_in_the_browser(jekyll: str, chromium: str, corpus: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    old = _site(corpus, site, 4)
    # Jekyll skips posts dated in the future: the live posts are of today or yesterday, in the past.
    today = datetime.now(TAIPEI).date()
    fresh = (datetime.now(TAIPEI) - timedelta(hours=2)).replace(hour=0, minute=5, second=0, microsecond=0)
    live = _dated(old[0], fresh, site / "_posts")
    live_day = fresh.date().isoformat()
    first = sitebuild.build(site, jekyll=jekyll, today=today)
    closed_days = {sitebuild.post_day(p.read_bytes()) for p in old}
    assert set(first.days_built) == closed_days and first.live_posts == 1
    built = site / "_site"

    # A post of a closed year, from the home page: 歷史新聞 -> its month -> its day -> the post.
    target = old[-1]
    facts = post_facts(target)
    day = sitebuild.post_day(target.read_bytes())
    assert day is not None and day < live_day
    title = " ".join(str(facts["title"]).split())
    with serve(built) as base:
        home = lhtml.fromstring(browse(chromium, base))
        assert [_text(a) for a in home.xpath("//ul[@class='posts']/li/a[@class='title']")] == [" ".join(str(post_facts(live)["title"]).split())]
        archive_url = urljoin(base, home.xpath("//a[@class='archive']/@href")[0])
        archive = lhtml.fromstring(browse(chromium, archive_url))
        month_url = urljoin(archive_url, archive.xpath(f"//a[@class='month'][contains(@href, '/{day[:4]}/{day[5:7]}/')]/@href")[0])
        month = lhtml.fromstring(browse(chromium, month_url))
        day_url = urljoin(month_url, month.xpath(f"//a[@class='day'][contains(@href, '/{day.replace('-', '/')}/')]/@href")[0])
        day_page = lhtml.fromstring(browse(chromium, day_url))
        links = {_text(a): a.get("href") for a in day_page.xpath("//ul[@class='posts']/li/a[@class='title']")}
        assert title in links
        post_url = urljoin(day_url, links[title])
        post = lhtml.fromstring(browse(chromium, post_url))
        assert _text(post.xpath("//article//h1")[0]) == title
        # From the post: its month and its source's archive (the day's) list it.
        month_again = urljoin(post_url, post.xpath("//a[@class='month']/@href")[0])
        assert urlsplit(month_again).path == urlsplit(month_url).path
        source_url = urljoin(post_url, post.xpath("//a[@class='source']/@href")[0])
        assert urlsplit(source_url).path.startswith(f"/{day.replace('-', '/')}/source/")
        source = lhtml.fromstring(browse(chromium, source_url))
        assert title in [_text(a) for a in source.xpath("//ul[@class='posts']/li/a[@class='title']")]

        # The feed holds the newest post; the sitemap index reaches every post's page.
        feed = feedparser.parse(_get(urljoin(base, "feed.xml")))
        assert " ".join(feed.entries[0].title.split()) == " ".join(str(post_facts(live)["title"]).split())
        pages: set[str] = set()
        for sitemap in ElementTree.fromstring(_get(urljoin(base, "sitemap.xml"))).iter(f"{SITEMAP}loc"):
            for loc in ElementTree.fromstring(_get(urljoin(base, str(sitemap.text)))).iter(f"{SITEMAP}loc"):
                pages.add(urlsplit(str(loc.text)).path)
        for p in [*old, live]:
            page = [f for f in built.rglob("*.html") if p.read_text(encoding="utf-8").split("---\n", 2)[2].split("\n", 1)[0] in f.read_text(encoding="utf-8")]
            assert len(page) == 1
            assert any(unquote(x) == "/" + page[0].relative_to(built).as_posix() for x in pages), p.name

    # The next build, after one more new post, renders the live site only; a day that closes is built once.
    stamp = {p: p.stat().st_mtime_ns for p in (built / day.replace("-", "/")).rglob("*")}
    _dated(old[1], fresh + timedelta(minutes=1), site / "_posts")
    again = sitebuild.build(site, jekyll=jekyll, today=today)
    assert again.days_built == () and again.live_posts == 2
    assert {p: p.stat().st_mtime_ns for p in (built / day.replace("-", "/")).rglob("*")} == stamp
    # Days later with no new post, the newest day stays live: the home page never empties.
    later = sitebuild.build(site, jekyll=jekyll, today=today + timedelta(days=3))
    assert later.days_built == () and later.live_posts == 2
    assert "新 " in (built / "index.html").read_text(encoding="utf-8")
