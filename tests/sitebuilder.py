"""Feeds and pages for the local server, derived from the real corpus inside the test."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.server import Server

FEED = "cna/feeds/rsscna_intworld_2023-12-04.xml"
PAGES = ["001.html", "003.html", "004.html", "006.html", "2016-truncated.html"]


def corpus_urls(corpus: Path) -> dict[str, str]:
    """page file -> canonical URL, read off expected.json's independent facts."""
    import json

    return {e["file"]: e["url"] for e in json.loads((corpus / "cna" / "expected.json").read_text(encoding="utf-8"))}


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def serve_pages(server: Server, corpus: Path) -> dict[str, str]:
    """Serve every corpus page at its own /news/<slug>/<id>.aspx path; returns file -> local URL."""
    out = {}
    for name, url in corpus_urls(corpus).items():
        server.page(path_of(url), (corpus / "cna" / "pages" / name).read_bytes())
        out[name] = server.url(path_of(url))
    return out


def real_feed(corpus: Path, links: list[str], *, extra_items: str = "") -> bytes:
    """The real intworld feed with its first len(links) item links replaced by ``links``;
    the other items keep their ids but point at the same host as links[0]."""
    xml = (corpus / FEED).read_bytes().decode("utf-8")
    host = links[0].split("/news/")[0] if links else "https://www.cna.com.tw"
    replaced = iter(links)

    def swap(m: re.Match[str]) -> str:
        new = next(replaced, None)
        if new is None:
            return "<link>" + host + "/news/" + m.group(1).split("/news/", 1)[1] + "</link>"
        return f"<link>{new}</link>"

    xml = re.sub(r"<link>(https://www\.cna\.com\.tw/news/[^<]+)</link>", swap, xml)
    if extra_items:
        xml = xml.replace("<item>", extra_items + "<item>", 1)
    return xml.encode("utf-8")


def item(title: str, link: str, pub: str = "Tue, 05 Dec 2023 00:10:00 +0800") -> str:
    return f"<item><title>{title}</title><link>{link}</link><guid isPermaLink='false'>x-{link}</guid><pubDate>{pub}</pubDate><description>d</description></item>\n"


def with_id(page: bytes, old_url: str, new_id: str, new_title: str) -> bytes:
    """A real page re-issued under another id and title (a 'new' article for the test)."""
    text = page.decode("utf-8")
    old_id = old_url.rsplit("/", 1)[1].split(".")[0]
    old_title_m = re.search(r"<h1><span>(.*?)</span></h1>", text)
    assert old_title_m
    text = text.replace(old_id, new_id).replace(old_title_m.group(1), new_title)
    return text.encode("utf-8")


LOOPBACK = ("127.0.0.0/8", "::1")


def config(tmp: Path, feeds: list[tuple[str, str]], **top: object) -> Path:
    # Test servers run on loopback addresses (127.0.0.2 is "another host"): the address
    # guard lets the tests reach them, as an operator's allow list would.
    http = {"delay": 0, "backoff": 0.01, "retries": 1, "timeout": 5, "deadline": 20, "max_per_host": 2, "allow_private": list(LOOPBACK)}
    http.update(top.pop("http", {}))  # type: ignore[arg-type]
    data = {
        "site": "(臺)中央社CNA",
        "output": "out",
        "feeds": [{"name": n, "url": u} for n, u in feeds],
        "http": http,
        "max_attempts": 3,
        "article_backoff": 0,
        **top,
    }
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    site = tmp / str(data["output"])  # a Jekyll site, as `scraper init` leaves one
    if not (site / "_config.yml").exists():
        site.mkdir(parents=True, exist_ok=True)
        (site / "_config.yml").write_text("title: test site\nurl: https://mirror.example.org\n", encoding="utf-8")
    return path


def posts_in(tmp: Path) -> list[Path]:
    """The posts Jekyll sees: a dot file (a write a kill cut short, ``.tmp-…``) is none, and
    the next run removes it (``temporaries_in``)."""
    return sorted(p for p in (tmp / "out" / "_posts").glob("*") if not p.name.startswith("."))


def temporaries_in(tmp: Path) -> list[Path]:
    return sorted((tmp / "out" / "_posts").glob(".tmp-*"))
