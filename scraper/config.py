"""feeds.yaml -> frozen configuration values.

Every mistake is a ConfigError naming the file, the line (where the YAML parser
gives one) and the key, so a user can fix it from the cron mail alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import yaml

from .errors import ConfigError
from .models import CONTENT_MODES, PHOTO_MODES, UPDATE_MODES, ContentMode, PhotoMode, Rules, UpdateMode
from .net.addresses import allow_list
from .net.urls import split
from .schedule import Policy
from .yamlcheck import Where, check_choice, check_number, check_str, check_zone

DEFAULT_USER_AGENT = "cna-jekyll-scraper/0.1 (Jekyll news mirror; python-httpx)"
DEFAULT_ZONE = "Asia/Taipei"  # CNA's own clock


@dataclass(frozen=True)
class HttpConfig:
    user_agent: str = DEFAULT_USER_AGENT
    timeout: float = 20.0  # connect and read timeout, seconds
    deadline: float = 60.0  # whole response, seconds
    max_per_host: int = 2  # requests in flight to one host
    max_connections: int = 16  # requests in flight in all, across hosts
    delay: float = 1.0  # seconds between requests to one host
    max_bytes: int = 8_000_000  # decoded body size cap
    retries: int = 3  # tries within a run for transient failures
    max_retry_after: float = 3600.0  # cap on a server's Retry-After, seconds
    backoff: float = 1.0  # first wait between tries within a run, seconds (doubles, with jitter)
    wait_in_run: float = 60.0  # a longer Retry-After ends the host's turn for this run
    allow_private: tuple[str, ...] = ()  # hosts, addresses or CIDR networks outside content may lead to
    named: tuple[str, ...] = ()  # URLs the operator named (feeds, backfill): their host:port is allowed

    def naming(self, *urls: str) -> HttpConfig:
        """This configuration with ``urls`` counted as named by the operator."""
        return dataclasses.replace(self, named=(*self.named, *urls))


@dataclass(frozen=True)
class FeedConfig:
    name: str
    url: str
    site: str | None = None  # display name for this feed's posts; default the top-level site
    content: ContentMode = "page"  # auto is the default for feeds with their own site
    photos: PhotoMode | None = None  # None: the top-level setting
    updates: UpdateMode = "keep"  # keep: the first version stays; rewrite: a changed title renders the post again
    rules: Rules | None = None  # CSS selectors for this feed's pages, before the general extractor
    timezone: str | None = None  # IANA zone of the source's times without an offset; None: inferred from the page


@dataclass(frozen=True)
class PhotoConfig:
    """Limits of ``photos: mirror`` (the ``photo_limits:`` mapping)."""

    per_article: int = 40  # photos stored per article; the rest keep their remote URL
    bytes_per_article: int = 40_000_000  # bytes fetched for one article's photos
    bytes_per_photo: int = 10_000_000  # one photo's cap
    retry_backoff: float = 3600.0  # seconds before a failed photo is tried again; doubles each time
    max_attempts: int = 6  # runs that may fail a photo before it keeps its remote URL for good


SITEMAPS = ("https://www.cna.com.tw/sitemap_fromRemote_cfp.xml", "https://www.cna.com.tw/GoogleNewsSitemap_fromRemote_cfp.xml")


@dataclass(frozen=True)
class BackfillConfig:
    base: str = "https://www.cna.com.tw"  # where article ids are walked
    sitemaps: tuple[str, ...] = SITEMAPS
    max_misses: int = 40  # consecutive missing ids that end a day


@dataclass(frozen=True)
class Config:
    path: Path
    site: str
    output: Path
    feeds: tuple[FeedConfig, ...]
    http: HttpConfig = field(default_factory=HttpConfig)
    state: Path | None = None  # default <output>/.scraper/state.db
    max_attempts: int = 5  # fetch tries across runs before an article is reported
    report_after: int = 3  # failed runs of a feed before it is reported
    article_backoff: float = 600.0  # seconds before a failed article is tried again; doubles each time
    feed_backoff: float = 300.0  # seconds before a feed that failed twice is polled again; doubles each time
    backfill: BackfillConfig = field(default_factory=BackfillConfig)
    photos: PhotoMode = "link"  # link: posts point at the source's photos; mirror: a local copy
    archive: Path | None = None  # a folder of WARC files keeping every page and feed fetched
    timezone: str = DEFAULT_ZONE  # the site's zone: every date on the command line, times printed by status
    then: str | None = None  # a shell command run after a poll that changed posts (``poll --then``)
    photo_limits: PhotoConfig = field(default_factory=PhotoConfig)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def photos_for(self, source: str) -> PhotoMode:
        """The photo mode of an article found by ``source`` (a feed's URL, or a backfill)."""
        for feed in self.feeds:
            if feed.url == source and feed.photos:
                return feed.photos
        return self.photos

    def rules_for(self, source: str) -> Rules | None:
        """The ``rules:`` of the feed an article came from, when it has its own."""
        return next((feed.rules for feed in self.feeds if feed.url == source), None)

    def timezone_for(self, source: str) -> str | None:
        """The ``timezone:`` of the feed an article came from (None: not set, or not from a feed)."""
        return next((feed.timezone for feed in self.feeds if feed.url == source), None)

    def content_for(self, source: str) -> ContentMode | None:
        """The ``content:`` mode of the feed an article came from (None: not from a feed of this file)."""
        return next((feed.content for feed in self.feeds if feed.url == source), None)

    @property
    def policy(self) -> Policy:
        """What the retry and reporting rules need."""
        return Policy(
            max_attempts=self.max_attempts,
            article_backoff=self.article_backoff,
            feed_backoff=self.feed_backoff,
            report_after=self.report_after,
            max_retry_after=self.http.max_retry_after,
            wait_in_run=self.http.wait_in_run,
        )

    @property
    def posts_dir(self) -> Path:
        return self.output / "_posts"

    @property
    def state_path(self) -> Path:
        return self.state or self.output / ".scraper" / "state.db"

    def with_output(self, output: Path) -> Config:
        return dataclasses.replace(self, output=output)

    def with_archive(self, archive: Path) -> Config:
        return dataclasses.replace(self, archive=archive)


TOP_KEYS = {"site", "output", "feeds", "http", "state", "max_attempts", "report_after", "article_backoff", "feed_backoff", "backfill", "photos", "archive", "timezone", "then", "photo_limits"}
FEED_KEYS = {"name", "url", "site", "content", "photos", "updates", "rules", "timezone"}
RULE_SELECTORS = ("title", "body", "time", "photos")
RULE_KEYS = (*RULE_SELECTORS, "drop")
HTTP_KEYS = {
    "user_agent": str,
    "timeout": float,
    "deadline": float,
    "max_per_host": int,
    "max_connections": int,
    "delay": float,
    "max_bytes": int,
    "retries": int,
    "max_retry_after": float,
    "backoff": float,
    "wait_in_run": float,
    "allow_private": list,
}
PHOTO_KEYS: dict[str, type] = {"per_article": int, "bytes_per_article": int, "bytes_per_photo": int, "retry_backoff": float, "max_attempts": int}


def _check_url(where: Where, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise where.error(key, f"must be a URL, not {type(value).__name__}")
    parts = split(value)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or any(ch.isspace() or ord(ch) < 32 for ch in value.strip()):
        raise where.error(key, f"{value!r} is not an http(s) URL")
    return value.strip()


def parse(text: str, path: Path) -> Config:
    """Validate the text of a config file; ``path`` names it in errors and anchors relative paths."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except RecursionError:
        raise ConfigError(f"{path}: not usable: its values are nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{line}: not valid YAML: {problem}") from exc
    where = Where(path, node)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping with keys site, output and feeds")
    for key in data:
        if key not in TOP_KEYS:
            raise where.error(str(key), f"unknown key (expected one of {', '.join(sorted(TOP_KEYS))})")
    for key in ("site", "output", "feeds"):
        if key not in data:
            raise where.error(key, "is missing")
    site = check_str(where, "site", data["site"])
    base = path.parent
    output = base / check_str(where, "output", data["output"])
    state = base / check_str(where, "state", data["state"]) if "state" in data else None
    archive = base / check_str(where, "archive", data["archive"]) if data.get("archive") is not None else None

    feeds = _feeds(where, data["feeds"])
    http = _http(where, data.get("http") or {})
    counts: dict[str, Any] = {}
    for k in ("max_attempts", "report_after"):
        if k in data:
            counts[k] = int(check_number(where, k, data[k], int))
    counts["backfill"] = backfill = _backfill(where, data.get("backfill"))
    http = http.naming(*(f.url for f in feeds), backfill.base, *backfill.sitemaps)
    if "photos" in data:
        counts["photos"] = check_choice(where, "photos", data["photos"], PHOTO_MODES)
    counts["photo_limits"] = _photo_limits(where, data.get("photo_limits"))
    for k in ("article_backoff", "feed_backoff"):
        if k in data:
            counts[k] = float(check_number(where, k, data[k], float))
    if "timezone" in data:
        counts["timezone"] = check_zone(where, "timezone", data["timezone"])
    if data.get("then") is not None:
        counts["then"] = check_str(where, "then", data["then"])
    return Config(path=path, site=site, output=output, feeds=feeds, http=http, state=state, archive=archive, **counts)


def _feeds(where: Where, feeds_data: object) -> tuple[FeedConfig, ...]:
    if not isinstance(feeds_data, list) or not feeds_data:
        raise where.error("feeds", "must be a non-empty list of {name, url}")
    feeds: list[FeedConfig] = []
    seen: dict[str, str] = {}
    names: dict[str, str] = {}
    for i, item in enumerate(feeds_data):
        key = f"feeds[{i}]"
        if not isinstance(item, dict):
            raise where.error(key, "must be a mapping with name and url")
        for k in item:
            if k not in FEED_KEYS:
                raise where.error(f"{key}.{k}", f"unknown key (expected one of {', '.join(sorted(FEED_KEYS))})")
        for k in ("name", "url"):
            if k not in item:
                raise where.error(f"{key}.{k}", "is missing")
        url = _check_url(where, f"{key}.url", item["url"])
        if url in seen:
            raise where.error(f"{key}.url", f"repeats the url of {seen[url]}")
        seen[url] = key
        content = item.get("content", "auto" if "site" in item else "page")
        if content not in CONTENT_MODES:
            raise where.error(f"{key}.content", f"must be one of {', '.join(CONTENT_MODES)}, not {content!r}")
        feed_site = check_str(where, f"{key}.site", item["site"]) if "site" in item else None
        photos = cast(PhotoMode, check_choice(where, f"{key}.photos", item["photos"], PHOTO_MODES)) if "photos" in item else None
        name = check_str(where, f"{key}.name", item["name"])
        if name in names:
            raise where.error(f"{key}.name", f"repeats the name of {names[name]} (names tell feeds apart in error lines)")
        names[name] = key
        updates = cast(UpdateMode, check_choice(where, f"{key}.updates", item["updates"], UPDATE_MODES)) if "updates" in item else "keep"
        rules = check_rules(where, f"{key}.rules", item["rules"]) if "rules" in item else None
        zone = check_zone(where, f"{key}.timezone", item["timezone"]) if "timezone" in item else None
        feeds.append(FeedConfig(name, url, feed_site, cast(ContentMode, content), photos, updates, rules, zone))
    return tuple(feeds)


def _check_selector(where: Where, key: str, value: object) -> str:
    """A CSS selector that soupsieve (Beautiful Soup's selector engine) compiles."""
    import soupsieve  # only a config with rules needs it

    selector = check_str(where, key, value)
    try:
        soupsieve.compile(selector)
    except soupsieve.SelectorSyntaxError as exc:
        raise where.error(key, f"not a valid CSS selector: {selector!r}: {str(exc).splitlines()[0]}") from None
    except (ValueError, TypeError) as exc:  # a selector soupsieve refuses by its meaning
        raise where.error(key, f"not a valid CSS selector: {selector!r}: {exc}") from None
    return selector


def check_rules(where: Where, key: str, value: object) -> Rules:
    """A ``rules:`` mapping: selectors for title, body, time and photos, and ``drop``, a list of
    selectors of blocks to remove; each must compile."""
    if not isinstance(value, dict) or not value:
        raise where.error(key, f"must be a mapping with one or more of {', '.join(RULE_KEYS)}")
    found: dict[str, Any] = {}
    for k, v in value.items():
        if k not in RULE_KEYS:
            raise where.error(f"{key}.{k}", f"unknown key (expected one of {', '.join(RULE_KEYS)})")
        if k == "drop":
            items = v if isinstance(v, list) else [v]
            found[k] = tuple(_check_selector(where, f"{key}.drop[{i}]" if isinstance(v, list) else f"{key}.drop", s) for i, s in enumerate(items))
        else:
            found[k] = _check_selector(where, f"{key}.{k}", v)
    return Rules(**found)


def _http(where: Where, http_data: object) -> HttpConfig:
    if not isinstance(http_data, dict):
        raise where.error("http", "must be a mapping")
    http_values: dict[str, Any] = {}
    for k, value in http_data.items():
        if k not in HTTP_KEYS:
            raise where.error(f"http.{k}", f"unknown key (expected one of {', '.join(sorted(HTTP_KEYS))})")
        kind = HTTP_KEYS[k]
        if kind is list:
            http_values[k] = _check_allow_private(where, f"http.{k}", value)
        elif kind is str:
            http_values[k] = check_str(where, f"http.{k}", value)
        else:
            http_values[k] = check_number(where, f"http.{k}", value, kind)
    return HttpConfig(**http_values)


def _check_allow_private(where: Where, key: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise where.error(key, "must be a list of hostnames, IP addresses or CIDR networks")
    for i, entry in enumerate(value):
        if not isinstance(entry, str):
            raise where.error(f"{key}[{i}]", f"must be a hostname, IP address or CIDR network, not {entry!r}")
        try:
            allow_list((entry,))
        except ValueError as exc:
            raise where.error(f"{key}[{i}]", str(exc)) from None
    return tuple(entry.strip() for entry in value)


def _photo_limits(where: Where, data: object) -> PhotoConfig:
    if data is None:
        return PhotoConfig()
    if not isinstance(data, dict):
        raise where.error("photo_limits", f"must be a mapping with keys {', '.join(PHOTO_KEYS)}")
    values: dict[str, Any] = {}
    for k, value in data.items():
        if k not in PHOTO_KEYS:
            raise where.error(f"photo_limits.{k}", f"unknown key (expected one of {', '.join(sorted(PHOTO_KEYS))})")
        values[k] = check_number(where, f"photo_limits.{k}", value, PHOTO_KEYS[k])
    return PhotoConfig(**values)


def _backfill(where: Where, data: object) -> BackfillConfig:
    if data is None:
        return BackfillConfig()
    if not isinstance(data, dict):
        raise where.error("backfill", "must be a mapping with base, sitemaps, max_misses")
    values: dict[str, Any] = {}
    for k, value in data.items():
        key = f"backfill.{k}"
        if k == "base":
            values[k] = _check_url(where, key, value).rstrip("/")
        elif k == "sitemaps":
            if not isinstance(value, list):
                raise where.error(key, "must be a list of URLs")
            values[k] = tuple(_check_url(where, f"{key}[{i}]", v) for i, v in enumerate(value))
        elif k == "max_misses":
            values[k] = int(check_number(where, key, value, int))
        else:
            raise where.error(key, "unknown key (expected one of base, max_misses, sitemaps)")
    return BackfillConfig(**values)


def load(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file (give one with --config)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from exc
    return parse(text, path)
