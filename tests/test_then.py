"""Build on change (`poll --then`, `then:`), the site's url (`init --url`, the warning while
it is empty) and a --metrics name node exporter reads. Whole runs against a local server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from scraper.site.skeleton import site_url
from scraper.store.state import State
from tests.server import Server
from tests.sitebuilder import config, posts_in
from tests.test_totality import good_items, rss, serve

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def scraper(*args: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "scraper", *args], capture_output=True, text=True, env=ENV, stdin=subprocess.DEVNULL, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


def recorder(tmp_path: Path, cfg: Path) -> str:
    """A --then command that logs each run of it, and whether the poll's lock was held meanwhile
    (a second poll of the same folder started from inside it exits 3 when it is)."""
    log = tmp_path / "then.log"
    inner = f"{sys.executable} -m scraper poll --config {cfg}"
    return f'{inner} >/dev/null 2>&1; echo "ran changed=$SCRAPER_CHANGED inner-poll=$?" >> {log}'


def test_then_runs_once_after_a_run_that_wrote_under_the_lock_and_never_after_one_that_did_not(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus)
    server.feed("/feed", rss(*good_items(local)))
    cfg = config(tmp_path, [("國際", server.url("/feed"))])
    then = recorder(tmp_path, cfg)
    code, out, err = scraper("poll", "--config", str(cfg), "--then", then)
    assert (code, out, err) == (0, "", "")
    assert (tmp_path / "then.log").read_text(encoding="utf-8").splitlines() == [f"ran changed={len(posts_in(tmp_path))} inner-poll=3"]
    for _ in range(2):  # nothing new: no build
        assert scraper("poll", "--config", str(cfg), "--then", then)[0] == 0
    assert len((tmp_path / "then.log").read_text(encoding="utf-8").splitlines()) == 1
    assert len(posts_in(tmp_path)) == len(local)


def test_then_key_in_feeds_yaml_and_a_failing_command_is_one_line_and_status_1(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus, ("001.html",))
    server.feed("/feed", rss(*good_items(local)))
    cfg = config(tmp_path, [("國際", server.url("/feed"))], then="exit 7")
    code, _, err = scraper("poll", "--config", str(cfg))
    assert code == 1 and err.splitlines() == ["scraper: ERROR: --then command failed (exit status 7) after 1 posts changed: exit 7"]
    assert len(posts_in(tmp_path)) == 1  # the posts stand
    server.feed("/feed", rss(*good_items(serve(server, corpus, ("001.html", "003.html")))))
    summary = tmp_path / "summary.json"
    code, _, err = scraper("poll", "--config", str(cfg), "--then", f"touch {tmp_path / 'built'}", "--summary", str(summary))  # the option wins over the key
    assert (code, err) == (0, "") and (tmp_path / "built").exists()
    assert json.loads(summary.read_text(encoding="utf-8"))["then_exit_status"] == 0
    assert scraper("poll", "--config", str(cfg), "--summary", str(summary))[0] == 0  # nothing new: the key's command is not run
    assert json.loads(summary.read_text(encoding="utf-8"))["then_exit_status"] is None


def test_then_is_not_run_by_a_poll_that_finds_the_lock_taken(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus, ("001.html",))
    server.feed("/feed", rss(*good_items(local)))
    cfg = config(tmp_path, [("國際", server.url("/feed"))])
    outer = f"{sys.executable} -m scraper poll --config {cfg} --then 'touch {tmp_path / 'inner-built'}'; echo $? > {tmp_path / 'inner-status'}"
    assert scraper("poll", "--config", str(cfg), "--then", outer)[0] == 0
    assert (tmp_path / "inner-status").read_text(encoding="utf-8").strip() == "3" and not (tmp_path / "inner-built").exists()


def test_init_writes_url_baseurl_and_title_and_refuses_bad_ones(tmp_path: Path) -> None:
    site = tmp_path / "site"
    code, out, _ = scraper("init", str(site), "--url", "https://news.example.org/", "--baseurl", "/cna", "--title", '中央社 "鏡像"')
    assert code == 0 and f"wrote {site}/_config.yml" in out.splitlines()
    data = yaml.safe_load((site / "_config.yml").read_text(encoding="utf-8"))
    assert (data["url"], data["baseurl"], data["title"]) == ("https://news.example.org", "/cna", '中央社 "鏡像"')
    assert "# Where the site is published" in (site / "_config.yml").read_text(encoding="utf-8")  # the comments stay
    (site / "_config.yml").write_text((site / "_config.yml").read_text(encoding="utf-8") + "# the operator's own line\n", encoding="utf-8")
    code, out, err = scraper("init", str(site), "--url", "https://other.example.org")
    assert code == 0 and f"kept {site}/_config.yml (exists; left alone)" in out.splitlines() and out.splitlines()[-1] == f"set url in {site}/_config.yml"
    assert err == ""
    text = (site / "_config.yml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)  # the url changed; the other settings and every comment stayed
    assert (data["url"], data["baseurl"], data["title"]) == ("https://other.example.org", "/cna", '中央社 "鏡像"')
    assert "# Where the site is published" in text and text.endswith("# the operator's own line\n")
    for argv, word in ((["--url", "news.example.org"], "--url"), (["--url", "https://x.org/news"], "--url"), (["--baseurl", "news/"], "--baseurl")):
        code, _, err = scraper("init", str(tmp_path / "other"), *argv)
        assert code == 2 and err.startswith(f"scraper: {word} ") and not (tmp_path / "other").exists()


def test_poll_warns_once_a_day_and_check_each_run_while_the_url_is_empty(server: Server, corpus: Path, tmp_path: Path) -> None:
    local = serve(server, corpus, ("001.html",))
    server.feed("/feed", rss(*good_items(local)))
    cfg = config(tmp_path, [("國際", server.url("/feed"))])
    assert scraper("init", str(tmp_path / "out"))[0] == 0
    (tmp_path / "out" / "_config.yml").unlink()
    assert scraper("init", str(tmp_path / "out"))[0] == 0  # the shipped _config.yml: url ""
    assert site_url(tmp_path / "out") == ""
    said = f"scraper: WARNING: {tmp_path / 'out' / '_config.yml'}: url is empty, so the site's feed.xml, sitemap.xml and robots.txt name no host: "
    hint = f"set it with `scraper init --url https://news.example.org {tmp_path / 'out'}` (or by hand)"
    code, _, err = scraper("poll", "--config", str(cfg))
    assert code == 0 and err.splitlines() == [said + hint]
    assert scraper("poll", "--config", str(cfg)) == (0, "", "")  # a cron poll every few minutes: said once a day, not each run
    with State(tmp_path / "out" / ".scraper" / "state.db") as state:  # a day later
        state.record_notice("site-url-empty", time.time() - 86401)
    code, _, err = scraper("poll", "--config", str(cfg))
    assert code == 0 and err.splitlines() == [said + hint]
    code, _, err = scraper("check", "--config", str(cfg), str(corpus / "cna" / "pages" / "001.html"))
    assert code == 0 and len(err.splitlines()) == 1 and "url is empty" in err
    (tmp_path / "out" / "_config.yml").write_text("url: https://news.example.org\n", encoding="utf-8")
    assert scraper("poll", "--config", str(cfg)) == (0, "", "")


def test_a_metrics_name_node_exporter_ignores_is_refused_before_the_run(tmp_path: Path) -> None:
    cfg = config(tmp_path, [("f", "http://127.0.0.1:9/feed")])
    code, _, err = scraper("poll", "--config", str(cfg), "--metrics", str(tmp_path / "scraper.txt"))
    assert code == 2 and err == f"scraper: --metrics {tmp_path / 'scraper.txt'}: the name must end in .prom (node exporter's textfile collector reads no other file)\n"
    assert not (tmp_path / "out" / ".scraper").exists()  # the run never started
