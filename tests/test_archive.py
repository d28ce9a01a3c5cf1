"""`archive:`: every page and feed a run fetches, in WARC files standard tools read."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
import threading
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

import scraper.store.archive as archive_module
from scraper.cli import main
from scraper.config import HttpConfig
from scraper.errors import StoreError
from scraper.models import Exchange
from scraper.net.http import Http
from scraper.store.archive import Archive, complete_end, files, latest_responses
from tests.faults import _mount
from tests.helpers import rss
from tests.server import Reply, Server
from tests.sitebuilder import config, corpus_urls, item, path_of, posts_in


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


# --- damage: a corrupt record hides nothing, a record that verifies is never cut


def _responses(folder: Path) -> list[str]:
    return sorted(latest_responses(folder, [f"https://x.example/{n}" for n in range(20)]))


def _corrupt_record(folder: Path, url: str) -> None:
    """Flip bytes in the middle of the response record of ``url`` (a disk error, a bad copy)."""
    for warc in files(folder):
        with warc.open("rb") as fh:
            it = ArchiveIterator(fh)
            places = [(it.get_record_offset(), it.get_record_length()) for r in it if r.rec_type == "response" and r.rec_headers.get_header("WARC-Target-URI") == url]
        for offset, length in places:
            data = bytearray(warc.read_bytes())
            for i in range(offset + length // 2, offset + length // 2 + 8):
                data[i] ^= 0xFF
            warc.write_bytes(bytes(data))


def test_a_corrupt_record_in_the_middle_hides_none_after_it(tmp_path: Path) -> None:
    archive = Archive(tmp_path, clock=lambda: 1_700_000_000.0)
    for n in range(10):
        archive.record(exchange(n))
    _corrupt_record(tmp_path, "https://x.example/3")
    want = sorted(f"https://x.example/{n}" for n in range(10) if n != 3)
    assert _responses(tmp_path) == want  # through the index
    (tmp_path / "index.cdxj").unlink(missing_ok=True)
    assert _responses(tmp_path) == want  # and by a scan that resynchronises at the next record


def test_a_missing_end_mark_never_cuts_a_record_that_verifies(tmp_path: Path) -> None:
    archive = Archive(tmp_path, clock=lambda: 1_700_000_000.0)
    for n in range(10):
        archive.record(exchange(n))
    (warc,) = files(tmp_path)
    _corrupt_record(tmp_path, "https://x.example/3")
    (tmp_path / f".{warc.name}.end").unlink()
    (tmp_path / "index.cdxj").unlink(missing_ok=True)
    size = warc.stat().st_size
    Archive(tmp_path, clock=lambda: 1_700_000_000.0).record(exchange(10))
    assert warc.stat().st_size > size  # nothing cut: every record after the corrupt one verifies
    assert _responses(tmp_path) == sorted(f"https://x.example/{n}" for n in range(11) if n != 3)


def test_finding_the_end_again_reads_each_byte_a_bounded_number_of_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan of an unmarked file is linear: the bytes handed to zlib are under twice
    each record's length plus a first chunk (the old scan handed the whole rest of the
    file to zlib for each record: quadratic, 14.7 s on 8 MB)."""
    archive = Archive(tmp_path, clock=lambda: 1_700_000_000.0)
    for n in range(200):
        archive.record(exchange(n, size=2000))
    (warc,) = files(tmp_path)
    (tmp_path / f".{warc.name}.end").unlink()
    size = warc.stat().st_size
    fed = [0]
    real = zlib.decompressobj

    class Counting:
        def __init__(self, wbits: int) -> None:
            self.z = real(wbits)

        def decompress(self, data: bytes) -> bytes:
            fed[0] += len(data)
            return self.z.decompress(data)

        def __getattr__(self, name: str) -> object:
            return getattr(self.z, name)

    monkeypatch.setattr(archive_module.zlib, "decompressobj", Counting)
    assert complete_end(warc.read_bytes()) == size
    assert size <= fed[0] <= 2 * size + 400 * 1024  # 400 records, a first chunk of 1 KB each


