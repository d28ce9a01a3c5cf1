"""Article -> Post text and file name, exactly as docs/FORMAT.md specifies (pure).

The layout is the contract with users' Jekyll sites: it reproduces, byte for byte,
the front matter, comment, link and ``------`` lines that docs/FORMAT.md sets out
(a post is named like ``2022-10-07-蒲亭70歲金正恩祝壽 分析：同遭孤立相互取暖.md``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import UTC, date, datetime

import yaml

from ..articles.clean import neutralise_liquid
from ..errors import ExtractError, NotAnArticle
from ..models import Article, Post
from ..net.urls import printable

# What PyYAML's reader accepts, less the characters YAML treats as line breaks
# (they would fold the title): everything else in a title is a control character.
_NOT_YAML_SAFE = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufeff\uff00-\ufffd\U00010000-\U0010ffff]")
_MD_SPECIAL = re.compile(r"([\\`*_<>|~{}!()])")
MAX_NAME_BYTES = 255
TITLE_CHARS = 50
# FORMAT: a four-digit year and a non-negative epoch in the comment line.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)
_NAME_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-")
# Jekyll's "pretty" slug keeps letters, marks, digits and these; other runs become one hyphen.
_SLUG_KEEP = frozenset("._~!$&'()+,;=@")


def strip_controls(title: str) -> str:
    """The title without control characters (U+FEFF, a BOM, is dropped too)."""
    return _NOT_YAML_SAFE.sub("", title).replace("\ufeff", "")


def yaml_title(title: str) -> str:
    """A YAML double-quoted scalar: ``\\`` -> ``\\\\``, ``"`` -> ``\\"``, control characters removed."""
    return '"' + strip_controls(title).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        depth += (ch == "[") - (ch == "]")
        if depth < 0:
            return False
    return depth == 0


def link_text(title: str) -> str:
    """The title as Markdown link text: as printed, trimmed, unable to break the link.

    Balanced ``[``/``]`` stay as they are (the real posts write ``[[Chinese] …](url)``);
    Markdown and HTML specials are escaped, kramdown's too: ``{`` (attribute lists such as
    ``{: onerror=…}`` and ``{::nomarkdown}``), ``!`` (an image) and the parentheses (a
    link inside the link); ``{{``/``{%`` cannot reach Liquid.
    """
    s = " ".join(strip_controls(title).split("\n")).strip()
    s = _MD_SPECIAL.sub(r"\\\1", s).replace("&", "&amp;")
    s = s.replace("\\<", "&lt;").replace("\\>", "&gt;")
    if not _balanced(s):
        s = s.replace("[", "\\[").replace("]", "\\]")
    return neutralise_liquid(s)


def iso_ms(when: datetime) -> str:
    utc = when.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@functools.lru_cache(maxsize=256)
def yaml_scalar(value: str, *, in_flow: bool = False) -> str:
    """``value`` as a YAML scalar: bare when YAML reads it back as the same string (every
    real post's names), else double-quoted. Control characters are removed."""
    value = " ".join(strip_controls(value).split("\n")).strip()
    bare = f"[ {value} ]" if in_flow else value
    try:
        loaded = yaml.safe_load(f"k: {bare}\n")
    except yaml.YAMLError:
        loaded = None
    want = [value] if in_flow else value
    if value and isinstance(loaded, dict) and loaded.get("k") == want and "\\" not in value:
        return value
    return yaml_title(value)


def utc_instant(when: datetime, url: str) -> datetime:
    """``when`` in UTC, to the millisecond; an ExtractError when it cannot stand in a post
    (no zone, before 1970, past year 9999, or out of datetime's range once converted)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ExtractError(url, f"the time {when.isoformat()} has no zone")
    try:
        utc = when.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ExtractError(url, f"the time {when.isoformat()} is out of range") from exc
    if not EARLIEST <= utc <= LATEST:
        raise ExtractError(url, f"the time {when.isoformat()} is out of range (1970 to 9999)")
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def render(*, title: str, url: str, date: datetime, site: str, body: str, author: str | None = None) -> str:
    """The post text for the given fields. ``date`` must be tz-aware and in range
    (``utc_instant``); ``url`` an http(s) URL (``urls.printable``)."""
    ms_date = utc_instant(date, url)
    link = printable(url)
    if link is None:
        raise NotAnArticle(url, "no http(s) link to write in the post")
    # Liquid must see no tag in the body, whatever the extractor assembled.
    one_line = neutralise_liquid(" ".join(body.splitlines()))
    return (
        "---\n"
        "layout: post\n"
        f"title: {yaml_title(title)}\n"
        f"date: {iso_ms(ms_date)}\n"
        f"author: {yaml_scalar(author or site)}\n"
        f"from: {link}\n"
        f"tags: [ {yaml_scalar(site, in_flow=True)} ]\n"
        "comments: True\n"
        f"categories: [ {yaml_scalar(site, in_flow=True)} ]\n"
        "---\n"
        f"<!--{round(ms_date.timestamp() * 1000)}-->\n"
        f"[{link_text(title)}]({link})\n"
        "------\n"
        "\n"
        "<div>\n"
        f"{one_line}\n"
        "</div>\n"
    )


def file_stem(date: datetime, title: str) -> str:
    """``<UTC date>-<first 50 characters of the title>``, made safe for any file system."""
    part = strip_controls(title)[:TITLE_CHARS].replace("/", "--").replace("\\", "").replace("\x00", "")
    part = part.strip().lstrip(".")
    stem = f"{date.astimezone(UTC):%Y-%m-%d}-{part}".rstrip()
    # leave room for "-<12-digit id>.md"
    budget = MAX_NAME_BYTES - len(".md") - 13
    while len(stem.encode("utf-8")) > budget:
        stem = stem[:-1]
    return stem


def filename(date: datetime, title: str, article_id: str | None = None) -> str:
    stem = file_stem(date, title)
    return f"{stem}-{article_id}.md" if article_id else f"{stem}.md"


def jekyll_slug(name: str) -> str:
    """The ``:title`` Jekyll gives a post file ``YYYY-MM-DD-<slug>.md`` in its URL (its
    "pretty" slug, cased): runs of other characters become one hyphen, none at the ends."""
    stem = name[: -len(".md")] if name.endswith(".md") else name
    stem = (stem[11:] if _NAME_DAY.match(stem) else stem).rstrip(".")
    out: list[str] = []
    for ch in stem:
        keep = ch in _SLUG_KEEP or unicodedata.category(ch)[0] in "LM" or unicodedata.category(ch) == "Nd"
        if keep:
            out.append(ch)
        elif not out or out[-1] != "\0":
            out.append("\0")
    return "".join(out).strip("\0").replace("\0", "-")


def name_day(name: str) -> date | None:
    """The date at the head of a post file name."""
    m = _NAME_DAY.match(name)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def build(article: Article, *, site: str, date: datetime | None = None, author: str | None = None) -> Post:
    """The post for ``article``; ``date`` is the feed item's pubDate when there is one."""
    when = date or article.published
    if when is None:
        raise ExtractError(article.url, "no publication time on the page or in the feed item")
    when = utc_instant(when, article.url)
    text = render(title=article.title, url=article.url, date=when, site=site, body=article.body_html, author=author)
    return Post(
        article_id=article.article_id,
        filename=filename(when, article.title),
        text=text,
        url=article.url,
        other_filename=filename(when, article.title, article.article_id),
    )
