"""Whole-pipeline fuzz: no input can wedge the cron.

Hypothesis mutates copies of the real intworld feed and the real corpus pages, a local
server serves them, and ``scraper poll`` runs twice in a fresh output folder. Whatever
the mutations (hostile links, dates and headers, truncated or re-encoded bytes, markup
injected into titles and bodies), every example must end with:

- no Python traceback and no "unexpected" error (an input nobody planned for);
- exit status 0, 1 or 4;
- every unmutated article (its page served unchanged and its feed item unchanged)
  written exactly once, and no article written twice;
- every post in the format of docs/FORMAT.md, with front matter that YAML loads, and
  no ``<script``, event handler attribute, ``javascript:`` or Liquid tag in what Jekyll
  renders.

Two servers take part: 127.0.0.1 serves the feed that carries the items and the pages;
127.0.0.2 (another host to the scraper, so its pauses are its own) serves a second,
mutated copy of the feed and the pages whose mutation is a ``Retry-After`` pause, which
would otherwise hold back every article of the first host.

The default run is small enough for ``make test``; ``make faults`` runs more. To run
more examples by hand::

    SCRAPER_FUZZ_EXAMPLES=500 .venv/bin/pytest tests/test_fuzz.py

At 100 examples or more, with ``jekyll`` installed, one example in 50 is also built
into a site whose HTML must hold no active content. The session's summary line says
how many examples ran and how many distinct hostile values they used.
"""

from __future__ import annotations

import codecs
import gzip
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html as lhtml

from scraper.cli import main
from tests.helpers import POST_RE, jekyll_build, site_with
from tests.server import Reply, Server
from tests.sitebuilder import config, corpus_urls, path_of, real_feed

# feedparser's notice about updated_parsed, for every item whose date it cannot read.
pytestmark = pytest.mark.filterwarnings("ignore:To avoid breaking existing software:DeprecationWarning")

EXAMPLES = int(os.environ.get("SCRAPER_FUZZ_EXAMPLES", "25"))
JEKYLL_EVERY = 50  # with many examples, build one site in this many
PAGES = ("001.html", "003.html", "004.html", "006.html", "2016-truncated.html")
WRITABLE = ("001.html", "003.html", "004.html", "006.html")  # the 2016 page is truncated by CNA: skipped

# What the session used, for the summary line (conftest.pytest_terminal_summary).
FIGURES: dict[str, Any] = {"examples": 0, "hostile": set(), "sites": 0}

