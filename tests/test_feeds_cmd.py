"""`scraper feeds`: list, add, test, import and export, against a local server and the real pages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import listparser
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scraper.cli import main
from scraper.commands.columns import width
from scraper.config import load
from scraper.errors import ConfigError
from scraper.feeds import feedsfile, opml
from tests.server import Reply, Server
from tests.sitebuilder import config, item, posts_in
from tests.test_totality import good_items, rss, serve

HEADER = "# my feeds, commented by hand\nsite: (臺)中央社CNA   # the site's name\noutput: out\nfeeds:\n  - name: 國際     # world news\n    url: {url}\n"


def feeds_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(HEADER.format(url=url), encoding="utf-8")
    (tmp_path / "out").mkdir(exist_ok=True)
    (tmp_path / "out" / "_config.yml").write_text("url: https://mirror.example.org\n", encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_add_checks_the_feed_then_appends_it_keeping_the_comments(server: Server, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = serve(server, corpus)
    server.feed("/world", rss(*good_items(local)))
    server.feed("/other", rss(*good_items(local)))
    server.page("/page.html", b"<html><body>not a feed</body></html>")
    cfg = feeds_file(tmp_path, server.url("/world"))
    before = cfg.read_text(encoding="utf-8")
    code, out, _ = run(capsys, "feeds", "add", server.url("/other"), "--name", "兩岸", "--config", str(cfg))
    assert code == 0 and out[0].startswith(f"added 兩岸 ({server.url('/other')}) to {cfg}: {len(local)} items")
    text = cfg.read_text(encoding="utf-8")
    assert text.startswith(before) and text[len(before) :] == f"  - name: 兩岸\n    url: {server.url('/other')}\n"  # comments and layout kept
    assert [f.name for f in load(cfg).feeds] == ["國際", "兩岸"]
    # a duplicate URL or name, and a page that is no feed, are one clear line each and change nothing
    for argv, line in (
        ((server.url("/other"),), f"scraper: {server.url('/other')}: already in {cfg} as 兩岸"),
        ((server.url("/third"), "--name", "國際"), f"scraper: 國際: {cfg} already has a feed of this name ({server.url('/world')}); give another with --name"),
    ):
        code, _, err = run(capsys, "feeds", "add", *argv, "--config", str(cfg))
        assert (code, err.splitlines()) == (2, [line])
    code, _, err = run(capsys, "feeds", "add", server.url("/page.html"), "--config", str(cfg))
    assert code == 1 and len(err.splitlines()) == 1 and "not a feed" in err
    assert cfg.read_text(encoding="utf-8") == text


def test_add_of_another_sites_feed_without_site_says_what_is_missing(server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server.feed("/blog", rss(item("a post", "https://blog.example.org/2023/a-post")))
    cfg = feeds_file(tmp_path, server.url("/world"))
    code, _, err = run(capsys, "feeds", "add", server.url("/blog"), "--config", str(cfg))
    assert code == 1 and err.strip().endswith("a feed, but none of its 1 item would be taken; a feed of another site needs --site NAME")
    code, _, _ = run(capsys, "feeds", "add", server.url("/blog"), "--site", "某部落格", "--content", "feed", "--config", str(cfg))
    assert code == 0
    feed = load(cfg).feeds[1]
    assert (feed.name, feed.site, feed.content) == ("t", "某部落格", "feed")  # the feed's own title names it


def test_test_shows_each_item_and_its_fate_and_writes_nothing(server: Server, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = serve(server, corpus)
    first, *rest = good_items(local)
    server.feed("/feed", rss(first))
    cfg = config(tmp_path, [("國際", server.url("/feed"))])
    assert main(["poll", "--config", str(cfg)]) == 0
    written = posts_in(tmp_path)
    state = tmp_path / "out" / ".scraper" / "state.db"
    stamp = state.stat().st_mtime_ns
    server.feed("/feed", rss(first, *rest, item("elsewhere", "https://example.org/story.html")))
    code, out, _ = run(capsys, "feeds", "test", server.url("/feed"), "--config", str(cfg))
    assert code == 0
    assert out[0] == f"t: {len(local)} items to take, 1 not (in {cfg} as 國際; times in Asia/Taipei)"
    verdicts = [line for line in out if line.startswith("  ") and ("new:" in line or "known:" in line)]
    assert all(" 2023-12-05 00:10 " in v for v in verdicts)  # the items' pubDate, 00:10 +0800, in the site's zone
    assert sum("known: written, nothing to do" in v for v in verdicts) == 1
    assert sum("new: would fetch the page and write it" in v for v in verdicts) == len(local) - 1
    assert "  not wanted: https://example.org/story.html is not a CNA article URL" in out
    assert out[-1] == "nothing written (a test writes no state and no post)"
    assert posts_in(tmp_path) == written and state.stat().st_mtime_ns == stamp
    assert len({width(v[: v.index("new:") if "new:" in v else v.index("known:")]) for v in verdicts}) == 1  # the verdicts line up


def test_test_of_another_sites_feed_without_site_says_to_name_it(server: Server, corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server.feed("/cdt", (corpus / "other" / "feeds" / "cdt-2015-03-16.rss.xml").read_bytes())
    code, out, _ = run(capsys, "feeds", "test", server.url("/cdt"), "--config", "/nonexistent/feeds.yaml")
    assert code == 0 and " 0 items to take, 15 not " in out[0]
    assert out[-2] == "hint: no item links a CNA article; a feed of another site is tested with --site NAME, the name its posts carry"
    code, out, _ = run(capsys, "feeds", "test", server.url("/cdt"), "--site", "中国数字时代", "--config", "/nonexistent/feeds.yaml")
    assert code == 0 and " 15 items to take, 0 not " in out[0] and not any(line.startswith("hint:") for line in out)


def test_list_shows_every_feed_aligned_beside_chinese_names(server: Server, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = serve(server, corpus)
    server.feed("/feed", rss(*good_items(local)))
    server.routes["/down"] = Reply(503, b"down")
    cfg = config(tmp_path, [("國際新聞", server.url("/feed")), ("x", server.url("/down")), ("never", server.url("/never"))], report_after=5)
    main(["poll", "--config", str(cfg)])
    lines = (tmp_path / "feeds.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(lines)
    data["feeds"].append({"name": "新加的", "url": server.url("/new")})
    (tmp_path / "feeds.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    capsys.readouterr()
    code, out, _ = run(capsys, "feeds", "list", "--config", str(cfg))
    assert code == 0 and len(out) == 5
    assert out[0].split() == ["name", "state", "last", "success", "(Asia/Taipei)", "next", "check", "seen", "written", "url"]
    assert {width(line[: line.index("http")]) for line in out[1:]} == {width(out[0][: out[0].index("url")])}
    rows = {line.split()[0]: line for line in out[1:]}
    assert rows["國際新聞"].split()[1] == "ok" and f" {len(local)}  " in rows["國際新聞"]
    assert "failing (1 in a row)" in rows["x"] and "never polled" in rows["新加的"]


def test_import_reads_nested_outlines_and_names_the_duplicates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = feeds_file(tmp_path, "https://feeds.feedburner.com/rsscna/intworld")
    opml = tmp_path / "subs.opml"
    opml.write_text(
        """<?xml version="1.0"?><opml version="2.0"><head><title>mine</title></head><body>
