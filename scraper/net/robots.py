"""robots.txt, as RFC 9309 says: read once per site per run, through the HTTP client.

- 2xx: its rules apply to our User-Agent, matched by Protego (the parser Scrapy uses):
  the longest matching rule wins, an Allow wins a tie, and ``*`` and ``$`` are patterns.
- 4xx (401 and 403 included, 429 not): there are no rules; everything is allowed.
- 5xx, 429, or no answer at all: the site cannot say now, so nothing is fetched from it
  this run, and each article's fetch fails as a transient error: it is tried again
  on its backoff, never skipped for good.
- A disallowed article is a ``RobotsDenied``: skipped, and reported by the runner.
"""

from __future__ import annotations

import logging
import threading

from protego import Protego

from .. import stopping
from ..errors import FetchError, Refused, RobotsDenied
from .http import Http
from .urls import split

log = logging.getLogger(__name__)


class Robots:
    """The robots.txt rules of every site a run touches; thread-safe, one fetch per site."""

    def __init__(self, http: Http) -> None:
        self.http = http
        self._lock = threading.Lock()
        self._sites: dict[str, Protego | FetchError] = {}
        self._site_locks: dict[str, threading.Lock] = {}

    def check(self, url: str) -> None:
        """Return when our User-Agent may fetch ``url``; raise RobotsDenied when robots.txt
        disallows it, or a transient FetchError when robots.txt cannot be read now."""
        parts = split(url)
        if parts is None or not parts.scheme or not parts.netloc:
            raise FetchError(url, "not a URL that can be fetched")
        origin = f"{parts.scheme}://{parts.netloc}"
        rules = self._rules(origin)
        if isinstance(rules, Refused):
            raise Refused(url, rules.reason)  # the site's address is refused: so is the article
        if isinstance(rules, stopping.Stopped):
            raise stopping.Stopped(url)  # robots.txt was abandoned for a stop: nothing is known yet
        if isinstance(rules, FetchError):
            raise FetchError(url, f"robots.txt of {origin} cannot be read now ({rules.reason})", transient=True)
        if not allowed(rules, url, self.http.config.user_agent):
            raise RobotsDenied(url, f"robots.txt of {origin} disallows it for our User-Agent")

    def _rules(self, origin: str) -> Protego | FetchError:
        with self._lock:
            site_lock = self._site_locks.setdefault(origin, threading.Lock())
        with site_lock:  # one request per site, whichever thread asks first
            with self._lock:
                known = self._sites.get(origin)
            if known is not None:
                return known
            rules = self._read(origin)
            if not isinstance(rules, stopping.Stopped):  # asked again if the run goes on
                with self._lock:
                    self._sites[origin] = rules
            return rules

    def _read(self, origin: str) -> Protego | FetchError:
        try:
            response = self.http.get(origin + "/robots.txt", accept="text/plain")
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return parse("")  # RFC 9309 2.3.1.3: "unavailable" means no rules
            log.info("robots-unreachable origin=%s reason=%s", origin, exc.reason)
            return exc
        return parse(response.content.decode("utf-8", errors="replace"))


def parse(text: str) -> Protego:
    """The rules of one robots.txt file's text."""
    return Protego.parse(text)


def allowed(rules: Protego, url: str, user_agent: str) -> bool:
    """Whether ``user_agent`` may fetch ``url`` under ``rules`` (RFC 9309 2.2.2: the longest
    match wins; a rule's ``*`` matches any run of characters and a final ``$`` the end)."""
    try:
        return bool(rules.can_fetch(url, user_agent))
    except ValueError:
        return True  # a URL the parser cannot split: the fetch itself will say what is wrong
