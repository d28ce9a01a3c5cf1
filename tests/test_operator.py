"""The operator's side: what cron mail and a terminal say, and what monitoring reads.

Whole runs against a local server; every figure checked comes from what the server
served or from the state, never written down in the test."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client.parser import text_string_to_metric_families

from scraper.cli import main
from scraper.commands.columns import width
from scraper.commands.poll import poll as poll_run
from scraper.config import load
from scraper.site.postfiles import PostFiles
from scraper.store.state import VERSION
from tests.server import Reply, Server
from tests.sitebuilder import config, corpus_urls, item, posts_in
from tests.test_totality import good_items, rss, serve

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
NOWHERE = "http://127.0.0.1:9"  # nothing listens on the discard port: connection refused


def scraper(*args: str) -> tuple[int, str, str]:
    """A whole run as cron makes it: standard error is no terminal."""
    proc = subprocess.run([sys.executable, "-m", "scraper", *args], capture_output=True, text=True, env=ENV, stdin=subprocess.DEVNULL)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


def on_a_terminal(*args: str) -> tuple[int, str]:
    """A whole run with standard error on a pseudo-terminal, as when a person types it."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "scraper", *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave, env=ENV)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the run ended and closed its end of the terminal
            break
        if not data:
            break
        chunks.append(data)
    code = proc.wait(timeout=120)
    os.close(master)
    return code, b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def status_json(cfg: Path) -> dict[str, Any]:
    code, out, err = scraper("status", "--json", "--config", str(cfg))
    assert code == 0 and err == "", err
    data: dict[str, Any] = json.loads(out)
    return data


def offline_line(cfg: Path, name: str, url: str, polled: int) -> str:
    """The line a run that reached no feed must print, with the first feed's last error as the state holds it."""
    feed = next(f for f in status_json(cfg)["feeds"] if f["url"] == url)
    reason = feed["last_error"].removeprefix(f"{url}: ")
    feeds = "feed" if polled == 1 else "feeds"
    return f"no feed reachable: is the network down? (no answer from {polled} of {polled} {feeds} polled, e.g. {name} ({url}): {reason})"


# ---------------------------------------------------------------- offline looks like success


def test_offline_under_cron_is_quiet_until_report_after_then_one_line(tmp_path: Path) -> None:
    cfg = config(tmp_path, [("國際", f"{NOWHERE}/intworld"), ("兩岸", f"{NOWHERE}/mainland")], report_after=3, feed_backoff=0)
    runs = [scraper("poll", "--config", str(cfg)) for _ in range(3)]
    assert [(code, out, err) for code, out, err in runs[:2]] == [(0, "", ""), (0, "", "")]  # one blip sends no mail
    expected = offline_line(cfg, "國際", f"{NOWHERE}/intworld", 2)
    assert runs[2] == (1, "", f"scraper: ERROR: {expected}\n")  # one line, not one per feed


def test_offline_on_a_terminal_is_said_on_the_first_run(tmp_path: Path) -> None:
    cfg = config(tmp_path, [("國際", f"{NOWHERE}/intworld")], report_after=3)
    code, err = on_a_terminal("poll", "--config", str(cfg))
    assert (code, err) == (1, f"scraper: ERROR: {offline_line(cfg, '國際', f'{NOWHERE}/intworld', 1)}\n")


def test_offline_is_decided_by_the_caller_not_by_looking_at_the_terminal(tmp_path: Path) -> None:
    one, other = tmp_path / "one", tmp_path / "other"
    one.mkdir()
    other.mkdir()
    feeds = [("國際", f"{NOWHERE}/intworld"), ("兩岸", f"{NOWHERE}/mainland")]
    told = poll_run(load(config(one, feeds)), interactive=True)
    assert told.errors == [offline_line(one / "feeds.yaml", "國際", f"{NOWHERE}/intworld", 2)] and not told.ok
    quiet = poll_run(load(config(other, feeds)), interactive=False)
    assert quiet.errors == [] and quiet.ok and quiet.feeds_failed == 2


def test_one_feed_that_answers_means_the_network_is_up(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus)
    server.feed("/feed", rss(*good_items(local)))
    cfg = config(tmp_path, [("國際", server.url("/feed")), ("兩岸", f"{NOWHERE}/mainland")], report_after=1)
    report = poll_run(load(cfg), interactive=True)
    (failing,) = [f for f in status_json(cfg)["feeds"] if f["failures"]]
    assert report.errors == [f"feed 兩岸 ({NOWHERE}/mainland) failed 1 runs in a row: {failing['last_error']}"]
    assert len(posts_in(tmp_path)) == len(local)