LONG = "http://127.0.0.1:1/" + "a" * 9000
HOSTILE_URLS = (
    "http://[x",
    "http://[::1",
    "https://www.cna.com.tw:22/news/aopl/202308230370.aspx",
    "javascript:alert(1)",
    " JaVaScRiPt:alert(1)",
    "{% raw %}",
    "{{ site }}",
    "http://x/%zz",
    LONG,
    "http://" + "x" * 300 + ".example/news/aopl/202312059999.aspx",
    "//evil.example/news/aopl/202312059998.aspx",
    "http://127.0.0.1:99999/news/aopl/202312059997.aspx",
    "data:text/html,<script>alert(1)</script>",
    "",
    "\u00b2",
)
# Redirect targets: never a CNA host, so that no example reaches the real site.
HOSTILE_LOCATIONS = (*(u for u in HOSTILE_URLS if "cna.com.tw" not in u), "/news/aopl/202308230370.aspx?loop", "http://[x/news/aopl/202308230370.aspx")
HOSTILE_DATES = (
    "0000-01-01",
    "9999-12-31T23:59:59-12:00",
    "1900-01-01",
    "0999-01-01",
    "",
    "garbage",
    "Sat, 01 Jan 0000 00:00:00 +0000",
    "Fri, 31 Dec 9999 23:59:59 -1200",
    "Mon, 31 Feb 2023 25:61:61 +9999",
    "1969-12-31T23:59:59Z",
    "\u00b2",
)
HOSTILE_RETRY_AFTER = ("\u00b2", "99999999999999999999", "-1", "0", "", "soon", "Fri, 31 Dec 9999 23:59:59 GMT", "Thu, 01 Jan 1970 00:00:00 GMT", "1e309", "NaN")
HOSTILE_ENCODINGS = ("gzip, gzip", "br", "gzip", "deflate", "x-gzip, identity", "identity, gzip", "compress", "gzip,")
HOSTILE_TYPES = ("text/html; charset=iso-8859-1", "text/html; charset=big5", "text/html; charset=x-nonsense", "application/octet-stream", "text/html; charset=", "")
INJECTIONS = (
    "<script>alert(1)</script>",
    '<p onclick="alert(1)">x</p>',
    '<a href="http://[x">x</a>',
    "<img src=javascript:alert(1)>",
    '<img src="x" onerror="alert(1)">',
    "{% raw %}",
    "{{ site }}",
    "{{",
    "{%",
    "{% include x %}",
    '<a href=" JaVaScRiPt:alert(1)">x</a>',
    '<iframe src="javascript:alert(1)"></iframe>',
    "<svg onload=alert(1)>",
    '<div onmouseover="alert(1)">y</div>',
    '<a href="http://x/%zz">z</a>',
    "<style>body{}</style>",
    "</div></div></article>",
    "<![CDATA[",
    "<!--",
)
RECODINGS = ("big5", "big5, meta says utf-8", "latin-1 header", "utf-8 BOM", "utf-16 BOM", "utf-16 BOM on utf-8 bytes", "utf-8 BOM, latin-1 header")


@dataclass(frozen=True)
class Headers:
    """A hostile response: its status and headers, and how its body changes."""

    kind: str  # retry-after | encoding | length | location | type
    value: str
    status: int = 200
    delta: int = 0  # for a wrong Content-Length


@dataclass(frozen=True)
class Bytes:
    """What happens to a page's or feed's bytes, in this order: text, encoding, truncation."""

    injections: tuple[tuple[str, str], ...] = ()  # (where: body | title, markup)
    time: str | None = None  # the page's published time
    recoding: str | None = None
    cut: float | None = None  # keep this fraction of the bytes

    def __bool__(self) -> bool:
        return bool(self.injections or self.time is not None or self.recoding or self.cut is not None)


@dataclass(frozen=True)
class Item:
    link: str | None = None
    date: str | None = None
    title: str | None = None

    def __bool__(self) -> bool:
        return self.link is not None or self.date is not None or self.title is not None


@dataclass(frozen=True)
class Example:
    pages: dict[str, tuple[Bytes, Headers | None]]
    items: dict[str, Item]
    extra: tuple[Item, ...]
    second_feed: tuple[Bytes, Headers | None]
    hostile: frozenset[str] = field(default=frozenset())

    def unmutated(self) -> list[str]:
        return [n for n in WRITABLE if not self.pages[n][0] and self.pages[n][1] is None and not self.items[n]]


def headers() -> st.SearchStrategy[Headers]:
    return st.one_of(
        st.builds(Headers, st.just("retry-after"), st.sampled_from(HOSTILE_RETRY_AFTER), st.sampled_from([429, 503])),
        st.builds(Headers, st.just("encoding"), st.sampled_from(HOSTILE_ENCODINGS)),
        st.builds(Headers, st.just("length"), st.just(""), delta=st.sampled_from([-5000, -1, 1, 7])),
        st.builds(Headers, st.just("location"), st.sampled_from(HOSTILE_LOCATIONS), st.sampled_from([301, 302, 307])),
        st.builds(Headers, st.just("type"), st.sampled_from(HOSTILE_TYPES)),
    )


def items() -> st.SearchStrategy[Item]:
    return st.builds(Item, link=st.none() | st.sampled_from(HOSTILE_URLS), date=st.none() | st.sampled_from(HOSTILE_DATES), title=st.none() | st.sampled_from(INJECTIONS))


KINDS = ("inject", "time", "recode", "cut", "headers", "item")


