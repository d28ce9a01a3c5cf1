"""`make bench`, second part: the archive and `check` at sizes where the old code was slow,
each beside the old algorithm (or a full read) measured in the same run.

1. Finding the end of an unmarked WARC file (its `.end` mark lost): the old scan handed
   the whole rest of the file to zlib for every record; the new one reads each record once.
2. The newest response of one URL in a large archive: a read of every record (what
   `refresh --from-archive` did) beside a lookup through `index.cdxj`.
3. `check`'s agreement of two 16k-character bodies: difflib's ratio (autojunk off)
   beside the trigram overlap.

Writes bench/results_hardening.json. Nothing is asserted: the figures are for people.
"""

from __future__ import annotations

import difflib
import json
import os
import random
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from scraper.commands.check import agreement
from scraper.models import Exchange
from scraper.store import archive

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("SCRAPER_CORPUS", ROOT.parent / "shared" / "corpus"))


def old_complete_end(data: bytes) -> int:
    """The scan before: each record decompressed from a copy of the rest of the file."""
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


def seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def build(folder: Path, megabytes: int, page: int, real: bytes | None = None) -> list[str]:
    """An archive of about ``megabytes`` MB on disk of pages of ``page`` bytes each: random
    bytes (incompressible), or ``real``'s bytes (a corpus page) with a varying head."""
    store = archive.Archive(folder, max_bytes=1 << 40, clock=lambda: 1_700_000_000.0)
    rng = random.Random(1)
    urls = []
    n = 0
    while store.bytes < megabytes * 1_000_000:
        url = f"https://www.cna.com.tw/news/aopl/2023112{n:05d}.aspx"
        body = rng.randbytes(page) if real is None else f"<!-- {n} -->".encode() + real
        store.record(Exchange(url, 1_700_000_000.0 + n, "HTTP/1.1", (("Accept", "*/*"),), 200, "OK", (("Content-Type", "text/html"),), body))
        urls.append(url)
        n += 1
    return urls


def recovery(megabytes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp), megabytes, 2_000)
        (warc,) = archive.files(Path(tmp))
        data = warc.read_bytes()
        return {
            "file_mb": round(len(data) / 1e6, 1),
            "records": data.count(b"\x1f\x8b\x08\x00"),
            "old_scan_s": round(seconds(lambda: old_complete_end(data)), 2),
            "new_scan_s": round(seconds(lambda: archive.complete_end(data)), 3),
        }


def lookup(megabytes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        urls = build(folder, megabytes, 0, real=(CORPUS / "cna" / "pages" / "004.html").read_bytes())
        wanted = urls[len(urls) // 2]

        def full_read() -> dict[str, bytes]:
            found = {}
            for path in archive.files(folder):
                with path.open("rb") as fh:
                    for rec in ArchiveIterator(fh):
                        if rec.rec_type == "response" and rec.rec_headers.get_header("WARC-Target-URI") == wanted:
                            found[wanted] = rec.content_stream().read()
            return found

        return {
            "archive_mb": round(sum(p.stat().st_size for p in archive.files(folder)) / 1e6, 1),
            "full_read_s": round(seconds(full_read), 2),
            "index_lookup_s": round(seconds(lambda: archive.latest_responses(folder, [wanted])), 3),
        }


def agreement_16k() -> dict[str, Any]:
    """A body of 16k characters (the paragraphs of the corpus posts and pages, end to end,
    each once) beside the same body with every third paragraph lost."""
    from scraper.articles.extractors import cna
    from tests.helpers import body, paragraphs

    a: list[str] = []
    for post in sorted((CORPUS / "posts").glob("*.md")):
        a += paragraphs(body(post.read_text(encoding="utf-8")))
    for name in ("001.html", "003.html", "004.html", "006.html"):
        a += cna.extract((CORPUS / "cna" / "pages" / name).read_bytes(), "https://www.cna.com.tw/news/aopl/202308230370.aspx").paragraphs
    a = list(dict.fromkeys(" ".join(p.split()) for p in a if p.strip()))
    while sum(map(len, a)) > 16_500:
        a.pop()
    b = [p for i, p in enumerate(a) if i % 3]
    x, y = "\n".join(a), "\n".join(b)
    ratio: list[float] = []
    return {
        "characters": len(x),
        "difflib_s": round(seconds(lambda: ratio.append(difflib.SequenceMatcher(None, x, y, autojunk=False).ratio())), 2),
        "trigram_s": round(seconds(lambda: agreement(a, b)), 4),
        "difflib_ratio": round(ratio[0], 3),
        "trigram_score": round(agreement(a, b), 3),
    }


def main() -> int:
    quick = "--quick" in sys.argv
    results = {
        "recovery": recovery(2 if quick else 8),
        "lookup": lookup(10 if quick else 80),
        "agreement": agreement_16k(),
    }
    (ROOT / "bench" / "results_hardening.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    r = results
    print("| figure | before | now |")
    print("| --- | --- | --- |")
    print(f"| end of an unmarked {r['recovery']['file_mb']} MB WARC ({r['recovery']['records']} records) | {r['recovery']['old_scan_s']} s | {r['recovery']['new_scan_s']} s |")
    print(f"| newest response of one URL, {r['lookup']['archive_mb']} MB archive | {r['lookup']['full_read_s']} s (every record read) | {r['lookup']['index_lookup_s']} s (index.cdxj) |")
    a = r["agreement"]
    print(f"| check agreement, {a['characters']} characters | {a['difflib_s']} s (ratio {a['difflib_ratio']}) | {a['trigram_s']} s (score {a['trigram_score']}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
