"""The general extractor's rules on small pages written here, and properties that must hold
for every input: titles without the site's name, photos with captions, furniture out,
and a feed's repeated footer removed without touching the stories."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st
from lxml import html as lhtml

from scraper.articles.extractors import footers, furniture, generic, pagemeta
from scraper.models import Article
from tests.helpers import images, paragraphs

STORY = [
    "市政府今天宣布，明年起全市公車將全面改用電動車，預計五年內完成汰換，總經費約新台幣一百二十億元。市長在記者會上說，這是本市邁向淨零排放的重要一步。",
    "交通局長表示，電動公車的營運成本比柴油車低三成，噪音與空氣污染也大幅減少，市民搭乘意願可望提高。局長也說，司機將分批接受新車操作訓練。",
    "不過，部分業者擔心充電站設置進度落後，可能影響班次調度，市府承諾將在各轉運站優先設置快充設備。業者另要求市府補助電池更換的費用。",
    "議員則提醒，採購過程必須公開透明，並應優先考量國產車輛，以帶動本地相關產業的發展與就業機會。市府回應，招標文件將全文公開供外界檢視。",
]


def page(head: str = "", before: str = "", after: str = "", inside: str = "") -> bytes:
    paras = "".join(f"<p>{t}</p>" for t in STORY[:2]) + inside + "".join(f"<p>{t}</p>" for t in STORY[2:])
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head><body>"
        f"<nav><ul><li><a href='/'>首頁</a></li><li><a href='/news'>新聞</a></li></ul></nav>"
        f"<main><article>{before}{paras}{after}</article></main>"
        f"<footer><p>© 2026 範例新聞 版權所有</p></footer></body></html>"
    ).encode()


def extract(data: bytes) -> Article:
    return generic.extract(data, "https://news.example.org/2026/12/01/bus.html")


TIME = "<meta property='article:published_time' content='2026-12-01T08:30:00+08:00'>"


# --- titles


def test_h1_wins_when_og_title_is_it_plus_the_site_suffix_up_to_punctuation() -> None:
    head = TIME + "<meta property='og:title' content='市府公車全面電動化 五年完成 - 範例新聞'>"
    article = extract(page(head, before="<h1>市府：公車全面電動化，五年完成</h1>"))
    assert article.title == "市府：公車全面電動化，五年完成"


def test_suffix_equal_to_the_site_name_is_cut() -> None:
    for sep in (" - ", " | ", "_"):
        head = TIME + f"<meta property='og:title' content='公車全面電動化{sep}範例新聞'><meta property='og:site_name' content='範例新聞'>"
        assert extract(page(head, before="<h1 class='logo'>範例新聞</h1>")).title == "公車全面電動化"


def test_site_name_holding_a_separator_is_cut_whole() -> None:
    head = TIME + "<title>公車全面電動化 - RFI - 法國國際廣播電台</title><meta name='application-name' content='RFI - 法國國際廣播電台'>"
    assert extract(page(head)).title == "公車全面電動化"


def test_suffix_naming_the_json_ld_publisher_is_cut() -> None:
    ld = '<script type=\'application/ld+json\'>{"@type": "NewsArticle", "publisher": {"@type": "Organization", "name": "範例日報"}}</script>'
    assert extract(page(TIME + ld + "<title>公車全面電動化｜範例日報</title>")).title == "公車全面電動化"


def test_title_with_a_dash_but_no_site_name_is_kept_whole() -> None:
    head = TIME + "<meta property='og:title' content='公車電動化 - 業者憂充電站不足'>"
    assert extract(page(head)).title == "公車電動化 - 業者憂充電站不足"


def test_the_pages_own_spaces_stay_in_the_title_and_markup_indentation_goes() -> None:
    head = TIME + "<meta property='og:title' content='公車全面電動化　五年完成 | 範例新聞'>"
    assert extract(page(head, before="<h1>\n    公車全面電動化　五年完成\n  </h1>")).title == "公車全面電動化　五年完成"
    head = TIME + "<meta property='og:title' content='Buses go  electric - Example News'>"
    assert extract(page(head, before="<h1>Buses go  electric</h1>")).title == "Buses go  electric"


def test_an_h2_headline_is_taken_when_no_h1_is_the_title() -> None:
    head = TIME + "<meta property='og:title' content='公車全面電動化 - 交通 - 範例新聞'>"
    assert extract(page(head, before="<h1>選單</h1><h2>熱門新聞</h2><h2>公車全面電動化</h2>")).title == "公車全面電動化"


def test_the_feeds_site_name_is_cut_from_the_title() -> None:
    head = TIME + "<meta property='og:title' content='公車全面電動化 - 範例日報'>"
    assert generic.extract(page(head), "https://news.example.org/bus.html", site="範例日報").title == "公車全面電動化"
    assert generic.extract(page(head), "https://news.example.org/bus.html").title == "公車全面電動化 - 範例日報"


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=20))
def test_cutting_a_suffix_never_leaves_an_empty_title(title: str, site: str) -> None:
    out = pagemeta.strip_site_suffix(title, [site])
    assert title.startswith(out) or title.endswith(out)
    assert out or not title


# --- time


def test_time_comes_from_the_page_with_its_hour_and_zone() -> None:
    assert extract(page(TIME)).published == datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    ld = '<script type=\'application/ld+json\'>{"@graph": [{"@type": "NewsArticle", "datePublished": "2026-12-01T09:15:00Z"}]}</script>'
    assert extract(page(ld)).published == datetime(2026, 12, 1, 9, 15, tzinfo=UTC)


def test_a_time_without_an_offset_is_not_taken_as_an_instant() -> None:
    assert pagemeta.parse_time("2026-12-01 10:55:53") is None
    assert pagemeta.parse_time("2026-12-01") is None
    assert pagemeta.parse_time("2026-12-01T10:55:53.000Z") == datetime(2026, 12, 1, 10, 55, 53, tzinfo=UTC)


def test_a_placeholder_structured_date_is_ignored_for_the_next_source() -> None:
    ld = '<script type=\'application/ld+json\'>{"@type": "NewsArticle", "datePublished": "0001-01-01T00:00:00+00:00"}</script>'
    assert pagemeta.parse_time("0001-01-01T00:00:00+00:00") is None
    when = "<time pubdate datetime='2026-12-01T09:15:00Z'>12月1日</time>"
    assert extract(page(ld, before=when)).published == datetime(2026, 12, 1, 9, 15, tzinfo=UTC)
    alone = generic.extract(page(ld), "https://news.example.org/bus.html").published
    assert alone is None or alone.year == 2026  # never fatal: a weaker source, else the feed item's date


def test_a_comment_inside_a_sentence_does_not_cut_it() -> None:
    inside = "<p>市府強調，<!-- ad slot -->充電站將與公車同步啟用，<!--x-->不影響班次。</p>"
    assert "市府強調，充電站將與公車同步啟用，不影響班次。" in paragraphs(extract(page(TIME, inside=inside)).body_html)


# --- photos


def test_figure_keeps_its_photo_caption_and_credit_without_screen_reader_labels() -> None:
    style = "<style>.sr{position:absolute;clip-path:inset(100%);clip:rect(1px, 1px, 1px, 1px)}</style>"
    fig = (
        "<figure><div><noscript><img src='https://img.example.org/bus.jpg' alt='電動公車'></noscript>"
        "<p><span class='sr'>圖像來源，</span>範例社</p></div>"
        "<figcaption><span class='sr'>圖像加註文字，</span><p>新型電動公車在總站充電。</p></figcaption></figure>"
    )
    body = extract(page(TIME + style, inside=fig)).body_html
    assert '<figure><img src="https://img.example.org/bus.jpg" alt="電動公車"><figcaption>新型電動公車在總站充電。 範例社</figcaption></figure>' in body
    assert "圖像" not in body
    assert paragraphs(body) == STORY  # the caption is no paragraph of the story


def test_long_text_in_a_clipped_block_is_story_not_a_label() -> None:
    style = "<style>.folded{clip: rect(0 0 0 0)}</style>"
    folded = "市府也將在明年第二季公布各路線的汰換時程，並邀請民眾參與試乘活動，蒐集對座椅、扶手與下車鈴位置的意見。"
    body = extract(page(TIME + style, inside=f"<div class='folded'><p>{folded}</p></div>")).body_html
    assert folded in paragraphs(body)


def test_related_story_cards_are_no_photos_of_the_story() -> None:
    card = "<aside><h2>相關新聞</h2><ul>" + "".join(f"<li><a href='/n/{i}'><figure><img src='https://img.example.org/{i}.jpg'></figure>另一則新聞標題{i}</a></li>" for i in range(3)) + "</ul></aside>"
    body = extract(page(TIME, after=card)).body_html
    assert images(body) == []
    assert "另一則新聞" not in body


# --- furniture


def test_ad_markers_and_bare_labels_go_and_story_stays() -> None:
    inside = "<div class='ad'><small>廣告</small></div><p>Advertisement</p><p>更新時間：</p>"
    body = extract(page(TIME, before="<p>發表時間：</p>", inside=inside)).body_html
    assert paragraphs(body) == STORY


def test_a_speaker_before_a_quoted_paragraph_is_story_not_a_label() -> None:
    quote = "<p>市長說：</p><p>「我們希望五年內讓每一位市民都能搭上安靜、乾淨的公車，這是對下一代的承諾。」</p>"
    body = extract(page(TIME, inside=quote)).body_html
    assert "<p>市長說：</p>" in body


def test_label_that_introduces_a_list_is_kept() -> None:
    inside = "<p>市府列出三項措施：</p><ul><li>汰換老舊柴油公車，全面改為電動車輛</li><li>於各轉運站設置快充設備與備用電源</li></ul>"
    body = extract(page(TIME, inside=inside)).body_html
    assert "市府列出三項措施：" in body and "<li>汰換老舊柴油公車" in body


def test_links_list_after_the_story_goes() -> None:
    related = "<h3>延伸閱讀</h3><ul>" + "".join(f"<li><a href='/n/{i}'>市府其他交通政策新聞第{i}則</a></li>" for i in range(4)) + "</ul>"
    body = extract(page(TIME, after=related)).body_html
    assert "延伸閱讀" not in body and "其他交通政策" not in body
    assert paragraphs(body)[-1] == STORY[-1]


def test_summary_heading_above_the_story_goes_and_subheadings_stay() -> None:
    before = "<h2>市府宣布公車全面電動化，五年內完成汰換。</h2>"
    body = extract(page(TIME, before=before, inside="<h2>業者的疑慮</h2>")).body_html
    assert "五年內完成汰換。</h2>" not in body and "<h2>業者的疑慮</h2>" in body


def test_a_promo_ends_the_story_and_what_follows_it_goes() -> None:
    after = "<p>Pick Six Newsletter</p><p>Get the day's big stories in your inbox.</p><h3>Another story entirely</h3><p>A short line about it</p>"
    body = extract(page(TIME, after=after)).body_html
    assert paragraphs(body) == STORY


def test_a_see_also_line_amid_the_story_goes() -> None:
    inside = "<p>延伸閱讀：<a href='/n/9'>公車司機短缺 業者祭加薪搶人</a></p><p>追蹤我們的粉絲專頁，訂閱電子報</p>"
    body = extract(page(TIME, inside=inside)).body_html
    assert paragraphs(body) == STORY


story_text = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=12, max_size=60)
# A footer is never half an item (footers.MAX_SHARE_OF_ITEM): stories here outweigh FOOTER.
long_text = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=40, max_size=80)


@given(st.lists(story_text, min_size=1, max_size=8))
def test_furniture_rules_never_drop_a_story_paragraph(texts: list[str]) -> None:
    blocks = [lhtml.fragment_fromstring(f"<p>{t}</p>") for t in texts]
    assert [b.text for b in furniture.remove(blocks)] == texts


# --- feed footers


def item(paras: list[str], footer: str = "") -> str:
    return "".join(f"<p>{p}</p>\n" for p in paras) + footer


FOOTER = "<hr />\n<p><small>© 編輯部 | <a href='https://blog.example.org/p'>Permalink</a> | Post tags: <a href='/t'>新聞</a><br/>訂閱我們的電子報 請寄信至 news@example.org</small></p>"


@settings(max_examples=60)
@given(st.lists(st.lists(long_text, min_size=2, max_size=4), min_size=3, max_size=8, unique_by=lambda ps: ps[-1]))
def test_footer_repeated_on_every_item_is_removed_and_stories_stay(stories: list[list[str]]) -> None:
    out = footers.strip_common_footer([item(ps, FOOTER) for ps in stories])
    for ps, content in zip(stories, out, strict=True):
        assert content is not None
        assert paragraphs(content) == ps
        assert "Permalink" not in content and "<hr" not in content


def letters(paras: list[str]) -> int:
    """What footers.MAX_SHARE_OF_ITEM measures: letters and digits, not spaces or joins."""
    return sum(1 for p in paras for ch in p if unicodedata.category(ch)[0] in "LN")


# A story of 20 letters under two common paragraphs of 10: the footer is exactly half the
# item, which the rule allows; counted with spaces between paragraphs it looked like more.
HALF = [item(["甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉"[i:] + "天地玄黃宇宙洪荒日月"[:i], "盈昃辰宿列張寒來暑往", "秋收冬藏閏餘成歲律呂"]) for i in range(3)]


@settings(max_examples=60)
@given(st.lists(st.one_of(st.none(), st.lists(story_text, min_size=1, max_size=4).map(item)), max_size=8))
@example(HALF)
def test_footer_removal_only_ever_cuts_the_end_of_an_item(contents: list[str | None]) -> None:
    out = footers.strip_common_footer(contents)
    assert len(out) == len(contents)
    for before, after in zip(contents, out, strict=True):
        if before is None:
            assert after is None
            continue
        assert after is not None
        kept, had = paragraphs(after), paragraphs(before)
        assert kept == had[: len(kept)]
        assert letters(kept) * 2 >= letters(had)


def test_items_that_merely_end_alike_keep_their_last_paragraph() -> None:
    stories = [[f"第{i}則新聞的第一段內容，說明事件的來龍去脈與各方反應。", f"第{i}則新聞的結尾段落（完）"] for i in range(5)]
    out = footers.strip_common_footer([item(ps) for ps in stories])
    assert out == [item(ps) for ps in stories]