@st.composite
def examples(draw: st.DrawFn) -> Example:
    """About half the pages are left alone (page, headers and feed item), so that most
    examples also hold unmutated articles; the others get one or two kinds of mutation,
    so that a page with markup injected, and nothing else, is often written."""
    pages: dict[str, tuple[Bytes, Headers | None]] = {}
    its: dict[str, Item] = {}
    for name in PAGES:
        kinds = set() if draw(st.booleans()) else set(draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=2)))
        b = Bytes(
            injections=tuple(draw(st.lists(st.tuples(st.sampled_from(["body", "title"]), st.sampled_from(INJECTIONS)), min_size=1, max_size=3))) if "inject" in kinds else (),
            time=draw(st.sampled_from(HOSTILE_DATES)) if "time" in kinds else None,
            recoding=draw(st.sampled_from(RECODINGS)) if "recode" in kinds else None,
            cut=draw(st.floats(0, 1)) if "cut" in kinds else None,
        )
        pages[name] = (b, draw(headers()) if "headers" in kinds else None)
        its[name] = draw(items()) if "item" in kinds else Item()
    extra = tuple(draw(st.lists(items(), max_size=3)))
    second = (draw(st.builds(Bytes, recoding=st.none() | st.sampled_from(RECODINGS), cut=st.none() | st.floats(0, 1))), draw(st.none() | headers()))
    return Example(pages, its, extra, second)


def _hostile_values(ex: Example) -> set[str]:
    used: set[str] = set()
    for b, h in [*ex.pages.values(), ex.second_feed]:
        used.update(f"inject {m}" for _, m in b.injections)
        if b.time is not None:
            used.add(f"date {b.time}")
        if b.recoding:
            used.add(f"recoding {b.recoding}")
        if b.cut is not None:
            used.add("truncation")
        if h is not None:
            used.add(f"{h.kind} {h.status} {h.value} {h.delta}")
    for it in [*ex.items.values(), *ex.extra]:
        used.update(f"{k} {v}" for k, v in (("link", it.link), ("date", it.date), ("inject", it.title)) if v is not None)
    return used


# ---------------------------------------------------------------- serving the mutations

_META = re.compile(rb'<meta charset="utf-8" ?/?>', re.I)


def _recode(data: bytes, how: str, xml: bool) -> tuple[bytes, str | None]:
    """The bytes re-encoded as ``how`` says, and the Content-Type charset to declare (None: as usual)."""
    text = data.decode("utf-8")
    if how == "big5":
        if xml:
            text = text.replace('encoding="UTF-8"', 'encoding="big5"', 1)
        else:
            text = text.replace('<meta charset="utf-8" />', '<meta charset="big5" />')
        return text.encode("cp950", errors="ignore"), "big5"
    if how == "big5, meta says utf-8":
        return text.encode("cp950", errors="ignore"), None
    if how == "latin-1 header":
        return data, "iso-8859-1"
    if how == "utf-8 BOM":
        return codecs.BOM_UTF8 + data, None
    if how == "utf-16 BOM":
        return text.encode("utf-16"), "utf-16"
    if how == "utf-16 BOM on utf-8 bytes":
        return codecs.BOM_UTF16_LE + data, None
    if how == "utf-8 BOM, latin-1 header":
        return codecs.BOM_UTF8 + data, "iso-8859-1"
    raise AssertionError(how)


def _mutate_page(data: bytes, b: Bytes) -> tuple[bytes, str | None]:
    text = data.decode("utf-8")
    for where, markup in b.injections:
        if where == "body":
            text = text.replace('<div class="paragraph">', '<div class="paragraph">' + markup, 1)
        else:
            text = re.sub(r"<h1>(<span>)?", lambda m, markup=markup: m.group(0) + markup, text, count=1)
    when = b.time
    if when is not None:
        text = re.sub(r'(published_time" content=")[^"]*', lambda m: m.group(1) + when, text)
        text = re.sub(r'("datePublished":")[^"]*', lambda m: m.group(1) + when, text)
    out, charset = text.encode("utf-8"), None
    if b.recoding:
        out, charset = _recode(out, b.recoding, xml=False)
    if b.cut is not None:
        out = out[: int(len(out) * b.cut)]
    return out, charset


