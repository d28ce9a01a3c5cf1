"""The writer against the real posts (golden) and against any title (properties)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import html as lhtml

from scraper.articles import clean
from scraper.errors import ExtractError
from scraper.site import posts
from tests.helpers import POST_RE


def real_posts(corpus: Path) -> list[Path]:
    found = sorted((corpus / "posts").glob("*.md"))
    assert len(found) == 15
    return found


def test_writer_reproduces_every_real_posts_framing_and_name(corpus: Path) -> None:
    for path in real_posts(corpus):
        real = path.read_text(encoding="utf-8")
        assert POST_RE.match(real), path.name
        fm = yaml.safe_load(real.split("---\n", 2)[1])
        date = fm["date"] if fm["date"].tzinfo else fm["date"].replace(tzinfo=UTC)
        body = real.split("<div>\n", 1)[1].rsplit("\n</div>\n", 1)[0]
        ours = posts.render(title=fm["title"], url=fm["from"], date=date, site=fm["author"], body=body)
        assert ours == real, path.name
        assert posts.filename(date, fm["title"]) == path.name


def test_sample_post_date_and_comment_agree() -> None:
    text = posts.render(
        title="t",
        url="https://www.cna.com.tw/news/aopl/202210070352.aspx",
        date=datetime(2022, 10, 7, 21, 34, 4, tzinfo=timezone(timedelta(hours=8))),
        site="S",
        body="",
    )
    assert "date: 2022-10-07T13:34:04.000Z\n" in text
    assert "<!--1665149644000-->\n" in text


def test_naive_date_is_refused() -> None:
    with pytest.raises(ExtractError, match="has no zone"):
        posts.render(title="t", url="https://example.org/a", date=datetime(2022, 1, 1), site="S", body="")


TRICKY = st.sampled_from(
    [
        '"',
        "\\",
        ":",
        "#",
        "---",
        "\n",
        "{{",
        "{%",
        " ",
        "[",
        "]",
        "*",
        "_",
        "<",
        ">",
        "&",
        "/",
        "\t",
        "\x00",
        "\u3000",
        "😀",
        "\u2028",
        "\ufeff",
        "`",
        "|",
        "(",
        ")",
        ".",
    ]
)
TITLES = st.lists(st.one_of(TRICKY, st.text(min_size=0, max_size=8)), min_size=1, max_size=60).map("".join)
DATES = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC))


@settings(max_examples=400, deadline=None)
@given(title=TITLES, date=DATES)
def test_any_title_gives_a_valid_post_and_a_safe_name(title: str, date: datetime) -> None:
    url = "https://www.cna.com.tw/news/aopl/202210070352.aspx"
    text = posts.render(title=title, url=url, date=date, site="(臺)中央社CNA", body="<p>x</p>")
    assert POST_RE.match(text), repr(text[:300])
    fm = yaml.safe_load(text.split("---\n", 2)[1])
    assert fm["title"] == posts.strip_controls(title)
    assert fm["from"] == url and fm["author"] == "(臺)中央社CNA" and fm["comments"] is True
    assert fm["tags"] == ["(臺)中央社CNA"] and fm["categories"] == ["(臺)中央社CNA"]
    link_line = text.split("\n")[11]
    assert link_line.endswith(f"]({url})")
    assert "{{" not in link_line and "{%" not in link_line
    name = posts.filename(date, title, "202210070352")
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert not name.startswith(".")
    assert len(name.encode("utf-8")) <= 255
    assert name.startswith(f"{date:%Y-%m-%d}-") and name.endswith("-202210070352.md")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*"<>/\"'=& {}%ab", "<script>", "</script>", " onerror=", "javascript:", "<img src=x ", "<iframe ", "<a href="]), max_size=80).map("".join))
def test_any_body_cleans_to_html_without_scripts(fragment: str) -> None:
    out = clean.clean_html(fragment, "https://www.cna.com.tw/news/aopl/202210070352.aspx")
    assert "<script" not in out.lower() and "<iframe" not in out.lower()
    # every "<" left starts a tag of the allow-list; text "<" is escaped
    for tag in re.findall(r"<\s*/?\s*([^\s>/]*)", out):
        assert tag in clean.ALLOWED, (tag, out)
    if out:
        for el in lhtml.fragment_fromstring(out, create_parent="div").iter():
            assert not any(name.lower().startswith("on") for name in el.attrib), out
            assert not (el.get("href") or el.get("src") or "").lower().startswith("javascript:"), out
    assert "{{" not in out and "{%" not in out
    assert "\n" not in out


def test_long_title_name_is_cut_at_fifty_characters() -> None:
    title = "很長的標題" * 20
    name = posts.filename(datetime(2023, 1, 1, tzinfo=UTC), title)
    assert name == "2023-01-01-" + title[:50] + ".md"
    assert posts.filename(datetime(2023, 1, 1, tzinfo=UTC), "a/b\\c") == "2023-01-01-a--bc.md"
    assert posts.filename(datetime(2023, 1, 1, tzinfo=UTC), "..x") == "2023-01-01-x.md"
