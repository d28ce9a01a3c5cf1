"""`photos: mirror`: photos stored under the site, sniffed, capped, shared, and never
holding a post back."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest

from scraper.commands.poll import poll
from scraper.config import load
from scraper.site.photos import baseurl, sniff
from tests.helpers import POST_RE, body, images, rss
from tests.server import Reply, Server
from tests.sitebuilder import config, corpus_urls, item, path_of, posts_in


def png(seed: int) -> bytes:
    """A small real PNG, different for each seed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\0" + bytes([seed % 256, (seed >> 8) % 256, 160]) * 4 for _ in range(4))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def serve_with_local_photos(server: Server, corpus: Path, name: str, *, photo: Reply | None = None) -> tuple[str, list[str]]:
    """A corpus page whose CNA image host is the local server; returns its URL and the photo paths."""
    url = corpus_urls(corpus)[name]
    page = (corpus / "cna" / "pages" / name).read_bytes().replace(b"https://imgcdn.cna.com.tw/", server.url("/img/").encode())
    server.page(path_of(url), page)
    # each photo its own bytes (photos are stored by content: the same bytes are one file)
    server.route_prefix = ("/img/", photo or (lambda req: Reply(200, png(zlib.crc32(req.path.encode())), {"Content-Type": "image/jpeg"})))
    return server.url(path_of(url)), []


def run(tmp: Path, server: Server, links: list[str], **top: object) -> tuple[object, list[str]]:
    server.feed("/feed", rss(*(item(f"t{i}", link) for i, link in enumerate(links))))
    cfg = load(config(tmp, [("f", server.url("/feed"))], photos="mirror", **top))
    report = poll(cfg)
    return report, [p.read_text(encoding="utf-8") for p in posts_in(tmp)]


def test_photos_are_stored_under_the_site_and_the_post_points_there(server: Server, corpus: Path, tmp_path: Path) -> None:
    link, _ = serve_with_local_photos(server, corpus, "004.html")
    report, texts = run(tmp_path, server, [link])
    (text,) = texts
    assert POST_RE.match(text)
    srcs = [img["src"] for img in images(body(text))]
    assert srcs and all(re.fullmatch(r"/assets/photos/2023/12/[0-9a-f]{24}\.png", s) for s in srcs), srcs
    for src in srcs:
        stored = tmp_path / "out" / src.lstrip("/")
        assert sniff(stored.read_bytes()) == "png"
    photo_hits = sum(n for p, n in server.hits.items() if p.startswith("/img/"))
    assert report.photos_mirrored == len(srcs) == photo_hits  # type: ignore[attr-defined]
    assert "imgcdn.cna.com.tw" not in body(text)  # no photo left remote: nothing leaves the machine


def test_the_site_baseurl_is_honoured(server: Server, corpus: Path, tmp_path: Path) -> None:
    link, _ = serve_with_local_photos(server, corpus, "004.html")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "_config.yml").write_text('title: x\nbaseurl: "/mirror" # below the host\n', encoding="utf-8")
    assert baseurl(tmp_path / "out") == "/mirror"
    _, (text,) = run(tmp_path, server, [link])
    assert all(img["src"].startswith("/mirror/assets/photos/") for img in images(body(text)))


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (Reply(200, b"<html><body>not a photo</body></html>", {"Content-Type": "image/jpeg"}), "not an image"),
        (Reply(200, b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", {"Content-Type": "image/svg+xml"}), "not an image"),
        (Reply(200, b"\xff\xd8\xff" + b"\0" * 10_500_000, {"Content-Type": "image/jpeg"}), "byte cap"),
        (Reply(500, b"down"), "HTTP 500"),
    ],
)
def test_a_photo_that_fails_keeps_its_remote_url_and_the_post_is_written(server: Server, corpus: Path, tmp_path: Path, reply: Reply, why: str, caplog: pytest.LogCaptureFixture) -> None:
    link, _ = serve_with_local_photos(server, corpus, "004.html", photo=reply)
    report, texts = run(tmp_path, server, [link])
    (text,) = texts
    srcs = [img["src"] for img in images(body(text))]
    assert srcs and all(s.startswith(server.url("/img/")) for s in srcs)
    assert report.photos_failed == len(srcs) and report.photos_mirrored == 0  # type: ignore[attr-defined]
    assert report.ok  # type: ignore[attr-defined]
    assert why in caplog.text
    assert not list((tmp_path / "out" / "assets").rglob("*.*")) if (tmp_path / "out" / "assets").exists() else True


def test_a_host_that_does_not_answer_costs_only_the_photo(server: Server, corpus: Path, tmp_path: Path) -> None:
    url = corpus_urls(corpus)["004.html"]
    page = (corpus / "cna" / "pages" / "004.html").read_bytes().replace(b"https://imgcdn.cna.com.tw/", b"http://127.0.0.1:9/")
    server.page(path_of(url), page)
    report, (text,) = run(tmp_path, server, [server.url(path_of(url))])
    assert report.photos_failed >= 1 and POST_RE.match(text)  # type: ignore[attr-defined]


def test_the_same_photo_in_two_posts_is_stored_once(server: Server, corpus: Path, tmp_path: Path) -> None:
    same = server.url("/img/same.png")
    links = []
    for name in ("004.html", "006.html"):
        url = corpus_urls(corpus)[name]
        page = re.sub(rb"https://imgcdn\.cna\.com\.tw/[^\"' ]+", same.encode(), (corpus / "cna" / "pages" / name).read_bytes())
        server.page(path_of(url), page)
        links.append(server.url(path_of(url)))
    server.routes["/img/same.png"] = Reply(200, png(7), {"Content-Type": "image/png"})
    _report, texts = run(tmp_path, server, links)
    srcs = [{img["src"] for img in images(body(t))} for t in texts]
    assert len(texts) == 2 and all(len(s) == 1 for s in srcs) and srcs[0] == srcs[1], srcs
    assert len(list((tmp_path / "out" / "assets" / "photos").rglob("*.png"))) == 1


def test_only_real_image_bytes_are_recognised() -> None:
    assert sniff(png(1)) == "png"
    assert sniff(b"\xff\xd8\xff\xe0" + b"\0" * 10) == "jpg"
    assert sniff(b"GIF89a...") == "gif"
    assert sniff(b"RIFF\0\0\0\0WEBPVP8 ") == "webp"
    assert sniff(b"\0\0\0\x1cftypavif") == "avif"
    assert sniff(b"<svg/>") is None and sniff(b"") is None and sniff(b"<html>") is None


def test_photos_setting_is_checked(tmp_path: Path) -> None:
    from scraper.errors import ConfigError

    cfg = config(tmp_path, [("f", "https://x.example/rss")], photos="copy")
    with pytest.raises(ConfigError, match=r"photos: must be one of link, mirror, not 'copy'"):
        load(cfg)