def _reply(body: bytes, charset: str | None, h: Headers | None, content_type: str, elsewhere: str | None) -> Reply:
    """The reply for mutated bytes and headers. A Retry-After pause is served by the
    other host (``elsewhere``) behind a redirect, so that it pauses that host only."""
    ctype = f"{content_type}; charset={charset or 'utf-8'}"
    if h is None:
        return Reply(200, body, {"Content-Type": ctype})
    if h.kind == "retry-after":
        assert elsewhere is not None
        return Reply(302, b"", {"Location": elsewhere})
    if h.kind == "encoding":
        coded = gzip.compress(gzip.compress(body)) if "," in h.value else gzip.compress(body) if h.value == "br" else body
        return Reply(200, coded, {"Content-Type": ctype, "Content-Encoding": h.value})
    if h.kind == "length":
        return Reply(200, body, {"Content-Type": ctype}, content_length=max(0, len(body) + h.delta))
    if h.kind == "location":
        return Reply(h.status, b"", {"Location": h.value})
    return Reply(200, body, {"Content-Type": h.value})


def _pause(h: Headers) -> Reply:
    return Reply(h.status, b"wait", {"Retry-After": h.value})


def _feed_item(xml: str, index: int, it: Item) -> str:
    """Item ``index`` of the feed with its link, date and title replaced as ``it`` says (XML stays well formed)."""
    parts = xml.split("<item>")
    item = parts[index + 1]
    if it.link is not None:
        item = re.sub(r"<link>[^<]*</link>", lambda m: f"<link>{escape(it.link or '')}</link>", item, count=1)
    if it.date is not None:
        item = re.sub(r"<pubDate>[^<]*</pubDate>", lambda m: f"<pubDate>{escape(it.date or '')}</pubDate>", item, count=1)
    if it.title is not None:
        item = re.sub(r"<title>[^<]*</title>", lambda m: f"<title>{escape(it.title or '')}</title>", item, count=1)
    parts[index + 1] = item
    return "<item>".join(parts)


def _extra_items(extra: tuple[Item, ...], base: str) -> str:
    out = ""
    for i, it in enumerate(extra):
        link = it.link if it.link is not None else f"{base}/news/aopl/2023120599{i:02d}.aspx"
        date = it.date if it.date is not None else "Tue, 05 Dec 2023 00:10:00 +0800"
        title = it.title if it.title is not None else "extra"
        out += f"<item><title>{escape(title)}</title><link>{escape(link)}</link><pubDate>{escape(date)}</pubDate><description>d</description></item>\n"
    return out


def serve(ex: Example, corpus: Path, main_server: Server, other: Server) -> list[tuple[str, str]]:
    """Put the example's routes on both servers; returns the feeds of the config."""
    for srv in (main_server, other):
        srv.routes.clear()
    urls = corpus_urls(corpus)
    for name in PAGES:
        path = path_of(urls[name])
        b, h = ex.pages[name]
        body, charset = _mutate_page((corpus / "cna" / "pages" / name).read_bytes(), b)
        main_server.routes[path] = _reply(body, charset, h, "text/html", other.url(path))
        if h is not None and h.kind == "retry-after":
            other.routes[path] = _pause(h)
    xml = real_feed(corpus, [main_server.url(path_of(urls[n])) for n in PAGES]).decode("utf-8")
    for index, name in enumerate(PAGES):
        xml = _feed_item(xml, index, ex.items[name])
    if ex.extra:
        xml = xml.replace("<item>", _extra_items(ex.extra, main_server.base) + "<item>", 1)
    main_server.feed("/feed", xml.encode("utf-8"))
    # The second feed: the same items on the other host, the bytes and headers mutated.
    b, h = ex.second_feed
    second = real_feed(corpus, [other.url(path_of(urls[n])) for n in PAGES])
    charset = None
    if b.recoding:
        second, charset = _recode(second, b.recoding, xml=True)
    if b.cut is not None:
        second = second[: int(len(second) * b.cut)]
    if h is not None and h.kind == "retry-after":
        other.routes["/feed2"] = _pause(h)
    else:
        other.routes["/feed2"] = _reply(second, charset, h, "application/rss+xml", None)
    return [("main", main_server.url("/feed")), ("second", other.url("/feed2"))]


