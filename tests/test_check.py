"""`scraper check`, the layout canary: the corpus pages agree; a redesign is named by field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.cli import main
from scraper.commands.check import AGREEMENT, agreement
from tests.server import Server
from tests.sitebuilder import config, path_of, real_feed
from tests.test_fallback import renamed

NAMES = ["001.html", "003.html", "004.html", "006.html"]
PROPOSAL = "check: CNA's layout changed;"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str]]:
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out.splitlines()


def rows(lines: list[str], name: str) -> dict[str, str]:
    """The table of page ``name``: field -> the rest of its line."""
    start = next(i for i, line in enumerate(lines) if line.startswith(name + "  "))
    out = {}
    for line in lines[start + 2 : start + 8]:
        field, rest = line.strip().split(maxsplit=1)
        out[field] = rest
    return out


def serve(server: Server, corpus: Path, expected: list[dict[str, Any]], tmp: Path, change: dict[str, bytes] | None = None) -> Path:
    """The corpus pages (some changed) and the real feed linking them, on the local server; the config."""
    exps = [next(e for e in expected if e["file"] == n) for n in NAMES]
    for exp in exps:
        page = (change or {}).get(exp["file"]) or (corpus / "cna" / "pages" / exp["file"]).read_bytes()
        server.page(path_of(exp["url"]), page)
    server.feed("/feed", real_feed(corpus, [server.url(path_of(e["url"])) for e in exps]))
    return config(tmp, [("intl", server.url("/feed"))])


def test_the_newest_corpus_articles_agree(server: Server, corpus: Path, expected: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = serve(server, corpus, expected, tmp_path)
    code, lines = run(capsys, "--config", str(cfg), "-n", str(len(NAMES)))
    assert code == 0, lines
    assert not [line for line in lines if line.startswith("check:")]
    for exp in expected:
        if exp["file"] not in NAMES:
            continue
        table = rows(lines, exp["id"])
        assert table["title"].count(exp["title"]) == 2  # both extractors
        assert table["paragraphs"].split() == [str(exp["paragraphs"])] * 2
        photos = exp["inline_images"] + (1 if exp["lead_image"] else 0)
        assert table["photos"].split()[0] == table["photos"].split()[4] == str(photos)
        assert "copyright" not in table["junk"]
        assert table["agreement"].startswith("1.000")


def test_a_redesign_exits_1_and_names_the_field(server: Server, corpus: Path, expected: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = (corpus / "cna" / "pages" / "003.html").read_bytes()
    cfg = serve(server, corpus, expected, tmp_path, {"003.html": renamed(raw, h2=False)})
    code, lines = run(capsys, "--config", str(cfg), "-n", str(len(NAMES)))
    assert code == 1
    exp = next(e for e in expected if e["file"] == "003.html")
    broke = [line for line in lines if line.startswith("check:") and not line.startswith(PROPOSAL)]
    assert len(broke) == 1
    assert broke[0].startswith(f"check: {exp['id']}: body: CNA extractor found no body (LayoutChanged")
    assert broke[0].endswith(f"general extractor found {exp['paragraphs']} paragraphs")
    assert rows(lines, exp["id"])["title"].startswith("LayoutChanged")
    code, quiet = run(capsys, "--config", str(cfg), "-n", str(len(NAMES)), "-q")
    assert code == 1 and quiet[0].startswith(exp["id"] + "  ") and broke[0] in quiet  # only the broken page
    assert quiet[-4].startswith(PROPOSAL) and quiet[-3:] == lines[-3:] and quiet[-3] == "    rules:"  # and the rules that read it


def test_quiet_check_prints_nothing_when_all_is_well(corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--config", str(tmp_path / "none.yaml"), "-q", str(corpus / "cna" / "pages" / "001.html")) == (0, [])


def test_a_body_the_cna_extractor_half_reads_is_a_disagreement(corpus: Path, expected: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exp = next(e for e in expected if e["file"] == "003.html")
    text = (corpus / "cna" / "pages" / "003.html").read_bytes().decode("utf-8")
    start = text.index('<div class="paragraph">')
    paras = [m.end() for m in re.finditer("</p>", text[start:])][: exp["paragraphs"]]
    cut = start + paras[len(paras) // 2 - 1]
    # the second half of the paragraphs moves into a box of a new name beside the body
    end = start + paras[-1]
    moved = text[:cut] + text[end:].replace('<div class="paragraph', '<div class="more"><p>' + "</p><p>".join(re.findall(r"<p>(.*?)</p>", text[cut:end])) + '</p></div><div class="paragraph', 1)
    page = tmp_path / "003.html"
    page.write_text(moved, encoding="utf-8")
    code, lines = run(capsys, str(page))
    assert code == 1
    (broke,) = [line for line in lines if line.startswith("check:")]
    assert broke.startswith("check: 003.html: body: the extractors' bodies agree at")
    ratio = float(broke.split("agree at ")[1].split(",")[0])
    assert ratio < AGREEMENT


def test_saved_pages_are_read_by_their_canonical_url(corpus: Path, expected: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pages = [str(corpus / "cna" / "pages" / e["file"]) for e in expected]
    code, lines = run(capsys, "--config", str(tmp_path / "none.yaml"), *pages)
    assert code == 0, lines
    for exp in expected:
        assert f"{exp['file']}  {exp['url']}" in lines
    changed = tmp_path / "004.html"
    changed.write_bytes(renamed((corpus / "cna" / "pages" / "004.html").read_bytes(), h2=True))
    code, lines = run(capsys, "--config", str(tmp_path / "none.yaml"), pages[0], str(changed))
    assert code == 1
    assert [line.split(" (")[0] for line in lines if line.startswith("check:") and not line.startswith(PROPOSAL)] == ["check: 004.html: body: CNA extractor found no body"]


# --- the agreement measure: linear, and the figures the threshold was set on

COPYRIGHT = "本網站之文字、圖片及影音，非經授權，不得轉載、公開播送或公開傳輸及利用。"


@pytest.mark.parametrize("name", NAMES)
def test_agreement_gives_the_figures_the_threshold_was_set_on(corpus: Path, expected: list[dict[str, Any]], name: str) -> None:
    """On each corpus page, as difflib's ratio gave them (the README's figures): 1.000
    unchanged, 0.59-0.76 with half the paragraphs lost, 0.89-0.97 with one lost, over
    0.96 with the copyright line added; and it agrees with difflib's ratio to 0.01."""
    import difflib

    from scraper.articles.extractors import cna

    exp = next(e for e in expected if e["file"] == name)
    paras = list(cna.extract((corpus / "cna" / "pages" / name).read_bytes(), exp["url"]).paragraphs)
    half = len(paras) // 2
    cases = {"same": paras, "first half": paras[:half], "every other": paras[::2], "one lost": paras[:half] + paras[half + 1 :], "copyright": [*paras, COPYRIGHT]}
    got = {k: agreement(paras, v) for k, v in cases.items()}
    for case, body in cases.items():
        ratio = difflib.SequenceMatcher(None, "\n".join(paras), "\n".join(body), autojunk=False).ratio()
        assert abs(got[case] - ratio) < 0.01, (case, got[case], ratio)
    assert got["same"] == 1.0 and got["copyright"] > 0.96
    assert got["first half"] < AGREEMENT and got["every other"] < AGREEMENT and AGREEMENT - 0.02 < got["one lost"] < 0.97


paragraph = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x4E40), min_size=1, max_size=60)


@given(st.lists(paragraph, max_size=8), st.lists(paragraph, max_size=8))
def test_agreement_is_a_symmetric_score_from_0_to_1(a: list[str], b: list[str]) -> None:
    score = agreement(a, b)
    assert 0.0 <= score <= 1.0 and score == agreement(b, a)
    assert agreement(a, a) == 1.0
    if a != b and "\n".join(a) != "\n".join(b) and not set("".join(a)) & set("".join(b)):
        assert score == 0.0  # no gram in common


def test_unrelated_articles_do_not_agree(corpus: Path, expected: list[dict[str, Any]]) -> None:
    from scraper.articles.extractors import cna

    bodies = [cna.extract((corpus / "cna" / "pages" / e["file"]).read_bytes(), e["url"]).paragraphs for e in expected if e["file"] in NAMES]
    assert all(agreement(x, y) < 0.1 for i, x in enumerate(bodies) for y in bodies[i + 1 :])
