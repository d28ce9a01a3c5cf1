"""`scraper backfill` and `scraper reindex` against a local server serving corpus pages at ids of a few days."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from scraper.cli import main
from tests.helpers import POST_RE, front_matter
from tests.server import Reply, Server
from tests.sitebuilder import config, corpus_urls, item, posts_in, real_feed, with_id

ROOT = Path(__file__).resolve().parent.parent
NOT_FOUND_PAGE = "<html><head><title>404 找不到網頁 | 中央社 CNA</title></head><body><p>找不到您要的頁面</p></body></html>".encode()
SOURCES = ["001.html", "003.html", "004.html", "006.html"]
MISSES = 5


def serve_days(server: Server, corpus: Path, layout: dict[str, list[int]]) -> dict[str, str]:
    """Serve derived pages at /news/aall/<day><serial>.aspx; returns id -> title."""
    urls = corpus_urls(corpus)
    served = {}
    for n, (day, serials) in enumerate(layout.items()):
        for k, serial in enumerate(serials):
            aid = f"{day}{serial:04d}"
            source = SOURCES[(n + k) % len(SOURCES)]
            title = f"回填測試{aid}"
            server.page(f"/news/aall/{aid}.aspx", with_id((corpus / "cna" / "pages" / source).read_bytes(), urls[source], aid, title))
            served[aid] = title
    return served


def last_reachable(serials: list[int], lo: int) -> int:
    """The last served serial a walk meets before MISSES misses in a row."""
    last, misses, s = lo - 1, 0, lo
    while misses < MISSES:
        if s in serials:
            last, misses = s, 0
        else:
            misses += 1
        s += 1
    return last


def backfill_config(tmp: Path, server: Server, **extra: object) -> Path:
    cfg = config(tmp, [("f", server.url("/feed"))], backfill={"base": server.base, "sitemaps": [server.url("/sitemap.xml")], "max_misses": MISSES}, **extra)
    return cfg


def ids_written(tmp: Path) -> list[str]:
    return [front_matter(p.read_text(encoding="utf-8"))["from"].rsplit("/", 1)[1][:12] for p in posts_in(tmp) if not p.name.startswith(".")]


def test_three_day_backfill_writes_what_the_server_has_and_stops_after_the_miss_budget(server: Server, corpus: Path, tmp_path: Path) -> None:
    layout = {"20230821": [1, 2, 4, 5001], "20230822": [2, 3], "20230823": [1, 2, 3, 9]}
    served = serve_days(server, corpus, layout)
    server.routes["/news/aall/202308220001.aspx"] = Reply(200, NOT_FOUND_PAGE)  # CNA's 404 page, served as 200
    server.routes["/sitemap.xml"] = Reply(
        200,
        f"<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'><url><loc>{server.url('/news/aall/202308230003.aspx')}</loc></url></urlset>".encode(),
        {"Content-Type": "application/xml"},
    )
    cfg = backfill_config(tmp_path, server)
    assert main(["backfill", "--config", str(cfg), "--since", "2023-08-21", "--until", "2023-08-23"]) == 0
    assert sorted(ids_written(tmp_path)) == sorted(set(served) - {"202308230009"})
    for path in posts_in(tmp_path):
        text = path.read_text(encoding="utf-8")
        assert POST_RE.match(text)
        assert front_matter(text)["title"] == served[front_matter(text)["from"].rsplit("/", 1)[1][:12]]
    batch = 4  # serials fetched together (2 x max_per_host)
    for day, serials in layout.items():
        for lo, hi in ((1, 5000), (5001, 9999)):
            hits = [s for s in serials if lo <= s <= hi]
            last = last_reachable(hits, lo)
            # every serial up to the budget after the last hit was tried, nothing far beyond it
            for s in range(lo, last + MISSES + 1):
                assert server.hits[f"/news/aall/{day}{s:04d}.aspx"] == (0 if f"{day}{s:04d}" == "202308230003" else 1) or s in hits, (day, s)
            assert server.hits[f"/news/aall/{day}{last + MISSES + batch + 1:04d}.aspx"] == 0
    assert server.hits["/news/aall/202308230009.aspx"] == 0  # beyond a run of 5 misses: not found, as CNA's budget means
    # a second run finds every day finished and fetches nothing
    before = server.article_hits()
    assert main(["backfill", "--config", str(cfg), "--since", "2023-08-21", "--until", "2023-08-23", "--no-sitemaps"]) == 0
    assert server.article_hits() == before


def test_truncated_pages_are_skipped_unless_asked(server: Server, corpus: Path, tmp_path: Path) -> None:
    urls = corpus_urls(corpus)
    server.page("/news/aall/201603190029.aspx", (corpus / "cna" / "pages" / "2016-truncated.html").read_bytes())
    cfg = backfill_config(tmp_path, server)
    list_file = tmp_path / "urls.txt"
    list_file.write_text(server.url("/news/aall/201603190029.aspx") + "\n", encoding="utf-8")
    assert main(["backfill", "--config", str(cfg), "--urls", str(list_file)]) == 0
    assert posts_in(tmp_path) == []
    shutil.rmtree(tmp_path / "out")
    assert main(["backfill", "--config", str(cfg), "--urls", str(list_file), "--include-truncated"]) == 0
    assert ids_written(tmp_path) == ["201603190029"]
    assert "date: 2016-03-19T00:15:00.000Z" in posts_in(tmp_path)[0].read_text(encoding="utf-8")  # the page's time
    assert urls["2016-truncated.html"].endswith("201603190029.aspx")


def test_category_filter_and_robots_txt_are_honoured(server: Server, corpus: Path, tmp_path: Path) -> None:
    urls = corpus_urls(corpus)
    for name in ("001.html", "003.html"):
        path = "/" + urls[name].split("/", 3)[3]
        server.page(path, (corpus / "cna" / "pages" / name).read_bytes())
    server.page("/news/aopl/202308230370.aspx", (corpus / "cna" / "pages" / "004.html").read_bytes())
    server.routes["/robots.txt"] = Reply(200, b"User-agent: *\nDisallow: /cna2018api/\nDisallow: /news/aopl/202308230370\n", {"Content-Type": "text/plain"})
    listing = "\n".join(server.url("/" + urls[n].split("/", 3)[3]) for n in ("001.html", "003.html", "004.html"))
    cfg = backfill_config(tmp_path, server)
    proc = subprocess.run(
        [sys.executable, "-m", "scraper", "backfill", "--config", str(cfg), "--urls", "-", "--category", "aopl"],
        input=listing,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    # a disallowed article is skipped and said once, as an error line: exit status 1
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == "scraper: ERROR: robots.txt of 127.0.0.1 disallows 1 article(s) for our User-Agent; skipped\n"
    assert ids_written(tmp_path) == ["202308230260"]  # aopl only; 004 is aopl but disallowed
    assert server.hits["/news/aopl/202308230370.aspx"] == 0
    assert server.hits["/news/ahel/202308230179.aspx"] == 0


@pytest.mark.slow
def test_killed_backfill_resumes_without_duplicates_or_refetching_written_articles(server: Server, corpus: Path, tmp_path: Path) -> None:
    layout = {"20230821": list(range(1, 9)), "20230822": list(range(1, 9))}
    served = serve_days(server, corpus, layout)
    server.default_latency = 0.1
    cfg = backfill_config(tmp_path, server, http={"max_per_host": 1})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "scraper", "backfill", "--config", str(cfg), "--since", "2023-08-21", "--until", "2023-08-22", "--no-sitemaps"]
    proc = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in range(600):  # killed once it has written its first post, however loaded the machine
        if posts_in(tmp_path) or proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = set(ids_written(tmp_path))
    assert 0 < len(first) < len(served)
    for path in posts_in(tmp_path):
        if not path.name.startswith(".tmp-"):  # a write the kill cut short: no post, removed by the next run
            assert POST_RE.match(path.read_text(encoding="utf-8"))
    with sqlite3.connect(tmp_path / "out" / ".scraper" / "state.db") as db:
        recorded = {row[0] for row in db.execute("SELECT id FROM articles WHERE status = 'written'")}
    done = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ids = ids_written(tmp_path)
    assert sorted(ids) == sorted(served) and len(ids) == len(set(ids))
    for aid in first:
        # Recorded before the kill: never fetched again. A file the kill left unrecorded (killed
        # between the file and the state's commit) is fetched once more and adopted, not written twice.
        assert server.hits[f"/news/aall/{aid}.aspx"] == (1 if aid in recorded else 2), aid
    assert not list((tmp_path / "out" / "_posts").glob(".tmp-*"))


@pytest.mark.slow
def test_backfill_and_poll_at_the_same_time_write_one_post_per_article(server: Server, corpus: Path, tmp_path: Path) -> None:
    layout = {"20230821": list(range(1, 9))}
    served = serve_days(server, corpus, layout)
    extra = "".join(item(title, server.url(f"/news/aall/{aid}.aspx")) for aid, title in served.items())
    server.feed("/feed", real_feed(corpus, [], extra_items=extra).replace(b"https://www.cna.com.tw/news/", server.url("/gone/").encode()))
    server.default_latency = 0.05
    cfg = backfill_config(tmp_path, server, article_backoff=3600)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    back = subprocess.Popen(
        [sys.executable, "-m", "scraper", "backfill", "--config", str(cfg), "--since", "2023-08-21", "--until", "2023-08-21", "--no-sitemaps"], env=env, cwd=tmp_path, stderr=subprocess.PIPE
    )
    pol = subprocess.Popen([sys.executable, "-m", "scraper", "poll", "--config", str(cfg)], env=env, cwd=tmp_path, stderr=subprocess.PIPE)
    assert back.wait(timeout=120) == 0, back.stderr.read() if back.stderr else ""
    pol.wait(timeout=120)
    ids = ids_written(tmp_path)
    assert sorted(ids) == sorted(served)
    assert len(posts_in(tmp_path)) == len(served)


def test_reindex_records_real_posts_and_backfill_then_writes_nothing_for_them(server: Server, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = backfill_config(tmp_path, server)
    posts_dir = tmp_path / "out" / "_posts"
    posts_dir.mkdir(parents=True)
    for path in (corpus / "posts").glob("*.md"):
        shutil.copy(path, posts_dir / path.name)
    assert main(["reindex", "--config", str(cfg)]) == 0
    assert "recorded 15 posts" in capsys.readouterr().out
    cna_ids = []
    for path in (corpus / "posts").glob("*.md"):
        url = front_matter(path.read_text(encoding="utf-8"))["from"]
        if "cna.com.tw" in url:
            cna_ids.append(url.rsplit("/", 1)[1][:12])
            server.page(f"/news/aall/{cna_ids[-1]}.aspx", (corpus / "cna" / "pages" / "004.html").read_bytes())
    (tmp_path / "urls.txt").write_text("\n".join(server.url(f"/news/aall/{i}.aspx") for i in cna_ids), encoding="utf-8")
    assert main(["backfill", "--config", str(cfg), "--urls", str(tmp_path / "urls.txt")]) == 0
    assert server.article_hits() == 0
    assert len(posts_in(tmp_path)) == 15


def test_poll_reindexes_on_its_own_when_it_finds_posts_but_no_state(server: Server, corpus: Path, tmp_path: Path) -> None:
    urls = corpus_urls(corpus)
    path = "/" + urls["004.html"].split("/", 3)[3]
    server.page(path, (corpus / "cna" / "pages" / "004.html").read_bytes())
    server.feed("/feed", real_feed(corpus, [server.url(path)]))
    cfg = backfill_config(tmp_path, server, article_backoff=3600)
    assert main(["poll", "--config", str(cfg)]) == 0
    assert len(posts_in(tmp_path)) == 1
    shutil.rmtree(tmp_path / "out" / ".scraper")  # the state is lost
    assert main(["poll", "--config", str(cfg)]) == 0
    assert len(posts_in(tmp_path)) == 1 and server.hits[path] == 1


def test_backfill_argument_mistakes_are_one_line(tmp_path: Path) -> None:
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(yaml.safe_dump({"site": "s", "output": "out", "feeds": [{"name": "a", "url": "http://127.0.0.1:9/f"}]}), encoding="utf-8")
    for argv, needle in (
        (["--since", "2023-13-01"], "expected a date"),
        ([], "needs --since"),
        (["--since", "2023-08-02", "--until", "2023-08-01"], "is after"),
        (["--urls", "missing.txt"], "cannot read"),
        (["--since", "2016-01-01", "--urls", "missing.txt"], "not both"),  # not a walk of ten years
        (["--until", "2023-08-01", "--urls", "missing.txt"], "not both"),
    ):
        proc = subprocess.run([sys.executable, "-m", "scraper", "backfill", "--config", str(cfg), *argv], capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.returncode == 2 and needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_category_keeps_only_its_sections_in_the_id_walk_too_and_leaves_the_day_open(server: Server, corpus: Path, tmp_path: Path) -> None:
    served = serve_days(server, corpus, {"20230823": [1, 2, 3, 4]})
    cfg = backfill_config(tmp_path, server)
    sections = {aid: corpus_urls(corpus)[SOURCES[k % len(SOURCES)]].split("/news/")[1].split("/")[0] for k, aid in enumerate(served)}
    wanted = sorted(aid for aid, section in sections.items() if section == "aopl")
    assert wanted and len(wanted) < len(served)
    assert main(["backfill", "--config", str(cfg), "--since", "2023-08-23", "--until", "2023-08-23", "--no-sitemaps", "--category", "aopl"]) == 0
    assert sorted(ids_written(tmp_path)) == wanted
    # the other sections are still to come: a walk without --category writes them
    assert main(["backfill", "--config", str(cfg), "--since", "2023-08-23", "--until", "2023-08-23", "--no-sitemaps"]) == 0
    assert sorted(ids_written(tmp_path)) == sorted(served)


def test_a_miss_budget_below_one_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, [("f", "http://127.0.0.1:9/feed")])
    assert main(["backfill", "--config", str(cfg), "--since", "2023-08-23", "--max-misses", "-1"]) == 2
    assert "--max-misses -1: must be from 1 to 100000" in capsys.readouterr().err


def test_a_one_off_backfill_names_each_article_it_could_not_write_and_exits_1(server: Server, corpus: Path, tmp_path: Path) -> None:
    """Under cron a silent exit 0 would hide them: each failure is one line with its
    reason, the run exits 1, and the state keeps them pending with that reason."""
    good = "/" + corpus_urls(corpus)["004.html"].split("/", 3)[3]
    server.page(good, (corpus / "cna" / "pages" / "004.html").read_bytes())
    with Server() as gone:
        closed = gone.url("/news/aopl/202312080002.aspx")  # a port nobody listens on once closed
    missing = server.url("/news/aopl/202312080001.aspx")  # 404
    (tmp_path / "urls.txt").write_text(f"{server.url(good)}\n{missing}\n{closed}\n", encoding="utf-8")
    cfg = backfill_config(tmp_path, server)
    proc = subprocess.run(
        [sys.executable, "-m", "scraper", "backfill", "--config", str(cfg), "--urls", "urls.txt"], capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 2 and "Traceback" not in proc.stderr
    assert any(missing in line and "HTTP 404" in line for line in lines)
    assert any(closed in line and "network error" in line for line in lines)
    assert ids_written(tmp_path) == ["202308230370"]
    with sqlite3.connect(tmp_path / "out" / ".scraper" / "state.db") as db:
        rows = dict(db.execute("SELECT id, reason FROM articles WHERE status = 'pending'").fetchall())
    assert set(rows) == {"202312080001", "202312080002"} and "HTTP 404" in rows["202312080001"]
