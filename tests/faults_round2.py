"""Fault scenarios of the second hardening round: the clock, the archive, signals, one-off
commands. Each returns an Outcome as those of tests/faults.py do, and joins its table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.faults import FAULTY, GOOD, Outcome, Scene
from tests.server import Reply, Server

Scenario = Callable[[Server, Path, Path], Outcome]
DAY = 86400.0


def clock_back(server: Server, corpus: Path, tmp: Path) -> Outcome:
    """A feed that failed twice backs off 600 s; then NTP moves the clock back 3 days.
    The feed is polled again 600 s after the new now, not 3 days and 600 s later."""
    from scraper.commands.poll import poll
    from scraper.config import load

    s = Scene(server, corpus, tmp)
    server.page(s.fault_path, s.page(FAULTY))
    good_feed = server.routes["/feed"]
    server.routes["/feed"] = Reply(500, b"down")
    s.extra["feed_backoff"] = 300
    config = load(s.cfg())
    start = 1_800_000_000.0
    for run in range(2):
        poll(config, clock=lambda run=run: start + run)
    server.routes["/feed"] = good_feed
    back = start - 3 * DAY
    waited = []
    for minutes in (0, 5, 11):
        before = server.hits["/feed"]
        poll(config, clock=lambda m=minutes: back + m * 60.0)
        waited.append(int(server.hits["/feed"] > before))
    observed = f"feed polled after the clock went back: {waited} (at 0, 5, 11 min); {len(s.ids())} posts"
    return s.outcome("clock moved back 3 days during a feed's 600 s backoff", "feed polled after the clock went back: [0, 0, 1] (at 0, 5, 11 min); 4 posts", observed, (*GOOD, FAULTY))


def archive_damaged(server: Server, corpus: Path, tmp: Path) -> Outcome:
    """A mirror with an archive: one page's record is damaged on disk (a bad sector, a bad
    copy) and the file's end mark is lost. The next run appends and cuts nothing; refresh
    --from-archive restores every article but the damaged one, and names that one."""
    from scraper.commands.refresh import refresh
    from scraper.config import load
    from scraper.store.archive import files
    from tests.test_archive import _corrupt_record

    s = Scene(server, corpus, tmp)
    server.page(s.fault_path, s.page(FAULTY))
    s.extra["archive"] = "warc"
    s.poll()
    folder = tmp / "warc"
    _corrupt_record(folder, server.url(s.paths["003.html"]))
    (warc,) = files(folder)
    (folder / f".{warc.name}.end").unlink()
    (folder / "index.cdxj").unlink(missing_ok=True)
    before = warc.stat().st_size
    server.feed("/feed", server.routes["/feed"].body + b" ")  # a changed feed: one more record
    code = s.poll()
    grew = warc.stat().st_size > before
    done = refresh(load(s.cfg()), ids=[s.urls[n].rsplit("/", 1)[1][:12] for n in (*GOOD, FAULTY)], from_archive=True, force=True)
    why = "not in the archive" if all("not in the archive" in f for f in done.failed) else done.failed
    restored = len(done.rewritten) + len(done.unchanged)
    observed = f"run 2 exit {code}, archive {'grew' if grew else 'shrank or stayed'}; refresh --from-archive: {restored} of 4, failed {len(done.failed)} ({why})"
    return s.outcome("archive record damaged and its end mark lost", "run 2 exit 0, archive grew; refresh --from-archive: 3 of 4, failed 1 (not in the archive)", observed, (*GOOD, FAULTY))


def archive_disk_full(server: Server, corpus: Path, tmp: Path) -> Outcome:
    """The archive's disk fills during a poll: the run ends (exit 4) and leaves no
    temporary file; once there is room the next run writes everything."""
    import subprocess

    from tests.faults import _mount, _run_cli

    s = Scene(server, corpus, tmp)
    server.page(s.fault_path, s.page(FAULTY))
    warc = tmp / "warc"
    why = _mount(warc, "64k")
    if why:
        return Outcome("archive disk full", "skipped", f"skipped: {why}", 0, 0, True)
    try:
        s.extra["archive"] = str(warc)
        code1, line1 = _run_cli(s)
        left = sorted(p.name for p in warc.iterdir() if "tmp" in p.name or p.stat().st_size == 0)
        subprocess.run(["mount", "-o", "remount,size=64m", str(warc)], check=True)
        code2, _ = _run_cli(s)
        observed = f"run 1 exit {code1} ({'disk full' if 'disk full' in line1 else line1}), temporary or empty files {len(left)}; room again: run 2 exit {code2}"
        return s.outcome("archive disk full", "run 1 exit 4 (disk full), temporary or empty files 0; room again: run 2 exit 0", observed, (*GOOD, FAULTY))
    finally:
        subprocess.run(["umount", "-l", str(warc)], check=False)


def _signal_mid_run(signum: int, phase: str) -> Scenario:
    """A real poll in a subprocess, signalled while a request of ``phase`` (feed, article)
    is held in flight; then a clean run."""

    def run(server: Server, corpus: Path, tmp: Path) -> Outcome:
        import os
        import signal
        import subprocess
        import sys
        import threading
        import time

        from tests.faults import ROOT
        from tests.helpers import POST_RE
        from tests.sitebuilder import posts_in

        s = Scene(server, corpus, tmp)
        server.page(s.fault_path, s.page(FAULTY))
        gate = threading.Event()
        held = s.fault_path if phase == "article" else "/feed"
        reply = server.routes[held]
        server.routes[held] = lambda req: (gate.wait(60), reply)[1]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "scraper", "poll", "--config", str(s.cfg())], env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        end = time.monotonic() + 60
        while not server.hits[held] and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signum)
        time.sleep(1.0)
        gate.set()
        _, err = proc.communicate(timeout=90)
        said = [line for line in err.splitlines() if line.strip()]
        partial = sum(1 for p in posts_in(tmp) if not POST_RE.match(p.read_text(encoding="utf-8")))
        server.routes[held] = reply
        code2 = s.poll()
        line = "one line" if len(said) == 1 and "stopped by" in said[0] else f"{len(said)} lines"
        observed = f"run 1 exit {proc.returncode} ({line}), partial posts {partial}; run 2 exit {code2}"
        name = signal.Signals(signum).name
        return s.outcome(f"{name} while a{'n' if phase == 'article' else ''} {phase} is in flight", f"run 1 exit {128 + signum} (one line), partial posts 0; run 2 exit 0", observed, (*GOOD, FAULTY))

    run.__name__ = f"signal_{signum}_{phase}"
    return run


def _cli(tmp: Path, *args: str) -> tuple[int, list[str]]:
    import os
    import subprocess
    import sys

    from tests.faults import ROOT

    proc = subprocess.run([sys.executable, "-m", "scraper", *args], capture_output=True, text=True, cwd=tmp, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return proc.returncode, [line for line in proc.stderr.splitlines() if line.strip()]


def backfill_list_fails(server: Server, corpus: Path, tmp: Path) -> Outcome:
    """A one-off ``backfill --urls`` whose list holds a 404 and an unreachable host."""
    s = Scene(server, corpus, tmp)
    server.page(s.fault_path, s.page(FAULTY))
    with Server() as gone:
        closed = gone.url("/news/aopl/202312080002.aspx")
    listed = [server.url(s.paths[n]) for n in (*GOOD, FAULTY)] + [server.url("/news/aopl/202312080001.aspx"), closed]
    (tmp / "urls.txt").write_text("\n".join(listed) + "\n", encoding="utf-8")
    code, lines = _cli(tmp, "backfill", "--config", str(s.cfg()), "--urls", "urls.txt")
    named = sum(1 for line in lines if ("HTTP 404" in line and "202312080001" in line) or ("network error" in line and closed in line))
    code2, lines2 = _cli(tmp, "backfill", "--config", str(s.cfg()), "--since", "2016-01-01", "--urls", "urls.txt")
    observed = f"exit {code}, {named} of 2 failures named in {len(lines)} lines; with --since: exit {code2} ({'refused' if 'not both' in ' '.join(lines2) else lines2})"
    return s.outcome("backfill --urls with a 404 and an unreachable URL; then with --since", "exit 1, 2 of 2 failures named in 2 lines; with --since: exit 2 (refused)", observed, (*GOOD, FAULTY))


def fetch_not_a_page(server: Server, corpus: Path, tmp: Path) -> Outcome:
    """``fetch`` of a PDF, of an image, and of another site's page with no --site."""
    s = Scene(server, corpus, tmp)
    server.routes["/doc.pdf"] = Reply(200, b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", {"Content-Type": "application/pdf"})
    server.routes["/photo"] = Reply(200, b"\xff\xd8\xff\xe0" + bytes(200), {"Content-Type": "image/jpeg"})
    server.page("/zh/article", (corpus / "other" / "pages" / "bbc-001.html").read_bytes())
    said = []
    for path in ("/doc.pdf", "/photo"):
        code, lines = _cli(tmp, "fetch", server.url(path), "--config", "none.yaml")
        said.append(f"exit {code}, {len(lines)} line ({'not an HTML page' if lines and 'not an HTML page' in lines[0] else lines})")
    code, lines = _cli(tmp, "fetch", server.url("/zh/article"), "--config", "none.yaml")
    named = "named by og:site_name" if len(lines) == 1 and "BBC News 中文" in lines[0] else lines
    observed = f"PDF: {said[0]}; JPEG: {said[1]}; another site, no --site: exit {code}, {named}"
    expected = "PDF: exit 1, 1 line (not an HTML page); JPEG: exit 1, 1 line (not an HTML page); another site, no --site: exit 0, named by og:site_name"
    return s.outcome("fetch of a PDF, an image, another site's page without --site", expected, observed, ())


SCENARIOS: list[Scenario] = [
    clock_back,
    archive_damaged,
    archive_disk_full,
    backfill_list_fails,
    fetch_not_a_page,
    _signal_mid_run(15, "feed"),
    _signal_mid_run(15, "article"),
    _signal_mid_run(2, "article"),
]
