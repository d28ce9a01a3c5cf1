"""The general extractor's story rules on small pages written here: paragraphs split by
<br><br> and block spans, lazy and background photos, icons, captions as figures, bylines,
notices and promos at the story's end."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from lxml import html as lhtml

from scraper.articles.extractors import media
from tests.helpers import images, paragraphs
from tests.test_general_rules import STORY, TIME, extract

A, B, C, D = STORY


def story_page(story_html: str, head: str = TIME) -> bytes:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>"
        "<nav><ul><li><a href='/'>首頁</a></li><li><a href='/news'>新聞</a></li></ul></nav>"
        f"<main><article>{story_html}</article></main><footer><p>© 2026 範例新聞 版權所有</p></footer></body></html>"
    ).encode()


def test_br_br_and_block_spans_split_paragraphs_and_a_single_br_does_not() -> None:
    body = extract(story_page(f"<div class='text'>{A}<br><br>{B}<br />\n<br/>{C}<br>（續）<br>\n \n<br>{D}</div>")).body_html
    assert paragraphs(body) == [A, B, f"{C}（續）", D]
    spans = f"<div class='text'>{A}<span style='display: block; height:1em;'></span>{B}<span style='display:block'></span>{C}<br><br>{D}</div>"
    assert paragraphs(extract(story_page(spans)).body_html) == STORY


@given(
    st.lists(st.text(alphabet="市政府公車電動化。，abc <>&", min_size=1, max_size=30), min_size=1, max_size=6),
    st.sampled_from(["<br><br>", "<br>\n<br/>", "<span style='display:block'></span>", "<br>"]),
)
def test_split_paragraphs_keeps_every_character_of_the_text_in_order(runs: list[str], sep: str) -> None:
    escaped = [r.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for r in runs]
    root = lhtml.fromstring("<div><div>" + sep.join(escaped) + "</div></div>")
    media.split_paragraphs(root)
    assert "".join(root.itertext()).replace(" ", "").replace("\n", "") == "".join(runs).replace(" ", "")
    if sep != "<br>" and len(runs) > 1:  # each non-blank run its own paragraph
        assert [p.text_content().strip() for p in root.iter("p")] == [r.strip() for r in runs if r.strip()]


def test_lazy_photos_are_read_and_the_placeholder_is_not() -> None:
    gif = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
    story = (
        f"<p>{A}</p><figure><img src='{gif}' data-original='//img.example.org/a.jpg' alt='甲'><figcaption>甲圖說明文字</figcaption></figure>"
        f"<p>{B}</p><figure><img srcset='https://img.example.org/b-400.jpg 400w, https://img.example.org/b-1200.jpg 1200w'><figcaption>乙圖說明文字</figcaption></figure>"
        f"<p>{C}</p><figure><img src='{gif}'><noscript><img src='https://img.example.org/c.jpg' alt='丙'></noscript><figcaption>丙圖說明文字</figcaption></figure>"
        f"<figure><img data-src='https://img.example.org/d.jpg' class='lazyload'><noscript><img src='https://img.example.org/d.jpg'></noscript><figcaption>丁圖</figcaption></figure><p>{D}</p>"
    )
    srcs = [i["src"] for i in images(extract(story_page(story)).body_html)]
    assert srcs == ["https://img.example.org/a.jpg", "https://img.example.org/b-1200.jpg", "https://img.example.org/c.jpg", "https://img.example.org/d.jpg"]


def test_a_lead_photo_given_as_a_background_is_the_declared_one_only() -> None:
    head = TIME + "<meta property='og:image' content='https://img.example.org/lead.jpg?w=1200'>"
    story = "<div class='hero' style=\"background-image: url('https://img.example.org/lead.jpg')\"></div>" + "".join(f"<p>{t}</p>" for t in STORY)
    story += "<div class='next' style='background-image:url(https://img.example.org/other.jpg)'>請繼續下滑閱讀</div>"
    assert [i["src"] for i in images(extract(story_page(story, head)).body_html)] == ["https://img.example.org/lead.jpg"]


def test_icons_and_logos_are_no_photos() -> None:
    icons = "<div class='share'><img src='/assets/s_fb.png' alt='FB'><img src='/img/logo.svg' alt='範例新聞'><img src='/i/bt-a1.png' alt='字體'></div>"
    photo = "<figure><img src='https://img.example.org/bus.jpg' alt='電動公車'><figcaption>新型電動公車在總站充電。</figcaption></figure>"
    body = extract(story_page(icons + f"<p>{A}</p>" + photo + "".join(f"<p>{t}</p>" for t in STORY[1:]))).body_html
    assert [i["src"] for i in images(body)] == ["https://img.example.org/bus.jpg"]


def test_a_caption_paragraph_after_a_photo_is_its_figcaption() -> None:
    story = f"<p>{A}</p><p><img src='https://img.example.org/1.jpg' alt='別的說明'></p><p>▲電動公車在總站充電。（圖／記者翻攝）</p><p>{B}</p>"
    story += f"<div class='photo'><a href='javascript:void(0)'><img src='https://img.example.org/2.jpg' alt='司機受訓。'></a><p>司機受訓。</p></div><p>{C}</p><p>{D}</p>"
    body = extract(story_page(story)).body_html
    assert paragraphs(body) == STORY
    figs = lhtml.fragment_fromstring(body, create_parent="div").findall(".//figure")
    assert [(f.find("img").get("src"), f.findtext("figcaption")) for f in figs] == [  # type: ignore[union-attr]
        ("https://img.example.org/1.jpg", "▲電動公車在總站充電。（圖／記者翻攝）"),
        ("https://img.example.org/2.jpg", "司機受訓。"),
    ]


def test_a_related_storys_thumbnail_is_no_photo_but_a_zoom_link_is() -> None:
    card = "<div class='related'><a href='/news/other.html'><img src='https://img.example.org/other.jpg' alt='別則'>別則新聞標題</a></div>"
    zoom = "<figure><a href='https://img.example.org/big.jpg'><img src='https://img.example.org/big.jpg' alt='大圖'></a><figcaption>大圖說明文字。</figcaption></figure>"
    body = extract(story_page(f"<p>{A}</p>{zoom}<p>{B}</p><p>{C}</p><p>{D}</p>{card}")).body_html
    assert [i["src"] for i in images(body)] == ["https://img.example.org/big.jpg"]


def test_a_byline_before_the_story_and_notices_after_it_go() -> None:
    notice = "<p>●《範例新聞》關心您，請給自己機會：安心專線：0800-788995；生命線協談專線：1995</p><p>本網站之文字、圖片，未經授權不得轉載。</p>"
    promo = "<p>還想看更多新聞嗎？下載範例新聞APP</p><p>相關新聞一</p><p>相關新聞二</p>"
    body = extract(story_page("<p>記者林悅／南市報導</p>" + "".join(f"<p>{t}</p>" for t in STORY) + notice + promo)).body_html
    assert paragraphs(body) == STORY


def test_a_keep_reading_marker_inside_the_story_goes() -> None:
    body = extract(story_page(f"<p>{A}</p><p>{B}</p><p>請繼續往下閱讀...</p><p>{C}</p><p>{D}</p>")).body_html
    assert paragraphs(body) == STORY


def test_a_hover_card_inside_a_sentence_and_a_raw_shortcode_go() -> None:
    card = "<span class='pop'><img src='/p/noem.jpg' alt=''><a href='/people/noem'>Kristi Lynn Noem</a><a href='/n/1'>Another story</a></span>"
    first = f"<p>South Dakota Gov. <a href='/people/noem'>Kristi Noem</a>{card} (R) is defending the campaign.</p>"
    shortcode = "<p>[button link=”https://example.org/submit/” type=”big”] Send us YOUR review[/button]</p>"
    body = extract(story_page(first + "".join(f"<p>{t}</p>" for t in STORY) + shortcode)).body_html
    assert paragraphs(body) == ["South Dakota Gov. Kristi Noem (R) is defending the campaign.", *STORY]


def test_gallery_slides_are_photos_of_the_story_with_their_captions() -> None:
    gif = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
    slides = "".join(f"<div class='slide'><img src='{gif}' data-lazy-src='https://img.example.org/g{i}.jpg' alt='第{i}張'><p class='photo-caption'>第{i}張照片說明。</p></div>" for i in range(3))
    bare = "".join(f"<li><img data-original='https://img.example.org/h{i}.jpg' alt=''></li>" for i in range(2))
    body = extract(story_page(f"<p>{A}</p><div class='gallery'>{slides}</div><p>{B}</p><ul class='gallery'>{bare}</ul><p>{C}</p><p>{D}</p>")).body_html
    assert [i["src"] for i in images(body)] == [*(f"https://img.example.org/g{i}.jpg" for i in range(3)), "https://img.example.org/h0.jpg", "https://img.example.org/h1.jpg"]
    figs = lhtml.fragment_fromstring(body, create_parent="div").findall(".//figure")
    assert [f.findtext("figcaption") for f in figs] == ["第0張照片說明。", "第1張照片說明。", "第2張照片說明。", None, None]
    assert paragraphs(body) == STORY


def test_story_lines_that_look_like_promos_or_cards_stay() -> None:
    lines = [
        "<p>Account: <a href='https://instagram.example/darkzip'>@darkzip</a></p>",
        "<p>The company said it continued to sign up new subscribers throughout the week.</p>",
        "<p>See the <a href='/n/2'>full results</a>.</p>",
        "<p><a href='https://journal.example.org/alarm-fatigue-2015'>[1] Alarm fatigue: impacts on patient safety, Curr Opin Anaesthesiol. 2015</a></p>",
        "<p><a href='http://blog.example.org/2011/09/07/fatwa'>http://blog.example.org/2011/09/07/fatwa-para-ulama</a></p>",
    ]
    body = extract(story_page("".join(f"<p>{t}</p>" for t in STORY[:2]) + "".join(lines) + "".join(f"<p>{t}</p>" for t in STORY[2:]))).body_html
    assert paragraphs(body) == [
        *STORY[:2],
        "Account: @darkzip",
        "The company said it continued to sign up new subscribers throughout the week.",
        "See the full results.",
        "[1] Alarm fatigue: impacts on patient safety, Curr Opin Anaesthesiol. 2015",
        "http://blog.example.org/2011/09/07/fatwa-para-ulama",
        *STORY[2:],
    ]
