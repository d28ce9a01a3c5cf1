"""Article HTML -> safe HTML on one line, on its own."""

from __future__ import annotations

import lxml.html

from scraper.articles.clean import clean_html

BASE = "https://www.cna.com.tw/news/aopl/202312050001.aspx"


def test_scripts_handlers_and_script_links_are_dropped_and_the_text_kept() -> None:
    out = clean_html('<p onclick="steal()">Hi <script>alert(1)</script><a href="javascript:steal()">link</a></p>', BASE)
    assert out == "<p>Hi link</p>"


def test_liquid_is_neutralised_so_jekyll_prints_it_as_text() -> None:
    assert clean_html("<p>{{ site.secret }} {% include x %}</p>", BASE).count("{{") == 0
    assert "{%" not in clean_html("<p>{% include x %}</p>", BASE)


def test_a_photo_gets_an_absolute_address_and_an_alt_and_the_body_is_one_line() -> None:
    out = clean_html('<p>a</p>\n\n<img src="/photos/1.jpg">\n<p>b</p>', BASE)
    assert out == '<p>a</p> <img src="https://www.cna.com.tw/photos/1.jpg" alt=""> <p>b</p>'  # whitespace between blocks: one space
    assert "\n" not in out


def test_a_named_hosts_photo_is_asked_over_https_unless_it_names_a_port() -> None:
    from scraper.articles.clean import image_url

    def src(url: str) -> str | None:
        return image_url(lxml.html.fragment_fromstring(f'<img src="{url}">'), "https://news.example.org/a.html")

    assert src("http://img.example.org/p.jpg") == "https://img.example.org/p.jpg"
    assert src("http://img.example.org:8080/p.jpg") == "http://img.example.org:8080/p.jpg"  # a plain-http service of its own
    assert src("http://127.0.0.1/p.jpg") == "http://127.0.0.1/p.jpg"


def test_photos_stored_on_a_later_try_count_as_changed_posts_for_the_build() -> None:
    from scraper.models import RunReport

    assert RunReport(photos_updated=2).changed_posts == 2 and RunReport().changed_posts == 0
