"""No input can wedge the cron, lose an article or reach the site: whole runs against a
local server serving the real corpus, each with one hostile input."""

from __future__ import annotations

import gzip
import html as htmlmod
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

import scraper.articles.extractors.cna
from scraper.cli import main
from scraper.commands.poll import poll as poll_run
from scraper.config import HttpConfig, load
from scraper.errors import FetchError
from scraper.net.http import Http
from tests.faults import _mount
from tests.helpers import POST_RE, front_matter, jekyll_build, site_with
from tests.server import Reply, Server
from tests.sitebuilder import LOOPBACK, config, corpus_urls, item, path_of, posts_in

ROOT = Path(__file__).resolve().parent.parent
GOOD = ("001.html", "003.html", "006.html")


def rss(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title><link>https://www.cna.com.tw/</link>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def serve(server: Server, corpus: Path, names: tuple[str, ...] = GOOD) -> dict[str, str]:
    """Serve corpus pages at their own paths; returns file -> local URL."""
    urls = corpus_urls(corpus)
    for name in names:
        server.page(path_of(urls[name]), (corpus / "cna" / "pages" / name).read_bytes())
    return {n: server.url(path_of(urls[n])) for n in names}


def ids(tmp: Path) -> list[str]:
    return sorted(re.search(r"(\d{12})\.aspx", front_matter(p.read_text(encoding="utf-8"))["from"]).group(1) for p in posts_in(tmp))  # type: ignore[union-attr]


def run(cfg: Path, *extra: str) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "scraper", "poll", "--config", str(cfg), *extra], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stderr


def good_items(local: dict[str, str]) -> list[str]:
    return [item(f"good {n}", u) for n, u in local.items()]


def good_ids(corpus: Path) -> list[str]:
    return sorted(corpus_urls(corpus)[n].rsplit("/", 1)[1][:12] for n in GOOD)


# ---------------------------------------------------------------- crashes that would repeat


def test_a_bracket_link_in_a_feed_a_body_or_a_redirect_costs_only_its_own_article(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus)
    page = (corpus / "cna" / "pages" / "004.html").read_bytes().replace(b"<p>", b'<p><a href="http://[x">bad link</a> ', 1)
    url_004 = corpus_urls(corpus)["004.html"]
    server.page(path_of(url_004), page)
    server.routes["/news/aopl/202312050009.aspx"] = Reply(302, b"", {"Location": "http://[x/news"})
    items = [item("bracket", "http://[x/news/aopl/202312050001.aspx"), item("body", server.url(path_of(url_004))), item("redirect", server.url("/news/aopl/202312050009.aspx"))]
    server.feed("/feed", rss(*good_items(local), *items))
    cfg = config(tmp_path, [("f", server.url("/feed"))], article_backoff=3600)
    code, err = run(cfg)
    assert code == 0, err
    assert ids(tmp_path) == sorted([*good_ids(corpus), "202308230370"])  # the body's bad link is dropped, the post written
    assert "http://[x" in err or err == ""  # the bracket item is logged as skipped, not a crash
    post = next(p for p in posts_in(tmp_path) if "202308230370" in p.read_text(encoding="utf-8")).read_text(encoding="utf-8")
    assert "[x" not in post.split("<div>", 1)[1]


def test_retry_after_with_a_superscript_digit_is_no_number(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus)
    server.routes["/news/aopl/202312050001.aspx"] = Reply(503, b"busy", {"Retry-After": "²"})
    server.feed("/feed", rss(*good_items(local), item("busy", server.url("/news/aopl/202312050001.aspx"))))
    code, err = run(config(tmp_path, [("f", server.url("/feed"))], article_backoff=3600))
    assert code == 0 and ids(tmp_path) == good_ids(corpus), err


@pytest.mark.parametrize("when", ["0000-01-01T00:00:00Z", "9999-12-31T23:59:59-12:00", "not a date"])
def test_a_feed_date_no_clock_can_hold_falls_back_to_the_page_time(server: Server, corpus: Path, tmp_path: Path, when: str) -> None:
    local = serve(server, corpus, ("003.html",))
    entry = f"<item><title>t</title><link>{local['003.html']}</link><dc:date>{when}</dc:date></item>"
    server.feed("/feed", rss(entry))
    code, err = run(config(tmp_path, [("f", server.url("/feed"))]))
    assert code == 0, err
    (post,) = posts_in(tmp_path)
    assert POST_RE.match(post.read_text(encoding="utf-8"))
    assert "date: 2023-08-23T" in post.read_text(encoding="utf-8")  # the page's own time


