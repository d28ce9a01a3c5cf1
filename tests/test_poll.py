"""`scraper poll` against a local server serving the real feed and pages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import pytest

from scraper.site.postfiles import PostFiles
from tests.helpers import POST_RE, front_matter, jekyll_build, poll
from tests.server import Reply, Request, Server
from tests.sitebuilder import FEED, config, corpus_urls, item, path_of, posts_in, real_feed, serve_pages, with_id

ROOT = Path(__file__).resolve().parent.parent


def ids_of(tmp: Path) -> list[str]:
    return [front_matter(p.read_text(encoding="utf-8"))["from"].rsplit("/", 1)[1][:12] for p in posts_in(tmp)]


def setup_intworld(server: Server, corpus: Path, tmp: Path) -> tuple[Path, dict[str, str]]:
    local = serve_pages(server, corpus)
    links = [local[name] for name in ("001.html", "003.html", "004.html", "006.html", "2016-truncated.html")]
    server.feed("/rsscna/intworld", real_feed(corpus, links))
    return config(tmp, [("國際", server.url("/rsscna/intworld"))], article_backoff=3600), local


def test_polls_write_each_article_once_and_then_only_new_ones(server: Server, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, local = setup_intworld(server, corpus, tmp_path)
    assert poll(cfg) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == ""  # a clean cron run prints nothing
    expected_ids = sorted(u.rsplit("/", 1)[1][:12] for n, u in corpus_urls(corpus).items() if n != "2016-truncated.html")
    assert sorted(ids_of(tmp_path)) == expected_ids  # 4 posts; the truncated page is skipped
    for path in posts_in(tmp_path):
        text = path.read_text(encoding="utf-8")
        assert POST_RE.match(text)
        fm = front_matter(text)
        assert fm["from"].startswith("https://www.cna.com.tw/news/")  # canonical, not the local link
    # the post's date is the feed item's pubDate, with its seconds
    post_004 = next(p for p in posts_in(tmp_path) if "202308230370" in p.read_text(encoding="utf-8"))
    third = feedparser.parse((corpus / FEED).read_bytes()).entries[2]  # 004 took the third item's link
    assert f"date: {time.strftime('%Y-%m-%dT%H:%M:%S', third.published_parsed)}.000Z\n" in post_004.read_text(encoding="utf-8")
    first_hits = server.article_hits()
    assert first_hits == 20  # every item once (15 of them answer 404)

    assert poll(cfg) == 0
    assert server.article_hits() == first_hits  # nothing fetched again
    assert len(posts_in(tmp_path)) == 4

    new_url = server.url("/news/aopl/202312050001.aspx")
    server.page(path_of(new_url), with_id((corpus / "cna" / "pages" / "003.html").read_bytes(), local["003.html"], "202312050001", "新的一則測試新聞"))
    server.feed(
        "/rsscna/intworld",
        real_feed(corpus, [local[n] for n in ("001.html", "003.html", "004.html", "006.html", "2016-truncated.html")], extra_items=item("新的一則測試新聞", new_url)),
    )
    assert poll(cfg, "-v") == 0
    assert server.article_hits() == first_hits + 1
    assert len(posts_in(tmp_path)) == 5
    assert "202312050001" in ids_of(tmp_path)
    err = capsys.readouterr().err
    assert "summary command=poll feeds=1 feeds_failed=0 written=1" in err


def test_same_article_in_two_feeds_under_two_slugs_gives_one_post(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve_pages(server, corpus)
    other_slug = local["004.html"].replace("/news/aopl/", "/news/aall/")
    server.page(path_of(other_slug), (corpus / "cna" / "pages" / "004.html").read_bytes())
    server.feed("/a", real_feed(corpus, [local["004.html"]]))
    server.feed("/b", real_feed(corpus, [other_slug + "?utm_source=rss&utm_medium=feed"]))
    cfg = config(tmp_path, [("a", server.url("/a")), ("b", server.url("/b"))], article_backoff=3600)
    assert poll(cfg) == 0
    assert ids_of(tmp_path) == ["202308230370"]
    assert server.hits[path_of(other_slug)] == 0


def test_failing_page_is_retried_on_later_runs_and_written(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve_pages(server, corpus)
    good = (corpus / "cna" / "pages" / "006.html").read_bytes()
    flaky_path = path_of(local["006.html"])

    def flaky(req: Request) -> Reply:
        return Reply(500, b"oops") if req.count <= 3 else Reply(200, good)

    server.routes[flaky_path] = flaky
    server.feed("/f", real_feed(corpus, [local["001.html"], local["006.html"]]))
    cfg = config(tmp_path, [("f", server.url("/f"))], max_attempts=5, http={"retries": 1})
    codes = [poll(cfg) for _ in range(4)]
    assert codes == [0, 0, 0, 0]  # one-off failures stay quiet
    assert server.hits[flaky_path] == 4
    assert "202308230348" in ids_of(tmp_path) and "202308230179" in ids_of(tmp_path)


def test_page_that_always_fails_is_reported_after_the_limit(server: Server, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = serve_pages(server, corpus)
    broken = path_of(local["003.html"])
    server.routes[broken] = Reply(503, b"down")
    server.feed("/f", real_feed(corpus, [local["001.html"], local["003.html"]]))
    cfg = config(tmp_path, [("f", server.url("/f"))], max_attempts=3)
    assert poll(cfg) == 0
    assert poll(cfg) == 0
    capsys.readouterr()
    assert poll(cfg) == 1
    err = capsys.readouterr().err
    assert "gave up on id=202308230260 after 3 attempts" in err and "HTTP 503" in err
    assert "202308230179" in ids_of(tmp_path)
    assert poll(cfg) == 0  # reported once, then left alone
    assert server.hits[broken] == 3


def test_second_poll_while_one_runs_exits_at_once_touching_nothing(server: Server, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, _ = setup_intworld(server, corpus, tmp_path)
    with PostFiles(tmp_path / "out").lock("poll"):
        assert poll(cfg) == 3
    assert "another `scraper poll`" in capsys.readouterr().err
    assert server.hits == {} and posts_in(tmp_path) == []
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == [".scraper", "_config.yml", "poll.lock"]  # no state, no _posts


def test_dry_run_lists_and_writes_nothing(server: Server, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, _local = setup_intworld(server, corpus, tmp_path)
    assert poll(cfg, "--dry-run") == 0
    out = capsys.readouterr().out
    assert out.count("would fetch ") == 20
    assert posts_in(tmp_path) == [] and server.article_hits() == 0
    assert poll(cfg) == 0
    assert len(posts_in(tmp_path)) == 4


@pytest.mark.slow
def test_sigkill_during_poll_leaves_no_partial_file_and_next_poll_completes(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve_pages(server, corpus)
    pages = {}
    for i in range(12):  # twelve articles derived from the real ones, each slow to serve
        aid = f"2023120600{i:02d}"
        url = server.url(f"/news/aopl/{aid}.aspx")
        pages[aid] = url
        server.page(path_of(url), with_id((corpus / "cna" / "pages" / "004.html").read_bytes(), local["004.html"], aid, f"測試新聞第{i}則"))
    server.default_latency = 0.15
    extra = "".join(item(f"測試新聞第{i}則", url) for i, url in enumerate(pages.values()))
    server.feed("/f", real_feed(corpus, [local["001.html"]], extra_items=extra))
    cfg = config(tmp_path, [("f", server.url("/f"))], article_backoff=3600, http={"max_per_host": 1})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for delay in (0.9, 1.4, 2.2):
        proc = subprocess.Popen([sys.executable, "-m", "scraper", "poll", "--config", str(cfg)], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for path in posts_in(tmp_path):
            if path.name.startswith(".tmp-"):  # a write the kill cut short: no post (Jekyll skips dot files), removed by the next run
                continue
            assert POST_RE.match(path.read_text(encoding="utf-8")), path  # whole or absent
    server.default_latency = 0
    proc = subprocess.run([sys.executable, "-m", "scraper", "poll", "--config", str(cfg)], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    ids = ids_of(tmp_path)
    assert sorted(ids) == sorted(set(ids))
    assert set(pages) <= set(ids) and "202308230179" in ids
    assert not list((tmp_path / "out" / ".scraper" / "tmp").glob("*"))
    assert not list((tmp_path / "out" / "_posts").glob(".tmp-*"))  # the killed runs' temporary files are gone


@pytest.mark.jekyll
def test_jekyll_builds_the_polled_site_with_one_page_per_post(server: Server, corpus: Path, tmp_path: Path, jekyll: str) -> None:
    import shutil

    cfg, _ = setup_intworld(server, corpus, tmp_path)
    assert poll(cfg) == 0
    site = tmp_path / "out"
    for name in ("_config.yml", "index.html", "_layouts"):
        src = ROOT / "output" / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, site / name)
    built = jekyll_build(jekyll, site)
    pages = [p for p in built.rglob("*.html") if p.name != "index.html"]
    assert len(pages) == len(posts_in(tmp_path)) == 4
    assert not (built / ".scraper").exists()
    assert (built / "index.html").read_text(encoding="utf-8").count("<li>") == 4


BAD_CONFIGS = [
    ("site: x\noutput: o\nfeeds: []\n", "feeds.yaml:3: feeds: must be a non-empty list"),
    ("site: x\noutput: o\nfeeds:\n  - name: a\n    url: feeds.example.com/rss\n", "feeds.yaml:5: feeds[0].url: 'feeds.example.com/rss' is not an http(s) URL"),
    ("site: x\noutput: o\nfeeds:\n  - name: a\n    url: https://x.example/rss\n    colour: red\n", "feeds.yaml:6: feeds[0].colour: unknown key"),
    ("site: x\noutput: o\nfeeds:\n  - name: a\n    url: https://x.example/rss\nhttp:\n  delay: soon\n", "feeds.yaml:7: http.delay: must be a number"),
    ("site: x\noutput: o\nfeeds:\n  - name: a\n    url: https://x.example/rss\nhttp:\n  max_per_host: 0\n", "http.max_per_host: must be from 1 to 64, not 0"),
    ("site: x\nfeeds:\n  - name: a\n    url: https://x.example/rss\n", "feeds.yaml:1: output: is missing"),
    ("site: [x\n", "feeds.yaml:2: not valid YAML"),
    ("- just\n- a list\n", "must be a mapping"),
]


@pytest.mark.parametrize(("text", "message"), BAD_CONFIGS)
def test_bad_feeds_yaml_gives_one_clear_line_and_status_2(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "feeds.yaml").write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "scraper", "poll"], cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scraper", "poll", "--config", "nope.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2 and "nope.yaml: no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_shipped_feeds_yaml_is_valid() -> None:
    from scraper.config import load

    cfg = load(ROOT / "feeds.yaml")
    names = {f.url.rsplit("/", 1)[1] for f in cfg.feeds}
    assert names == {"politics", "intworld", "mainland", "finance", "technology", "lifehealth", "social", "local", "culture", "sport", "stars", "cnaFirstNews"}
    assert cfg.site == "(臺)中央社CNA" and cfg.output == ROOT / "output"


@pytest.mark.parametrize("pub", ["Sat, 01 Jan 0000 00:00:00 +0800", "Mon, 01 Jan 1900 00:00:00 +0000", "Tue, 01 Jan 0999 00:00:00 +0000", "Wed, 31 Dec 1969 23:59:59 +0000"])
def test_item_dated_before_1970_is_dated_by_the_page_instead(pub: str) -> None:
    from datetime import UTC, datetime

    from scraper.feeds import parse as feeds

    rss = f"<rss version='2.0'><channel><title>t</title><item><title>x</title><link>https://www.cna.com.tw/news/aopl/202308230370.aspx</link><pubDate>{pub}</pubDate></item></channel></rss>"
    result = feeds.parse(rss.encode(), "https://feeds.example/rss", datetime(2023, 12, 5, tzinfo=UTC))
    assert [e.article_id for e in result.entries] == ["202308230370"]
    assert result.entries[0].published is None  # a post cannot be dated before 1970: the page's time is used
    assert any("before 1970" in line for line in result.skipped)
