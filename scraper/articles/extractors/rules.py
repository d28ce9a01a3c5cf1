"""A page read by CSS rules -> Article (pure), before the general extractor.

A feed's ``rules:`` in feeds.yaml, or else the rule set shipped for the page's host
(``rules/*.yaml``, package data), says where a site keeps its parts, as Miniflux's
scraper rules and FreshRSS's article selector do: ``title``, ``body``, ``time`` and
``photos`` select, ``drop`` removes blocks first. What a rule selects is taken; what no
rule gives (or a rule that matches nothing on a page) is found by the general extractor
on the page with the ``drop`` blocks gone. Selectors are soupsieve's (Beautiful Soup's
engine), checked when the rules are loaded.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import lxml.html
import yaml
from bs4 import BeautifulSoup, Tag
from lxml import etree

from ...config import check_rules
from ...errors import ConfigError, ExtractError, LayoutChanged, NotAnArticle
from ...models import Article, Rules
from ...net.urls import host_of, identity
from ...yamlcheck import Where, check_str, check_zone
from .. import clean
from ..page import decode, metas, text_of
from . import blocks, furniture, pagemeta

log = logging.getLogger(__name__)

Extractor = Callable[[bytes, str, str | None], Article]
# A date, maybe a time, maybe an offset, as pages write them: 2018-07-31T08:19:35+08:00,
# 2016/05/21 11:44, 2017年12月09日 00:26.
_WHEN = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:(?:[T\s\u3000]|&nbsp;)*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?(?:\.\d+)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?"
)
_FIGURE = "data-rule-photo"


def parse_rule_file(text: str, path: Path) -> tuple[tuple[str, ...], Rules]:
    """A rule set shipped for some hosts: ``hosts:`` (a list), ``timezone:`` (optional, for
    times the pages give without an offset) and ``rules:``, as in a feed's entry."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ConfigError(f"{path}{f':{mark.line + 1}' if mark else ''}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    where = Where(path, node)
    if not isinstance(data, dict) or set(data) - {"hosts", "timezone", "rules"} or "rules" not in data:
        raise ConfigError(f"{path}: must be a mapping of hosts, timezone and rules")
    hosts = data.get("hosts")
    if not isinstance(hosts, list) or not hosts:
        raise where.error("hosts", "must be a non-empty list of host names")
    rules = check_rules(where, "rules", data["rules"])
    zone = check_zone(where, "timezone", data["timezone"]) if "timezone" in data else None
    return tuple(check_str(where, f"hosts[{i}]", h).lower() for i, h in enumerate(hosts)), dataclasses.replace(rules, timezone=zone)


@functools.cache
def shipped() -> dict[str, Rules]:
    """The rule sets shipped with the package, by host."""
    out: dict[str, Rules] = {}
    folder = importlib.resources.files("scraper.articles.extractors") / "rules"
    for item in sorted(folder.iterdir(), key=lambda f: f.name):
        if item.name.endswith(".yaml"):
            hosts, rules = parse_rule_file(item.read_text(encoding="utf-8"), Path("scraper/articles/extractors/rules") / item.name)
            out.update(dict.fromkeys(hosts, rules))
    return out


def shipped_for(url: str) -> Rules | None:
    """The shipped rule set of ``url``'s host (or of the domain it is under)."""
    host = host_of(url).lower()
    table = shipped()
    while host:
        if host in table:
            return table[host]
        host = host.partition(".")[2] if host.count(".") > 1 else ""
    return None


def _line_text(el: Tag) -> str:
    """An element's text on one line, with the page's own spaces (U+3000, double spaces) kept."""
    lines = (line.strip(" \t\r") for line in el.get_text().split("\n"))
    return " ".join(line for line in lines if line).strip()


def parse_when(value: str, zone: str | None) -> tuple[datetime, bool] | None:
    """The instant a page's date text names, and whether it names an hour: with its offset;
    without one, in ``zone`` (no zone: None, never a guessed hour); a bare day stays that
    day (00:00 UTC)."""
    m = _WHEN.search(value)
    if not m:
        return None
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    try:
        if m[4] is None:
            return datetime(year, month, day, tzinfo=UTC), False
        naive = datetime(year, month, day, int(m[4]), int(m[5]), int(m[6] or 0))
    except ValueError:
        return None
    try:
        if m[7]:
            if m[7] == "Z":
                return naive.replace(tzinfo=UTC), True
            sign = 1 if m[7][0] == "+" else -1
            digits = m[7][1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            return naive.replace(tzinfo=timezone(sign * offset)).astimezone(UTC), True
        return (naive.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC), True) if zone else None
    except (ValueError, OverflowError):  # an offset of 24 hours or more; past the last UTC instant
        return None


def _time_of(el: Tag, zone: str | None, url: str) -> datetime | None:
    """The element's ``datetime`` or ``content``, else its text; a value with an hour wins
    over a bare day (蘋果日報's ``<time datetime>`` holds a wrong day, its text the hour)."""
    values = [value for value in (el.get("datetime"), el.get("content"), el.get_text(" ")) if isinstance(value, str)]
    found = [(when, value) for value in values if (when := parse_when(value, zone))]
    timed = [(when, value) for (when, has_hour), value in found if has_hour]
    if timed:
        if parse_when(timed[0][1], None) is None:  # it needed the zone: say which, as the general extractor does
            log.info("zone url=%s: a time without an offset read in %s, the zone of the rules for its site", url, zone)
        return timed[0][0]
    return found[0][0][0] if found else None


def _outermost(found: list[Tag]) -> list[Tag]:
    chosen = set(map(id, found))
    return [el for el in found if not any(id(a) in chosen for a in el.parents)]


def _figure(match: Tag, base: str) -> etree._Element | None:
    """A photo the rule selects (an ``img``, or a block holding one) as ``<figure><img><figcaption>``."""
    img = match if match.name == "img" else match.find("img")
    if not isinstance(img, Tag):
        return None
    probe = etree.Element("img", {k: v for k, v in img.attrs.items() if isinstance(v, str) and k.isascii()})
    src = clean.image_url(probe, base)
    if src is None:
        return None
    caption_el = match.find("figcaption")
    # No figcaption: the block's own text is the caption (a <p> under the photo in its box).
    caption = _line_text(caption_el if isinstance(caption_el, Tag) else match) if match is not img else ""
    figure: etree._Element = lxml.html.Element("figure")
    figure.append(lxml.html.Element("img", src=src, alt=caption or str(img.get("alt") or "").strip()))
    if caption:
        etree.SubElement(figure, "figcaption").text = caption
    return figure


def _photos(soup: BeautifulSoup, rules: Rules, base: str) -> dict[int, etree._Element]:
    """Each photo the rule selects, built, and left in the page as a numbered placeholder."""
    figures: dict[int, etree._Element] = {}
    if not rules.photos:
        return figures
    for match in _outermost(soup.select(rules.photos)):
        built = _figure(match, base)
        if built is None:
            continue
        n = len(figures)
        figures[n] = built
        match.replace_with(soup.new_tag("figure", attrs={_FIGURE: str(n)}))
    return figures


def _remove(el: etree._Element) -> None:
    """Take ``el`` out of its parent, leaving the text that followed it in place."""
    parent = el.getparent()
    assert parent is not None
    tail, el.tail = el.tail, None
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def _tidy_blocks(box: etree._Element) -> None:
    """A photo inside a paragraph (udn.com's ``<p><figure>``) stands before or after it;
    paragraphs left empty go."""
    for fig in list(box.iter("figure")):
        p = next((a for a in fig.iterancestors() if a.tag == "p"), None)
        if p is None:
            continue
        before = text_of(p).split(text_of(fig))[0] if len(fig) else ""
        _remove(fig)
        (p.addprevious if not before.strip() else p.addnext)(fig)
    for p in list(box.iter("p")):
        if not text_of(p).strip() and p.find(".//img") is None and p.getparent() is not None:
            _remove(p)


_CONTAINERS = ("div", "section", "article", "main")
_BLOCKS = ("p", "div", "section", "article", "figure", "table", "ul", "ol", "blockquote", "h2", "h3", "h4", "h5", "h6")


def _flatten(box: etree._Element) -> None:
    """The selected containers opened, so that the story's bounds are judged paragraph by
    paragraph (a hotline notice in the same ``div`` as the story is a block of its own)."""
    while opened := [el for el in box if el.tag in _CONTAINERS and any(isinstance(c.tag, str) and c.tag in _BLOCKS for c in el)]:
        for el in opened:
            el.drop_tag()  # type: ignore[attr-defined]


