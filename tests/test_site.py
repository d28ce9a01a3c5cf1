"""The Jekyll site readers see: the shipped skeleton, `scraper init`, and the site built
from the real corpus posts, checked on disk and in headless Chromium."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit
from zoneinfo import ZoneInfo

import feedparser
import pytest
import yaml
from lxml import html as lhtml

from scraper.cli import main
from scraper.site import skeleton
from tests.helpers import ROOT, body, images, visible_text
from tests.siteview import build_site, built_page, post_facts, serve
from tests.siteview import chromium as browse

TAIPEI = ZoneInfo("Asia/Taipei")
CJK = re.compile("[\u4e00-\u9fff]")
SKIP_IN_OUTPUT = {"_posts", "_site", ".scraper", ".jekyll-cache"}


def _tree(root: Path) -> dict[str, bytes]:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not SKIP_IN_OUTPUT & set(rel.parts):
            out[rel.as_posix()] = path.read_bytes()
    return out


def _config() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(skeleton.skeleton_files()[skeleton.PurePosixPath("_config.yml")])
    return data


def _posts(corpus: Path) -> list[Path]:
    posts = sorted((corpus / "posts").glob("*.md"))
    assert len(posts) >= 2
    return posts


def _when(post: Path) -> datetime:
    date = post_facts(post)["date"]
    assert isinstance(date, datetime)
    return date if date.tzinfo else date.replace(tzinfo=UTC)


def _title(post: Path) -> str:
    """The title as a reader sees it: HTML collapses CNA's double spaces."""
    return " ".join(str(post_facts(post)["title"]).split())


def _taipei(post: Path) -> str:
    return _when(post).astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M")


def _dom(page: str) -> Any:
    return lhtml.fromstring(page)


def _text(el: Any) -> str:
    return " ".join(el.text_content().split())


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as resp:
        status: int = resp.status
        return status, resp.read()


# -- the skeleton and `scraper init` ------------------------------------------------


def test_output_folder_is_the_skeleton_that_init_writes() -> None:
    shipped = {rel.as_posix(): data for rel, data in skeleton.skeleton_files().items()}
    assert "_config.yml" in shipped and "_layouts/post.html" in shipped
    assert _tree(ROOT / "output") == shipped


def test_init_writes_every_skeleton_file_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "new" / "site"
    assert skeleton.missing(site)
    assert main(["init", str(site)]) == 0
    lines = capsys.readouterr().out.splitlines()
    files = skeleton.skeleton_files()
    assert _tree(site) == {rel.as_posix(): data for rel, data in files.items()}
    assert sorted(lines) == sorted(f"wrote {site.joinpath(*rel.parts)}" for rel in files)
    assert not skeleton.missing(site)