def test_an_http_error_on_every_feed_is_no_network_trouble(server: Server, tmp_path: Path) -> None:
    server.routes["/a"] = Reply(502, b"bad gateway")
    cfg = config(tmp_path, [("a", server.url("/a"))], report_after=5)
    assert poll_run(load(cfg), interactive=True).errors == []  # the server answered: the feed's own streak applies


# ---------------------------------------------------------------- dry run during backoff


def test_dry_run_says_which_feeds_it_skips_and_why(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus)
    server.feed("/feed", rss(*good_items(local)))
    server.routes["/flaky"] = Reply(502, b"bad gateway")
    server.routes["/old"] = Reply(410, b"gone")
    cfg = config(tmp_path, [("flaky", server.url("/flaky")), ("old", server.url("/old")), ("國際", server.url("/feed"))], report_after=5, feed_backoff=300)
    for _ in range(2):
        scraper("poll", "--config", str(cfg))
    new = serve(server, corpus, ("004.html",))
    server.feed("/feed", rss(*good_items(local), *good_items(new)))
    flaky = next(f for f in status_json(cfg)["feeds"] if f["name"] == "flaky")
    code, out, err = scraper("poll", "--dry-run", "--config", str(cfg))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[:2] == [
        f"skipped feed flaky ({server.url('/flaky')}): backing off after {flaky['failures']} failures until {flaky['next_attempt']}",
        f"skipped feed old ({server.url('/old')}): gone (HTTP 410)",
    ]
    assert [line.split()[:2] for line in lines[2:]] == [["would", "fetch"]] and "202308230370" in lines[2]


# ---------------------------------------------------------------- fetch of a mismatched or truncated page


