"""URL normalisation shared by the feed reader, the extractors and the cleaner."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that only track the reader; every other parameter is kept.
TRACKING_PREFIXES = ("utm_", "at_", "fbclid", "gclid", "mc_", "ocid", "cmpid")
TRACKING_NAMES = frozenset({"ref_src", "spm", "igshid", "topic_source"})


def is_tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_NAMES or low.startswith(TRACKING_PREFIXES)


def strip_tracking(url: str) -> str:
    """Drop tracking parameters and the fragment; keep everything else as it is."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking(k)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def absolute(url: str, base: str) -> str | None:
    """An absolute http(s) URL for ``url`` seen on page ``base``, or None when it is no web link.

    Protocol-relative and plain http links to the same kind of site are kept as
    they are resolved; ``javascript:``, ``data:`` and other schemes give None.
    """
    url = url.strip()
    if not url or url.startswith("#"):
        return None
    joined = urljoin(base, url)
    parts = urlsplit(joined)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", parts.query, ""))


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