def _body(soup: BeautifulSoup, rules: Rules, base: str, figures: dict[int, etree._Element]) -> tuple[str, int] | None:
    """The selected story blocks: ``<br><br>`` runs split, the selected photos in their
    places (others dropped when a photo rule is given), the ones above the story first."""
    assert rules.body is not None
    found = _outermost(soup.select(rules.body))
    if not found:
        return None
    box = lxml.html.fragment_fromstring("".join(str(el) for el in found), create_parent="div")
    blocks.split_breaks(box)
    for el in list(box):
        if isinstance(el.tag, str) and el.tag not in ("figure", "table", "ul", "ol", "h2", "h3", "h4", "blockquote"):
            blocks.wrap_runs(el)
    placed: set[int] = set()
    for el in list(box.iter("img", "picture", "figure")):
        number = el.get(_FIGURE)
        if number is not None and int(number) in figures:
            placed.add(int(number))
            fig = figures[int(number)]
            fig.tail = el.tail
            el.getparent().replace(el, fig)
        elif rules.photos and el.getparent() is not None:
            el.drop_tree()  # not one of the story's photos (an icon, a related item's thumbnail)
    _tidy_blocks(box)
    _flatten(box)
    lead = [fig for n, fig in sorted(figures.items()) if n not in placed]
    for fig in reversed(lead):
        box.insert(0, fig)
    # The general rules of a story's bounds (ad markers, bare labels, link lists after the
    # end) hold inside what a rule selects too.
    html, photos = clean.clean_elements(furniture.remove([el for el in box if isinstance(el.tag, str)]), base)
    if box.text and box.text.strip():
        html = clean.text(box.text.strip()) + html
    return (html, photos) if html.strip() else None


def paragraphs(body_html: str) -> tuple[str, ...]:
    """The plain text of each ``<p>`` of a cleaned body."""
    if not body_html.strip():
        return ()
    box = lxml.html.fragment_fromstring(body_html, create_parent="div")
    return tuple(t for p in box.iter("p") if (t := " ".join(p.text_content().split())))


def _with_photos(body: tuple[str, int], other: str) -> tuple[str, int]:
    """A body the rules selected without photos gets the photos the general extractor found,
    first (no ``photos`` rule: the photos are what no rule gives)."""
    if "<img" in body[0] or "<img" not in other:
        return body
    box = lxml.html.fragment_fromstring(other, create_parent="div")
    figures = [f for f in box.iter("figure") if f.find(".//img") is not None]
    if not figures:
        return body
    for fig in figures:
        fig.tail = None
    html = "".join(etree.tostring(f, encoding="unicode", method="html") for f in figures)
    return html + body[0], body[1] + len(figures)


def extract(data: bytes, url: str, charset: str | None, rules: Rules, fill: Extractor, *, strict: bool = False) -> Article:
    """The page as ``rules`` read it; what they do not give, from ``fill`` (the general
    extractor, or CNA's fallback) run on the page without the ``drop`` blocks. ``strict``:
    a title or body rule that matches nothing is an error (the page is not the layout the
    rules were written for), not a part left to ``fill``."""
    text = decode(data, charset, url)
    soup = BeautifulSoup(text, "lxml")
    # Every drop selector matches the page as served, then all that they match goes.
    for el in [el for selector in rules.drop for el in soup.select(selector)]:
        if not el.decomposed:
            el.decompose()
    title_el = soup.select_one(rules.title) if rules.title else None
    title = _line_text(title_el) if title_el is not None else ""
    time_el = soup.select_one(rules.time) if rules.time else None
    published = _time_of(time_el, rules.timezone, url) if time_el is not None else None
    figures = _photos(soup, rules, url)
    body = _body(soup, rules, url, figures) if rules.body else None
    if strict and ((rules.title and not title) or (rules.body and body is None)):
        raise LayoutChanged(url, f"the rules' {'title' if rules.title and not title else 'body'} selector matches nothing on the page", field="title" if rules.title and not title else "body")
    filled: Article | None = None
    if not title or published is None or body is None:
        try:
            # the page as served when nothing was taken out of it: no second serialization
            filled = fill(str(soup).encode("utf-8"), url, "utf-8") if rules.drop or figures else fill(data, url, charset)
        except ExtractError:
            if body is None:
                raise
        log.debug("rules url=%s title=%s time=%s body=%s", url, bool(title), published is not None, body is not None)
    if body is None and filled is None:
        raise NotAnArticle(url, "the rules' body selector matched nothing")
    if filled is None and not title:
        root = lxml.html.document_fromstring(text)
        title = pagemeta.title_of(root, metas(root))
    if body is not None and filled is not None and not rules.photos:
        body = _with_photos(body, filled.body_html)
    base = filled or Article(article_id=identity(url), url=url, title="", published=None, updated=None, category="", tags=(), lead_photo=None, body_html="")
    return dataclasses.replace(
        base,
        title=title or base.title,
        published=published or base.published,
        body_html=body[0] if body else base.body_html,
        inline_photos=body[1] if body else base.inline_photos,
        paragraphs=paragraphs(body[0]) if body else base.paragraphs or paragraphs(base.body_html),
    )
