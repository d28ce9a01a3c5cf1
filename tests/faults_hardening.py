"""Fault scenarios of hostile addresses, photos and posts (appended to tests/faults.SCENARIOS)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import yaml

from scraper.cli import main
from tests.faults import FAULTY, GOOD, Outcome, Scene, _article_fault
from tests.server import Reply, Request, Server
from tests.test_photo_store import full_text
from tests.test_photos import png


class FullScene(Scene):
    """The scene, plus a full-text feed of another site at /full (``content: feed``)."""

    def cfg(self) -> Path:
        path = super().cfg()
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["feeds"].append({"name": "full", "url": self.server.url("/full"), "site": "某站", "content": "feed"})
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return path


def private_addresses(server: Server, corpus: Path, tmp: Path) -> Outcome:
    """Photos on 127.0.0.3 and an article redirected there: nothing is asked of it."""
    s = Scene(server, corpus, tmp)
    s.http["allow_private"] = []  # the feed's own host:port is the operator's; 127.0.0.3 is not
    s.extra["photos"] = "mirror"
    with Server("127.0.0.3") as inside:
        inside.route_prefix = ("/", Reply(200, png(1), {"Content-Type": "image/png"}))
        for name in GOOD:
            server.page(s.paths[name], s.page(name).replace(b"https://imgcdn.cna.com.tw/", inside.url("/img/").encode()))
        server.routes[s.fault_path] = Reply(302, b"", {"Location": inside.url(s.fault_path)})
        code = s.poll()
        asked = sum(inside.hits.values())
    observed = f"run 1 exit {code}, {len(s.ids())} posts, requests to 127.0.0.3: {asked}, photos stored: {_stored(tmp)}"
    return s.outcome("photos on 127.0.0.3, article redirected there", "run 1 exit 0, 3 posts, requests to 127.0.0.3: 0, photos stored: 0", observed, GOOD)


def _stored(tmp: Path) -> int:
    root = tmp / "out" / "assets" / "photos"
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


def _nested(s: Scene) -> bytes:
    page = s.page(FAULTY)
    start = page.index(b"<p>", page.index(b'<div class="paragraph">')) + 3
    end = page.index(b"</p>", start)
    return page[:start] + b"<b>" * 100_000 + page[start:end] + b"</b>" * 100_000 + page[end:]


def same_photo_thousand_times(server: Server, corpus: Path, tmp: Path) -> Outcome:
    s = FullScene(server, corpus, tmp)
    s.extra["photos"] = "mirror"
    server.page(s.fault_path, s.page(FAULTY))
    server.route_prefix = ("/img/", Reply(200, png(5), {"Content-Type": "image/png"}))
    full_text(server, [[server.url(f"/img/{n}.png") for n in range(1000)]])
    code = s.poll()
    hits = sum(n for p, n in server.hits.items() if p.startswith("/img/"))
    observed = f"run 1 exit {code}, {hits} photo requests, {_stored(tmp)} file(s) stored"
    return s.outcome("one article, 1,000 photo URLs of the same bytes", "run 1 exit 0, 40 photo requests, 1 file(s) stored", observed, (*GOOD, FAULTY))


def photo_host_stuck(server: Server, corpus: Path, tmp: Path) -> Outcome:
    s = FullScene(server, corpus, tmp)
    s.extra["photos"] = "mirror"
    s.http.update({"deadline": 0.5, "retries": 1})
    server.page(s.fault_path, s.page(FAULTY))
    with Server("127.0.0.4") as stuck:
        stuck.route_prefix = ("/", Reply(200, png(2), {"Content-Type": "image/png"}, delay=3))
        full_text(server, [[stuck.url(f"/p{i}-{n}.png") for n in range(3)] for i in range(5)])
        code = s.poll()
        asked = sum(stuck.hits.values())
    observed = f"run 1 exit {code}, {len(s.ids())} posts, photo host asked {'at most 2' if asked <= 2 else asked} time(s) for 15 photos"
    return s.outcome("photo host never answers (5 articles, 15 photos)", "run 1 exit 0, 9 posts, photo host asked at most 2 time(s) for 15 photos", observed, (*GOOD, FAULTY))


def photo_later(server: Server, corpus: Path, tmp: Path) -> Outcome:
    s = FullScene(server, corpus, tmp)
    s.extra.update({"photos": "mirror", "photo_limits": {"retry_backoff": 0}})
    server.page(s.fault_path, s.page(FAULTY))
    server.routes["/img/late.png"] = Reply(500, b"down")
    full_text(server, [[server.url("/img/late.png")]])
    code1 = s.poll()
    server.routes["/img/late.png"] = Reply(200, png(8), {"Content-Type": "image/png"})
    code2 = s.poll()
    local = sum("/assets/photos/" in p.read_text(encoding="utf-8") for p in (tmp / "out" / "_posts").iterdir())
    observed = f"exits [{code1}, {code2}], posts showing the stored photo: {local}"
    return s.outcome("photo fails, then answers on the next poll", "exits [0, 0], posts showing the stored photo: 1", observed, (*GOOD, FAULTY))


def refresh_during_edit(server: Server, corpus: Path, tmp: Path) -> Outcome:
    s = Scene(server, corpus, tmp)
    server.page(s.fault_path, s.page(FAULTY))
    s.poll()
    aid = s.urls[FAULTY].rsplit("/", 1)[1][:12]
    (post,) = [p for p in (tmp / "out" / "_posts").iterdir() if aid in p.read_text(encoding="utf-8")]
    edited = post.read_text(encoding="utf-8").replace("<div>\n", "<div>\n<p>my note</p>", 1)

    def held(request: Request) -> Reply:
        post.write_text(edited, encoding="utf-8")
        return Reply(200, s.page(FAULTY).replace(b"</p>", "。補充</p>".encode(), 1))

    server.routes[s.fault_path] = held
    with contextlib.redirect_stdout(io.StringIO()):  # its summary line is not the table's
        code = main(["refresh", "--config", str(s.cfg()), "--ids", aid, "-q"])
    kept = "kept" if post.read_text(encoding="utf-8") == edited else "overwritten"
    return s.outcome("post edited while refresh fetches it", "refresh exit 1, hand edit kept", f"refresh exit {code}, hand edit {kept}", (*GOOD, FAULTY))


def reindex_spellings(server: Server, corpus: Path, tmp: Path) -> Outcome:
    s = FullScene(server, corpus, tmp)
    server.page(s.fault_path, s.page(FAULTY))
    items = "".join(
        f"<item><title>第{i}篇</title><link>{server.url(f'/新聞/{i}')}</link><pubDate>Tue, 05 Dec 2023 00:1{i}:00 +0800</pubDate>"
        f"<description><![CDATA[<p>{'這是全文。' * 60}</p>]]></description></item>"
        for i in range(3)
    )
    server.routes["/full"] = Reply(200, f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode(), {"Content-Type": "application/rss+xml"})
    s.poll()
    (tmp / "out" / ".scraper" / "state.db").unlink()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["reindex", "--config", str(s.cfg()), "-q"])
        out.seek(0)
        out.truncate()
        main(["status", "--config", str(s.cfg()), "--json"])
    written = json.loads(out.getvalue())["articles"]["written"]
    files = len(list((tmp / "out" / "_posts").iterdir()))
    return s.outcome("reindex of posts whose links hold 中文", "status written = 7, files = 7", f"status written = {written}, files = {files}", (*GOOD, FAULTY))


HARDENING = [
    private_addresses,
    _article_fault("first paragraph in 100k nested tags", "not written in run 1, exit 0; fixed: written in run 2, exit 0", lambda s: Reply(200, _nested(s)), recovers_in_run=False),
    same_photo_thousand_times,
    photo_host_stuck,
    photo_later,
    refresh_during_edit,
    reindex_spellings,
]
