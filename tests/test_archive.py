"""`archive:`: every page and feed a run fetches, in WARC files standard tools read."""

from __future__ import annotations

import gzip
import random
import subprocess
import sys
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from scraper.archive import Archive, complete_end, files, latest_responses
from scraper.cli import main
from scraper.models import Exchange
from tests.server import Reply, Server
from tests.sitebuilder import config, corpus_urls, item, path_of, posts_in


def rss(*items: str) -> bytes:
    return ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>' + "".join(items) + "</channel></rss>").encode()


def records(folder: Path) -> list[tuple[str, str]]:
    out = []
    for path in files(folder):
        with path.open("rb") as fh:
            out += [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI")) for r in ArchiveIterator(fh)]
    return out


def test_a_poll_keeps_every_page_and_feed_it_fetched(server: Server, corpus: Path, tmp_path: Path) -> None:
    urls = corpus_urls(corpus)
    served = {}
    for name in ("003.html", "004.html"):
        data = (corpus / "cna" / "pages" / name).read_bytes()
        served[server.url(path_of(urls[name]))] = data
    # one page gzip-encoded on the wire, one plain: the archive keeps each as it came
    first, second = list(served)
    server.routes[path_of(urls["003.html"])] = Reply(200, gzip.compress(served[first]), {"Content-Encoding": "gzip", "Content-Type": "text/html; charset=utf-8"})
    server.page(path_of(urls["004.html"]), served[second])
    feed = rss(item("a", first), item("b", second))
    server.feed("/feed", feed)
    cfg = config(tmp_path, [("f", server.url("/feed"))], archive="warc")
    assert main(["poll", "--config", str(cfg)]) == 0
    assert len(posts_in(tmp_path)) == 2
    kept = records(tmp_path / "warc")
    assert sorted(kept) == sorted([(t, u) for u in [*served, server.url("/feed")] for t in ("request", "response")])
    bodies = latest_responses(tmp_path / "warc", [*served, server.url("/feed")])
    assert bodies == {**served, server.url("/feed"): feed}
    (warc,) = files(tmp_path / "warc")
    index = subprocess.run([str(Path(sys.executable).parent / "warcio"), "index", str(warc)], capture_output=True, text=True)
    assert index.returncode == 0 and index.stdout.count('"warc-type": "response"') == 3


def test_dry_run_keeps_no_archive(server: Server, corpus: Path, tmp_path: Path) -> None:
    server.feed("/feed", rss(item("a", server.url("/news/aopl/202312050001.aspx"))))
    cfg = config(tmp_path, [("f", server.url("/feed"))])
    assert main(["poll", "--config", str(cfg), "--dry-run", "--archive", str(tmp_path / "warc")]) == 0
    assert not (tmp_path / "warc").exists()


def exchange(n: int, size: int = 100) -> Exchange:
    body = random.Random(n).randbytes(size)  # incompressible, so sizes are what they say
    return Exchange(f"https://x.example/{n}", 1_700_000_000.0, "HTTP/1.1", (("Accept", "*/*"),), 200, "OK", (("Content-Type", "text/html"),), body)


def test_a_torn_last_record_is_cut_and_every_whole_record_stays_readable(tmp_path: Path) -> None:
    archive = Archive(tmp_path, clock=lambda: 1_700_000_000.0)
    for n in range(3):
        archive.record(exchange(n))
    (warc,) = files(tmp_path)
    whole = warc.read_bytes()
    assert complete_end(whole) == len(whole)
    torn = gzip.compress(b"WARC/1.1\r\nWARC-Type: response\r\n" + b"x" * 500)[:-40]  # a run killed mid-write
    with warc.open("ab") as fh:
        fh.write(torn)
    assert complete_end(warc.read_bytes()) == len(whole)
    Archive(tmp_path, clock=lambda: 1_700_000_000.0).record(exchange(3))
    assert [u for t, u in records(tmp_path) if t == "response"] == [f"https://x.example/{n}" for n in range(4)]


def test_records_not_yet_marked_are_kept_not_cut(tmp_path: Path) -> None:
    """A run killed after its record reached the disk but before the end mark moved."""
    archive = Archive(tmp_path, clock=lambda: 1_700_000_000.0)
    archive.record(exchange(1))
    (warc,) = files(tmp_path)
    mark = tmp_path / f".{warc.name}.end"
    first_end = int(mark.read_text())
    archive.record(exchange(2))
    mark.write_text(str(first_end))
    archive.record(exchange(3))
    assert [u for t, u in records(tmp_path) if t == "response"] == [f"https://x.example/{n}" for n in (1, 2, 3)]


def test_a_day_that_outgrows_its_file_goes_on_in_the_next(tmp_path: Path) -> None:
    archive = Archive(tmp_path, max_bytes=2000, clock=lambda: 1_700_000_000.0)
    for n in range(6):
        archive.record(exchange(n, size=3000))
    names = [p.name for p in files(tmp_path)]
    assert names[0] == "scraper-20231114.warc.gz" and names[1] == "scraper-20231114-1.warc.gz" and len(names) == 6
    assert len([t for t, _ in records(tmp_path) if t == "response"]) == 6


def test_an_archive_that_cannot_be_written_ends_the_run(server: Server, corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "warc").write_text("a file, not a folder", encoding="utf-8")
    url = corpus_urls(corpus)["003.html"]
    server.page(path_of(url), (corpus / "cna" / "pages" / "003.html").read_bytes())
    server.feed("/feed", rss(item("a", server.url(path_of(url)))))
    cfg = config(tmp_path, [("f", server.url("/feed"))], archive="warc")
    proc = subprocess.run([sys.executable, "-m", "scraper", "poll", "--config", str(cfg)], capture_output=True, text=True)
    assert proc.returncode == 4 and "cannot write the archive" in proc.stderr and "Traceback" not in proc.stderr


def test_pywbs_indexer_reads_the_archive(tmp_path: Path) -> None:
    """cdxj-indexer is the indexer pywb uses to replay a collection."""
    archive = Archive(tmp_path / "warc", clock=lambda: 1_700_000_000.0)
    for n in range(3):
        archive.record(exchange(n))
    (warc,) = files(tmp_path / "warc")
    proc = subprocess.run([str(Path(sys.executable).parent / "cdxj-indexer"), str(warc)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 3 and all(line.startswith("example,x)/") for line in lines)
