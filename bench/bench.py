"""`make bench`: CPU per article, a poll with nothing new, backfill throughput and memory,
each printed beside a baseline measured in the same run (median of several runs).

Runs on the real corpus pages (../shared/corpus) and a local HTTP server; writes
bench/results.json. Nothing here is asserted: the figures are for people to read.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import lxml.html
from bs4 import BeautifulSoup

from bench import photolookup
from scraper.articles.extractors import cna
from scraper.site import posts
from tests.helpers import body, paragraphs
from tests.server import Reply, Request, Server
from tests.sitebuilder import config, corpus_urls, item, real_feed, with_id

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("SCRAPER_CORPUS", ROOT.parent / "shared" / "corpus"))
PAGES = ["001.html", "003.html", "004.html", "006.html", "2016-truncated.html"]
AEB = Path(os.environ.get("SCRAPER_AEB", ROOT.parent / "shared" / "bench" / "aeb"))
CLUTTER = ("本網站之文字、圖片及影音", "聚焦新聞", "中央社「一手新聞」 app")


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def quality(text: str, exp: dict[str, Any]) -> int:
    """Expectations of expected.json met by an extracted text: first and last paragraph, no clutter."""
    squash = "".join(text.split())
    score = int("".join(exp["first_paragraph"].split()) in squash)
    score += int("".join(exp["last_paragraph"].split()) in squash)
    score += int(not any(c in text for c in CLUTTER))
    return score


def cpu_per_article(runs: int) -> list[dict[str, Any]]:
    import trafilatura

    expected = {e["file"]: e for e in json.loads((CORPUS / "cna" / "expected.json").read_text(encoding="utf-8"))}
    rows = []
    for name in PAGES:
        data = (CORPUS / "cna" / "pages" / name).read_bytes()
        exp = expected[name]
        ours = posts.build(cna.extract(data, exp["url"]), site="(臺)中央社CNA").text
        theirs = trafilatura.extract(data, fast=True) or ""
        rows.append(
            {
                "page": name,
                "scraper_ms": median_ms(lambda d=data, u=exp["url"]: posts.build(cna.extract(d, u), site="(臺)中央社CNA"), runs),
                "lxml_floor_ms": median_ms(lambda d=data: lxml.html.fromstring(d), runs),
                "bs4_lxml_ms": median_ms(lambda d=data: BeautifulSoup(d, "lxml"), max(3, runs // 3)),
                "trafilatura_fast_ms": median_ms(lambda d=data: trafilatura.extract(d, fast=True), max(3, runs // 3)),
                "scraper_quality": quality("\n".join(paragraphs(body(ours))), exp),
                "trafilatura_quality": quality(theirs, exp),
            }
        )
    return rows


def measured(setup: str, timed: str, argv: list[str], cwd: Path) -> dict[str, float]:
    """Run ``timed`` (after ``setup``) in a child process: its wall time, CPU time (start-up
    included) and peak RSS. ``timed`` sets ``rc``."""
    code = (
        f"import resource, sys, json, time\n{setup}\n"
        f"t = time.perf_counter()\n{timed}\nwall = time.perf_counter() - t\n"
        "u = resource.getrusage(resource.RUSAGE_SELF)\n"
        # VmHWM is this process's own peak; ru_maxrss also counts the parent's size at fork.
        "hwm = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM:'))\n"
        "sys.stderr.write('\\nBENCH ' + json.dumps({'rc': rc, 'wall': wall, 'cpu': u.ru_utime + u.ru_stime, 'rss_mb': hwm / 1024}) + '\\n')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, *argv], cwd=cwd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    line = [x for x in proc.stderr.splitlines() if x.startswith("BENCH ")]
    if not line:
        raise SystemExit(f"bench child failed: {proc.stderr[-2000:]}")
    result: dict[str, float] = json.loads(line[-1][6:])
    return result


def child(argv: list[str], cwd: Path) -> dict[str, float]:
    """The scraper's CLI in a child process."""
    return measured("from scraper.cli import main", "rc = main(sys.argv[1:])", argv, cwd)


def baseline_poll(urls: list[str], cwd: Path) -> dict[str, float]:
    """The floor of a poll: GET each feed and parse it, nothing else."""
    timed = "with httpx.Client() as c:\n    for u in sys.argv[1:]: feedparser.parse(c.get(u).content)\nrc = 0"
    return measured("import httpx, feedparser", timed, urls, cwd)


