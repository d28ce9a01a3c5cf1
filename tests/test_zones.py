"""Times without an offset: read in the feed's `timezone:`, else in the zone the page makes
unambiguous (said at -v), else not at all; a bare day keeps its day; placeholder dates skipped."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from scraper.articles.extractors import generic, pagemeta
from scraper.config import load
from scraper.errors import ConfigError
from tests.helpers import front_matter
from tests.server import Server
from tests.sitebuilder import posts_in
from tests.test_general_rules import page
from tests.test_sources import poll, rss, write_config

URL = "https://news.example.org/bus.html"  # no date in the URL: the page's own times decide
NAIVE = "<meta property='article:published_time' content='2026-12-01T18:03:00'>"


def published(head: str, zone: str | None = None, lang: str = "") -> datetime | None:
    data = page(head).replace(b"<html>", f"<html lang='{lang}'>".encode()) if lang else page(head)
    return generic.extract(data, URL, zone=zone).published


def test_a_time_without_an_offset_is_read_in_the_feeds_zone() -> None:
    assert published(NAIVE, zone="Asia/Taipei") == datetime(2026, 12, 1, 10, 3, tzinfo=UTC)
    assert published(NAIVE, zone="America/New_York") == datetime(2026, 12, 1, 23, 3, tzinfo=UTC)
    assert published(NAIVE + "<meta property='og:locale' content='ja_JP'>", zone="Europe/London") == datetime(2026, 12, 1, 18, 3, tzinfo=UTC)


def test_a_stated_offset_wins_over_the_feeds_zone() -> None:
    assert published("<meta property='article:published_time' content='2026-12-01T18:03:00+09:00'>", zone="Asia/Taipei") == datetime(2026, 12, 1, 9, 3, tzinfo=UTC)


def test_zone_is_inferred_only_when_the_page_makes_it_unambiguous(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="scraper"):
        assert published(NAIVE, lang="zh-Hant-TW") == datetime(2026, 12, 1, 10, 3, tzinfo=UTC)
    assert "Asia/Taipei, the one zone of the region in the page's language tag" in caplog.text
    equiv = "<meta http-equiv='Content-Language' content='ko-KR'>"
    assert published(NAIVE + equiv) == datetime(2026, 12, 1, 9, 3, tzinfo=UTC)
    offset_elsewhere = NAIVE + "<meta property='article:modified_time' content='2026-12-02T08:00:00-05:00'>"
    assert published(offset_elsewhere, lang="zh-TW") == datetime(2026, 12, 1, 23, 3, tzinfo=UTC)  # the page's own offset first
    # en-US and zh-CN name regions with several zones, bare zh none: no guess at the hour
    for lang in ("en-US", "zh-CN", "zh", "zh-Hant"):
        found = published(NAIVE, lang=lang)
        assert found is None or (found.hour, found.minute) == (12, 0), lang  # at most the day, never 18:03 in a guessed zone


def test_two_language_tags_that_disagree_give_no_zone() -> None:
    root = generic.lxml.html.document_fromstring(page("<meta property='og:locale' content='zh_TW'>").replace(b"<html>", b"<html lang='ja-JP'>"))
    assert pagemeta.infer_zone(root, generic.metas(root)) is None


def test_a_bare_day_keeps_its_day_in_every_zone() -> None:
    day = "<meta property='article:published_time' content='2026-12-01'>"
    for zone in ("Asia/Taipei", "America/Los_Angeles", "Pacific/Auckland", None):
        when = published(day, zone=zone)
        assert when is not None
        assert when.astimezone(pagemeta.ZoneInfo(zone) if zone else UTC).date().isoformat() == "2026-12-01", zone


@given(
    st.dates(min_value=datetime(1991, 1, 1).date(), max_value=datetime(9998, 12, 31).date()), st.sampled_from(["Asia/Taipei", "America/Los_Angeles", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"])
)
def test_a_day_read_in_any_zone_is_that_day_there(day: object, zone: str) -> None:
    when = pagemeta.parse_local(str(day), pagemeta.ZoneInfo(zone))
    assert when is not None and when.astimezone(pagemeta.ZoneInfo(zone)).date() == day


def test_placeholder_and_impossible_dates_are_no_time() -> None:
    for value in ("0001-01-01T00:00:00+00:00", "0001-01-01", "2026-13-45T10:00", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59-05:00"):
        assert pagemeta.parse_time(value) is None, value
        assert pagemeta.parse_local(value, UTC) is None, value


def feeds_yaml(tmp: Path, zone: object) -> Path:
    path = tmp / "feeds.yaml"
    path.write_text(yaml.safe_dump({"site": "s", "output": "out", "feeds": [{"name": "a", "url": "https://example.org/f", "site": "A", "timezone": zone}]}), encoding="utf-8")
    return path


@pytest.mark.parametrize("zone", ["Asia/Taiwan", "+08:00", "asia/taipei ", 8, "", "../../etc/passwd"])
def test_a_timezone_that_is_no_iana_name_is_refused_naming_file_line_and_key(tmp_path: Path, zone: object) -> None:
    with pytest.raises(ConfigError, match=r"feeds\.yaml:\d+: feeds\[0\]\.timezone: must be an IANA time zone name such as Asia/Taipei"):
        load(feeds_yaml(tmp_path, zone))


def test_a_valid_timezone_is_kept_per_feed(tmp_path: Path) -> None:
    config = load(feeds_yaml(tmp_path, "Asia/Taipei"))
    assert config.timezone_for("https://example.org/f") == "Asia/Taipei"
    assert config.timezone_for("walk") is None


def test_a_poll_reads_the_pages_time_in_the_feeds_zone(server: Server, tmp_path: Path) -> None:
    """An item without a date: the post's date is the page's, read in the feed's zone."""
    server.page("/n/1.html", page(NAIVE + "<meta property='og:title' content='公車全面電動化'>"))
    server.feed("/feed", rss(f"<item><title>公車全面電動化</title><link>{server.url('/n/1.html')}</link></item>").encode())
    cfg = write_config(tmp_path, [{"name": "A", "url": server.url("/feed"), "site": "A", "content": "page", "timezone": "America/New_York"}])
    assert poll(cfg, "-v") == 0
    [post] = posts_in(tmp_path)
    assert front_matter(post.read_text(encoding="utf-8"))["date"] == datetime(2026, 12, 1, 23, 3, tzinfo=UTC)