def test_init_never_overwrites_and_names_what_it_left_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = tmp_path / "site"
    assert main(["init", str(site)]) == 0
    capsys.readouterr()
    (site / "_config.yml").write_text("title: mine\n", encoding="utf-8")
    (site / "_layouts" / "post.html").unlink()
    assert main(["init", str(site)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (site / "_config.yml").read_text(encoding="utf-8") == "title: mine\n"
    assert f"wrote {site / '_layouts' / 'post.html'}" in lines
    assert f"kept {site / '_config.yml'} (exists; left alone)" in lines
    assert len(lines) == len(skeleton.skeleton_files())
    assert [line for line in lines if line.startswith("wrote")] == [f"wrote {site / '_layouts' / 'post.html'}"]


def test_init_on_a_file_is_one_line_and_exit_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "site"
    target.write_text("x", encoding="utf-8")
    assert main(["init", str(target)]) == 2
    err = capsys.readouterr().err
    assert err == f"scraper: {target}: is a file, not a folder\n"
    assert target.read_text(encoding="utf-8") == "x"


def test_init_below_a_file_is_one_line_and_exit_status_4(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "scraper", "init", str(tmp_path / "file" / "site")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 4
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("scraper: ")
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write a read-only folder")
def test_init_in_a_read_only_folder_is_exit_status_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tmp_path.chmod(0o555)
    try:
        assert main(["init", str(tmp_path / "site")]) == 4
    finally:
        tmp_path.chmod(0o755)
    err = capsys.readouterr().err
    assert err.startswith("scraper: ") and err.count("\n") == 1 and "Permission denied" in err


def test_installed_package_ships_the_skeleton(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "scraper", src / "scraper", ignore=shutil.ignore_patterns("__pycache__"))
    # build_py lays out exactly the files an install of the package gets.
    code = "from setuptools import setup; setup()"
    lib = tmp_path / "lib"
    proc = subprocess.run([sys.executable, "-c", code, "-q", "build_py", "--build-lib", str(lib)], cwd=src, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (lib / "scraper" / "site" / "skeleton.py").is_file()
    installed = _tree(lib / "scraper" / "site" / skeleton.SKELETON)
    assert installed == {rel.as_posix(): data for rel, data in skeleton.skeleton_files().items()}


# -- the built site ------------------------------------------------------------------


@pytest.mark.jekyll
def test_site_with_no_posts_builds(jekyll: str, tmp_path: Path) -> None:
    built = build_site(jekyll, [], tmp_path / "site")
    index = _dom((built / "index.html").read_text(encoding="utf-8"))
    assert index.xpath("//ul[@class='posts']") and not index.xpath("//ul[@class='posts']/li")
    assert feedparser.parse((built / "feed.xml").read_bytes()).feed.get("title") == _config()["title"]
    assert (built / "sitemap.xml").exists()


def _local_links(built: Path, page: Path) -> list[str]:
    # The site's own links; a post's body keeps whatever links its source wrote (old
    # mirror posts hold some relative ones) and is checked by the writer's tests.
    root = _dom(page.read_text(encoding="utf-8"))
    mine = "[not(ancestor::div[@class='post-content'])]"
    links = [str(v) for v in root.xpath(f"//a{mine}/@href | //link/@href | //img{mine}/@src | //script/@src")]
    return [v for v in links if not urlsplit(v).scheme and not v.startswith("//")]


def _file_for(built: Path, link: str, baseurl: str) -> Path:
    path = unquote(urlsplit(link).path)
    assert path.startswith(baseurl + "/"), f"{link} is outside baseurl {baseurl!r}"
    target = built / path[len(baseurl) + 1 :]
    return target / "index.html" if path.endswith("/") else target


@pytest.mark.jekyll
@pytest.mark.parametrize("baseurl", ["", "/mirror"])
def test_corpus_site_pages_show_source_time_and_original_and_every_link_resolves(jekyll: str, corpus: Path, tmp_path: Path, baseurl: str) -> None:
    posts = _posts(corpus)
    built = build_site(jekyll, posts, tmp_path / "site", baseurl=baseurl)

    checked = 0
    for page in built.rglob("*.html"):
        for link in _local_links(built, page):
            assert _file_for(built, link, baseurl).is_file(), f"{page.relative_to(built)} links to missing {link}"
            checked += 1
    assert checked > len(posts) * 3

    per_page = _config()["pagination"]["per_page"]
    pages = math.ceil(len(posts) / per_page)
    assert pages >= 2, "the corpus should fill more than one index page"
    index = _dom((built / "index.html").read_text(encoding="utf-8"))
    newest = sorted(posts, key=_when, reverse=True)
    assert [_text(a) for a in index.xpath("//ul[@class='posts']/li/a[@class='title']")] == [_title(p) for p in newest[:per_page]]
    assert index.xpath("//a[@rel='next']/@href") == [f"{baseurl}/page/2/"]

    sitemap = (built / "sitemap.xml").read_text(encoding="utf-8")
    for post in posts:
        facts = post_facts(post)
        page = built_page(built, post)
        dom = _dom(page.read_text(encoding="utf-8"))
        assert _text(dom.xpath("//article/header/h1")[0]) == _title(post)
        meta = dom.xpath("//article/header/p[@class='meta']")[0]
        assert _text(meta.xpath(".//time")[0]) == _taipei(post)
        assert meta.xpath(".//a[@class='original']/@href") == [facts["from"]]
        sources = meta.xpath(".//a[@class='source']")
        assert [_text(a) for a in sources] == facts["categories"]
        archive = _dom(_file_for(built, sources[0].get("href"), baseurl).read_text(encoding="utf-8"))
        assert _title(post) in [_text(a) for a in archive.xpath("//ul[@class='posts']/li/a[@class='title']")]
        month = _dom(_file_for(built, meta.xpath(".//a[@class='month']/@href")[0], baseurl).read_text(encoding="utf-8"))
        assert _title(post) in [_text(a) for a in month.xpath("//ul[@class='posts']/li/a[@class='title']")]
        assert "&lt;/" not in page.read_text(encoding="utf-8")
        assert page.relative_to(built).as_posix().split("/")[-1] in unquote(sitemap)


# -- in the browser ------------------------------------------------------------------


def _not_blank(png: Path) -> bool:
    """True when the screenshot has more than a handful of distinct pixel bytes."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    idat, pos = b"", 8
    while pos < len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return len(set(zlib.decompress(idat))) > 16


@pytest.mark.jekyll
def test_browser_renders_the_chinese_index_post_archive_and_feed(jekyll: str, chromium: str, corpus: Path, tmp_path: Path) -> None:
    posts = _posts(corpus)
    baseurl = "/mirror"
    built = build_site(jekyll, posts, tmp_path / "site", baseurl=baseurl)
    titles = {_title(p) for p in posts}
    # Chromium falls back to fontconfig's choice for Traditional Chinese: it must be a CJK font, or titles are tofu.
    if shutil.which("fc-match"):
        family = subprocess.run(["fc-match", "-f", "%{family}", ":lang=zh-tw"], capture_output=True, text=True, timeout=30).stdout
        assert "CJK" in family or "Han" in family, f"no CJK font for zh-tw (got {family!r}): install fonts-noto-cjk"

    with serve(built, baseurl=baseurl) as base:
        # The index, then every page the pager links to, over HTTP.
        index = _dom(browse(chromium, base))
        seen = [_text(a) for a in index.xpath("//ul[@class='posts']/li/a[@class='title']")]
        assert seen and set(seen) <= titles and all(CJK.search(t) for t in seen)
        assert _text(index.xpath("//title")[0]) == _config()["title"]
        url, pages = base, 1
        nxt = index.xpath("//a[@rel='next']/@href")
        while nxt:
            url = urljoin(url, nxt[0])
            status, page = _get(url)
            assert status == 200
            assert _file_for(built, urlsplit(url).path, baseurl).is_file()
            dom = _dom(page.decode("utf-8"))
            for prev in dom.xpath("//a[@rel='prev']/@href"):
                assert _get(urljoin(url, prev))[0] == 200
            seen += [_text(a) for a in dom.xpath("//ul[@class='posts']/li/a[@class='title']")]
            nxt = dom.xpath("//a[@rel='next']/@href")
            pages += 1
        assert pages == math.ceil(len(posts) / _config()["pagination"]["per_page"]) >= 2
        assert sorted(seen) == sorted(titles)

        # A post with photos: title, time, source, original link, the photos and their captions.
        post = max(posts, key=lambda p: (len(images(body(p.read_text(encoding="utf-8")))), _when(p)))
        facts = post_facts(post)
        photos = images(body(post.read_text(encoding="utf-8")))
        assert photos, "the corpus should have a post with photos"
        page_url = urljoin(base, _local_path(built, built_page(built, post), baseurl))
        dom = _dom(browse(chromium, page_url))
        assert _text(dom.xpath("//article//h1")[0]) == _title(post)
        assert _text(dom.xpath("//p[@class='meta']//time")[0]) == _taipei(post)
        assert dom.xpath("//a[@class='original']/@href") == [facts["from"]]
        assert [_text(a) for a in dom.xpath("//a[@class='source']")] == facts["categories"]
        rendered = {img.get("src") for img in dom.xpath("//div[@class='post-content']//img")}
        assert {p["src"] for p in photos} <= rendered
        captions = lhtml.fragment_fromstring(body(post.read_text(encoding="utf-8")), create_parent="div").xpath("//figcaption")
        text = visible_text(lhtml.tostring(dom, encoding="unicode"))
        for caption in captions:
            assert _text(caption) in " ".join(text.split())
        shot = tmp_path / "post.png"
        browse(chromium, page_url, screenshot=shot)
        assert _not_blank(shot)

        # The source's archive page lists exactly that source's posts.
        source = facts["categories"][0]
        href = dom.xpath("//a[@class='source']/@href")[0]
        archive = _dom(browse(chromium, urljoin(page_url, href)))
        assert {_text(a) for a in archive.xpath("//ul[@class='posts']/li/a[@class='title']")} == {_title(p) for p in posts if source in post_facts(p)["categories"]}

        # The Atom feed: parses, Chinese titles, entries link to pages that exist.
        feed_url = urljoin(base, index.xpath("//link[@type='application/atom+xml']/@href")[0])
        status, raw = _get(feed_url)
        assert status == 200
        feed = feedparser.parse(raw)
        assert not feed.bozo, feed.get("bozo_exception")
        assert len(feed.entries) == min(len(posts), _config()["feed"]["posts_limit"])
        for entry in feed.entries:
            assert " ".join(entry.title.split()) in titles and CJK.search(entry.title)
            assert _get(urljoin(feed_url, entry.link))[0] == 200
        assert " ".join(feed.entries[0].title.split()) in " ".join(browse(chromium, feed_url).split())


def _local_path(built: Path, page: Path, baseurl: str) -> str:
    return f"{baseurl}/{quote(page.relative_to(built).as_posix())}"
