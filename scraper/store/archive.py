"""``archive:``: every page and feed a run fetches, kept as it came, in WARC files.

CNA truncates old articles for non-members, so the page fetched today may be the only
full copy there will be. The files are standard WARC 1.1, gzip per record, written with
warcio (the library pywb and the archiving tools build on), so `warcio index`, pywb and
any WARC reader open them. Each day gets its own file, ``scraper-YYYYMMDD.warc.gz``,
and a day that outgrows ``max_bytes`` goes on in ``scraper-YYYYMMDD-1.warc.gz``.

A record is built whole in memory, then appended with one write and an fsync, under a
lock that a poll and a backfill share, by the run's own thread, never on a request's
deadline. Each record gets a line in ``index.cdxj`` beside the files (CDXJ lines as
pywb's indexer writes them: SURT key, time, and a JSON block with the file, offset and
length, in the order written), so a reader seeks to the records it wants instead of
reading every file.

A record "verifies" when its gzip member decompresses whole, CRC and length checked,
into a WARC record. Reading resynchronises at the next record that verifies, so one
corrupt record hides nothing after it. A run killed mid-write leaves a torn last record;
the next writer cuts the bytes after the last record that verifies, and nothing else.
A small ``.<file>.end`` beside each file remembers the last known good end, so only
the tail is scanned; without it the scan is one linear pass over the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import logging
import mmap
import os
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import surt
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import BufferWARCWriter

from .. import atomic
from ..errors import StoreError
from ..errors import os_reason as reason
from ..models import Exchange
from ..net.codings import Decoder

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


MAGIC = b"\x1f\x8b\x08"  # a gzip member's first bytes (deflate)
FIRST_CHUNK, CHUNK = 1024, 64 * 1024
INDEX = "index.cdxj"
BODY_CAP = 64 * 1024 * 1024  # an archived body decoded for refresh: the HTTP cap is far lower


def _member_end(buf: bytes | mmap.mmap, pos: int, end: int) -> int | None:
    """Where the gzip member at ``pos`` ends, if it is whole (CRC checked) and holds a WARC
    record; else None. Reads in growing chunks, so the cost is under twice the member's
    own length (plus the first chunk): the scan of a file is linear."""
    z = zlib.decompressobj(16 + zlib.MAX_WBITS)
    head = b""
    p, step = pos, FIRST_CHUNK
    while p < end:
        chunk = buf[p : min(p + step, end)]
        step = min(2 * step, CHUNK)  # growing: a small record costs little more than itself
        try:
            out = z.decompress(chunk)
        except zlib.error:
            return None
        if len(head) < 5:
            head += out[: 5 - len(head)]
            if not b"WARC/".startswith(head):
                return None
        if z.eof:
            return p + len(chunk) - len(z.unused_data) if head == b"WARC/" else None
        p += len(chunk)
    return None


def members(buf: bytes | mmap.mmap, start: int = 0) -> Iterator[tuple[int, int]]:
    """(offset, end) of every record in ``buf`` from ``start`` that verifies. Past a record
    that does not, the search goes on at the next gzip header: one pass, linear."""
    pos, size = start, len(buf)
    while pos < size:
        end = _member_end(buf, pos, size)
        if end is not None:
            yield pos, end
            pos = end
            continue
        found = buf.find(MAGIC, pos + 1)
        if found < 0:
            return
        pos = found


def complete_end(data: bytes | mmap.mmap, start: int = 0) -> int:
    """The end of the last record in ``data`` (from ``start``) that verifies: bytes past it
    are a torn record and may be cut; nothing before it ever is."""
    return max((end for _, end in members(data, start)), default=start)


def _index_lines(buf: bytes | mmap.mmap, start: int, filename: str, base: int = 0) -> list[str]:
    """CDXJ lines for the records of ``buf`` from ``start``, at ``base`` + their offset in ``buf``."""
    lines = []
    for offset, end in members(buf, start):
        with contextlib.suppress(Exception):  # a record warcio cannot read is left out of the index
            rec = next(iter(ArchiveIterator(io.BytesIO(buf[offset:end]))))
            uri = rec.rec_headers.get_header("WARC-Target-URI") or ""
            stamp = re.sub(r"\D", "", rec.rec_headers.get_header("WARC-Date") or "")[:14]
            status = rec.http_headers.get_statuscode() if rec.http_headers and rec.rec_type == "response" else "-"
            block = {"url": uri, "status": status, "type": rec.rec_type, "offset": str(base + offset), "length": str(end - offset), "filename": filename}
            lines.append(f"{surt.surt(uri)} {stamp} {json.dumps(block, ensure_ascii=False, sort_keys=True)}\n")
    return lines


class Archive:
    """The WARC files of one folder; thread-safe, shared with other processes by a lock."""

    def __init__(self, folder: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.clock = clock
        self._lock = threading.Lock()
        self.records = 0
        self.bytes = 0
        self._indexed: dict[str, int] = {}  # how far each file is known to be in the index

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
                with mmap.mmap(fd, size, prot=mmap.PROT_READ) as view:
                    whole = complete_end(view, good)
                if whole < size:
                    log.warning("archive %s: cut %d bytes after its last whole record, left by a stopped run", path, size - whole)
                    os.ftruncate(fd, whole)
                size = whole
            if self._indexed.get(path.name) != size:  # the index must cover the file before this record
                covered = max((e.offset + e.length for e in _read_index(self.folder) if e.filename == path.name), default=0)
                _add_to_index(self.folder, _unindexed(path, covered, size))
            os.pwrite(fd, data, size)
            os.fsync(fd)
            atomic.write(mark, str(size + len(data)).encode("ascii"))
            _add_to_index(self.folder, _index_lines(data, 0, path.name, base=size))
            self._indexed[path.name] = size + len(data)
        finally:
            os.close(fd)


def _unindexed(path: Path, start: int, size: int) -> list[str]:
    """Index lines for the records of ``path`` between ``start`` and ``size``."""
    if size <= start:
        return []
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), size, prot=mmap.PROT_READ) as view:
        return _index_lines(view, start, path.name)


def _add_to_index(folder: Path, lines: list[str]) -> None:
    """Append lines to the index with one write (O_APPEND: writers of other files interleave
    whole lines). A lost index line is found again by the next reader (``index``)."""
    if not lines:
        return
    fd = os.open(folder / INDEX, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"  # a line cut by a crash or a full disk
        os.write(fd, ("\n" if torn else "").encode() + "".join(lines).encode("utf-8"))
    finally:
        os.close(fd)


def _read_mark(mark: Path, size: int) -> int:
    try:
        value = int(mark.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return 0
    return value if 0 <= value <= size else 0


def files(folder: Path) -> list[Path]:
    """The archive's WARC files, oldest first."""
    return sorted(folder.glob("scraper-*.warc.gz"), key=lambda p: (p.name.split("-")[1][:8], len(p.name), p.name))


