"""robots.txt, as RFC 9309 says: read once per site per run, through the HTTP client.

- 2xx: its rules apply to our User-Agent.
- 4xx (401 and 403 included, 429 not): there are no rules; everything is allowed.
- 5xx, 429, or no answer at all: the site cannot say now, so nothing is fetched from it
  this run, and each article's fetch fails as a transient error: it is tried again
  on its backoff, never skipped for good.
- A disallowed article is a ``RobotsDenied``: skipped, and reported by the runner.
"""

from __future__ import annotations

import logging
import threading
from urllib.robotparser import RobotFileParser

from . import stopping
from .errors import FetchError, RobotsDenied
from .http import Http
from .urls import split

log = logging.getLogger(__name__)


class Robots:
    """The robots.txt rules of every site a run touches; thread-safe, one fetch per site."""

    def __init__(self, http: Http) -> None:
        self.http = http
        self._lock = threading.Lock()
        self._sites: dict[str, RobotFileParser | FetchError] = {}
        self._site_locks: dict[str, threading.Lock] = {}

    def check(self, url: str) -> None:
        """Return when our User-Agent may fetch ``url``; raise RobotsDenied when robots.txt
        disallows it, or a transient FetchError when robots.txt cannot be read now."""
        parts = split(url)
        if parts is None or not parts.scheme or not parts.netloc:
            raise FetchError(url, "not a URL that can be fetched")
        origin = f"{parts.scheme}://{parts.netloc}"
        rules = self._rules(origin)
        if isinstance(rules, stopping.Stopped):
            raise stopping.Stopped(url)  # robots.txt was abandoned for a stop: nothing is known yet
        if isinstance(rules, FetchError):
            raise FetchError(url, f"robots.txt of {origin} cannot be read now ({rules.reason}); tried again later", transient=True)
        try:
            allowed = rules.can_fetch(self.http.config.user_agent, url)
        except ValueError:
            allowed = True  # a URL robotparser cannot split: the fetch itself will say what is wrong
        if not allowed:
            raise RobotsDenied(url, f"robots.txt of {origin} disallows it for our User-Agent")

    def _rules(self, origin: str) -> RobotFileParser | FetchError:
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

    def _read(self, origin: str) -> RobotFileParser | FetchError:
        parser = RobotFileParser()
        try:
            response = self.http.get(origin + "/robots.txt", accept="text/plain")
            parser.parse(response.content.decode("utf-8", errors="replace").splitlines())
        except FetchError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                parser.parse([])  # RFC 9309 2.3.1.3: "unavailable" means no rules
            else:
                log.info("robots-unreachable origin=%s reason=%s", origin, exc.reason)
                return exc
        parser.modified()  # can_fetch() answers False until the file counts as read
        return parser
