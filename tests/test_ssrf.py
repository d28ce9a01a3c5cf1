"""The address guard: a URL learned from outside content (an item's link, a photo, a
redirect) never reaches a loopback, private, link-local… address, and what such an
address would have served never reaches a post.

Servers run on loopback (127.0.0.3, ``::1``) and their request logs must stay empty.
10.0.0.1 and 169.254.169.254 are never sent a packet: the client's network backend is
wrapped by a recorder that writes down every connect the guard lets through and only
ever connects to 127.0.0.1, so a refusal is seen to happen before any connect.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import httpcore
import httpx
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from scraper.commands.poll import poll
from scraper.config import HttpConfig, load
from scraper.errors import ConfigError, FetchError
from scraper.net.addresses import allow_list, refusal
from scraper.net.http import Http
from scraper.net.netguard import AddressRefused
from tests.helpers import body, images
from tests.server import Reply, Server
from tests.sitebuilder import config, corpus_urls, item, path_of, posts_in
from tests.test_photos import png, rss


class Recorder(httpcore.NetworkBackend):
    """The socket layer under the guard: records each connect, and connects to 127.0.0.1 only."""

    def __init__(self) -> None:
        self.inner = httpcore.SyncBackend()
        self.connects: list[str] = []

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.NetworkStream:
        self.connects.append(host)
        if host != "127.0.0.1":
            raise httpcore.ConnectError(f"the test refuses to connect to {host}")
        return self.inner.connect_tcp(host, port, timeout, local_address, socket_options)

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.3", "loopback"),
        ("169.254.169.254", "link-local"),
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("172.16.0.1", "private"),
        ("100.64.0.1", "CGNAT"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "private"),  # reserved; the stdlib counts it private first
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback (inside ::ffff:7f00:1)"),
        ("::ffff:169.254.169.254", "link-local (inside ::ffff:a9fe:a9fe)"),
        ("2002:a00:1::", "private (inside 2002:a00:1::)"),  # 6to4 of 10.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local (inside 64:ff9b::a9fe:a9fe)"),  # NAT64 of 169.254.169.254
        ("93.184.216.34", None),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
    ],
)
def test_which_addresses_are_refused(address: str, why: str | None) -> None:
    assert refusal(address) == why


@given(st.integers(0, 2**32 - 1))
def test_an_ipv4_address_mapped_into_ipv6_is_judged_as_itself(n: int) -> None:
    v4 = ipaddress.IPv4Address(n)
    mapped = ipaddress.IPv6Address(f"::ffff:{v4}")
    assert (refusal(mapped) is None) == (refusal(v4) is None)


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "not a host!", "http://x/", "1.2.3", ""])
def test_a_bad_allow_private_entry_is_a_config_error_naming_it(tmp_path: Path, entry: str) -> None:
    cfg = config(tmp_path, [("f", "https://x.example/rss")], http={"allow_private": ["127.0.0.1", entry]})
    with pytest.raises(ConfigError, match=r"feeds\.yaml:\d+: http\.allow_private\[1\]: .* is no hostname, IP address or CIDR network"):
        load(cfg)
    assert allow_list(("localhost", "10.0.0.0/8", "::1")).permits("LOCALHOST.", ipaddress.ip_address("127.0.0.1"))


def test_allow_private_must_be_a_list(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"http\.allow_private: must be a list"):
        load(config(tmp_path, [("f", "https://x.example/rss")], http={"allow_private": "10.0.0.0/8"}))


def _site(tmp: Path, feeds: list[dict[str, str]]) -> Path:
    """A feeds.yaml with no allow list: only the feeds' own origins are the operator's."""
    path = config(tmp, [], http={"allow_private": []}, photos="mirror")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["feeds"] = feeds
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def full_text_feed(link: str, html: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title>'
        f"<item><title>全文</title><link>{link}</link><pubDate>Tue, 05 Dec 2023 00:10:00 +0800</pubDate>"
        f"<content:encoded><![CDATA[{html}]]></content:encoded></item></channel></rss>"
    ).encode()


def test_no_photo_page_or_redirect_reaches_a_private_address(corpus: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with Server() as site, Server("127.0.0.3") as inside, Server("::1") as inside6:
        inside.route_prefix = ("/", Reply(200, png(3), {"Content-Type": "image/png"}))
        inside6.route_prefix = ("/", Reply(200, png(6), {"Content-Type": "image/png"}))
        hostile = [
            inside.url("/img/"),
            inside6.url("/img/"),
            f"http://2130706435:{inside.port}/img/",  # 127.0.0.3 spelt as one number
            f"http://[::ffff:127.0.0.3]:{inside.port}/img/",
            "http://10.0.0.1/img/",
            "http://169.254.169.254/latest/meta-data/",
            site.url("/go/"),  # an allowed host that redirects inside
        ]
        site.route_prefix = ("/go/", Reply(302, b"", {"Location": inside.url("/img/moved.png")}))
        url = corpus_urls(corpus)["004.html"]
        page = (corpus / "cna" / "pages" / "004.html").read_bytes().replace(b"https://imgcdn.cna.com.tw/", site.url("/go/").encode())
        site.page(path_of(url), page)
        inside.page("/news/aopl/202308230371.aspx", page)
        text = "".join(f"<p>第{i}段。{'文字' * 40}</p><p><img src='{src}p{i}.png' alt='相片{i}'></p>" for i, src in enumerate(hostile))
        site.routes["/full"] = Reply(200, full_text_feed(site.url("/story/1"), text), {"Content-Type": "application/rss+xml"})
        site.feed("/feed", rss(item("t", site.url(path_of(url)))))
        site.feed("/other", rss(item("inside", inside.url("/news/aopl/202308230371.aspx"))))
        feeds = [{"name": "f", "url": site.url("/feed")}, {"name": "o", "url": site.url("/other"), "site": "別站", "content": "page"}]
        feeds.append({"name": "full", "url": site.url("/full"), "site": "全文", "content": "feed"})
        cfg = load(_site(tmp_path, feeds))
        recorder = Recorder()
        with caplog.at_level(logging.WARNING), Http(cfg.http, network=recorder) as http:
            report = poll(cfg, http=http)
        assert inside.hits == {} and inside6.hits == {}
        assert set(recorder.connects) == {"127.0.0.1"}, recorder.connects  # 10.0.0.1, 169.254.169.254: refused before a connect
        cna_post, full_post = sorted(posts_in(tmp_path), key=lambda p: "全文" in p.read_text(encoding="utf-8"))
        srcs = [img["src"] for post in (cna_post, full_post) for img in images(body(post.read_text(encoding="utf-8")))]
        assert len(srcs) >= len(hostile) + 1 and not any(s.startswith("/assets/") for s in srcs), srcs
        assert report.photos_failed == len(srcs) and report.photos_mirrored == 0
        assert not (tmp_path / "out" / "assets").exists()
        assert "is not a public address" in caplog.text and "http://169.254.169.254/latest/meta-data/" in caplog.text
        refused = inside.url("/news/aopl/202308230371.aspx")
        assert re.search(rf"refused id=\S+ url={re.escape(refused)}: 127\.0\.0\.3 \(loopback\) is not a public address", caplog.text)
        with sqlite3.connect(tmp_path / "out" / ".scraper" / "state.db") as db:
            (status,) = db.execute("SELECT status FROM articles WHERE url = ?", (refused,)).fetchone()
        assert status == "skipped"  # said once, not tried again on every run


def test_the_name_is_resolved_once_and_the_checked_address_connected_to(server: Server) -> None:
    """DNS rebinding: a name that answers a public address first and 127.0.0.1 next gains
    nothing, since the guard resolves once and connects by the address it checked; the
    URL's name stays in the Host header."""
    from scraper.net.netguard import Guard, transport

    answers = {"rebind.test": [["127.0.0.1"]], "photos.test": [["127.0.0.1"]], "mixed.test": [["93.184.216.34", "127.0.0.1"]]}
    asked: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return answers[host].pop(0)

    hosts: list[str] = []
    server.routes["/x"] = lambda request: hosts.append(request.headers["Host"]) or Reply(200, b"ok", {"Content-Type": "text/plain"})
    recorder = Recorder()
    guard = Guard.of([], ("photos.test",))
    with httpx.Client(transport=transport(guard, httpx.Limits(), recorder, resolve)) as client:
        response = client.get(f"http://photos.test:{server.port}/x")  # allowed by name: connected to the address it resolved to
        assert response.text == "ok" and recorder.connects == ["127.0.0.1"]
        with pytest.raises(AddressRefused, match=r"rebind\.test, which resolves to 127\.0\.0\.1 \(loopback\), is not a public address"):
            client.get(f"http://rebind.test:{server.port}/x")
        with pytest.raises(httpx.ConnectError):  # only the public address is tried (the recorder refuses to leave loopback)
            client.get(f"http://mixed.test:{server.port}/x")
    assert recorder.connects == ["127.0.0.1", "93.184.216.34"] and asked == ["photos.test", "rebind.test", "mixed.test"]
    assert server.hits["/x"] == 1 and hosts == [f"photos.test:{server.port}"]


@pytest.mark.parametrize("url", ["http://0177.0.0.1/", "http://0x7f.0.0.1/", "http://[::ffff:10.0.0.1]/", "http://0.0.0.0/", "http://[::]/"])
def test_other_spellings_of_inside_addresses_make_no_connection(url: str) -> None:
    recorder = Recorder()
    with Http(load_http(), network=recorder) as http, pytest.raises(FetchError):
        http.get(url)
    assert recorder.connects == []


def load_http() -> HttpConfig:
    return HttpConfig(retries=1, delay=0)
