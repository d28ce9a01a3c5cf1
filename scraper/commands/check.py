"""``scraper check``: the canary. Reads CNA's newest articles (or saved pages) with the CNA
extractor and, independently, with the general one (the fallback path), prints what
each found, and says which field broke first when they disagree.

Agreement is the overlap of the two bodies' plain text (the paragraphs, one a line,
whitespace collapsed) in character trigrams counted with repeats (``agreement``). Chinese
has no spaces to make words of, so a token-set overlap would be an overlap of single
characters, which two unrelated articles share; the score, ``2 * shared / total``,
falls both when one side misses paragraphs and when the other adds clutter. On the
corpus pages it is 1.000 for every page (see README, "scraper check"); AGREEMENT is
set by what a broken body gives there: half the paragraphs lost gives 0.62-0.67, one
paragraph lost 0.89-0.95, the copyright line added 0.96-0.98. 0.90 leaves the general
extractor room for its own small differences on pages it has not seen (a caption line)
and catches a body that lost much of itself.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..articles.extractors import cna, fallback
from ..articles.extractors.propose import Sample, as_yaml, propose
from ..articles.fetch import HTML_ACCEPT, allowed_hosts
from ..articles.page import metas, parse
from ..config import Config
from ..errors import ExtractError, FeedError, FetchError, LayoutChanged, ScraperError
from ..feeds import parse as feeds
from ..feeds.feedpass import FEED_ACCEPT, Failed, offline_message
from ..models import Article, Job
from ..net.http import Http
from ..net.robots import Robots
from ..net.urls import TAIPEI
from ..run import http_client
from ..site import skeleton
from .columns import plural, rows

AGREEMENT = 0.90
# Markers of text that is never the article, by the name the table gives them.
JUNK: dict[str, tuple[str, ...]] = {
    "copyright line": (cna.COPYRIGHT,),
    "「延伸閱讀」 box": tuple(sorted(fallback.RELATED_HEADINGS)),
    "app or newsletter box": fallback.BOX_MARKERS,
}
# CNA's extractor keeps 「延伸閱讀」 links as a list under the body, as the mirror's posts do.
KEPT_BY_CNA = frozenset({"「延伸閱讀」 box"})
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Reading:
    """What one extractor found on a page, or why it found nothing."""

    title: str = ""
    published: datetime | None = None
    paragraphs: tuple[str, ...] = ()
    photos: int = 0
    captions: int = 0
    junk: tuple[str, ...] = ()
    error: str | None = None  # "LayoutChanged: …"
    field: str | None = None  # the field an error names: title, time, body, page
    trouble: str | None = None  # found, but less than an article (fallback.implausible)


@dataclass(frozen=True)
class PageCheck:
    name: str
    url: str
    cna: Reading
    general: Reading
    agreement: float | None
    broke: str | None  # the first field that broke, as one line; None when all is well


def reading(extract: Callable[[bytes, str], Article], data: bytes, url: str) -> Reading:
    try:
        article = extract(data, url)
    except ExtractError as exc:
        field = exc.field if isinstance(exc, LayoutChanged) else "page"
        return Reading(error=f"{type(exc).__name__}: {exc.reason}", field=field)
    text = _TAG.sub(" ", article.body_html)
    junk = tuple(name for name, markers in JUNK.items() if any(m in text for m in markers))
    return Reading(
        title=article.title,
        published=article.published,
        paragraphs=tuple(" ".join(p.split()) for p in article.paragraphs),
        photos=article.body_html.count("<img "),
        captions=article.body_html.count("<figcaption>"),
        junk=junk,
        trouble=fallback.implausible(article),
    )


GRAM = 3  # characters a gram: two Chinese words, rarely shared by unrelated articles


def agreement(a: Sequence[str], b: Sequence[str]) -> float:
    """How alike two bodies' texts are: 1.0 the same, 0.0 nothing in common.

    The Dice coefficient of the two texts' character trigrams, counted with repeats:
    ``2 * shared / total``, as difflib's ratio is ``2 * matched / total``, and on the
    corpus within 0.002 of it for every case the threshold was set on, but linear in the
    text's length (difflib without autojunk is quadratic: 26 s on 16k characters)."""
    x, y = "\n".join(a), "\n".join(b)
    if x == y:
        return 1.0
    gx, gy = _grams(x), _grams(y)
    total = sum(gx.values()) + sum(gy.values())
    return 2 * sum((gx & gy).values()) / total if total else 0.0