@pytest.mark.parametrize("when", ["9999-12-31T23:30:00-12:00", "1900-01-01T00:00:00+08:00", "0999-06-01T00:00:00+08:00"])
def test_a_page_time_out_of_range_fails_that_article_with_a_reason(server: Server, corpus: Path, tmp_path: Path, when: str) -> None:
    local = serve(server, corpus)
    page = (corpus / "cna" / "pages" / "004.html").read_text(encoding="utf-8")
    page = re.sub(r'(<meta property="article:published_time" content=")[^"]*', lambda m: m.group(1) + when, page)
    server.page(path_of(corpus_urls(corpus)["004.html"]), page.encode())
    server.feed("/feed", rss(*good_items(local), f"<item><title>t</title><link>{server.url(path_of(corpus_urls(corpus)['004.html']))}</link></item>"))
    cfg = config(tmp_path, [("f", server.url("/feed"))], max_attempts=1)
    code, err = run(cfg)
    assert code == 1 and "out of range" in err and "gave up" in err, err
    assert ids(tmp_path) == good_ids(corpus)
    assert all(POST_RE.match(p.read_text(encoding="utf-8")) for p in posts_in(tmp_path))


def test_an_unexpected_error_in_one_article_is_that_articles_failure(server: Server, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    local = serve(server, corpus)
    real = scraper.articles.extractors.cna.extract

    def flaky(data: bytes, url: str, charset: str | None = None) -> object:
        if "202308230260" in url:
            raise RuntimeError("a bug nobody planned for")
        return real(data, url, charset)

    monkeypatch.setattr(scraper.articles.extractors.cna, "extract", flaky)
    server.feed("/feed", rss(*good_items(local)))
    cfg = config(tmp_path, [("f", server.url("/feed"))], max_attempts=2)
    assert main(["poll", "--config", str(cfg)]) == 0  # counted, will retry: quiet
    err = capsys.readouterr().err
    assert err == f"scraper: ERROR: article 202308230260 ({local['003.html']}): unexpected RuntimeError: a bug nobody planned for\n"
    assert ids(tmp_path) == sorted(i for i in good_ids(corpus) if i != "202308230260")
    assert main(["poll", "--config", str(cfg)]) == 1  # second failure: given up, reported
    assert "gave up on id=202308230260 after 2 attempts" in capsys.readouterr().err


NUMBERS = [
    ("timeout: 1.0e+308", "http.timeout: must be from 0.001 to 3600, not 1e+308"),
    ("timeout: 1e308", "http.timeout: must be from 0.001 to 3600, not '1e308'"),
    ("deadline: 100000000000000000000000000000", "http.deadline: must be from 0.001 to 21600, not 100000000000000000000000000000"),
    ("delay: .inf", "http.delay: must be a number from 0 to 3600, not inf"),
    ("retries: 1e29", "http.retries: must be from 0 to 100, not '1e29'"),
    ("max_bytes: -1", "http.max_bytes: must be from 1024 to 2.14748e+09, not -1"),
    ("backoff: .nan", "http.backoff: must be a number from 0 to 3600, not nan"),
]


@pytest.mark.parametrize(("line", "message"), NUMBERS)
def test_every_number_is_bounded_and_said_in_one_line(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "feeds.yaml").write_text(f"site: x\noutput: o\nfeeds:\n  - name: a\n    url: https://x.example/rss\nhttp:\n  {line}\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "scraper", "poll"], cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and proc.stderr == f"scraper: feeds.yaml:7: {message}\n"
    assert not (tmp_path / "o").exists()


def test_duplicate_feed_names_are_refused(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("site: x\noutput: o\nfeeds:\n  - name: a\n    url: https://x.example/1\n  - name: a\n    url: https://x.example/2\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "scraper", "poll"], cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert proc.stderr == "scraper: feeds.yaml:6: feeds[1].name: repeats the name of feeds[0] (names tell feeds apart in error lines)\n"


# ---------------------------------------------------------------- articles lost without a word


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_robots_txt_answering_4xx_means_no_rules(server: Server, corpus: Path, tmp_path: Path, status: int) -> None:
    local = serve(server, corpus)
    server.routes["/robots.txt"] = Reply(status, b"no")
    server.feed("/feed", rss(*good_items(local)))
    assert run(config(tmp_path, [("f", server.url("/feed"))])) == (0, "")
    assert ids(tmp_path) == good_ids(corpus)


def test_robots_txt_that_cannot_be_read_means_later_not_never(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus)
    server.routes["/robots.txt"] = Reply(500, b"down")
    server.feed("/feed", rss(*good_items(local)))
    cfg = config(tmp_path, [("f", server.url("/feed"))], article_backoff=0)
    assert run(cfg) == (0, "")  # one blip: quiet
    assert ids(tmp_path) == [] and server.hits["/robots.txt"] == 1  # once per site and run, not per thread
    server.routes["/robots.txt"] = Reply(200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"})
    assert run(cfg) == (0, "")
    assert ids(tmp_path) == good_ids(corpus)


def test_a_state_on_another_file_system_still_writes_posts(server: Server, corpus: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    why = _mount(other, "8m")
    if why:
        pytest.skip(f"cannot mount a tmpfs: {why}")
    try:
        local = serve(server, corpus)
        server.feed("/feed", rss(*good_items(local)))
        cfg = config(tmp_path, [("f", server.url("/feed"))], state=str(other / "state.db"))
        assert run(cfg) == (0, "")
        assert ids(tmp_path) == good_ids(corpus) and (other / "state.db").exists()
    finally:
        subprocess.run(["umount", "-l", str(other)], check=False)


def test_no_inodes_left_for_a_post_ends_the_run_and_loses_nothing(server: Server, corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,nr_inodes=12", "tmpfs", str(out)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {proc.stderr.strip()}")
    try:
        local = serve(server, corpus)
        server.feed("/feed", rss(*good_items(local)))
        cfg = config(tmp_path, [("f", server.url("/feed"))], state=str(tmp_path / "state.db"))
        filler = out / "filler"
        filler.mkdir()
        n = 0
        while True:
            try:
                (filler / str(n)).touch()
            except OSError:
                break
            n += 1
        for i in range(min(n, 4)):  # room for the folders, the lock and one post, not more
            (filler / str(i)).unlink()
        code, err = run(cfg)
        assert code == 4 and "cannot write post" in err, err
        shutil.rmtree(filler)
        assert run(cfg) == (0, "")
        assert ids(tmp_path) == good_ids(corpus)  # every article written once in the end
    finally:
        subprocess.run(["umount", "-l", str(out)], check=False)


def test_a_host_that_never_stops_asking_to_wait_is_reported_in_the_end(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus)
    server.routes["/news/aopl/202312050001.aspx"] = Reply(503, b"busy", {"Retry-After": "0"})
    server.feed("/feed", rss(*good_items(local), item("busy", server.url("/news/aopl/202312050001.aspx"))))
    cfg = load(config(tmp_path, [("f", server.url("/feed"))], max_attempts=2, article_backoff=0, http={"max_retry_after": 60, "wait_in_run": 0}))
    now = [1_800_000_000.0]
    reports = []
    for _ in range(8):
        reports.append(poll_run(cfg, clock=lambda: now[0]))
        now[0] += 30
    assert [r.ok for r in reports].count(False) == 1  # reported once
    assert any("gave up after 2 attempts" in line for r in reports for line in r.gave_up)
    assert ids(tmp_path) == good_ids(corpus)


# ---------------------------------------------------------------- memory, connections, special files


def test_a_nested_gzip_bomb_is_refused_without_decoding_it(server: Server) -> None:
    inner = gzip.compress(b"\0" * 400_000_000, compresslevel=9)
    server.routes["/nested"] = Reply(200, gzip.compress(inner), {"Content-Encoding": "gzip, gzip"})
    server.routes["/single"] = Reply(200, inner, {"Content-Encoding": "gzip"})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with Http(HttpConfig(retries=1, delay=0, allow_private=LOOPBACK)) as http:
        with pytest.raises(FetchError, match="stacked content encodings"):
            http.get(server.url("/nested"))
        with pytest.raises(FetchError, match="over the 8000000-byte cap"):
            http.get(server.url("/single"))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, f"peak memory grew by {grown_mb:.0f} MB"


def test_requests_abandoned_at_the_deadline_do_not_starve_a_healthy_host(server: Server) -> None:
    server.routes["/stuck"] = Reply(200, b"x", header_drip=0.5)
    server.routes["/ok"] = Reply(200, b"fine")
    errors: list[Exception] = []
    with Http(HttpConfig(retries=1, delay=0, deadline=0.3, timeout=5, max_per_host=16, allow_private=LOOPBACK)) as http:

        def stuck() -> None:
            try:
                http.get(server.url("/stuck"))
            except FetchError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=stuck) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(errors) == 12 and all("deadline" in str(e) for e in errors)
        assert http.get(server.url("/ok").replace("127.0.0.1", "localhost")).content == b"fine"


# ---------------------------------------------------------------- smaller promises


def test_dry_run_writes_nothing_at_all(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus)
    server.feed("/feed", rss(*good_items(local)))
    cfg = config(tmp_path, [("f", server.url("/feed"))])
    code, _ = run(cfg, "--dry-run")
    assert code == 0 and [p.name for p in (tmp_path / "out").iterdir()] == ["_config.yml"]
    assert run(cfg) == (0, "")
    snapshot = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*")}
    local_new = serve(server, corpus, ("004.html",))
    server.feed("/feed", rss(*good_items(local), *good_items(local_new)))
    proc = subprocess.run([sys.executable, "-m", "scraper", "poll", "--dry-run", "--config", str(cfg)], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0 and proc.stdout.startswith("would fetch 202308230370 ")
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*")} == snapshot


def test_two_configs_on_one_output_share_its_lock(tmp_path: Path) -> None:
    from scraper.site.postfiles import PostFiles

    one = config(tmp_path, [("f", "http://127.0.0.1:9/feed")])
    other = tmp_path / "other.yaml"
    data = yaml.safe_load(one.read_text(encoding="utf-8"))
    data["state"] = "elsewhere/state.db"
    other.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with PostFiles(tmp_path / "out").lock("poll"):
        code, err = run(other)
    assert code == 3 and "another `scraper poll`" in err
    assert not (tmp_path / "elsewhere").exists()


# ---------------------------------------------------------------- hostile items from other sites


# Active content in HTML: a script element, an event handler attribute, a javascript: URL in an attribute.
ACTIVE = re.compile(r"<script|<[^>]*\son\w+\s*=|(?:href|src)\s*=\s*[\"']?\s*javascript:", re.I)
HOSTILE_ITEMS = [
    ("javascript:alert(1)", "[x", "<script>alert(1)</script>", "hostile 0"),
    ("https://evil.example/a{% raw %}b", "Reuters: staff", "{% raw %}", 'img ![x](x){: onerror="alert(1)"}'),
    ('https://evil.example/"onclick="alert(1)', "#1 desk", "<a href='javascript:alert(1)' onclick='x()'>hi</a>", "link [x](javascript:alert(3)) {::nomarkdown}<b>y</b>{:/}"),
    ("https://evil.example/ok", "[AP]", "{{ site.time }} text", "ok ![i](javascript:alert(3)) {{ site.time }}"),
]


@pytest.mark.jekyll
def test_items_of_other_sites_cannot_put_active_content_or_bad_yaml_in_the_site(server: Server, tmp_path: Path, jekyll: str) -> None:
    entries = "".join(
        f"<item><title>{htmlmod.escape(title)}</title><link>{link.replace('&', '&amp;').replace('<', '&lt;')}</link><guid>g{i}</guid><author>{author}</author>"
        f"<pubDate>Tue, 05 Dec 2023 00:1{i}:00 +0800</pubDate><description>{body.replace('&', '&amp;').replace('<', '&lt;')}</description></item>"
        for i, (link, author, body, title) in enumerate(HOSTILE_ITEMS)
    )
    server.feed("/feed", rss(entries).replace(b"<link>https://www.cna.com.tw/</link>", b"<link>javascript:alert(2)</link>"))
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(
        yaml.safe_dump({"site": "S", "output": "out", "feeds": [{"name": "evil", "url": server.url("/feed"), "site": "Evil: {site}", "content": "feed"}], "http": {"delay": 0}}),
        encoding="utf-8",
    )
    code, err = run(cfg)
    assert code == 0, err
    texts = [p.read_text(encoding="utf-8") for p in posts_in(tmp_path)]
    assert len(texts) == len(HOSTILE_ITEMS)
    for text in texts:
        assert POST_RE.match(text), text
        fm = front_matter(text)
        assert fm["author"] in {a for _, a, _, _ in HOSTILE_ITEMS} and fm["tags"] == ["Evil: {site}"]
        assert fm["from"].startswith(("http://", "https://"))
        rendered = text.split("\n---\n", 1)[1]  # what Liquid and kramdown see: the title link and the body
        assert not ACTIVE.search(rendered) and "{%" not in rendered and "{{" not in rendered, rendered
    built = jekyll_build(jekyll, site_with({p.name: p.read_text(encoding="utf-8") for p in posts_in(tmp_path)}, tmp_path))
    for page in built.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert not ACTIVE.search(html), (page, ACTIVE.search(html))


def test_a_folder_that_is_no_jekyll_site_is_said_once(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus)
    server.feed("/feed", rss(*good_items(local)))
    cfg = config(tmp_path, [("f", server.url("/feed"))])
    (tmp_path / "out" / "_config.yml").unlink()
    code, err = run(cfg)
    assert code == 0 and err == f"scraper: WARNING: {tmp_path / 'out'} has no _config.yml, so Jekyll will not build it: run `scraper init {tmp_path / 'out'}`\n"
    assert run(cfg) == (0, "")  # once, not every five minutes


def test_a_maintenance_page_served_as_200_costs_an_attempt_not_the_article(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus)
    url = corpus_urls(corpus)["004.html"]
    server.page(path_of(url), "<html><head><title>系統維護中</title></head><body><h1>系統維護中，請稍後再試</h1></body></html>".encode())
    server.feed("/feed", rss(*good_items(local), item("維護", server.url(path_of(url)))))
    cfg = config(tmp_path, [("f", server.url("/feed"))], article_backoff=0)
    assert run(cfg) == (0, "")  # one failed attempt: quiet
    assert "202308230370" not in ids(tmp_path)
    server.page(path_of(url), (corpus / "cna" / "pages" / "004.html").read_bytes())
    assert run(cfg) == (0, "")
    assert ids(tmp_path) == sorted([*good_ids(corpus), "202308230370"])


def test_links_with_chinese_or_spaces_keep_their_identity_when_the_state_is_rebuilt(server: Server, tmp_path: Path) -> None:
    """The post prints such a link percent-encoded; reading it back must give the same article."""
    links = [server.url("/文章/一"), server.url("/a b"), server.url("/q?x=中&y=1"), server.url("/plain")]
    entries = "".join(
        f"<item><title>title {i}</title><link>{htmlmod.escape(link)}</link><pubDate>Tue, 05 Dec 2023 00:1{i}:00 +0800</pubDate><description>text {i}</description></item>"
        for i, link in enumerate(links)
    )
    server.feed("/feed", rss(entries))
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(
        yaml.safe_dump({"site": "S", "output": "out", "feeds": [{"name": "f", "url": server.url("/feed"), "site": "某站", "content": "feed"}], "http": {"delay": 0}}, allow_unicode=True),
        encoding="utf-8",
    )
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "_config.yml").write_text("title: t\nurl: https://mirror.example.org\n", encoding="utf-8")
    assert run(cfg) == (0, "")
    first = sorted(p.name for p in posts_in(tmp_path))
    assert len(first) == 4
    shutil.rmtree(tmp_path / "out" / ".scraper")  # the state is lost
    code, err = run(cfg)
    assert code == 0 and "recorded 4 of them" in err
    assert sorted(p.name for p in posts_in(tmp_path)) == first  # nothing written twice


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("site: x\noutput: o\nfeeds:\n  - name: a\n    url: https://x.example/rss\nhttp: " + "[" * 5000 + "]" * 5000 + "\n", "its values are nested too deeply"),
        ("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh", strict=True)) + "site: x\n", "a: unknown key"),
        ('site: x\noutput: "o\\0ut"\nfeeds:\n  - name: a\n    url: https://x.example/rss\n', "output: must not hold a NUL character"),
    ],
    ids=["deep", "alias-bomb", "nul"],
)
def test_a_hostile_feeds_yaml_is_one_line_and_status_2(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "feeds.yaml").write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "scraper", "poll", "--dry-run"], cwd=tmp_path, capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr
