"""docs/FORMAT.md's example is what the writer produces, so the spec cannot drift from the code."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from scraper.site import posts
from tests.helpers import POST_RE, ROOT

DOC = ROOT / "docs" / "FORMAT.md"
TITLE = '示範："引號" 與 \\ [a]'
URL = "https://www.cna.com.tw/news/aipl/202401020001.aspx"
WHEN = datetime(2024, 1, 2, 11, 4, 5, 678901, tzinfo=timezone(timedelta(hours=8)))


def _example() -> str:
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"^```\n(.*?)^```$", text, re.S | re.M)
    assert blocks, "docs/FORMAT.md has no example post"
    return blocks[0]


def test_format_doc_example_is_the_writers_output() -> None:
    body = "<div></div><div><p>第一段</p><p>第二段</p></div>"
    assert _example() == posts.render(title=TITLE, url=URL, date=WHEN, site="(臺)中央社CNA", body=body)


def test_format_doc_example_matches_post_re_and_names_its_file() -> None:
    assert POST_RE.match(_example())
    name = posts.filename(WHEN, TITLE)
    assert f"`_posts/{name}`" in DOC.read_text(encoding="utf-8")