def _grams(text: str) -> Counter[str]:
    if len(text) <= GRAM:
        return Counter([text] if text else [])
    return Counter(text[i : i + GRAM] for i in range(len(text) - GRAM + 1))


def _norm(s: str) -> str:
    return " ".join(s.split())


def first_broken(c: Reading, g: Reading, ratio: float | None) -> str | None:
    """The first field that broke, in the order title, time, body, junk, agreement."""
    found = f"general extractor found {len(g.paragraphs)} paragraphs" if g.error is None else f"general extractor failed too ({g.error})"
    if c.error is not None:
        kind, _, reason = c.error.partition(": ")
        return f"{c.field}: CNA extractor found no {c.field} ({kind}: {reason}); {found}"
    if c.trouble is not None:
        field = "title" if "title" in c.trouble else "time" if "time" in c.trouble else "body"
        return f"{field}: CNA extractor found {c.trouble}; {found}"
    if g.error is not None or g.trouble is not None:
        return f"{g.field or 'body'}: general extractor: {g.error or g.trouble}; CNA extractor found {len(c.paragraphs)} paragraphs"
    if _norm(c.title) != _norm(g.title):
        return f"title: CNA extractor found {c.title!r}; general extractor found {g.title!r}"
    if c.published != g.published:
        return f"time: CNA extractor found {_when(c.published)}; general extractor found {_when(g.published)}"
    junk = [j for j in c.junk if j not in KEPT_BY_CNA]
    if junk:
        return f"junk: CNA extractor's body holds the {', '.join(junk)}"
    if ratio is not None and ratio < AGREEMENT:
        return f"body: the extractors' bodies agree at {ratio:.3f}, under {AGREEMENT:.2f}; CNA extractor found {len(c.paragraphs)} paragraphs, {found}"
    return None


def check_page(name: str, data: bytes, url: str) -> PageCheck:
    c = reading(cna.extract, data, url)
    g = reading(fallback.extract, data, url)
    ratio = agreement(c.paragraphs, g.paragraphs) if c.error is None and g.error is None else None
    return PageCheck(name, url, c, g, ratio, first_broken(c, g, ratio))


def _when(when: datetime | None) -> str:
    return when.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M %z") if when else "-"


def _cell(r: Reading, what: str) -> str:
    if r.error is not None:
        return r.error if what == "title" else "-"
    cells = {
        "title": r.title,
        "time": _when(r.published),
        "paragraphs": str(len(r.paragraphs)),
        "photos": f"{plural(r.photos, 'photo')}, {plural(r.captions, 'caption')}",
        "junk": ", ".join(r.junk) or "none",
    }
    return cells[what]


def table(page: PageCheck) -> list[str]:
    """The rows for one page: each field as the CNA extractor and the general one found it."""
    cells = [["field", "CNA extractor", "general extractor"]]
    for what in ("title", "time", "paragraphs", "photos", "junk"):
        cells.append([what, _cell(page.cna, what), _cell(page.general, what)])
    ratio = f"{page.agreement:.3f}" if page.agreement is not None else "-"
    cells.append(["agreement", f"{ratio} (at least {AGREEMENT:.2f})"])
    return [f"{page.name}  {page.url}", *rows(cells, indent="  ", gap=1)]


def saved_pages(files: Iterable[Path]) -> list[tuple[str, str, bytes]]:
    """Saved pages: (file name, the page's canonical URL, bytes)."""
    out = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise FetchError(str(path), f"cannot read: {exc.strerror}") from exc
        m = re.search(rb"""https?://(?:www\.|m\.)?cna\.com\.tw/news/[a-z0-9]+/\d{12}\.aspx""", data[:65536])
        out.append((path.name, m.group(0).decode() if m else path.resolve().as_uri(), data))
    return out