def test_fetch_warns_when_the_page_is_another_article(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    canonical = corpus_urls(corpus)["004.html"]
    page = str(corpus / "cna" / "pages" / "004.html")
    other = "https://www.cna.com.tw/news/aopl/202311300999.aspx"
    assert main(["fetch", other, "--html", page]) == 0
    out, err = capsys.readouterr()
    assert err == f"scraper: WARNING: the page is article 202308230370, not 202311300999 as the URL says; the post is the page's article and links {canonical}\n"
    assert f"from: {canonical}\n" in out
    assert main(["fetch", canonical, "--html", page]) == 0
    assert capsys.readouterr().err == ""


def test_fetch_of_a_truncated_page_says_so_and_still_prints_the_post(corpus: Path, tmp_path: Path) -> None:
    url = corpus_urls(corpus)["2016-truncated.html"]
    code, out, err = scraper("fetch", url, "--html", str(corpus / "cna" / "pages" / "2016-truncated.html"), "--config", str(tmp_path / "none.yaml"))
    assert code == 0 and f"from: {url}\n" in out
    assert err == (f"scraper: WARNING: {url}: CNA truncated this page (已過查詢時效), so the post holds only its opening; poll skips such pages, backfill writes them only with --include-truncated\n")


# ---------------------------------------------------------------- summary and metrics


def served_bytes(server: Server) -> int:
    """Body bytes the server sent in answers the scraper reads (200s; error bodies are not read)."""
    total = 0
    for path, hits in server.hits.items():
        route = server.routes.get(path)
        if isinstance(route, Reply) and route.status == 200:
            total += len(route.body) * hits
    return total


def metrics(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(path.read_text(encoding="utf-8")):
        for sample in family.samples:
            out[(sample.name, tuple(sorted((k, v) for k, v in sample.labels.items() if k != "command")))] = sample.value
    return out


def test_summary_and_metrics_tell_what_the_run_did(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus)
    server.feed("/feed", rss(*good_items(local)))
    cfg = config(tmp_path, [("國際", server.url("/feed"))])
    summary, prom = tmp_path / "summary.json", tmp_path / "scraper.prom"
    before = datetime.now(UTC).replace(microsecond=0)
    code, _, err = scraper("poll", "--config", str(cfg), "--summary", str(summary), "--metrics", str(prom))
    assert code == 0 and err == ""
    data = json.loads(summary.read_text(encoding="utf-8"))
    written = len(posts_in(tmp_path))
    assert written == len(local)
    assert data["command"] == "poll" and data["exit_status"] == 0
    assert data["feeds"] == {"polled": 1, "unchanged": 0, "failed": 0}
    assert data["articles"] == {"written": written, "skipped": 0, "failed": 0, "given_up": 0, "deferred": 0, "fallback": 0}
    assert data["hosts"] == {"127.0.0.1": {"requests": sum(server.hits.values()), "bytes": served_bytes(server)}}
    started, finished = (datetime.strptime(data[k], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) for k in ("started", "finished"))
    assert before <= started <= finished
    assert data["state_articles"] == {"written": written}
    m = metrics(prom)
    assert m[("scraper_articles_written_total", ())] == written
    assert m[("scraper_feeds_polled_total", ())] == 1 and m[("scraper_feeds_failed_total", ())] == 0
    assert m[("scraper_requests_total", (("host", "127.0.0.1"),))] == sum(server.hits.values())
    assert m[("scraper_bytes_read_total", (("host", "127.0.0.1"),))] == served_bytes(server)
    assert m[("scraper_articles", (("status", "written"),))] == written
    assert m[("scraper_last_run_exit_status", ())] == 0
    assert m[("scraper_last_run_timestamp_seconds", ())] == pytest.approx(finished.timestamp(), abs=1)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith((".summary", "scraper.prom."))]  # no temporary file left

    hits = sum(server.hits.values())
    code, _, err = scraper("poll", "--config", str(cfg), "--summary", str(summary), "--metrics", str(prom))
    again = json.loads(summary.read_text(encoding="utf-8"))
    m2 = metrics(prom)
    assert code == 0 and again["articles"]["written"] == 0 and m2[("scraper_last_run_articles_written", ())] == 0  # the gauge: this run
    assert m2[("scraper_articles_written_total", ())] == written and m2[("scraper_runs_total", ())] == 2  # the counters: kept in the state, they only grow
    assert m2[("scraper_requests_total", (("host", "127.0.0.1"),))] == sum(server.hits.values())
    assert again["hosts"]["127.0.0.1"]["requests"] == sum(server.hits.values()) - hits


def test_a_run_that_fails_says_so_in_its_summary_and_metrics(tmp_path: Path) -> None:
    cfg = config(tmp_path, [("國際", f"{NOWHERE}/intworld")])
    summary, prom = tmp_path / "summary.json", tmp_path / "scraper.prom"
    code, _, _ = scraper("poll", "--config", str(cfg), "--summary", str(summary), "--metrics", str(prom), "--max-attempts-typo")
    assert code == 2 and not summary.exists()  # a command line argparse refuses runs nothing
    cfg.write_text("feeds: [", encoding="utf-8")
    code, _, err = scraper("poll", "--config", str(cfg), "--summary", str(summary), "--metrics", str(prom))
    assert code == 2 and err.count("\n") == 1
    assert json.loads(summary.read_text(encoding="utf-8"))["exit_status"] == 2
    assert metrics(prom)[("scraper_last_run_exit_status", ())] == 2


def test_a_run_that_finds_the_lock_taken_leaves_the_files_to_the_run_holding_it(tmp_path: Path) -> None:
    cfg = config(tmp_path, [("國際", f"{NOWHERE}/intworld")])
    summary = tmp_path / "summary.json"
    with PostFiles(tmp_path / "out").lock("poll"):
        code, _, _ = scraper("poll", "--config", str(cfg), "--summary", str(summary))
    assert code == 3 and not summary.exists()


def test_a_summary_into_a_missing_folder_is_one_line_and_the_poll_still_counts(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus)
    server.feed("/feed", rss(*good_items(local)))
    cfg = config(tmp_path, [("國際", server.url("/feed"))])
    summary, prom = tmp_path / "missing" / "summary.json", tmp_path / "missing" / "scraper.prom"
    code, out, err = scraper("poll", "--config", str(cfg), "--summary", str(summary), "--metrics", str(prom))
    assert (code, out) == (1, "")
    assert err == f"scraper: {summary}: cannot write the run summary: No such file or directory\nscraper: {prom}: cannot write the metrics: No such file or directory\n"
    assert len(posts_in(tmp_path)) == len(local)
    articles = server.article_hits()
    assert scraper("poll", "--config", str(cfg)) == (0, "", "")
    assert server.article_hits() == articles and len(posts_in(tmp_path)) == len(local)  # written once, remembered


def test_backfill_writes_a_summary_and_metrics_too(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus)
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(u + "\n" for u in local.values()), encoding="utf-8")
    cfg = config(tmp_path, [("國際", server.url("/feed"))])
    summary, prom = tmp_path / "summary.json", tmp_path / "backfill.prom"
    code, _, err = scraper("backfill", "--urls", str(urls), "--config", str(cfg), "--summary", str(summary), "--metrics", str(prom))
    assert code == 0, err
    data = json.loads(summary.read_text(encoding="utf-8"))
    assert data["command"] == "backfill" and data["articles"]["written"] == len(posts_in(tmp_path)) == len(local)
    assert data["hosts"]["127.0.0.1"]["requests"] == sum(server.hits.values())
    assert metrics(prom)[("scraper_articles_written_total", ())] == len(local)


