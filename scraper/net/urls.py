"""URLs and article ids: parse, canonicalise, identify. Every URL rule lives here.

The feed reader, the extractors, the cleaner, the writer and the state all ask this
module; none parses a URL of its own. Every function is total on outside data: a
link urllib rejects (``http://[x``, a port of ``99999``) gives ``None`` or ``""``,
never a ``ValueError`` escaping into a run.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import TypeVar
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

T = TypeVar("T")
TAIPEI = timezone(timedelta(hours=8), "Asia/Taipei")  # no DST since 1979
CNA_HOSTS = frozenset({"www.cna.com.tw", "cna.com.tw", "m.cna.com.tw"})
CNA_BASE = "https://www.cna.com.tw"
ARTICLE_PATH = re.compile(r"^/news/([a-z0-9]+)/(\d{12})(?:-\d+)?\.aspx$", re.I)
ID = re.compile(r"^\d{12}$")
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that only track the reader; every other parameter is kept.
TRACKING_PREFIXES = ("utm_", "at_", "fbclid", "gclid", "mc_", "ocid", "cmpid")
TRACKING_NAMES = frozenset({"ref_src", "spm", "igshid", "topic_source"})
# What may stand in a URL that a post prints: RFC 3986's reserved and unreserved
# characters plus ``%``, less the quote and parentheses (they end a Markdown link or an
# attribute); everything else (spaces, quotes, <>, {}, |, non-ASCII) is encoded.
_URL_SAFE = "/:?#[]@!$&*+,;=-._~%"
_BARE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")  # a % that starts no escape is a literal %


def split(url: str) -> SplitResult | None:
    """``urlsplit`` that answers None where urllib raises (bad brackets, bad port)."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return None
    return parts


def is_web(url: str) -> bool:
    """An absolute http(s) URL with a host, that urllib can parse."""
    parts = split(url)
    return parts is not None and parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def host_of(url: str) -> str:
    """The lower-case host of ``url``; ``""`` when it has none or cannot be parsed."""
    parts = split(url)
    return (parts.hostname or "").lower() if parts else ""


def _default_port(parts: SplitResult) -> bool:
    return parts.port is None or parts.port == _DEFAULT_PORTS.get(parts.scheme.lower())


def by_host_in_turn(items: Iterable[T], url: Callable[[T], str]) -> list[T]:
    """``items`` reordered so that hosts take turns (the first of each host, then the
    second of each, …), each host's own order kept: a pool of workers then spreads
    over every host instead of queueing behind the limits of the first."""
    queues: dict[str, list[T]] = {}
    for item in items:
        queues.setdefault(host_of(url(item)), []).append(item)
    return [q[i] for i in range(max((len(q) for q in queues.values()), default=0)) for q in queues.values() if i < len(q)]


def is_tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_NAMES or low.startswith(TRACKING_PREFIXES)


def strip_tracking(url: str) -> str | None:
    """Drop tracking parameters and the fragment; keep everything else. None when unparseable."""
    parts = split(url)
    if parts is None:
        return None
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking(k)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def absolute(url: str, base: str) -> str | None:
    """An absolute http(s) URL for ``url`` seen on page ``base``, or None when it is no web link.

    ``javascript:``, ``data:``, other schemes and links urllib cannot parse give None.
    """
    url = url.strip()
    if not url or url.startswith("#"):
        return None
    try:
        joined = urljoin(base, url)
    except ValueError:
        return None
    parts = split(joined)
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", parts.query, ""))


def resolve(location: str, base: str) -> str | None:
    """A redirect's ``Location`` against the URL that sent it: an http(s) URL, or None."""
    try:
        target = urljoin(base, location.strip())
    except ValueError:
        return None
    return target if is_web(target) else None


