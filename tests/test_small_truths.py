"""The small truths: what the commands say is what they do. The progress display (with a fake
clock, no sleeping), one zone for the dates of the command line, `check`'s table and its
offline line, one-off `fetch`, `--dry-run` beside a truncated page, and `make run`."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scraper import config as config_module
from scraper.cli import main
from scraper.commands.backfill import _window, backfill
from scraper.commands.check import _cell, check_page, table
from scraper.commands.columns import width
from scraper.commands.progress import Display, Progress
from scraper.commands.refresh import choose
from scraper.config import load
from scraper.errors import ConfigError
from scraper.models import Job, RunReport
from scraper.store.state import State
from tests.server import Reply, Server
from tests.sitebuilder import config, corpus_urls, item, path_of, posts_in
from tests.test_totality import rss

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
NOWHERE = "http://127.0.0.1:9"

# ---------------------------------------------------------------- progress


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_without_a_terminal_at_most_one_line_per_30_seconds(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    display = Display(io.StringIO(), tty=False, clock=clock)
    p, r = Progress(10, "days", started=0.0), RunReport()
    caplog.set_level(logging.INFO, logger="scraper")
    said = []
    for step in (0, 10, 29, 30, 31, 45, 59.9, 61, 62, 200):
        clock.now = 1000.0 + step
        p.fetched += 1
        display(p, r)
        said.append(len(caplog.records))
    assert said == [0, 0, 0, 1, 1, 1, 1, 2, 2, 3]  # at 30, 61 and 200 s: never two within 30 s
    assert all(rec.getMessage().startswith("progress days 0/10") for rec in caplog.records)


def test_an_estimate_within_the_first_day_of_a_walk() -> None:
    p = Progress(3, "days", started=0.0)
    assert p.eta(60.0) is None  # nothing at all done yet
    p.partial = 0.1  # a tenth into the first day after a minute
    assert p.eta(60.0) == pytest.approx(60 / 0.1 * 2.9)


def test_the_id_walk_reports_how_far_into_the_first_day_it_is(server: Server, tmp_path: Path) -> None:
    """Every id answers 404: a day ends after max_misses, and before it ends the display
    already has a position (and so an estimate)."""
    cfg = load(config(tmp_path, [("f", server.url("/feed"))], backfill={"base": server.base}))
    seen: list[tuple[int, float, float | None]] = []
    backfill(cfg, since=date(2023, 8, 22), until=date(2023, 8, 23), max_misses=12, use_sitemaps=False, progress=lambda p, r: seen.append((p.done_units, p.partial, p.eta(p.started + 60))))
    first_day = [s for s in seen if s[0] == 0]
    assert any(eta is not None for _, _, eta in first_day)  # an estimate before the first day ends
    partials = [partial for _, partial, _ in first_day]
    assert partials == sorted(partials) and 0 < partials[-1] < 1
    assert seen[-1][0] == 2


def test_on_a_terminal_log_lines_go_above_the_bar_and_a_summary_stays(tmp_path: Path) -> None:
    stream = io.StringIO()
    display = Display(stream, tty=True)
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    root.handlers[:] = [logging.StreamHandler(stream)]
    root.setLevel(logging.INFO)  # whatever an earlier run in this process set
    report = RunReport()
    try:
        with display.session("backfill", report):
            p = Progress(4, "days", started=0.0)
            for day in range(4):
                p.done_units, p.fetched = day, day * 10
                display(p, report)
                logging.getLogger("scraper").warning("a line of day %d", day)
            p.done_units = 4
            report.written = 3
            display(p, report)
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
    text = stream.getvalue()
    pieces = [piece.strip() for line in text.split("\n") for piece in line.split("\r")]
    assert [x for x in pieces if x.startswith("a line of day")] == [f"a line of day {d}" for d in range(4)]  # whole lines, none glued to the bar
    assert text.count("\n") == 4 + 1 + 1 and "it/s" not in text  # 4 log lines, the one bar left on screen, the summary
    lines = text.rstrip("\n").split("\n")
    assert lines[-1].startswith("backfill: 3 posts written, 0 failed, 0 skipped, 30 fetched in ")  # the summary, under the bar
    assert lines[-2].rsplit("\r", 1)[-1].startswith("days 4/4 100%|")  # the finished bar stays on screen


# ---------------------------------------------------------------- one zone


def test_timezone_key_is_checked_at_load(tmp_path: Path) -> None:
    cfg = config(tmp_path, [("f", "https://example.org/feed")], timezone="Asia/Taipeh")
    with pytest.raises(ConfigError, match=r"feeds\.yaml:\d+: timezone: must be an IANA time zone name such as Asia/Taipei, not 'Asia/Taipeh'"):
        load(cfg)
    assert load(config(tmp_path, [("f", "https://example.org/feed")])).timezone == config_module.DEFAULT_ZONE == "Asia/Taipei"


def test_refresh_days_are_days_of_the_sites_zone(tmp_path: Path) -> None:
    """21:55 in Taipei on 23 August is 13:55 UTC the same day, and 06:55 in Los Angeles."""
    state = State(tmp_path / "state.db")
    job = Job(article_id="202308230370", url="https://www.cna.com.tw/news/aopl/202308230370.aspx", source="f", published=datetime(2023, 8, 23, 21, 55, tzinfo=config_module.ZoneInfo("Asia/Taipei")))
    late = Job(article_id="202308240001", url="https://www.cna.com.tw/news/aopl/202308240001.aspx", source="f", published=datetime(2023, 8, 23, 16, 30, tzinfo=UTC))  # 00:30 on the 24th in Taipei
    with state.transaction():
        state.remember([job, late], 0)
        for j in (job, late):
            state.record_written(j, url=j.url, path=f"{j.article_id}.md", sha=None, extractor="cna", now=0)
    day = date(2023, 8, 23)
    taipei = [r.job.article_id for r in choose(state, ids=[], since=day, until=day, fallback=False, zone=config_module.ZoneInfo("Asia/Taipei"))]
    utc = [r.job.article_id for r in choose(state, ids=[], since=day, until=day, fallback=False, zone=UTC)]
    assert taipei == ["202308230370"] and utc == ["202308230370", "202308240001"]
    assert [r.job.article_id for r in choose(state, ids=[], since=date(2023, 8, 24), until=None, fallback=False, zone=config_module.ZoneInfo("Asia/Taipei"))] == ["202308240001"]
    state.close()


def test_backfill_until_defaults_to_today_in_the_sites_zone() -> None:
    kiritimati, samoa = config_module.ZoneInfo("Pacific/Kiritimati"), config_module.ZoneInfo("Pacific/Pago_Pago")  # 25 hours apart
    assert (_window(date(2020, 1, 1), None, None, zone=kiritimati) - _window(date(2020, 1, 1), None, None, zone=samoa)).days == 1


def test_help_texts_say_which_zone(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("backfill", "refresh"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "--since DATE first day, YYYY-MM-DD, in the site's zone" in text or "--since DATE articles of this day on, YYYY-MM-DD, in the site's zone" in text
        assert "feeds.yaml timezone:, Asia/Taipei unless set" in text


# ---------------------------------------------------------------- check


def test_check_table_lines_up_beside_chinese_and_counts_one_photo(corpus: Path) -> None:
    urls = corpus_urls(corpus)
    tables = {name: table(check_page(name, (corpus / "cna" / "pages" / name).read_bytes(), url)) for name, url in urls.items()}
    text = "\n".join(line for lines in tables.values() for line in lines)
    assert "1 photos" not in text and "1 captions" not in text and ": 1 photo," not in text
    assert any(" 1 photo, " in line for line in text.splitlines())  # a page of the corpus has one photo
    for name, lines in tables.items():
        page = check_page(name, (corpus / "cna" / "pages" / name).read_bytes(), urls[name])
        header, *rows = lines[1:-1]  # the field rows: field, CNA extractor's cell, general extractor's cell
        general = [_cell(page.general, what) for what in ("title", "time", "paragraphs", "photos", "junk")]
        starts = {width(row[: len(row) - len(cell)]) for row, cell in zip(rows, general, strict=True)}
        assert starts == {width(header[: header.index("general extractor")])}, lines


def test_check_offline_says_one_line_as_poll_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, [(f"feed{i}", f"{NOWHERE}/f{i}") for i in range(12)])
    assert main(["check", "--config", str(cfg)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("check: no feed reachable: is the network down? (no answer from 12 of 12 feeds polled, e.g. feed0 (")


# ---------------------------------------------------------------- fetch, dry run, make


def test_one_off_fetch_does_not_promise_a_later_try(server: Server, corpus: Path) -> None:
    server.routes["/robots.txt"] = Reply(500, b"oops", {"Content-Type": "text/plain"})
    url = server.url("/news/aopl/202308230370.aspx")
    proc = subprocess.run([sys.executable, "-m", "scraper", "fetch", url, "--config", "/nonexistent.yaml"], capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 1 and len(proc.stderr.splitlines()) == 1 and "robots.txt" in proc.stderr
    assert "again later" not in proc.stderr and "tried again" not in proc.stderr


def test_dry_run_does_not_promise_a_truncated_page_that_the_run_skips(server: Server, corpus: Path, tmp_path: Path) -> None:
    url = corpus_urls(corpus)["2016-truncated.html"]
    server.page(path_of(url), (corpus / "cna" / "pages" / "2016-truncated.html").read_bytes())
    server.feed("/feed", rss(item("old", server.url(path_of(url)), "Sat, 19 Mar 2016 10:00:00 +0800")))
    cfg = config(tmp_path, [("f", server.url("/feed"))])
    proc = subprocess.run([sys.executable, "-m", "scraper", "poll", "--dry-run", "--config", str(cfg)], capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 0 and proc.stdout.split()[:2] == ["would", "fetch"] and "would write" not in proc.stdout
    assert main(["poll", "--config", str(cfg)]) == 0 and posts_in(tmp_path) == []  # the real run reads it and skips it


def test_make_run_installs_the_package_without_the_test_tools(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run = subprocess.run(["make", "-n", "run", f"VENV={venv}"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    test = subprocess.run(["make", "-n", "lint", f"VENV={venv}"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    installs = [line for line in run.stdout.splitlines() if "pip install" in line]
    assert run.returncode == 0 and installs and all("[test]" not in line and line.rstrip().endswith("-e .") for line in installs)
    assert any("'.[test]'" in line for line in test.stdout.splitlines())
