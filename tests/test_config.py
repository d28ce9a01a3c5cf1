"""feeds.yaml -> a frozen Config, on its own: every value checked, every error naming the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from scraper.config import parse
from scraper.errors import ConfigError

PATH = Path("/srv/mirror/feeds.yaml")
FEED = '  - {name: a, url: "https://feeds.example/a"}\n'


def test_a_minimal_file_gets_the_defaults_beside_it() -> None:
    config = parse(f"site: S\noutput: out\nfeeds:\n{FEED}", PATH)
    assert config.output == Path("/srv/mirror/out") and config.state_path == Path("/srv/mirror/out/.scraper/state.db")
    (feed,) = config.feeds
    assert (feed.content, feed.photos, feed.updates, config.photos) == ("page", None, "keep", "link")


def test_a_feed_with_a_site_of_its_own_reads_auto_by_default_and_its_modes_are_looked_up_by_source() -> None:
    config = parse(f'site: S\noutput: out\nphotos: mirror\nfeeds:\n{FEED}  - {{name: b, url: "https://other.example/f", site: O, photos: link, updates: rewrite}}\n', PATH)
    assert config.content_for("https://other.example/f") == "auto" and config.content_for("https://feeds.example/a") == "page"
    assert config.photos_for("https://other.example/f") == "link" and config.photos_for("https://feeds.example/a") == "mirror"
    assert config.content_for("https://nowhere.example/") is None and config.feeds[1].updates == "rewrite"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (f"site: S\nfeeds:\n{FEED}", "feeds.yaml:1: output: is missing"),
        ("site: S\noutput: out\nfeeds: []\n", "feeds: must be a non-empty list"),
        ('site: S\noutput: out\nfeeds:\n  - {name: a, url: "https://f.example/a", content: all}\n', "feeds[0].content: must be one of auto, page, feed, not 'all'"),
        (f"site: S\noutput: out\nfeeds:\n{FEED}{FEED}", "feeds[1].url: repeats the url of feeds[0]"),
        (f"site: S\noutput: out\nphotos: copy\nfeeds:\n{FEED}", "photos: must be one of link, mirror, not 'copy'"),
        ('site: S\noutput: out\nfeeds:\n  - {name: a, url: "https://f.example/a", updates: always}\n', "feeds[0].updates: must be one of keep, rewrite, not 'always'"),
        (f"site: S\noutput: out\nfeeds:\n{FEED}colour: red\n", "colour"),
    ],
)
def test_a_wrong_value_is_one_error_naming_the_file_and_the_key(text: str, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text, PATH)
    assert str(caught.value).startswith(str(PATH)) and said in str(caught.value)


@pytest.mark.parametrize("url", ['"https://feeds.example.org/a.xml\\nx"', '"https://feeds.example.org/a b.xml"', '"https://feeds.example.org/\\ta.xml"'])
def test_a_feed_url_with_a_space_or_a_control_character_is_refused_naming_the_key(url: str) -> None:
    with pytest.raises(ConfigError, match=r"feeds\.yaml:\d+: feeds\[0\]\.url: .* is not an http\(s\) URL"):
        parse(f"site: x\noutput: o\nfeeds:\n  - name: a\n    url: {url}\n", Path("feeds.yaml"))