<outline text="News"><outline text="中央社 國際" type="rss" xmlUrl="https://feeds.feedburner.com/rsscna/intworld"/>
  <outline text="Deep"><outline text="BBC中文" type="rss" xmlUrl="https://feeds.bbci.co.uk/zhongwen/trad/rss.xml"/></outline></outline>
<outline text="中央社 兩岸" type="rss" xmlUrl="https://feeds.feedburner.com/rsscna/mainland"/>
<outline text="BBC again" type="rss" xmlUrl="https://feeds.bbci.co.uk/zhongwen/trad/rss.xml"/>
</body></opml>""",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "feeds", "import", str(opml), "--config", str(cfg))
    assert code == 0
    assert out == [
        "skipped 中央社 國際 (https://feeds.feedburner.com/rsscna/intworld): already a feed, as 國際",
        "added BBC中文 (https://feeds.bbci.co.uk/zhongwen/trad/rss.xml), site BBC中文",
        "added 中央社 兩岸 (https://feeds.feedburner.com/rsscna/mainland), a CNA feed",
        "skipped BBC again (https://feeds.bbci.co.uk/zhongwen/trad/rss.xml): already a feed, as BBC中文",
        f"imported 2 feeds into {cfg}, skipped 2; `scraper feeds test URL` tries one",
    ]
    feeds = load(cfg).feeds
    assert [(f.name, f.site) for f in feeds] == [("國際", None), ("BBC中文", "BBC中文"), ("中央社 兩岸", None)]
    assert "# world news" in cfg.read_text(encoding="utf-8")
    bad = tmp_path / "bad.opml"
    bad.write_text("<opml><body></body></opml>", encoding="utf-8")
    code, _, err = run(capsys, "feeds", "import", str(bad), "--config", str(cfg))
    assert code == 2 and err.startswith(f"scraper: {bad}: no feed in this OPML file")


def test_import_makes_hostile_titles_one_line_and_skips_urls_with_spaces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = feeds_file(tmp_path, "https://feeds.feedburner.com/rsscna/intworld")
    opml = tmp_path / "subs.opml"
    opml.write_text(
        """<?xml version="1.0"?><opml version="2.0"><body>