def poll_nothing_new(runs: int) -> dict[str, Any]:
    with Server() as server, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        feeds = []
        ids = []
        for f in range(12):
            extra = "".join(item(f"已知新聞{f}-{i}", server.url(f"/news/aopl/20231208{f:02d}{i:02d}.aspx")) for i in range(20))
            ids += [f"20231208{f:02d}{i:02d}" for i in range(20)]
            server.feed(f"/feed{f}", _only_extra(real_feed(CORPUS, [], extra_items=extra)))
            feeds.append((f"feed{f}", server.url(f"/feed{f}")))
        cfg = config(tmp, feeds, http={"delay": 0})
        state = tmp / "out" / ".scraper" / "state.db"
        child(["reindex", "--config", str(cfg)], tmp)  # creates the state
        with sqlite3.connect(state) as db:
            db.executemany("INSERT INTO articles (id, url, status, first_seen, changed) VALUES (?, ?, 'written', 0, 0)", [(i, i) for i in ids])
        samples = []
        for _ in range(runs):
            server.hits.clear()
            result = child(["poll", "--config", str(cfg)], tmp)
            samples.append({**result, "feed_requests": sum(n for p, n in server.hits.items() if p.startswith("/feed")), "article_requests": server.article_hits()})
        base = [baseline_poll([u for _, u in feeds], tmp) for _ in range(runs)]
        return {
            "requests_feed": samples[-1]["feed_requests"],
            "requests_article": samples[-1]["article_requests"],
            "wall_s": statistics.median(s["wall"] for s in samples),
            "cpu_s": statistics.median(s["cpu"] for s in samples),
            "baseline_wall_s": statistics.median(b["wall"] for b in base),
            "baseline_cpu_s": statistics.median(b["cpu"] for b in base),
        }


def _only_extra(feed: bytes) -> bytes:
    """Keep the 20 items added to the real feed, drop its own 20."""
    text = feed.decode("utf-8")
    head, _, rest = text.partition("<item>")
    items = ("<item>" + rest).split("</item>")
    ours = [i for i in items if "已知新聞" in i]
    return (head + "</item>".join(ours) + "</item>\n</channel></rss>").encode("utf-8")


def serve_many(server: Server) -> None:
    """Any /news/aall/<id>.aspx answers with a corpus page re-issued under that id."""
    urls = corpus_urls(CORPUS)
    sources = [(n, (CORPUS / "cna" / "pages" / n).read_bytes()) for n in ("001.html", "003.html", "004.html", "006.html")]

    def route(req: Request) -> Reply:
        aid = req.path.rsplit("/", 1)[1][:12]
        name, data = sources[int(aid) % len(sources)]
        return Reply(200, with_id(data, urls[name], aid, f"基準測試{aid}"))

    server.route_prefix = ("/news/aall/", route)


def backfill_run(n: int, *, delay: float, latency: float, max_per_host: int = 2) -> dict[str, Any]:
    with Server() as server, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        serve_many(server)
        server.default_latency = latency
        ids = [f"2023{(k // 9000) + 1:02d}01{(k % 9000) + 1:04d}" for k in range(n)]
        (tmp / "urls.txt").write_text("\n".join(server.url(f"/news/aall/{i}.aspx") for i in ids), encoding="utf-8")
        cfg = config(tmp, [("f", server.url("/feed"))], http={"delay": delay, "max_per_host": max_per_host, "retries": 3, "backoff": 0.2})
        result = child(["backfill", "--config", str(cfg), "--urls", "urls.txt"], tmp)
        starts = [t for t, p in server.log if p.startswith("/news/")]
        written = len(list((tmp / "out" / "_posts").glob("*.md")))
        span = (max(starts) - min(starts)) if len(starts) > 1 else 0.0
        return {**result, "written": written, "requests": len(server.log), "article_span_s": span}


def many_feeds(*, hosts: int, feeds_per_host: int, items: int, latency: float, delay: float) -> dict[str, Any]:
    """One poll of ``hosts`` × ``feeds_per_host`` feeds, each with ``items`` new articles, every
    host a server of its own on its own loopback address (127.0.0.2, 127.0.0.3, …: hosts
    to the per-host limits, as sites are) answering after ``latency``: its wall time
    against the ideal politeness allows (the busiest host's requests, ``delay`` apart)."""
    with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        servers = [stack.enter_context(Server(f"127.0.0.{h + 2}")) for h in range(hosts)]
        feeds = []
        for h, server in enumerate(servers):
            serve_many(server)
            server.default_latency = latency
            for f in range(feeds_per_host):
                ids = [f"2024{h:02d}{f:02d}{i:04d}" for i in range(items)]
                body = "".join(item(f"基準{aid}", server.url(f"/news/aall/{aid}.aspx")) for aid in ids)
                server.feed(f"/feed{f}", f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode())
                feeds.append((f"h{h}f{f}", server.url(f"/feed{f}")))
        cfg = config(tmp, feeds, http={"delay": delay, "max_per_host": 2, "max_connections": 64, "retries": 1, "timeout": 20, "deadline": 60})
        result = child(["poll", "--config", str(cfg)], tmp)
        busiest = max(len(s.log) for s in servers)
        written = len(list((tmp / "out" / "_posts").glob("*.md")))
        return {**result, "feeds": len(feeds), "hosts": hosts, "articles": written, "busiest_requests": busiest, "ideal_s": busiest * delay, "delay_s": delay, "latency_s": latency}


