"""The article stage: a job's page fetched, its extractor chosen (by ``sites.site_for``,
the one rule) and its article extracted, or the feed item's own text taken; then the
post rendered, with its photos stored first when the feed mirrors them. Writes no post:
the runner does, and refresh rewrites one.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass

from ..config import Config
from ..errors import ExtractError, NotAnArticle, OffSite
from ..models import Article, Extractor, Job, Post, Rules
from ..net.http import Http
from ..net.robots import Robots
from ..net.urls import CNA_HOSTS, host_of
from ..site import posts
from ..site.photos import Photos
from . import page
from .extractors import cna, fallback, generic, site_for
from .extractors import rules as site_rules

log = logging.getLogger(__name__)
HTML_ACCEPT = "text/html,application/xhtml+xml"


@dataclass(frozen=True)
class Fetched:
    job: Job
    article: Article
    post: Post
    extractor: Extractor
    why: str | None = None  # for FALLBACK: what the CNA extractor lacked
    photos_mirrored: int = 0
    photos_failed: int = 0


def allowed_hosts(url: str, config: Config) -> frozenset[str]:
    """Where an article fetch may be redirected: CNA, and the host of the link or its feeds."""
    return frozenset(CNA_HOSTS | {host_of(url)} | {host_of(f.url) for f in config.feeds} | {host_of(config.backfill.base)})


def fetch_article(http: Http, robots: Robots, job: Job, hosts: frozenset[str], rules: Rules | None = None) -> tuple[Article, Extractor, str | None]:
    """The page of ``job``, extracted: by CNA's extractor (or its fallback) for CNA feeds and
    backfills, by the first site that claims the page for feeds with their own site."""
    robots.check(job.url)
    response = http.get(job.url, allowed_hosts=hosts, accept=HTML_ACCEPT)
    if host_of(response.url) not in hosts:
        raise OffSite(job.url, f"redirected to {response.url}, which is not a site we fetch from")
    what = page.not_html(response.content, response.headers.get("content-type"))
    if what is not None:
        raise NotAnArticle(job.url, f"not an HTML page: {what}")
    return extract_page(job, response.url, response.content, response.charset, rules)


def extract_page(job: Job, url: str, data: bytes, charset: str | None, rules: Rules | None = None) -> tuple[Article, Extractor, str | None]:
    """The article in page bytes fetched (or archived) for ``job``, which extractor found it,
    and, when CNA's fallback did, what CNA's own extractor lacked. ``rules``: the feed's own
    ``rules:``; a page of another site without them gets the set shipped for its host."""
    site = site_for(url, data, any_site=job.site is not None)
    if site is not cna:
        general = functools.partial(generic.extract, zone=job.timezone, site=job.site) if site is generic else site.extract
        chosen = rules or site_rules.shipped_for(url)
        if chosen is not None:
            if job.timezone is not None:  # the feed's own zone before the one shipped with the rules
                chosen = dataclasses.replace(chosen, timezone=job.timezone)
            article, extractor = site_rules.extract(data, url, charset, chosen, general), Extractor.RULES
        else:
            article, extractor = general(data, url, charset), Extractor.GENERIC
        # Other sites: the post links the item's own link, as the mirror did (query kept).
        return dataclasses.replace(article, article_id=job.article_id, url=job.url), extractor, None
    if rules is not None:
        try:
            ruled = fallback.with_rules(data, url, charset, rules)
        except ExtractError as exc:
            log.info("rules-failed url=%s: %s", url, exc.reason)
        else:
            trouble = fallback.implausible(ruled)
            if trouble is None:
                return ruled, Extractor.RULES, None
            log.info("rules-failed url=%s: the feed's rules found %s", url, trouble)
    article, why = fallback.cna_or_fallback(data, url, charset)
    extractor = Extractor.CNA if why is None else Extractor.FALLBACK
    if article.article_id != job.article_id:
        log.info("id-changed url=%s canonical=%s", job.url, article.url)
    return article, extractor, why


def fetch_one(http: Http, robots: Robots, job: Job, site: str, hosts: frozenset[str], photos: Photos | None = None, rules: Rules | None = None) -> Fetched:
    """Fetch (or, for full-text feeds, take from the item) and render one job; with
    ``photos``, its photos are stored locally first. Writes no post."""
    why = None
    if job.content is not None:
        article, extractor = generic.from_feed(job.article_id, job.url, job.title, job.content, job.published), Extractor.FEED
    else:
        article, extractor, why = fetch_article(http, robots, job, hosts, rules)
    mirrored = None
    when = job.published or article.published
    if photos is not None and when is not None:
        mirrored = photos.mirror(article.body_html, when, article.article_id)
        article = dataclasses.replace(article, body_html=mirrored.body_html)
    post = posts.build(article, site=job.site or site, date=job.published, author=job.author)
    return Fetched(job, article, post, extractor, why, mirrored.stored if mirrored else 0, mirrored.failed if mirrored else 0)