<outline text="a: b&#10;  - name: injected" type="rss" xmlUrl="https://one.example.org/rss.xml"/>
<outline text="two" type="rss" xmlUrl="https://two.example.org/rss.xml&#10;x"/>
</body></opml>""",
        encoding="utf-8",
    )
    code, out, _ = run(capsys, "feeds", "import", str(opml), "--config", str(cfg))
    assert code == 0 and out[0] == "added a: b - name: injected (https://one.example.org/rss.xml), site a: b - name: injected"
    assert out[1].startswith("skipped 'https://two.example.org/rss.xml") and out[1].endswith(": not an http(s) URL")
    assert [(f.name, f.url) for f in load(cfg).feeds][1:] == [("a: b - name: injected", "https://one.example.org/rss.xml")]


def test_export_is_opml_that_a_reader_imports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, [("國際", "https://feeds.feedburner.com/rsscna/intworld"), ("兩岸 & 中國", "https://feeds.feedburner.com/rsscna/mainland")])
    code = main(["feeds", "export", "--config", str(cfg)])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    parsed = listparser.parse(out.encode())
    assert not parsed.bozo and [(f["title"], f["url"]) for f in parsed.feeds] == [(f.name, f.url) for f in load(cfg).feeds]
    assert main(["feeds", "export", "--config", str(cfg), "-o", str(tmp_path / "f.opml")]) == 0
    assert (tmp_path / "f.opml").read_text(encoding="utf-8").split("<dateCreated>")[0] == out.split("<dateCreated>")[0]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["feeds"],
        ["feeds", "list"],
        ["feeds", "add"],
        ["feeds", "test"],
        ["feeds", "import"],
        ["feeds", "export"],
        ["init"],
        ["status"],
        ["poll"],
        ["fetch"],
        ["backfill"],
        ["refresh"],
        ["reindex"],
        ["check"],
        ["build"],
    ],
)
def test_help_of_each_command_shows_an_example(argv: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", "scraper", *argv, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    example = proc.stdout.split("example:\n", 1)[1]
    assert example.startswith("  scraper " + (argv[0] if argv else ""))


def test_add_without_a_feeds_file_writes_a_new_one(server: Server, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server.feed("/world", rss(*good_items(serve(server, corpus))))
    cfg = tmp_path / "feeds.yaml"
    code, out, _ = run(capsys, "feeds", "add", server.url("/world"), "--name", "國際", "--config", str(cfg))
    assert code == 0 and out[0] == f"wrote {cfg} (a new feeds file: output: output, timezone: Asia/Taipei)"
    loaded = load(cfg)
    assert [(f.name, f.url) for f in loaded.feeds] == [("國際", server.url("/world"))] and loaded.output == tmp_path / "output"
    assert cfg.read_text(encoding="utf-8").startswith("# What `scraper poll` reads") and "  - name: 國際\n" in cfg.read_text(encoding="utf-8")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=40).filter(lambda t: t.strip() == t and t and "\x85" not in t),
    site=st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=20).filter(lambda t: t.strip() == t and t and "\x85" not in t),
)
def test_hostile_names_written_by_add_read_back_as_they_were(tmp_path: Path, name: str, site: str) -> None:
    """YAML's own characters (`: `, `#`, `*`, `&`, quotes, `- `) in a name or site survive the round trip."""
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(HEADER.format(url="https://feeds.feedburner.com/rsscna/intworld"), encoding="utf-8")
    if name == "國際":
        return
    loaded = feedsfile.append(cfg, [{"name": name, "url": "https://example.org/feed.xml", "site": site}])
    again = load(cfg)
    assert loaded == again and (again.feeds[1].name, again.feeds[1].site) == (name, site)
    assert "# world news" in cfg.read_text(encoding="utf-8")


@given(st.binary(max_size=400) | st.text(max_size=200).map(lambda t: f"<opml><body><outline xmlUrl='{t}'/></body></opml>".encode()))
def test_any_bytes_as_opml_are_a_list_or_one_clear_error(data: bytes) -> None:
    try:
        outlines = opml.read(data, "x.opml")
    except ConfigError as exc:
        assert str(exc).startswith("x.opml: no feed in this OPML file")
    else:
        assert all(isinstance(o.url, str) for o in outlines)
