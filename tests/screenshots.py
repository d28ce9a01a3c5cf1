"""`make screenshots`: build the corpus site and photograph its index and one post.

    python -m tests.screenshots docs/screenshots

Writes index.png and post.png. The post is the newest CNA post without photos: the
screenshots are taken offline and the photos are hot-linked from CNA.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from scraper.config import load
from tests.conftest import CORPUS, ROOT
from tests.siteview import build_site, built_page, chromium, find_chromium, post_facts, serve


def pick_post(posts: list[Path], site: str) -> Path:
    ours = [p for p in posts if post_facts(p)["author"] == site]
    without_photos = [p for p in ours if "<img" not in p.read_text(encoding="utf-8")]
    return max(without_photos or ours, key=lambda p: post_facts(p)["date"])


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs/screenshots")
    jekyll, browser = shutil.which("jekyll"), find_chromium()
    posts = sorted((CORPUS / "posts").glob("*.md"))
    if not (jekyll and browser and posts):
        print(f"screenshots need jekyll, chromium and the corpus at {CORPUS}", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    chosen = pick_post(posts, load(ROOT / "feeds.yaml").site)
    with tempfile.TemporaryDirectory() as tmp:
        built = build_site(jekyll, posts, Path(tmp) / "site")
        page = built_page(built, chosen).relative_to(built).as_posix()
        with serve(built) as base:
            for name, path in (("index.png", ""), ("post.png", page)):
                chromium(browser, base + quote(path), screenshot=out / name)
                print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
