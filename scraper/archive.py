"""``archive:``: every page and feed a run fetches, kept as it came, in WARC files.

CNA truncates old articles for non-members, so the page fetched today may be the only
full copy there will be. The files are standard WARC 1.1, gzip per record, written with
warcio (the library pywb and the archiving tools build on), so `warcio index`, pywb and
any WARC reader open them. Each day gets its own file, ``scraper-YYYYMMDD.warc.gz``,
and a day that outgrows ``max_bytes`` goes on in ``scraper-YYYYMMDD-1.warc.gz``.

A record is built whole in memory, then appended with one write and an fsync, under a
lock that a poll and a backfill share. A run killed mid-write leaves at most a torn
last record; the next writer finds where the last whole record ends (a small
``.<file>.end`` beside it remembers the last known good end, so only the tail is read)
and cuts the file there. Readers see every whole record, always.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import BufferWARCWriter

from .errors import StoreError
from .errors import os_reason as reason
from .models import Exchange

log = logging.getLogger(__name__)
DEFAULT_MAX_BYTES = 1_000_000_000


def _record_bytes(ex: Exchange) -> bytes:
    """The request and response records of one exchange, each its own gzip member."""
    writer = BufferWARCWriter(gzip=True, warc_version="1.1")
    target = ex.url
    date = datetime.fromtimestamp(ex.when, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    path = ex.url.split("://", 1)[-1].partition("/")
    req_headers = StatusAndHeaders(f"GET /{path[2]} {ex.http_version}", list(ex.request_headers), is_http_request=True)
    request = writer.create_warc_record(target, "request", payload=io.BytesIO(b""), http_headers=req_headers, warc_headers_dict={"WARC-Date": date})
    # The body is kept as it came but de-chunked, so a chunked transfer is not announced.
    kept = [(k, v) for k, v in ex.response_headers if k.lower() != "transfer-encoding"]
    resp_headers = StatusAndHeaders(f"{ex.status} {ex.reason}", kept, protocol=ex.http_version)
    response = writer.create_warc_record(target, "response", payload=io.BytesIO(ex.body), http_headers=resp_headers, warc_headers_dict={"WARC-Date": date})
    writer.write_request_response_pair(request, response)
    data: bytes = writer.get_contents()
    return data


def complete_end(data: bytes) -> int:
    """How many leading bytes of ``data`` are whole gzip members (whole records)."""
    end = 0
    while end < len(data):
        z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            z.decompress(data[end:])
        except zlib.error:
            break
        if not z.eof:
            break
        end = len(data) - len(z.unused_data)
    return end


class Archive:
    """The WARC files of one folder; thread-safe, shared with other processes by a lock."""

    def __init__(self, folder: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.clock = clock
        self._lock = threading.Lock()
        self.records = 0
        self.bytes = 0

    def record(self, ex: Exchange) -> None:
        """Append one exchange; a failure to write is a StoreError (the disk is the user's to fix)."""
        data = _record_bytes(ex)
        with self._lock:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._append(data)
            except OSError as exc:
                raise StoreError(f"{self.folder}: cannot write the archive: {reason(exc)}") from exc
            self.records += 1
            self.bytes += len(data)

    def _current(self) -> Path:
        day = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y%m%d")
        n = 0
        while True:
            path = self.folder / (f"scraper-{day}.warc.gz" if n == 0 else f"scraper-{day}-{n}.warc.gz")
            if not path.exists() or path.stat().st_size < self.max_bytes:
                return path
            n += 1

    def _append(self, data: bytes) -> None:
        path = self._current()
        mark = path.parent / f".{path.name}.end"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            good = _read_mark(mark, size)
            if size > good:  # a torn record of a run that died, or records not yet marked
                tail = os.pread(fd, size - good, good)
                whole = good + complete_end(tail)
                if whole < size:
                    log.warning("archive %s: cut a torn last record (%d bytes) left by a stopped run", path, size - whole)
                    os.ftruncate(fd, whole)
                size = whole
            os.pwrite(fd, data, size)
            os.fsync(fd)
            _write_mark(mark, size + len(data))
        finally:
            os.close(fd)


def _read_mark(mark: Path, size: int) -> int:
    try:
        value = int(mark.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return 0
    return value if 0 <= value <= size else 0


def _write_mark(mark: Path, end: int) -> None:
    tmp = mark.parent / f"{mark.name}.{os.getpid()}.tmp"
    tmp.write_text(str(end), encoding="ascii")
    os.replace(tmp, mark)


def files(folder: Path) -> list[Path]:
    """The archive's WARC files, oldest first."""
    return sorted(folder.glob("scraper-*.warc.gz"), key=lambda p: (p.name.split("-")[1][:8], len(p.name), p.name))


def latest_responses(folder: Path, urls: Iterable[str]) -> dict[str, bytes]:
    """The newest archived 200 response body (decoded) of each of ``urls`` that has one."""
    wanted = set(urls)
    found: dict[str, bytes] = {}
    for path in files(folder):
        # A file torn by a crash ends in a partial record: what comes before it still counts.
        with path.open("rb") as fh, contextlib.suppress(Exception):
            for rec in ArchiveIterator(fh):
                uri = rec.rec_headers.get_header("WARC-Target-URI")
                if rec.rec_type == "response" and uri in wanted and rec.http_headers and rec.http_headers.get_statuscode() == "200":
                    found[uri] = rec.content_stream().read()
    return found