@dataclass(frozen=True)
class Entry:
    """One record as the index gives it."""

    url: str
    status: str
    type: str
    filename: str
    offset: int
    length: int


def _entry(line: str) -> Entry | None:
    try:
        b = json.loads(line.split(" ", 2)[2])
        return Entry(b["url"], b["status"], b["type"], b["filename"], int(b["offset"]), int(b["length"]))
    except (ValueError, KeyError, IndexError, TypeError):
        return None  # a line torn by a crash, or not ours


def _read_index(folder: Path) -> list[Entry]:
    with contextlib.suppress(FileNotFoundError), (folder / INDEX).open(encoding="utf-8", errors="replace") as fh:
        return [e for line in fh if (e := _entry(line)) is not None]
    return []


def index(folder: Path) -> list[Entry]:
    """Every record of the archive, from ``index.cdxj``; the part of a file the index does not
    cover yet (an archive older than the index, a run killed between its two writes) is
    read once and added to it."""
    entries = _read_index(folder)
    spans: dict[str, list[tuple[int, int]]] = {}
    for known in entries:
        spans.setdefault(known.filename, []).append((known.offset, known.offset + known.length))
    for path in files(folder):
        lines = []
        for start, end in _gaps(spans.get(path.name, []), path.stat().st_size):  # past the end, or a line lost before a later one
            lines += [line for line in _unindexed(path, start, end) if (e := _entry(line)) is not None and e.offset < end]
        with contextlib.suppress(OSError):  # a read-only archive is still read, just not indexed
            _add_to_index(folder, lines)
        entries += [entry for line in lines if (entry := _entry(line)) is not None]
    return entries


def _gaps(spans: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """The stretches of a file of ``size`` bytes that no index line covers."""
    gaps, at = [], 0
    for start, end in sorted(spans):
        if start > at:
            gaps.append((at, start))
        at = max(at, end)
    return [*gaps, (at, size)] if size > at else gaps


def _body(path: Path, entry: Entry) -> bytes | None:
    """The decoded body of the response record ``entry`` points at (gzip, x-gzip, deflate:
    the Content-Encoding it came with), or None when the record no longer verifies."""
    with path.open("rb") as fh:
        fh.seek(entry.offset)
        data = fh.read(entry.length)
    if _member_end(data, 0, len(data)) != len(data):
        return None
    rec = next(iter(ArchiveIterator(io.BytesIO(data))))
    raw = rec.raw_stream.read()
    encoding = rec.http_headers.get_header("Content-Encoding") if rec.http_headers else None
    decoder = Decoder(encoding, BODY_CAP, entry.url)
    return decoder.feed(raw) + decoder.flush()


def latest_responses(folder: Path, urls: Iterable[str]) -> dict[str, bytes]:
    """The newest archived 200 response body (decoded) of each of ``urls`` that has one.
    Read through the index: only those records are read, wherever they lie; a record
    damaged since it was written gives way to the one before it."""
    wanted = set(urls)
    order = {p.name: i for i, p in enumerate(files(folder))}
    candidates = sorted(
        (e for e in index(folder) if e.url in wanted and e.type == "response" and e.status == "200" and e.filename in order),
        key=lambda e: (order[e.filename], e.offset),
        reverse=True,
    )
    found: dict[str, bytes] = {}
    for entry in candidates:
        if entry.url in found:
            continue
        try:
            body = _body(folder / entry.filename, entry)
        except Exception as exc:  # warcio's many errors on a record it cannot parse
            body = None
            log.debug("archive %s: record at %d: %s", entry.filename, entry.offset, exc)
        if body is None:
            log.warning("archive %s: the record of %s at %d is damaged; an older one is used if there is one", entry.filename, entry.url, entry.offset)
            continue
        found[entry.url] = body
    return found
