"""A news page's title and publication time, read from its head and headline (pure).

Sites append their name to ``og:title`` and ``<title>`` (BBC 中文: 「… - BBC News 中文」,
紐約時報中文網: 「… - 紐約時報中文網」) while the headline a reader sees is the page's
``h1``. The ``h1`` is taken when it is the same title up to that suffix and punctuation
(BBC's ``h1`` has a colon its ``og:title`` lacks); otherwise a suffix is cut only when it is
the site's own name as the page states it (``og:site_name``, ``application-name``, the
JSON-LD ``publisher``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime

from ..page import Element, text_of

# What sites put between a headline and their name.
SEPARATORS = (" - ", " | ", " – ", " — ", "_", "｜", " :: ", " · ")
# Keys naming the site itself; ``apple-mobile-web-app-title`` is left out: some sites put the
# page's full title there (紐約時報中文網 does).
SITE_NAME_KEYS = ("og:site_name", "application-name", "twitter:app:name:iphone")
TITLE_KEYS = ("og:title", "twitter:title", "headline")
# Open Graph, then the common publisher metas; schema.org's name in JSON-LD comes after.
# No news page predates the web; an earlier structured date (JSON-LD's 「0001-01-01」) is a
# placeholder, and the next source of the time is read instead.
EARLIEST_YEAR = 1991
TIME_KEYS = ("article:published_time", "og:article:published_time", "datePublished", "pubdate", "publishdate", "date", "DC.date.issued", "parsely-pub-date", "sailthru.date")


def _key(s: str) -> str:
    """The letters and digits of ``s``, case-folded: titles compared up to punctuation and spaces."""
    return "".join(ch for ch in s.casefold() if unicodedata.category(ch)[0] in "LN")


def _squash(s: str) -> str:
    return " ".join(s.split())


def site_names(meta: dict[str, list[str]]) -> list[str]:
    return [_squash(v) for k in SITE_NAME_KEYS for v in meta.get(k, ()) if v.strip()]


def strip_site_suffix(title: str, names: Iterable[str]) -> str:
    """``title`` without a trailing ``<separator><site name>`` (the name as the page states it)."""
    for name in names:
        for sep in SEPARATORS:
            tail = sep + name
            if len(title) > len(tail) and title.endswith(tail):
                return title[: -len(tail)].rstrip()
            if len(title) > len(name) + 1 and title.startswith(name + sep):  # 「Site | Title」
                return title[len(name + sep) :].lstrip()
    return title


def _is_prefix_up_to_suffix(headline: str, title: str) -> bool:
    """True when ``title`` is ``headline`` (up to punctuation and spaces), maybe followed by
    a separator and more: the site's suffix."""
    want = _key(headline)
    if len(want) < 2:
        return False
    got = ""
    for i, ch in enumerate(title):
        if got == want:
            rest = title[i:]
            return not _key(rest) or any((j := rest.find(sep)) >= 0 and not _key(rest[:j]) for sep in SEPARATORS)
        got += _key(ch)
        if not want.startswith(got):
            return False
    return got == want


def title_of(root: Element, meta: dict[str, list[str]]) -> str:
    """The headline as the reader sees it, without the site's name."""
    declared = [_squash(v) for k in TITLE_KEYS for v in meta.get(k, ())]
    head = root.find(".//title")
    if head is not None:
        declared.append(_squash(text_of(head)))
    declared = [t for t in declared if t]
    for h1 in root.iter("h1"):
        headline = _squash(text_of(h1))
        if headline and any(_is_prefix_up_to_suffix(headline, t) for t in declared):
            return headline
    if not declared:
        return ""
    publishers = [p.get("name") for p in json_ld(root, "publisher") if isinstance(p, dict)]
    names = site_names(meta) + [_squash(n) for n in publishers if isinstance(n, str) and n.strip()]
    return strip_site_suffix(declared[0], names)


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 instant with a time of day and an offset; None for anything less."""
    value = value.strip()
    if not re.match(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d", value):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None or not parsed.year >= EARLIEST_YEAR:
        return None
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):  # 9999-12-31T23:00-05:00
        return None


def json_ld(root: Element, key: str) -> list[object]:
    """Every value of ``key`` in the page's JSON-LD, at any depth (``@graph`` included)."""
    found: list[object] = []

    def visit(node: object) -> None:
        if isinstance(node, dict):
            if key in node:
                found.append(node[key])
            for child in node.values():
                visit(child)
        elif isinstance(node, list):
            for child in node:
                visit(child)

    for script in root.iter("script"):
        if (script.get("type") or "").lower() == "application/ld+json" and script.text:
            try:
                visit(json.loads(script.text))
            except ValueError:
                continue
    return found


def published_of(root: Element, meta: dict[str, list[str]]) -> datetime | None:
    """The publication instant the page states with a time and an offset, or None.

    A bare day or a time without an offset is not an instant; the caller falls back to
    a weaker source rather than guessing the hour or the zone.
    """
    candidates = [v for k in TIME_KEYS for v in meta.get(k, ())]
    candidates += [v for v in json_ld(root, "datePublished") if isinstance(v, str)]
    candidates += [t.get("datetime") or "" for t in root.iter("time") if t.get("pubdate") is not None]
    for value in candidates:
        parsed = parse_time(value)
        if parsed is not None:
            return parsed
    return None
