"""`photos: mirror` as a reader sees it: a real poll into a site made by `scraper init`
(with a baseurl), built by Jekyll, served on 127.0.0.1 and opened in headless Chromium
that can reach nothing but that site. The post shows its photos from the site itself,
and opening it makes no request anywhere else; with `photos: link` the same checks see
the photos requested off the site, so they can fail."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import pytest
from lxml import html as lhtml

from scraper.cli import main
from tests.helpers import jekyll_build
from tests.server import Server
from tests.sitebuilder import config, item, posts_in
from tests.siteview import built_page, serve
from tests.siteview import chromium as browse
from tests.test_photos import rss, serve_with_local_photos

BASEURL = "/mirror"
PHOTO = re.compile(BASEURL + r"/assets/photos/2023/12/[0-9a-f]{24}\.png")
# Everything a browser fetches by itself on opening a page (links a reader follows are not requests).
FETCHED = (
    "//link/@href | //script/@src | //img/@src | //img/@srcset | //source/@src | //source/@srcset"
    " | //iframe/@src | //frame/@src | //embed/@src | //object/@data | //video/@src | //video/@poster"
    " | //audio/@src | //track/@src | //input/@src | //body/@background"
)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")


class _Outside(BaseHTTPRequestHandler):
    """The browser's only proxy: every request it is given would have left the site. It
    writes the request down and refuses it."""

    seen: list[str]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _refuse(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_OPTIONS = do_CONNECT = _refuse


@contextmanager
def _outside() -> Iterator[tuple[int, list[str]]]:
    seen: list[str] = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), type("Outside", (_Outside,), {"seen": seen}))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def _only_the_site(site_port: int, proxy_port: int) -> list[str]:
    """Chromium flags: names resolve to nothing, and every request but those to the site's
    own 127.0.0.1:<port> (other loopback ports included) goes to the recording proxy.
    The browser's own services (network time, sign-in, component updates) are turned off
    or pointed at a closed local port, so what the proxy records is the page's doing."""
    closed = "http://127.0.0.1:1"
    return [
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--proxy-server=http://127.0.0.1:{proxy_port}",
        f"--proxy-bypass-list=<-loopback>;127.0.0.1:{site_port}",
        "--disable-features=NetworkTimeServiceQuerying",
        f"--gaia-url={closed}",
        f"--component-updater=url-source={closed}",
    ]


def _fetched_by(page_url: str, page_html: str, site: Path) -> list[str]:
    """Absolute URLs of everything the page and its layout make a browser fetch: the
    attributes of FETCHED, inline styles, and the url()s of the site's own stylesheets."""
    dom = lhtml.fromstring(page_html)
    found = []
    for value in dom.xpath(FETCHED):
        candidates = [c.split()[0] for c in value.split(",") if c.strip()] if value.attrname == "srcset" else [value]
        found += [urljoin(page_url, str(v).strip()) for v in candidates]
    styles = [(page_url, str(s)) for s in dom.xpath("//@style")] + [(page_url, s.text or "") for s in dom.iter("style")]
    for url in found:
        if urlsplit(url).path.endswith(".css") and urlsplit(url).netloc == urlsplit(page_url).netloc:
            styles.append((url, (site / urlsplit(url).path[len(BASEURL) + 1 :]).read_text(encoding="utf-8")))
    for where, style in styles:
        found += [urljoin(where, a or b) for a, b in CSS_URL.findall(style)]
    return found


@dataclass
class Seen:
    photos: list[str]  # the <img src>s of the post's body in the built page
    stored: list[Path]  # the photo files under the site
    site: list[tuple[str, int]]  # path and status of every request the site's server answered
    outside: list[str]  # every request the browser tried to send anywhere else
    off_site: list[str]  # what the built page makes a browser fetch from another origin
    shown: list[str]  # the <img src>s of the post's body in the browser's DOM
    photo_host: str  # the stand-in for CNA's image host
    photo_host_hits: tuple[int, int]  # its image requests after the poll, and after the browser