def newest(config: Config, http: Http, count: int, now: datetime) -> tuple[list[Job], list[str], dict[str, str]]:
    """The ``count`` newest items of the CNA feeds (those without their own site), the feeds
    that could not be read, and the items' descriptions by id."""
    jobs: dict[str, Job] = {}
    failed: list[Failed] = []
    described: dict[str, str] = {}
    asked = [feed for feed in config.feeds if feed.site is None]
    for feed in asked:
        try:
            response = http.get(feed.url, accept=FEED_ACCEPT)
            result = feeds.parse(response.content, response.url, now, response.headers.get("content-type"))
        except (FetchError, FeedError) as exc:
            failed.append(Failed(feed, exc, 0, False))
            continue
        for job in result.entries:
            jobs.setdefault(job.article_id, job)
        described = {**feeds.descriptions(response.content, response.url), **described}
    ordered = sorted(jobs.values(), key=lambda j: j.published or datetime.min.replace(tzinfo=UTC), reverse=True)
    if failed and len(failed) == len(asked) and all(f.unreachable for f in failed):
        return [], [offline_message(failed)], described  # the network, not each feed: one line, as poll says it
    return ordered[:count], [f"feed {f.feed.name}: {f.error}" for f in failed], described


def fetched_pages(config: Config, count: int, out: Callable[[str], None]) -> tuple[list[tuple[str, str, bytes]], bool, dict[str, tuple[str, str]]]:
    """The newest articles' pages, fetched; False when a feed or a page could not be read;
    each page's feed item (title, description), by name."""
    ok = True
    pages = []
    with http_client(config.http) as http:
        robots = Robots(http)
        jobs, failed, described = newest(config, http, count, datetime.now(UTC))
        for line in failed:
            out(f"check: {line}")
            ok = False
        for job in jobs:
            try:
                robots.check(job.url)
                response = http.get(job.url, allowed_hosts=allowed_hosts(job.url, config), accept=HTML_ACCEPT)
            except ScraperError as exc:
                out(f"check: {job.article_id}: page: {exc}")
                ok = False
                continue
            pages.append((job.article_id, response.url, response.content))
    return pages, ok, {job.article_id: (job.title, described.get(job.article_id, "")) for job in jobs}


def check(config: Config | None, *, files: Sequence[Path] = (), count: int = 5, tables: bool = True, out: Callable[[str], None] = print) -> bool:
    """``scraper check``: a table per page (unless ``tables`` is False: cron wants silence when
    all is well), a line per page that broke, and, when CNA's layout changed, a ``rules:``
    block that reads the changed pages; True when all is well."""
    items: dict[str, tuple[str, str]] = {}
    if config is not None:
        skeleton.warn_no_url(config.output)
    if files:
        pages, ok = saved_pages(files), True
    else:
        assert config is not None
        pages, ok, items = fetched_pages(config, count, out)
        if not pages and ok:
            out("check: the CNA feeds list no article")
            return False
    broken = []
    changed: list[tuple[Sample, Sample]] = []
    for name, url, data in pages:
        page = check_page(name, data, url)
        for line in table(page) if tables or page.broke else ():
            out(line)
        if page.broke:
            broken.append(f"check: {name}: {page.broke}")
        if page.cna.error is not None or page.cna.trouble is not None:
            changed.append(samples(data, url, page, items.get(name)))
    for line in broken:
        out(line)
    if changed:
        for line in proposal(changed):
            out(line)
    return ok and not broken


def samples(data: bytes, url: str, page: PageCheck, item: tuple[str, str] | None) -> tuple[Sample, Sample]:
    """A changed page with what its feed item says of it, and with what the page says of
    itself (the general extractor's title, its ``og:description``): a saved page has no item."""
    meta = metas(parse(data, url))
    described = [*meta.get("og:description", ()), *meta.get("description", ()), ""]
    own = Sample(data, url, page.general.title, described[0])
    return (Sample(data, url, *item) if item is not None and item[0] and item[1] else own), own


def proposal(changed: Sequence[tuple[Sample, Sample]]) -> list[str]:
    """The ``rules:`` block that reads every changed page, ready to paste, or why there is none.
    The feed items locate the title and the lead; failing that, the pages' own metadata."""
    found = propose([c[0] for c in changed], fallback.extract) or propose([c[1] for c in changed], fallback.extract)
    pages = f"{len(changed)} page" + ("" if len(changed) == 1 else "s")
    if found is None:
        return [f"check: CNA's layout changed; no rules were found that read the title and body of all {pages} (update scraper/articles/extractors/cna.py)"]
    return [
        f"check: CNA's layout changed; these rules read the title and body of all {pages} (verified on each); paste them under each CNA feed in feeds.yaml:",
        *as_yaml(found),
    ]
