"""The photo mirror's store and schedule: one file per content, caps per article, a host
that failed is not asked again in the run, an article's photos side by side, failed
photos tried again on later runs with their posts updated, and no directory scan to
find a stored photo. All on loopback servers."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import yaml

from scraper.commands.poll import poll
from scraper.config import load
from scraper.errors import ConfigError
from tests.helpers import body, images
from tests.server import Reply, Request, Server
from tests.sitebuilder import config, posts_in
from tests.test_photos import png


def full_text(server: Server, items: list[list[str]]) -> str:
    """A full-text feed (content: feed) whose item ``i`` shows the photos ``items[i]``."""
    parts = []
    for i, srcs in enumerate(items):
        html = f"<p>第{i}篇。{'文字' * 60}</p>" + "".join(f"<p><img src='{src}' alt='相片'></p>" for src in srcs)
        parts.append(
            f"<item><title>第{i}篇</title><link>{server.url(f'/story/{i}')}</link><pubDate>Tue, 05 Dec 2023 00:1{i % 10}:00 +0800</pubDate><content:encoded><![CDATA[{html}]]></content:encoded></item>"
        )
    feed = '<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title>' + "".join(parts) + "</channel></rss>"
    server.routes["/full"] = Reply(200, feed.encode(), {"Content-Type": "application/rss+xml"})
    return server.url("/full")


def site(tmp: Path, feed: str, **top: object) -> Path:
    path = config(tmp, [], photos="mirror", **top)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["feeds"] = [{"name": "full", "url": feed, "site": "某站", "content": "feed"}]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def stored(tmp: Path) -> list[Path]:
    root = tmp / "out" / "assets" / "photos"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def photo_hits(server: Server, prefix: str = "/img/") -> int:
    return sum(n for p, n in server.hits.items() if p.startswith(prefix))


def test_a_thousand_urls_of_the_same_bytes_are_one_file_and_capped_requests(server: Server, tmp_path: Path) -> None:
    server.route_prefix = ("/img/", Reply(200, png(1), {"Content-Type": "image/png"}))
    feed = full_text(server, [[server.url(f"/img/{n}.png") for n in range(1000)]])
    report = poll(load(site(tmp_path, feed)))
    (post,) = posts_in(tmp_path)
    srcs = [img["src"] for img in images(body(post.read_text(encoding="utf-8")))]
    assert len(srcs) == 1000
    assert photo_hits(server) == 40  # photo_limits.per_article
    assert len(stored(tmp_path)) == 1 and len(set(srcs[:40])) == 1 and srcs[0].startswith("/assets/photos/2023/12/")
    assert all(s.startswith(server.url("/img/")) for s in srcs[40:])  # the rest keep their remote URL
    assert report.photos_mirrored == 40


def test_the_bytes_of_an_article_are_capped(server: Server, tmp_path: Path) -> None:
    server.route_prefix = ("/img/", lambda req: Reply(200, png(int(req.path[5:7])) + b"\0" * 3000, {"Content-Type": "image/png"}))
    feed = full_text(server, [[server.url(f"/img/{n}.png") for n in range(10, 16)]])
    poll(load(site(tmp_path, feed, photo_limits={"bytes_per_article": 8192, "bytes_per_photo": 4096})))
    sizes = [p.stat().st_size for p in stored(tmp_path)]
    assert 2 <= len(sizes) <= 3 and sum(sizes) <= 8192  # about 3.1 KB each; 8 KB for the article


@pytest.mark.parametrize(("key", "value", "message"), [("per_article", 0, "must be from 1"), ("bytes_per_photo", "x", "must be a number"), ("colour", 1, "unknown key")])
def test_photo_limits_are_checked(tmp_path: Path, key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=rf"feeds\.yaml:\d+: photo_limits\.{key}: {message}"):
        load(config(tmp_path, [("f", "https://x.example/rss")], photo_limits={key: value}))


def test_a_host_that_failed_is_not_asked_again_in_the_run(server: Server, tmp_path: Path) -> None:
    with Server("127.0.0.4") as stuck:
        stuck.route_prefix = ("/", Reply(200, png(2), {"Content-Type": "image/png"}, delay=3))
        feed = full_text(server, [[stuck.url(f"/p{i}-{n}.png") for n in range(3)] for i in range(4)])
        report = poll(load(site(tmp_path, feed, http={"deadline": 0.5, "retries": 1})))
        asked = sum(stuck.hits.values())
    assert len(posts_in(tmp_path)) == 4 and report.photos_failed == 12
    assert asked <= 2  # max_per_host in flight when the first failed; the other photos were not asked for
    with sqlite3.connect(tmp_path / "out" / ".scraper" / "state.db") as db:
        assert db.execute("SELECT count(*) FROM photos WHERE status = 'failed'").fetchone()[0] == 12  # all tried again later


def test_the_photos_of_an_article_are_fetched_side_by_side(server: Server, tmp_path: Path) -> None:
    together = threading.Barrier(2, timeout=3)  # under the read timeout: one at a time would break it
    broken: list[str] = []

    def meet(request: Request) -> Reply:
        try:
            together.wait()  # answered only once a second request is in flight
        except threading.BrokenBarrierError:
            broken.append(request.path)
        return Reply(200, png(int(request.path[5])), {"Content-Type": "image/png"})

    server.route_prefix = ("/img/", meet)
    feed = full_text(server, [[server.url(f"/img/{n}.png") for n in range(2)]])
    poll(load(site(tmp_path, feed)))
    assert broken == [] and len(stored(tmp_path)) == 2


def test_a_failed_photo_is_tried_again_later_and_the_post_updated(server: Server, tmp_path: Path) -> None:
    photo = server.url("/img/late.png")
    server.routes["/img/late.png"] = Reply(503, b"busy")
    feed = full_text(server, [[photo]])
    cfg = load(site(tmp_path, feed, photo_limits={"retry_backoff": 600}))
    poll(cfg)
    (post,) = posts_in(tmp_path)
    first = post.read_text(encoding="utf-8")
    assert images(body(first))[0]["src"] == photo and photo_hits(server) == 1
    server.routes["/img/late.png"] = Reply(200, png(9), {"Content-Type": "image/png"})
    poll(cfg)  # within its backoff: not asked
    assert photo_hits(server) == 1 and post.read_text(encoding="utf-8") == first
    report = poll(cfg, clock=lambda: __import__("time").time() + 601)
    assert photo_hits(server) == 2 and report.photos_updated == 1
    (now,) = posts_in(tmp_path)
    src = images(body(now.read_text(encoding="utf-8")))[0]["src"]
    assert src.startswith("/assets/photos/2023/12/") and (tmp_path / "out" / src.lstrip("/")).read_bytes() == png(9)
    assert now.read_text(encoding="utf-8").replace(src, photo) == first  # only the src changed


def test_a_hand_edited_post_is_not_updated_and_its_photo_not_asked_for(server: Server, tmp_path: Path) -> None:
    photo = server.url("/img/late.png")
    server.routes["/img/late.png"] = Reply(503, b"busy")
    cfg = load(site(tmp_path, full_text(server, [[photo]]), photo_limits={"retry_backoff": 0}))
    poll(cfg)
    (post,) = posts_in(tmp_path)
    edited = post.read_text(encoding="utf-8").replace("</div>\n", "<p>my note</p></div>\n")
    post.write_text(edited, encoding="utf-8")
    server.routes["/img/late.png"] = Reply(200, png(9), {"Content-Type": "image/png"})
    poll(cfg)
    assert post.read_text(encoding="utf-8") == edited and photo_hits(server) == 1


def test_finding_a_stored_photo_scans_no_folder(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server.route_prefix = ("/img/", lambda req: Reply(200, png(len(req.path)), {"Content-Type": "image/png"}))
    first = full_text(server, [[server.url("/img/a.png"), server.url("/img/bb.png")]])
    cfg = load(site(tmp_path, first))
    poll(cfg)
    hits = photo_hits(server)

    def guarded(name: str) -> object:
        real = getattr(Path, name)

        def scan(self: Path, *args: object, **kwargs: object) -> object:
            if "assets" in self.parts:
                raise AssertionError(f"{self} was scanned ({name}) to find a photo")
            return real(self, *args, **kwargs)

        return scan

    for name in ("glob", "rglob", "iterdir"):
        monkeypatch.setattr(Path, name, guarded(name))
    # a second article with the same photos: found in the index, not fetched, not scanned for
    full_text(server, [[server.url("/img/a.png"), server.url("/img/bb.png")], [server.url("/img/a.png"), server.url("/img/bb.png")]])
    poll(cfg)
    assert photo_hits(server) == hits
    monkeypatch.undo()
    texts = [p.read_text(encoding="utf-8") for p in posts_in(tmp_path)]
    assert len(texts) == 2 and {img["src"] for img in images(body(texts[0]))} == {img["src"] for img in images(body(texts[1]))}
