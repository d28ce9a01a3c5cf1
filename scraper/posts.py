"""Article -> Post text and file name, exactly as ../shared/FORMAT.md specifies (pure).

The layout is the contract with users' Jekyll sites: it reproduces, byte for byte,
the front matter, comment, link and ``------`` lines of the real posts in
``corpus/posts/`` (see the seed sample
``2022-10-07-蒲亭70歲金正恩祝壽 分析：同遭孤立相互取暖.md``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .clean import neutralise_liquid
from .errors import ExtractError
from .models import Article, Post

# What PyYAML's reader accepts, less the characters YAML treats as line breaks
# (they would fold the title): everything else in a title is a control character.
_NOT_YAML_SAFE = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufeff\uff00-\ufffd\U00010000-\U0010ffff]")
_MD_SPECIAL = re.compile(r"([\\`*_<>|~])")
MAX_NAME_BYTES = 255
TITLE_CHARS = 50


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
    Markdown and HTML specials are escaped; ``{{``/``{%`` cannot reach Liquid.
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


def render(*, title: str, url: str, date: datetime, site: str, body: str, author: str | None = None) -> str:
    """The post text for the given fields. ``date`` must be tz-aware."""
    if date.tzinfo is None:
        raise ValueError("date must be tz-aware")
    ms_date = date.astimezone(UTC).replace(microsecond=date.microsecond // 1000 * 1000)
    # Liquid must see no tag in the body, whatever the extractor assembled.
    one_line = neutralise_liquid(" ".join(body.splitlines()))
    return (
        "---\n"
        "layout: post\n"
        f"title: {yaml_title(title)}\n"
        f"date: {iso_ms(ms_date)}\n"
        f"author: {author or site}\n"
        f"from: {url}\n"
        f"tags: [ {site} ]\n"
        "comments: True\n"
        f"categories: [ {site} ]\n"
        "---\n"
        f"<!--{round(ms_date.timestamp() * 1000)}-->\n"
        f"[{link_text(title)}]({url})\n"
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


def build(article: Article, *, site: str, date: datetime | None = None, author: str | None = None) -> Post:
    """The post for ``article``; ``date`` is the feed item's pubDate when there is one."""
    when = date or article.published
    if when is None:
        raise ExtractError(article.url, "no publication time on the page or in the feed item")
    text = render(title=article.title, url=article.url, date=when, site=site, body=article.body_html, author=author)
    return Post(
        article_id=article.article_id,
        filename=filename(when, article.title),
        text=text,
        url=article.url,
        other_filename=filename(when, article.title, article.article_id),
    )