def _open_post(photos: str, jekyll: str, chromium: str, corpus: Path, tmp: Path) -> Seen:
    # CNA's article and image host, on another loopback address: another host to the scraper and to the browser.
    with Server("127.0.0.2") as cna:
        link, _ = serve_with_local_photos(cna, corpus, "004.html")
        cna.feed("/feed", rss(item("t", link)))
        out = tmp / "out"
        assert main(["init", str(out)]) == 0
        site_config = out / "_config.yml"
        text = site_config.read_text(encoding="utf-8")
        assert '\nbaseurl: ""\n' in text
        site_config.write_text(text.replace('\nbaseurl: ""\n', f'\nbaseurl: "{BASEURL}"\n'), encoding="utf-8")
        assert main(["poll", "-q", "--config", str(config(tmp, [("f", cna.url("/feed"))], photos=photos))]) == 0
        (post,) = posts_in(tmp)

        def image_hits() -> int:
            return sum(n for p, n in cna.hits.items() if p.startswith("/img/"))

        after_poll = image_hits()
        built = jekyll_build(jekyll, out)
        page = built_page(built, post)
        page_html = page.read_text(encoding="utf-8")
        requests: list[tuple[str, int]] = []
        with serve(built, baseurl=BASEURL, requests=requests) as base, _outside() as (proxy_port, outside):
            page_url = urljoin(base, quote(page.relative_to(built).as_posix()))
            site_port = urlsplit(base).port
            assert site_port
            dom = lhtml.fromstring(browse(chromium, page_url, flags=_only_the_site(site_port, proxy_port)))
        origin = urlsplit(base).netloc
        return Seen(
            photos=[str(v) for v in lhtml.fromstring(page_html).xpath("//div[@class='post-content']//img/@src")],
            stored=sorted((out / "assets" / "photos").rglob("*.*")) if (out / "assets" / "photos").exists() else [],
            site=requests,
            outside=outside,
            off_site=[u for u in _fetched_by(page_url, page_html, built) if urlsplit(u).netloc != origin],
            shown=[str(v) for v in dom.xpath("//div[@class='post-content']//img/@src")],
            photo_host=cna.url("/img/"),
            photo_host_hits=(after_poll, image_hits()),
        )


@pytest.mark.jekyll
def test_mirrored_photos_are_shown_from_the_site_and_no_request_leaves_it(jekyll: str, chromium: str, corpus: Path, tmp_path: Path) -> None:
    seen = _open_post("mirror", jekyll, chromium, corpus, tmp_path)
    # 004.html has a lead photo and inline ones: each stored once, below the baseurl.
    assert len(seen.photos) >= 3 and all(PHOTO.fullmatch(src) for src in seen.photos), seen.photos
    assert len(set(seen.photos)) == len(seen.stored) == seen.photo_host_hits[0]
    assert seen.shown == seen.photos
    # The browser asked the site for every photo and got it.
    for src in seen.photos:
        assert (src, 200) in seen.site, f"{src} not served by the site: {seen.site}"
    # Nothing else was asked for, by the page or the browser: no request left the site.
    assert seen.off_site == []
    assert seen.outside == [], seen.outside
    assert seen.photo_host_hits[1] == seen.photo_host_hits[0]


@pytest.mark.jekyll
def test_linked_photos_are_requested_off_the_site(jekyll: str, chromium: str, corpus: Path, tmp_path: Path) -> None:
    """The same run with `photos: link`: the checks above see the photos leave the site."""
    seen = _open_post("link", jekyll, chromium, corpus, tmp_path)
    assert len(seen.photos) >= 3 and all(src.startswith(seen.photo_host) for src in seen.photos), seen.photos
    assert seen.stored == [] and seen.photo_host_hits == (0, 0)
    assert sorted(set(seen.off_site)) == sorted(set(seen.photos))
    assert sorted(set(seen.outside)) == sorted(f"GET {src}" for src in set(seen.photos))
    assert not [path for path, _ in seen.site if "/assets/photos/" in path]
