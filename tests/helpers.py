"""Helpers shared by tests: feeds and polls to feed a run, reading posts back, building a Jekyll site."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml
from lxml import html as lhtml

ROOT = Path(__file__).resolve().parent.parent
# The post's shape from docs/FORMAT.md as a regular expression; every real post matches it.
POST_RE = re.compile(
    r"\A---\nlayout: post\ntitle: \"(?:[^\"\\\n]|\\.)*\"\ndate: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\nauthor: [^\n]*\nfrom: [^\n]*\n"
    r"tags: \[ [^\n]* \]\ncomments: True\ncategories: \[ [^\n]* \]\n---\n<!--\d+-->\n\[[^\n]*\]\([^\n]*\)\n------\n\n<div>\n[^\n]*\n</div>\n\Z",
    re.S,
)


def front_matter(text: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(text.split("---\n", 2)[1])
    return data


def body(text: str) -> str:
    return text.split("<div>\n", 1)[1].rsplit("\n</div>\n", 1)[0]


def paragraphs(body_html: str) -> list[str]:
    root = lhtml.fragment_fromstring(body_html, create_parent="div")
    return [" ".join(p.text_content().split()) for p in root.iter("p")]


def images(body_html: str) -> list[dict[str, str]]:
    root = lhtml.fragment_fromstring(body_html, create_parent="div")
    return [dict(img.attrib) for img in root.iter("img")]


def site_with(posts: dict[str, str], where: Path) -> Path:
    """A copy of the shipped output/ site with ``posts`` (name -> text) in _posts."""
    site = where / "site"
    shutil.copytree(ROOT / "output", site, ignore=shutil.ignore_patterns("_posts", "_site", ".scraper", ".jekyll-cache"))
    (site / "_posts").mkdir(exist_ok=True)
    for name, text in posts.items():
        (site / "_posts" / name).write_text(text, encoding="utf-8")
    return site


def jekyll_build(jekyll: str, site: Path) -> Path:
    proc = subprocess.run([jekyll, "build", "--quiet"], cwd=site, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"jekyll build failed:\n{proc.stdout}\n{proc.stderr}"
    return site / "_site"


def visible_text(page: str) -> str:
    return html.unescape(lhtml.fromstring(page).text_content())


def rss(*items: str) -> bytes:
    """An RSS 2.0 feed of ``items`` (``<item>`` elements), as a server sends it."""
    return ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>' + "".join(items) + "</channel></rss>").encode()


def poll(cfg: Path, *extra: str) -> int:
    """``scraper poll --config cfg`` in this process; its exit status."""
    from scraper.cli import main

    return main(["poll", "--config", str(cfg), *extra])
