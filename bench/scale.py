"""`make bench`, the scale sections: a site's age (1k against 100k posts) and stuck hosts.

Run on their own with ``python -m bench.bench site-age`` and ``python -m bench.bench
stuck-hosts``. Sites are generated in the real format: each post is the writer's
(``posts.build`` of a corpus article under a new id, title and date, 500 posts a day up
to today), the files written plainly (no fsync: this is a fixture), the state rebuilt by
``scraper reindex``. Every figure is given as a ratio to the 1k site, measured in the
same run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from scraper.articles.extractors import cna
from scraper.models import Article
from scraper.site import posts
from scraper.site.skeleton import init
from tests.server import Reply, Request, Server
from tests.sitebuilder import corpus_urls, item, with_id

TAIPEI = ZoneInfo("Asia/Taipei")
PER_DAY = 500
SITE = "(臺)中央社CNA"


def _article(corpus: Path) -> Article:
    urls = corpus_urls(corpus)
    return cna.extract((corpus / "cna" / "pages" / "004.html").read_bytes(), urls["004.html"])


def _id(when: datetime, serial: int) -> str:
    return f"{when:%Y%m%d}{serial % 10000:04d}"


def add_posts(site: Path, template: Article, count: int, *, start: int = 0, newest: datetime | None = None, serial: int = 1000) -> list[str]:
    """``count`` posts by the writer, ``PER_DAY`` a day back from ``newest`` (an hour ago:
    Jekyll skips posts in the future), titled from ``start`` on; returns their ids."""
    newest = newest or datetime.now(TAIPEI).replace(microsecond=0) - timedelta(hours=1)
    folder = site / "_posts"
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for j in range(count):
        when = newest - timedelta(days=j // PER_DAY, seconds=(j % PER_DAY) * 60)
        aid = _id(when, serial + j % PER_DAY)
        article = dataclasses.replace(template, article_id=aid, url=f"https://www.cna.com.tw/news/aopl/{aid}.aspx", title=f"{template.title[:18]} 第{start + j}則", published=when)
        post = posts.build(article, site=SITE)
        (folder / post.filename).write_text(post.text, encoding="utf-8")
        ids.append(aid)
    return ids


def run_timed(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, float]:
    """A command's wall time, CPU (user + system) and peak RSS, from its own rusage."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err.decode(errors='replace')[-2000:]}")
    return {"wall": time.perf_counter() - start, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


def _config(tmp: Path, site: Path, feed_url: str) -> Path:
    path = tmp / "feeds.yaml"
    data = {"site": SITE, "output": str(site), "feeds": [{"name": "bench", "url": feed_url}], "http": {"delay": 0, "retries": 1, "timeout": 10, "deadline": 20}}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _feed(server: Server, items: str) -> None:
    server.feed("/feed", f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode())


def site_age_one(corpus: Path, n: int, child: Callable[[list[str], Path], dict[str, float]]) -> dict[str, Any]:
    """An idle poll, a poll with 10 new articles, ``status`` and ``reindex`` on a site of ``n`` posts."""
    template = _article(corpus)
    page = (corpus / "cna" / "pages" / "004.html").read_bytes()
    with Server() as server, tempfile.TemporaryDirectory(prefix="bench-age-") as tmp_name:
        tmp = Path(tmp_name)
        site = tmp / "site"
        init(site)
        known = add_posts(site, template, n)
        cfg = _config(tmp, site, server.url("/feed"))
        out: dict[str, Any] = {"posts": n, "reindex": child(["reindex", "--config", str(cfg)], tmp)}
        _feed(server, "".join(item(f"舊{aid}", f"https://www.cna.com.tw/news/aopl/{aid}.aspx") for aid in known[:20]))
        child(["poll", "--config", str(cfg)], tmp)  # the first run after the posts were made lists _posts once
        idle = [child(["poll", "--config", str(cfg)], tmp) for _ in range(3)]
        out["idle_poll"] = {k: statistics.median(r[k] for r in idle) for k in ("wall", "cpu", "rss_mb")}
        out["status"] = child(["status", "--config", str(cfg)], tmp)
        today = datetime.now(TAIPEI)
        new = [f"{today:%Y%m%d}{8000 + k}" for k in range(10)]
        urls = corpus_urls(corpus)
        server.route_prefix = ("/news/aopl/", lambda req: Reply(200, with_id(page, urls["004.html"], req.path.rsplit("/", 1)[1][:12], f"新聞{req.path[-17:-5]}")))
        _feed(server, "".join(item(f"新聞{aid}", server.url(f"/news/aopl/{aid}.aspx"), today.strftime("%a, %d %b %Y %H:%M:%S +0800")) for aid in new))
        before = len(os.listdir(site / "_posts"))
        out["poll_10_new"] = child(["poll", "--config", str(cfg)], tmp)
        out["poll_10_new"]["written"] = len(os.listdir(site / "_posts")) - before
        return out


def jekyll_builds(corpus: Path, scraper_bin: list[str]) -> dict[str, Any]:
    """Plain ``jekyll build`` (with the linear plugin) of 1k and 5k posts, ``scraper build`` of
    the same, and the documented rebuild after 10 new posts on a 20k-post site."""
    jekyll = shutil.which("jekyll")
    if jekyll is None:
        return {"skipped": "jekyll is not installed"}
    template = _article(corpus)
    out: dict[str, Any] = {}
    for n in (1000, 5000):
        with tempfile.TemporaryDirectory(prefix="bench-jekyll-") as tmp_name:
            site = Path(tmp_name) / "site"
            init(site)
            add_posts(site, template, n)
            out[f"jekyll_{n}"] = run_timed([jekyll, "build", "--quiet"], site)
            shutil.rmtree(site / "_site")
            out[f"scraper_build_{n}"] = run_timed([*scraper_bin, "build", "--output", str(site)], site)
    with tempfile.TemporaryDirectory(prefix="bench-jekyll-") as tmp_name:
        site = Path(tmp_name) / "site"
        init(site)
        add_posts(site, template, 20000)
        out["scraper_build_20000_first"] = run_timed([*scraper_bin, "build", "--output", str(site)], site)
        add_posts(site, template, 10, start=20000, newest=datetime.now(TAIPEI).replace(microsecond=0) - timedelta(minutes=5), serial=8000)
        out["scraper_rebuild_20000_10_new"] = run_timed([*scraper_bin, "build", "--output", str(site)], site)
    return out


def stuck_hosts(child: Callable[[list[str], Path], dict[str, float]], *, hosts: int = 50, feeds_per_host: int = 40, stuck: int = 5) -> dict[str, Any]:
    """One poll of ``hosts`` × ``feeds_per_host`` feeds (nothing new in them), all hosts
    answering, against the same poll with ``stuck`` hosts that accept and never answer."""

    def one(n_stuck: int) -> dict[str, float]:
        release = threading.Event()

        def hang(req: Request) -> Reply:
            release.wait(600)
            return Reply(200, b"")

        with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-stuck-") as tmp_name:
            tmp = Path(tmp_name)
            feeds = []
            for h in range(hosts):
                server = stack.enter_context(Server(f"127.0.1.{h + 2}"))
                if h < n_stuck:
                    server.route_prefix = ("/", hang)
                else:
                    _feed(server, item("舊聞", "https://www.cna.com.tw/news/aopl/202301010001.aspx"))
                for f in range(feeds_per_host):
                    if h >= n_stuck:
                        server.routes[f"/feed{f}"] = server.routes["/feed"]
                    feeds.append({"name": f"h{h}f{f}", "url": server.url(f"/feed{f}")})
            data = {"site": SITE, "output": "out", "feeds": feeds, "http": {"delay": 0.1, "max_per_host": 2, "max_connections": 64, "timeout": 2, "deadline": 4, "retries": 3, "backoff": 0.5}}
            (tmp / "feeds.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
            init(tmp / "out")
            result = child(["poll", "--config", str(tmp / "feeds.yaml")], tmp)
            release.set()
            return result

    base = one(0)
    with_stuck = one(stuck)
    return {"hosts": hosts, "feeds": hosts * feeds_per_host, "stuck": stuck, "without": base, "with": with_stuck, "ratio": with_stuck["wall"] / base["wall"]}


def render_site_age(r: dict[str, Any]) -> list[str]:
    small, big = r["small"], r["big"]
    n = big["posts"]
    rows = [
        ("poll with 10 new: CPU (s)", small["poll_10_new"]["cpu"], big["poll_10_new"]["cpu"], "<= 1.3x"),
        ("poll with 10 new: peak RSS (MB)", small["poll_10_new"]["rss_mb"], big["poll_10_new"]["rss_mb"], "<= 1.3x"),
        ("idle poll: CPU (s)", small["idle_poll"]["cpu"], big["idle_poll"]["cpu"], ""),
        ("idle poll: peak RSS (MB)", small["idle_poll"]["rss_mb"], big["idle_poll"]["rss_mb"], "<= 1.3x"),
        ("status: CPU (s)", small["status"]["cpu"], big["status"]["cpu"], ""),
        ("status: peak RSS (MB)", small["status"]["rss_mb"], big["status"]["rss_mb"], "<= 1.3x"),
        ("reindex of a lost state: CPU (s)", small["reindex"]["cpu"], big["reindex"]["cpu"], "(linear: it reads every post)"),
        ("reindex of a lost state: peak RSS (MB)", small["reindex"]["rss_mb"], big["reindex"]["rss_mb"], ""),
    ]
    out = [
        "",
        f"8. A site's age: {small['posts']} posts against {n} posts (the writer's posts, state by reindex)",
        "",
        f"| figure | {small['posts']} posts | {n} posts | ratio | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    out += [f"| {name} | {a:.2f} | {b:.2f} | {b / a:.2f}x | {target} |" for name, a, b, target in rows]
    j = r.get("jekyll", {})
    if "jekyll_1000" in j:
        a, b, c, d = j["jekyll_1000"], j["jekyll_5000"], j["scraper_build_1000"], j["scraper_build_5000"]
        out += [
            "",
            "| Jekyll build | 1k posts | 5k posts | ratio | target |",
            "| --- | --- | --- | --- | --- |",
            f"| `jekyll build`, full: CPU (s) | {a['cpu']:.1f} | {b['cpu']:.1f} | {b['cpu'] / a['cpu']:.2f}x | <= 6x |",
            f"| `jekyll build`, full: wall (s) | {a['wall']:.1f} | {b['wall']:.1f} | {b['wall'] / a['wall']:.2f}x | |",
            f"| `jekyll build`, peak RSS (MB) | {a['rss_mb']:.0f} | {b['rss_mb']:.0f} | {b['rss_mb'] / a['rss_mb']:.2f}x | |",
            f"| `scraper build`, full: CPU (s) | {c['cpu']:.1f} | {d['cpu']:.1f} | {d['cpu'] / c['cpu']:.2f}x | |",
            "",
            f"20k posts: the first `scraper build` {j['scraper_build_20000_first']['wall']:.0f} s ({j['scraper_build_20000_first']['rss_mb']:.0f} MB); "
            f"after 10 new posts, `scraper build` {j['scraper_rebuild_20000_10_new']['wall']:.1f} s (target: <= 60 s).",
        ]
    return out


def render_stuck(s: dict[str, Any]) -> list[str]:
    return [
        "",
        f"9. Stuck hosts: {s['feeds']} feeds on {s['hosts']} hosts (timeout 2 s, deadline 4 s, retries 3), {s['stuck']} hosts that never answer",
        "",
        "| figure | all hosts answer | with stuck hosts | ratio | target |",
        "| --- | --- | --- | --- | --- |",
        f"| wall time of one poll (s) | {s['without']['wall']:.1f} | {s['with']['wall']:.1f} | {s['ratio']:.2f}x | <= 1.5x |",
    ]
