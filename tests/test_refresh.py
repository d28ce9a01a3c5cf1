"""`scraper refresh` and `updates: rewrite`: posts rendered again in place, from the
archive with no request, or by fetching; hand-edited posts left alone."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

import scraper.articles.extractors.cna
from scraper.cli import main
from scraper.models import Article
from tests.helpers import POST_RE, front_matter, rss
from tests.server import Server
from tests.sitebuilder import config, corpus_urls, item, path_of, posts_in

NAMES = ("003.html", "004.html")


def setup(server: Server, corpus: Path, tmp: Path, **top: object) -> tuple[Path, list[str]]:
    tmp.mkdir(exist_ok=True)
    links = []
    for name in NAMES:
        url = corpus_urls(corpus)[name]
        server.page(path_of(url), (corpus / "cna" / "pages" / name).read_bytes())
        links.append(server.url(path_of(url)))
    server.feed("/feed", rss(*(item(f"t{i}", link) for i, link in enumerate(links))))
    return config(tmp, [("f", server.url("/feed"))], **top), links


def texts(tmp: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in posts_in(tmp)}


def test_refresh_from_the_archive_restores_posts_byte_exact_with_no_request(server: Server, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the reference: a clean poll
    cfg, _ = setup(server, corpus, tmp_path / "clean")
    assert main(["poll", "--config", str(cfg)]) == 0
    clean = texts(tmp_path / "clean")
    # a poll by a broken extractor (it loses the last paragraph), archiving what it fetched
    real = scraper.articles.extractors.cna.extract

    def broken(data: bytes, url: str, charset: str | None = None) -> Article:
        article = real(data, url, charset)
        body = article.body_html
        start = body.rindex("<p>")
        return dataclasses.replace(article, body_html=body[:start] + body[body.index("</p>", start) + 4 :])

    monkeypatch.setattr(scraper.articles.extractors.cna, "extract", broken)
    cfg, _ = setup(server, corpus, tmp_path / "mirror", archive="warc")
    assert main(["poll", "--config", str(cfg)]) == 0
    assert texts(tmp_path / "mirror") != clean
    monkeypatch.setattr(scraper.articles.extractors.cna, "extract", real)  # the fix ships
    hits = sum(server.hits.values())
    assert main(["refresh", "--config", str(cfg), "--since", "2000-01-01", "--from-archive"]) == 0
    assert texts(tmp_path / "mirror") == clean  # same names, same bytes
    assert sum(server.hits.values()) == hits  # no request made


def test_a_post_edited_by_hand_is_left_alone_unless_forced(server: Server, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, _ = setup(server, corpus, tmp_path, archive="warc")
    assert main(["poll", "--config", str(cfg)]) == 0
    name, text = sorted(texts(tmp_path).items())[0]
    edited = text.replace("</div>\n", "<p>my note</p></div>\n")
    (tmp_path / "out" / "_posts" / name).write_text(edited, encoding="utf-8")
    aid = front_matter(text)["from"].rsplit("/", 1)[1][:12]
    assert main(["refresh", "--config", str(cfg), "--ids", aid, "--from-archive"]) == 1
    out, err = capsys.readouterr()
    assert "left alone 1" in out and "edited by hand?" in err
    assert (tmp_path / "out" / "_posts" / name).read_text(encoding="utf-8") == edited
    assert main(["refresh", "--config", str(cfg), "--ids", aid, "--from-archive", "--force"]) == 0
    assert (tmp_path / "out" / "_posts" / name).read_text(encoding="utf-8") == text


def test_refresh_without_a_choice_or_an_archive_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, [("f", "http://127.0.0.1:9/feed")])
    assert main(["refresh", "--config", str(cfg)]) == 2
    assert main(["refresh", "--config", str(cfg), "--fallback", "--from-archive"]) == 2
    err = capsys.readouterr().err
    assert "refresh needs --fallback, --ids ID... or --since DATE" in err and "--from-archive needs an archive" in err


@pytest.mark.parametrize("updates", ["rewrite", "keep"])
def test_a_corrected_title_in_the_feed_renders_the_post_again_in_place_when_asked(server: Server, corpus: Path, tmp_path: Path, updates: str) -> None:
    cfg, links = setup(server, corpus, tmp_path)
    data = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    data["feeds"][0]["updates"] = updates
    cfg.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main(["poll", "--config", str(cfg)]) == 0
    before = texts(tmp_path)
    # CNA corrects the first article: a new title on the page and in the feed
    url = corpus_urls(corpus)[NAMES[0]]
    page = (corpus / "cna" / "pages" / NAMES[0]).read_text(encoding="utf-8")
    old_title = re.search(r"<h1><span>(.*?)</span></h1>", page).group(1)  # type: ignore[union-attr]
    server.page(path_of(url), page.replace(old_title, old_title + "（更新）").encode())
    server.feed("/feed", rss(item("t0（更新）", links[0]), item("t1", links[1])))
    hits = server.hits[path_of(url)]
    assert main(["poll", "--config", str(cfg)]) == 0
    after = texts(tmp_path)
    assert sorted(after) == sorted(before)  # no new file: names and URLs stay
    changed = [n for n in after if after[n] != before[n]]
    if updates == "keep":
        assert changed == [] and server.hits[path_of(url)] == hits
        return
    assert len(changed) == 1 and front_matter(after[changed[0]])["title"] == old_title + "（更新）"
    assert POST_RE.match(after[changed[0]])
    assert main(["poll", "--config", str(cfg)]) == 0  # said once: the next poll leaves it
    assert server.hits[path_of(url)] == hits + 1


def test_posts_written_from_a_feeds_own_text_are_never_fetched_by_refresh(server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "<p>" + "全文。" * 100 + "</p>"
    server.feed(
        "/feed", rss(f"<item><title>t</title><link>{server.url('/a/1.html')}</link><pubDate>Tue, 05 Dec 2023 00:10:00 +0800</pubDate><description>{text.replace('<', '&lt;')}</description></item>")
    )
    cfg = tmp_path / "feeds.yaml"
    cfg.write_text(
        yaml.safe_dump({"site": "S", "output": "out", "feeds": [{"name": "f", "url": server.url("/feed"), "site": "某站", "content": "feed"}], "http": {"delay": 0}}, allow_unicode=True),
        encoding="utf-8",
    )
    assert main(["poll", "--config", str(cfg)]) == 0
    before = texts(tmp_path)
    assert main(["refresh", "--config", str(cfg), "--since", "2000-01-01"]) == 0
    assert capsys.readouterr().out.strip().endswith("from their feed's text 1")
    assert server.hits["/a/1.html"] == 0 and server.hits["/robots.txt"] == 0 and texts(tmp_path) == before


def test_refresh_of_an_unknown_id_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, [("f", "http://127.0.0.1:9/feed")])
    assert main(["refresh", "--config", str(cfg), "--ids", "209901010001"]) == 1
    assert "209901010001: no written article has this id" in capsys.readouterr().err


def test_a_hand_edit_made_while_refresh_fetches_wins(server: Server, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.server import Reply, Request

    cfg, links = setup(server, corpus, tmp_path)
    assert main(["poll", "--config", str(cfg)]) == 0
    name, text = sorted(texts(tmp_path).items())[0]
    aid = front_matter(text)["from"].rsplit("/", 1)[1][:12]
    post = tmp_path / "out" / "_posts" / name
    edited = text.replace("</div>\n", "<p>my note</p></div>\n")
    path = next(path_of(link) for link in links if aid in link)
    changed = server.routes[path].body.replace(b"</p>", "。補充</p>".encode(), 1)  # type: ignore[union-attr]

    def held(request: Request) -> Reply:
        post.write_text(edited, encoding="utf-8")  # the editor saves while the server holds the request
        return Reply(200, changed, {"Content-Type": "text/html; charset=utf-8"})

    server.routes[path] = held
    assert main(["refresh", "--config", str(cfg), "--ids", aid]) == 1
    out, err = capsys.readouterr()
    assert server.hits[path] == 2  # the poll's fetch and the refresh's
    assert post.read_text(encoding="utf-8") == edited
    assert "refreshed 0" in out and "left alone 1" in out and "changed while its new version was being made" in err
    assert not [p for p in post.parent.iterdir() if p.name.startswith(".")]  # no temporary file left