# ---------------------------------------------------------------- status --json


def test_status_json_holds_what_status_prints(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus)
    server.routes["/news/aopl/202312050001.aspx"] = Reply(404, b"no")
    server.routes["/flaky"] = Reply(502, b"bad gateway")
    server.routes["/news/aopl/202312050002.aspx"] = Reply(429, b"wait", {"Retry-After": "600"})
    server.feed("/feed", rss(*good_items(local), item("missing", server.url("/news/aopl/202312050001.aspx"))))
    busy = server.url("/busy").replace("127.0.0.1", "localhost")
    server.feed("/busy", rss(item("busy", server.url("/news/aopl/202312050002.aspx").replace("127.0.0.1", "localhost"))))
    cfg = config(tmp_path, [("國際", server.url("/feed")), ("flaky", server.url("/flaky")), ("busy", busy)], max_attempts=1, report_after=5, http={"max_retry_after": 600})
    scraper("poll", "--config", str(cfg))
    data = status_json(cfg)
    assert data["schema_version"] == VERSION
    assert data["articles"] == {"written": len(local), "pending": 1, "failed": 1, "skipped": 0}
    (failed,) = data["failed_articles"]
    assert failed["id"] == "202312050001" and failed["attempts"] == 1 and "HTTP 404" in failed["reason"]
    feed, flaky, busy_feed = data["feeds"]  # every feed of feeds.yaml, healthy ones too, in its order
    assert (feed["name"], feed["state"], feed["items_seen"], feed["items_written"], feed["last_error"]) == ("國際", "ok", len(local) + 1, len(local), None)
    assert datetime.strptime(feed["last_success"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) <= datetime.now(UTC)
    assert (flaky["name"], flaky["url"], flaky["failures"], flaky["gone"], flaky["state"], flaky["last_success"]) == ("flaky", server.url("/flaky"), 1, False, "failing (1 in a row)", None)
    assert flaky["last_error"] == f"{server.url('/flaky')}: HTTP 502"
    assert (busy_feed["name"], busy_feed["items_seen"], busy_feed["items_written"]) == ("busy", 1, 0)
    (pending,) = data["pending_articles"]
    assert pending["id"] == "202312050002" and pending["attempts"] == 0 and pending["reason"] is None  # put off by its host: not a failure
    (pause,) = data["host_pauses"]
    assert pause["host"] == "localhost" and datetime.strptime(pause["until"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) > datetime.now(UTC)
    code, out, _ = scraper("status", "--config", str(cfg))
    assert code == 0
    lines = out.splitlines()
    taipei = ZoneInfo("Asia/Taipei")

    def in_taipei(iso: str) -> str:
        return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).astimezone(taipei).strftime("%Y-%m-%d %H:%M")

    assert lines[:2] == [f"state {data['state']} (schema version {VERSION}; times in Asia/Taipei)", f"articles written={len(local)} pending=1 failed=1 skipped=0"]
    header, *feed_rows = lines[2:6]
    assert header.split() == ["feed", "state", "last", "success", "next", "check", "seen", "written", "url"]
    assert [r.split("  ")[0] for r in feed_rows] == ["國際", "flaky", "busy"]
    assert in_taipei(feed["last_success"]) in feed_rows[0] and feed_rows[0].endswith(server.url("/feed"))
    assert {width(r[: r.index("http")]) for r in feed_rows} == {width(header[: header.index("url")])}  # the url column lines up beside Chinese names
    assert lines[6:] == [
        f"feed flaky: last error: {flaky['last_error']}",
        f"failed 202312050001 {failed['url']} attempts=1 reason={failed['reason']}",
        f"pending 202312050002 {pending['url']} attempts=0 next=next run reason=not fetched yet",
        f"host localhost paused until {in_taipei(pause['until'])}",
    ]


def test_summary_and_metrics_never_replace_a_device_or_a_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from scraper.cli import main as cli_main

    cfg = config(tmp_path, [("f", "http://127.0.0.1:9/feed")])
    (tmp_path / "target").write_text("keep", encoding="utf-8")
    (tmp_path / "link.json").symlink_to(tmp_path / "target")
    (tmp_path / "null.prom").symlink_to("/dev/null")
    assert cli_main(["poll", "--config", str(cfg), "--summary", str(tmp_path / "link.json"), "--metrics", str(tmp_path / "null.prom")]) == 1
    err = capsys.readouterr().err
    assert "link.json: cannot write the run summary: not a regular file" in err and "null.prom: cannot write the metrics: not a regular file" in err
    assert (tmp_path / "target").read_text(encoding="utf-8") == "keep" and Path("/dev/null").is_char_device()