def article_benchmark() -> dict[str, str] | None:
    """The general extractor on the article-extraction benchmark's pages, scored by its own
    score.py beside trafilatura's defaults in the same run; None when the pages are absent."""
    score = AEB / "score.py"
    if not score.exists():
        return None
    run = subprocess.run([sys.executable, str(score), "--scraper", str(ROOT / ".venv" / "bin" / "scraper"), "--trafilatura", "--worst", "0"], capture_output=True, text=True, check=False)
    lines = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in run.stdout.splitlines() if line.startswith(("project:", "trafilatura:"))}
    return {"project": lines.get("project", f"score.py failed: {run.stderr.strip()[-200:]}"), "trafilatura": lines.get("trafilatura", "")}


def machine() -> dict[str, str]:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    libs = {name: metadata.version(name) for name in ("httpx", "lxml", "beautifulsoup4", "feedparser", "tenacity", "trafilatura")}
    return {"cpu": cpu, "cores": str(os.cpu_count()), "python": platform.python_version(), **libs}


def scale_sections(which: set[str], results: dict[str, Any]) -> list[str]:
    """The scale sections (bench/scale.py): ``site-age`` (``site-build``: its Jekyll builds alone) and ``stuck-hosts``."""
    from bench import scale

    out: list[str] = []
    if "site-age" in which:
        results["site_age"] = {"small": scale.site_age_one(CORPUS, 1000, child), "big": scale.site_age_one(CORPUS, 100_000, child)}
    if which & {"site-age", "site-build"}:  # site-build: the Jekyll builds alone
        results.setdefault("site_age", {})["jekyll"] = scale.jekyll_builds(CORPUS, [sys.executable, "-m", "scraper"])
        if "small" in results["site_age"]:
            out += scale.render_site_age(results["site_age"])
    if "stuck-hosts" in which:
        results["stuck_hosts"] = scale.stuck_hosts(child)
        out += scale.render_stuck(results["stuck_hosts"])
    return out