# ---------------------------------------------------------------- what must hold

_HANDLER = re.compile(r"<[^>]*\son\w+\s*=", re.I)
_ACTIVE_URL = re.compile(r"^\s*(javascript|vbscript|data):", re.I)


def check_post(text: str, name: str) -> str:
    """The post's article id, once every promise about one post holds."""
    assert POST_RE.match(text), f"{name} is not in the post format:\n{text[:2000]}"
    head = yaml.safe_load(text.split("---\n", 2)[1])
    assert isinstance(head, dict) and isinstance(head["title"], str), name
    rendered = text.split("---\n", 2)[2]  # what Liquid and kramdown see; the front matter is data
    low = text.lower()
    assert "<script" not in low, f"{name}: a script"
    assert "javascript:" not in low, f"{name}: a javascript: URL"
    assert not _HANDLER.search(text), f"{name}: an event handler attribute"
    assert "{{" not in rendered and "{%" not in rendered, f"{name}: a Liquid tag"
    return str(head["from"]).rsplit("/", 1)[1][:12]


def check_site(html_dir: Path) -> None:
    """No active content in any page Jekyll built."""
    for page in html_dir.rglob("*.html"):
        root = lhtml.fromstring(page.read_bytes())
        assert not root.xpath("//script | //iframe[not(starts-with(@src, 'https://www.youtube'))] | //object | //embed"), page
        for el in root.iter():
            for attr, value in el.attrib.items():
                assert not attr.lower().startswith("on"), f"{page}: {attr}={value}"
                if attr in ("href", "src", "action", "formaction"):
                    assert not _ACTIVE_URL.match(value), f"{page}: {attr}={value}"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Server, Server]]:
    with Server() as main_server, Server("127.0.0.2") as other:
        yield main_server, other


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(ex=examples())
def test_no_input_wedges_the_cron(ex: Example, corpus: Path, servers: tuple[Server, Server], capsys: pytest.CaptureFixture[str]) -> None:
    FIGURES["examples"] += 1
    FIGURES["hostile"].update(_hostile_values(ex))
    urls = corpus_urls(corpus)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        feeds = serve(ex, corpus, *servers)
        cfg = config(tmp, feeds, http={"retries": 2, "timeout": 5, "deadline": 10}, max_attempts=3)
        capsys.readouterr()
        codes = [main(["poll", "--config", str(cfg)]) for _ in range(2)]
        err = capsys.readouterr().err
        assert "Traceback" not in err, err
        assert "unexpected" not in err, err  # an input no rule was written for
        assert set(codes) <= {0, 1, 4}, (codes, err)
        posts = sorted((tmp / "out" / "_posts").glob("*"))
        ids = [check_post(p.read_text(encoding="utf-8"), p.name) for p in posts]
        assert len(ids) == len(set(ids)), f"an article written twice: {sorted(ids)}"
        for name in ex.unmutated():
            want = urls[name].rsplit("/", 1)[1][:12]
            assert ids.count(want) == 1, f"unmutated {name} ({want}) written {ids.count(want)} times; exits {codes}\n{err}"
        jekyll = shutil.which("jekyll")
        if jekyll and EXAMPLES >= 100 and posts and FIGURES["examples"] % JEKYLL_EVERY == 1:
            site = site_with({p.name: p.read_text(encoding="utf-8") for p in posts}, tmp)
            check_site(jekyll_build(jekyll, site))
            FIGURES["sites"] += 1