def test_archive_writes_run_on_the_callers_thread_not_the_requests_deadline(server: Server) -> None:
    """The archive write (and a slow first recovery of a big unmarked file) must not count
    against the request's deadline: it runs after the response, on the caller's thread."""
    server.page("/p", b"<html><body>x</body></html>")
    threads: list[str] = []
    with Http(HttpConfig(delay=0, retries=0, deadline=5, allow_private=("127.0.0.0/8",))) as http:
        http.recorder = lambda ex: threads.append(threading.current_thread().name)
        http.get(server.url("/p"))
    assert threads == [threading.current_thread().name]


def test_a_page_sent_as_x_gzip_is_read_back_decoded(server: Server, corpus: Path, tmp_path: Path) -> None:
    url = corpus_urls(corpus)["004.html"]
    page = (corpus / "cna" / "pages" / "004.html").read_bytes()
    server.routes[path_of(url)] = Reply(200, gzip.compress(page), {"Content-Encoding": "x-gzip", "Content-Type": "text/html; charset=utf-8"})
    server.feed("/feed", rss(item("a", server.url(path_of(url)))))
    cfg = config(tmp_path, [("f", server.url("/feed"))], archive="warc")
    assert main(["poll", "--config", str(cfg)]) == 0 and len(posts_in(tmp_path)) == 1
    assert latest_responses(tmp_path / "warc", [server.url(path_of(url))]) == {server.url(path_of(url)): page}


def test_the_index_gives_each_records_place_as_pywbs_indexer_does(tmp_path: Path) -> None:
    """index.cdxj is kept as records are written; a reader seeks to a record through it."""
    archive = Archive(tmp_path, max_bytes=5000, clock=lambda: 1_700_000_000.0)
    for n in range(6):
        archive.record(exchange(n, size=3000))
    ours = {(e.filename, e.offset, e.length) for e in archive_module.index(tmp_path)}
    theirs = set()
    for warc in files(tmp_path):
        proc = subprocess.run([str(Path(sys.executable).parent / "cdxj-indexer"), str(warc)], capture_output=True, text=True)
        for line in proc.stdout.splitlines():
            block = json.loads(line.split(" ", 2)[2])
            theirs.add((warc.name, int(block["offset"]), int(block["length"])))
    assert theirs and theirs <= ours  # every response cdxj-indexer finds, at the same place
    lines = (tmp_path / "index.cdxj").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 12 and all(line.startswith("example,x)/") for line in lines)


def test_a_full_disk_leaves_no_temporary_file(tmp_path: Path) -> None:
    where = tmp_path / "warc"
    why = _mount(where, "64k")
    if why:
        pytest.skip(f"needs root to mount a small tmpfs: {why}")
    try:
        archive = Archive(where, clock=lambda: 1_700_000_000.0)
        with pytest.raises(StoreError, match="cannot write the archive"):
            for n in range(100):
                archive.record(exchange(n, size=3000))
        left = sorted(p.name for p in where.iterdir())
        assert [name for name in left if "tmp" in name] == []
        assert _responses(where)  # what was written before the disk filled is still read
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.mark.parametrize("lost", ["torn last line", "a line in the middle"])
def test_a_lost_index_line_is_found_again_and_none_after_it_is_lost(tmp_path: Path, lost: str) -> None:
    """A crash or a full disk tears the index's last line; the next append starts a line of
    its own, and every record the index lacks (wherever it lies) is read and indexed again."""
    archive = Archive(tmp_path, clock=lambda: 1_700_000_000.0)
    for n in range(3):
        archive.record(exchange(n))
    whole = {(e.filename, e.offset, e.length) for e in archive_module.index(tmp_path)}
    path = tmp_path / "index.cdxj"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if lost == "torn last line":
        path.write_text("".join(lines)[:-3], encoding="utf-8")
    else:
        path.write_text("".join(lines[:2] + lines[3:]), encoding="utf-8")
    later = Archive(tmp_path, clock=lambda: 1_700_000_000.0)
    later.record(exchange(3))
    again = {(e.filename, e.offset, e.length) for e in archive_module.index(tmp_path)}
    assert whole < again and len(again) == len(whole) + 2  # the new exchange's request and response
    bad = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.endswith("}")]
    assert len(bad) == (1 if lost == "torn last line" else 0)  # the torn line stays alone; the new ones start lines of their own