def printable(url: str) -> str | None:
    """``url`` as a post may print it (``from:``, the title link): http(s) only, and
    percent-encoded where a character could break YAML, Markdown, HTML or Liquid.

    URLs already in that form (every real post's) come back unchanged.
    """
    if not is_web(url):
        return None
    return quote(_BARE_PERCENT.sub("%25", url.strip()), safe=_URL_SAFE)


# ---------------------------------------------------------------- CNA's ids


def cna_id(url: str) -> str | None:
    """The 12-digit id of a CNA article URL on a CNA host (default port only), or None."""
    parts = split(url)
    if parts is None or (parts.hostname or "").lower() not in CNA_HOSTS or not _default_port(parts):
        return None
    m = ARTICLE_PATH.match(parts.path)
    return str(m.group(2)) if m else None


def id_in_path(url: str) -> str | None:
    """The id in a ``/news/<slug>/<id>.aspx`` path on any host (a mirror, a test server)."""
    parts = split(url)
    m = ARTICLE_PATH.match(parts.path) if parts else None
    return str(m.group(2)) if m else None


def section_of(url: str) -> str | None:
    """The slug of a ``/news/<slug>/<id>.aspx`` path, lower-case (``aopl``)."""
    parts = split(url)
    m = ARTICLE_PATH.match(parts.path) if parts else None
    return m.group(1).lower() if m else None


def cna_canonical(url: str) -> str | None:
    """``https://www.cna.com.tw/news/<slug>/<id>.aspx``: lower-case, no query, fragment or ``-1``."""
    parts = split(url)
    if parts is None or (parts.hostname or "").lower() not in CNA_HOSTS:
        return None
    m = ARTICLE_PATH.match(parts.path)
    if not m:
        return None
    return f"{CNA_BASE}/news/{m.group(1).lower()}/{m.group(2)}.aspx"


def cna_page(article_id: str, slug: str = "aall", base: str = CNA_BASE) -> str:
    """A URL that serves article ``article_id``: CNA answers any slug with the article."""
    return f"{base}/news/{slug}/{article_id}.aspx"


def id_day(article_id: str) -> datetime | None:
    """The day a CNA id was issued (``YYYYMMDD`` + serial), midnight Asia/Taipei."""
    if not ID.match(article_id):
        return None
    try:
        return datetime.strptime(article_id[:8], "%Y%m%d").replace(tzinfo=TAIPEI)
    except ValueError:
        return None


def feed_article(link: str, feed_url: str) -> tuple[str, str] | None:
    """(link without tracking, 12-digit id) when a CNA feed's ``link`` is a CNA article URL
    on a CNA host, or on the feed's own host (a mirror, a test server); None otherwise."""
    stripped = strip_tracking(link)
    parts = split(stripped) if stripped else None
    feed = split(feed_url)
    if parts is None or feed is None or parts.scheme.lower() not in ("http", "https"):
        return None
    on_cna = (parts.hostname or "").lower() in CNA_HOSTS and _default_port(parts)
    if parts.netloc.lower() != feed.netloc.lower() and not on_cna:
        return None
    match = ARTICLE_PATH.match(parts.path)
    if not match:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, "")), match.group(2)


# ---------------------------------------------------------------- identity of any article


def identity(url: str) -> str:
    """An article's identity from its URL: CNA's 12-digit id, else a hash of the link
    without tracking parameters and fragment (12 hex digits, safe in a file name)."""
    return cna_id(url) or digest(normalise(url))


def identities(printed: str) -> tuple[str, ...]:
    """The identities a post's ``from:`` URL may stand for: the URL as printed, and as it
    was before ``printable`` percent-encoded it (a link with 中文 or a space in it)."""
    plain = unquote(printed)
    return tuple(dict.fromkeys((identity(printed), identity(plain))))


def normalise(url: str) -> str:
    """The link as identity: no tracking parameters or fragment, lower-case scheme and host."""
    stripped = strip_tracking(url) or url.strip()
    scheme, _, rest = stripped.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}"


def digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", errors="surrogatepass")).hexdigest()[:12]
