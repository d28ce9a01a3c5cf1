"""Is this photo stored already? One lookup at N stored photos: the photo index (one
primary-key read and one stat) beside the glob over every stored photo that the
mirror used before (the baseline, measured on the same files in the same run).

Run alone: ``.venv/bin/python -m bench.photolookup [N]`` (default 300,000 photos).
"""

from __future__ import annotations

import hashlib
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scraper.site.photoindex import PhotoIndex, url_key
from scraper.site.photos import Photos

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 16


def measure(n: int, lookups: int = 30) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        root = out / "assets" / "photos"
        index = PhotoIndex(out / ".scraper" / "state.db")
        rows = []
        started = time.perf_counter()
        for i in range(n):
            url = f"https://img.example/{i}.jpg"
            month = root / f"{2020 + i % 5}" / f"{i % 12 + 1:02d}"
            if i < 60:
                month.mkdir(parents=True, exist_ok=True)
            sha = hashlib.sha256(url.encode()).hexdigest()
            path = month / f"{sha[:24]}.jpg"
            path.write_bytes(JPEG)
            rows.append((url_key(url), url, str(path.relative_to(out)), "stored", 0, 0, None, 0.0))
        with index.conn:
            index.conn.executemany("INSERT INTO photos (url_key, url, path, status, attempts, next_attempt, reason, changed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        setup_s = time.perf_counter() - started
        photos = Photos(out, None, index)
        picks = random.Random(7).sample(range(n), lookups)
        when = datetime(2023, 1, 1, tzinfo=UTC)

        def glob_ms(i: int) -> float:
            key = hashlib.sha256(f"https://img.example/{i}.jpg".encode()).hexdigest()[:24]
            t = time.perf_counter()
            found = next(root.glob(f"*/*/{key}.*"), None)
            assert found is not None
            return (time.perf_counter() - t) * 1000

        def index_ms(i: int) -> float:
            t = time.perf_counter()
            local = photos.fetch(f"https://img.example/{i}.jpg", when)
            assert local.endswith(".jpg")
            return (time.perf_counter() - t) * 1000

        result = {
            "photos": n,
            "setup_s": setup_s,
            "glob_ms": statistics.median(glob_ms(i) for i in picks[:10]),
            "index_ms": statistics.median(index_ms(i) for i in picks),
        }
        index.close()
        return result


def render(r: dict[str, Any]) -> list[str]:
    return [
        f"7. Is a photo stored already? One lookup among {r['photos']:,} stored photos (median ms)",
        "",
        "| lookup | ms |",
        "| --- | --- |",
        f"| baseline: glob over every stored photo (the mirror before) | {r['glob_ms']:.1f} |",
        f"| the photo index (one indexed read, one stat) | {r['index_ms']:.3f} |",
    ]


if __name__ == "__main__":
    print("\n".join(render(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 300_000))))
