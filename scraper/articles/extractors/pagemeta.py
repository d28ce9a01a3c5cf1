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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache
from importlib import resources
from pathlib import Path
from zoneinfo import TZPATH, ZoneInfo

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


def visible(s: str) -> str:
    """Text as the page shows it: a run of whitespace that breaks a line (markup's
    indentation) becomes one space; the page's own spaces (U+3000, two spaces) stay."""
    return _LINE_BREAKING.sub(" ", s).strip()


_LINE_BREAKING = re.compile(r"[^\S\u3000]*[\n\r\t\f\v][^\S\u3000]*")


def title_of(root: Element, meta: dict[str, list[str]], names: Iterable[str] = ()) -> str:
    """The headline as the reader sees it (an ``h1``, else an ``h2``, that the declared
    title repeats), else the declared title without the site's name (``names``: the
    source's names the caller knows, such as its feed's ``site:``)."""
    declared = [visible(v) for k in TITLE_KEYS for v in meta.get(k, ())]
    head = root.find(".//title")
    if head is not None:
        declared.append(visible(text_of(head)))
    declared = [t for t in declared if t]
    for tag in ("h1", "h2"):
        for heading in root.iter(tag):
            headline = visible(text_of(heading))
            if headline and any(_is_prefix_up_to_suffix(headline, t) for t in declared):
                return headline
    if not declared:
        return ""
    publishers = [p.get("name") for p in json_ld(root, "publisher") if isinstance(p, dict)]
    known = site_names(meta) + [_squash(n) for n in publishers if isinstance(n, str) and n.strip()] + [_squash(n) for n in names if n.strip()]
    return strip_site_suffix(declared[0], known)


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 instant with a time of day and an offset; None for anything less."""
    aware = _aware(value)
    if aware is None:
        return None
    try:
        return aware.astimezone(UTC)
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


# Other times a page states: an offset given for one of them is the page's own zone.
OTHER_TIME_KEYS = ("article:modified_time", "og:updated_time", "dateModified", "last-modified")
LANGUAGE_KEYS = ("og:locale", "content-language", "language")
_LOCAL = re.compile(r"(\d{4})[-/.](\d\d?)[-/.](\d\d?)(?:[T ]+(\d\d?):(\d\d)(?::(\d\d))?(?:\.\d+)?)?\s*$")
_REGION = re.compile(r"[-_]([A-Za-z]{2})(?:[-_]|$)")


@dataclass(frozen=True)
class Zone:
    """The zone a page's times without an offset are read in, and why it was chosen."""

    tz: tzinfo
    why: str


@cache
def _one_zone_countries() -> dict[str, str]:
    """Country code -> its zone, for the countries with exactly one zone in the tz database."""
    text = ""
    for folder in (*TZPATH, ""):
        try:
            text = (Path(folder) / "zone.tab").read_text(encoding="utf-8") if folder else resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
            break
        except (OSError, ModuleNotFoundError):
            continue
    zones: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and not line.startswith("#"):
            zones.setdefault(fields[0].upper(), []).append(fields[2])
    return {country: names[0] for country, names in zones.items() if len(names) == 1}


def infer_zone(root: Element, meta: dict[str, list[str]]) -> Zone | None:
    """The page's zone when the page makes it unambiguous, else None: first an offset the
    page states for its times (all alike), then a language tag naming a region that has
    one zone (``zh-Hant-TW`` -> Asia/Taipei; ``en-US``, ``zh-CN`` and bare ``zh`` say nothing)."""
    stated = [v for k in (*TIME_KEYS, *OTHER_TIME_KEYS) for v in meta.get(k, ())]
    stated += [v for k in ("datePublished", "dateModified") for v in json_ld(root, k) if isinstance(v, str)]
    stated += [t.get("datetime") or "" for t in root.iter("time")]
    offsets = {parsed.utcoffset() for v in stated if (parsed := _aware(v)) is not None}
    if len(offsets) == 1:
        offset = offsets.pop()
        if offset is not None:
            return Zone(timezone(offset), f"the offset {_offset(offset)} the page states for another of its times")
    tags = [root.get("lang") or "", root.get("{http://www.w3.org/XML/1998/namespace}lang") or ""]
    tags += [v for k in LANGUAGE_KEYS for v in meta.get(k, ())]
    tags += [m.get("content") or "" for m in root.iter("meta") if (m.get("http-equiv") or "").lower() == "content-language"]
    found = {zone for tag in tags if (m := _REGION.search(tag.strip())) and (zone := _one_zone_countries().get(m.group(1).upper()))}
    if len(found) == 1:
        name = found.pop()
        return Zone(ZoneInfo(name), f"{name}, the one zone of the region in the page's language tag")
    return None


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    return f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _aware(value: str) -> datetime | None:
    """``value`` as stated, with its own offset, when it has one and is a real date."""
    value = value.strip()
    if not re.match(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d", value):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None and parsed.year >= EARLIEST_YEAR else None


def parse_local(value: str, zone: tzinfo) -> datetime | None:
    """A date with a time and no offset, read in ``zone``; a bare day becomes its noon there,
    which stays that calendar day wherever the post is shown (UTC-11 to UTC+12)."""
    m = _LOCAL.match(value.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) if g else None for g in m.groups())
    try:
        local = datetime(year or 0, month or 0, day or 0, 12 if hour is None else hour, minute or 0, second or 0)
    except ValueError:
        return None
    if local.year < EARLIEST_YEAR:
        return None
    return local.replace(tzinfo=zone).astimezone(UTC)


def published_of(root: Element, meta: dict[str, list[str]], zone: Zone | None = None) -> datetime | None:
    """The publication instant the page states: with its own offset first; else a time
    without one (then a bare day) read in ``zone``; None when there is neither or no zone.
    Placeholder dates (before 1991) are skipped for the next source."""
    candidates = [v for k in TIME_KEYS for v in meta.get(k, ())]
    candidates += [v for v in json_ld(root, "datePublished") if isinstance(v, str)]
    candidates += [t.get("datetime") or "" for t in root.iter("time") if t.get("pubdate") is not None]
    for value in candidates:
        parsed = parse_time(value)
        if parsed is not None:
            return parsed
    if zone is None:
        return None
    timed = [v for v in candidates if _LOCAL.match(v.strip()) and ":" in v]
    for value in timed + [v for v in candidates if v not in timed]:
        local = parse_local(value, zone.tz)
        if local is not None:
            return local
    return None