def main() -> int:
    if not (CORPUS / "cna" / "expected.json").exists():
        print(f"the corpus is not at {CORPUS}", file=sys.stderr)
        return 2
    only = {a for a in sys.argv[1:] if a in ("site-age", "site-build", "stuck-hosts")}
    if only:  # one section on its own, merged into results.json
        path = ROOT / "bench" / "results.json"
        results = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        results["machine"] = machine()
        lines = scale_sections(only, results)
        path.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
        print("\n".join(lines))
        return 0
    quick = "--quick" in sys.argv
    results: dict[str, Any] = {"machine": machine(), "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    results["cpu_per_article"] = cpu_per_article(5 if quick else 25)
    results["poll_nothing_new"] = poll_nothing_new(2 if quick else 5)
    n_tp = 12 if quick else 60  # enough articles that start-up does not dominate
    tp = [backfill_run(n_tp, delay=1.0, latency=0.05)]
    results["backfill_throughput"] = {
        "articles": n_tp,
        "latency_s": 0.05,
        "delay_s": 1.0,
        "articles_per_s": statistics.median(t["written"] / t["wall"] for t in tp),
        "allowed_per_s": 1.0,
        "fraction_of_allowed": statistics.median(((n_tp - 1) * 1.0) / t["article_span_s"] for t in tp),
        "whole_run_fraction": statistics.median(t["written"] / t["wall"] for t in tp) / 1.0,
    }
    results["many_feeds"] = many_feeds(hosts=10 if quick else 50, feeds_per_host=10, items=5, latency=0.1, delay=1.0)
    small = [backfill_run(500, delay=0, latency=0)["rss_mb"] for _ in range(1 if quick else 3)]
    big = backfill_run(1000 if quick else 5000, delay=0, latency=0)
    results["memory"] = {"rss_mb_500": statistics.median(small), "rss_mb_large": big["rss_mb"], "large_articles": big["written"], "large_wall_s": big["wall"]}
    results["article_benchmark"] = article_benchmark()
    results["photo_lookup"] = photolookup.measure(20_000 if quick else 100_000)  # 300,000: run bench.photolookup alone
    extra = scale_sections({"site-age", "stuck-hosts"}, results)
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    print(render(results) + "\n".join(extra))
    return 0


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    out = [
        f"Machine: {m['cpu']} ({m['cores']} cores), Python {m['python']}; httpx {m['httpx']}, lxml {m['lxml']}, bs4 {m['beautifulsoup4']}, "
        f"feedparser {m['feedparser']}, tenacity {m['tenacity']}, trafilatura {m['trafilatura']}; {r['when']}",
        "",
    ]
    out += [
        "1. CPU per article, page bytes -> post text (median ms; quality = expectations met of 3)",
        "",
        "| page | scraper | lxml floor | scraper / floor | bs4 full parse | trafilatura fast | trafilatura / scraper | quality scraper | quality trafilatura |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in r["cpu_per_article"]:
        out.append(
            f"| {row['page']} | {row['scraper_ms']:.2f} | {row['lxml_floor_ms']:.2f} | {row['scraper_ms'] / row['lxml_floor_ms']:.2f}x | {row['bs4_lxml_ms']:.2f} | "
            f"{row['trafilatura_fast_ms']:.2f} | {row['trafilatura_fast_ms'] / row['scraper_ms']:.1f}x | {row['scraper_quality']}/3 | {row['trafilatura_quality']}/3 |"
        )
    p = r["poll_nothing_new"]
    out += [
        "",
        "2. A poll with nothing new: 12 feeds x 20 known items (median)",
        "",
        "| figure | scraper poll | baseline: GET + feedparser only |",
        "| --- | --- | --- |",
        f"| feed requests | {p['requests_feed']} | 12 |",
        f"| article requests | {p['requests_article']} | 0 |",
        f"| wall time in process (s) | {p['wall_s']:.3f} | {p['baseline_wall_s']:.3f} |",
        f"| CPU time incl. start-up (s) | {p['cpu_s']:.3f} | {p['baseline_cpu_s']:.3f} |",
        f"| wall ratio scraper / baseline | {p['wall_s'] / p['baseline_wall_s']:.2f}x (target: within 1.3x) | 1.00x |",
    ]
    t = r["backfill_throughput"]
    out += [
        "",
        f"3. Backfill throughput: {t['articles']} articles, {t['latency_s'] * 1000:.0f} ms latency, delay {t['delay_s']} s, max_per_host 2 (median)",
        "",
        "| figure | scraper | allowed by the limits |",
        "| --- | --- | --- |",
        f"| articles per second (whole run, start-up and robots.txt included) | {t['articles_per_s']:.2f} ({t['whole_run_fraction']:.3f} of allowed) | {t['allowed_per_s']:.2f} |",
        f"| request spacing vs the limit | {t['fraction_of_allowed']:.3f} | 1.000 |",
    ]
    f = r["many_feeds"]
    out += [
        "",
        f"4. Many feeds: {f['feeds']} feeds on {f['hosts']} hosts, 5 new items each, {f['latency_s'] * 1000:.0f} ms latency, delay {f['delay_s']} s, max_per_host 2, max_connections 64",
        "",
        "| figure | scraper | ideal politeness allows | target |",
        "| --- | --- | --- | --- |",
        f"| wall time of one poll (s) | {f['wall']:.1f} | {f['ideal_s']:.1f} (busiest host: {f['busiest_requests']} requests x delay) | within 1.3x: {f['wall'] / f['ideal_s']:.2f}x |",
        f"| articles written | {f['articles']} | {f['feeds'] * 5} | |",
        f"| peak RSS (MB) | {f['rss_mb']:.1f} | | under 150 |",
    ]
    mem = r["memory"]
    out += [
        "",
        "5. Memory: peak RSS of a backfill (no delay, local server)",
        "",
        "| run | peak RSS (MB) |",
        "| --- | --- |",
        f"| 500 articles (baseline) | {mem['rss_mb_500']:.1f} |",
        f"| {mem['large_articles']} articles ({mem['large_wall_s']:.0f} s) | {mem['rss_mb_large']:.1f} |",
    ]
    aeb = r.get("article_benchmark")
    out += ["", "6. Article-extraction benchmark (scrapinghub's pages, its own scorer), general extractor vs trafilatura's defaults", ""]
    if aeb is None:
        out.append(f"skipped: the benchmark's pages are not at {AEB}")
    else:
        out += ["| extractor | score |", "| --- | --- |", f"| scraper | {aeb['project']} |", f"| trafilatura defaults | {aeb['trafilatura']} |"]
    if "photo_lookup" in r:
        out += ["", *photolookup.render(r["photo_lookup"])]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
