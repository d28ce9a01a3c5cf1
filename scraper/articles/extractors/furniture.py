"""Page furniture that survives main-text extraction, removed by rule (pure).

Measured on real pages: 紐約時報中文網 puts a 「廣告」 marker between paragraphs, RFI a
「發表時間：」 label whose time the extractor drops, BBC 中文 a byline list above the
story, and sites close with lists of links to other stories. The rules look at the shape
of a block (its words, its length, how much of it is links, where it stands), never at
one site's markup.
"""

from __future__ import annotations

import re
import unicodedata

from ..page import Element, text_of

# Ad and "keep reading" markers, compared on letters and digits only, case-folded.
MARKERS = frozenset(
    {
        "廣告",
        "广告",
        "advertisement",
        "ad",
        "ads",
        "sponsored",
        "贊助",
        "赞助",
        "贊助內容",
        "赞助内容",
        "推廣",
        "推广",
        "continuereadingthemainstory",
        "繼續閱讀全文",
        "继续阅读全文",
        "繼續閱讀下文",
        "继续阅读下文",
        "繼續瀏覽後續",
        "继续浏览后续",
    }
)
MARKER_MAX = max(map(len, MARKERS)) + 8  # room for spaces and punctuation
# Words of a metadata label (「發表時間：」, 「更新：」, "Updated:"), case-folded.
METADATA = ("時間", "时间", "日期", "更新", "發表", "发表", "發布", "发布", "作者", "來源", "来源", "編輯", "编辑", "published", "updated", "posted", "source")
LABEL_MAX = 8  # letters in a label such as 「發表時間：」 or "Updated:"
LINK_SHARE = 0.6  # a block whose text is this much link text is a list of links
LISTS = ("ul", "ol")
HEADINGS = ("h2", "h3", "h4", "h5", "h6")
# A sentence ends so; a headline, a card title or a label does not.
SENTENCE_END = (".", "!", "?", "。", "！", "？", "…", "”", '"', "’", "」", "』", "）", ")")
# Calls to action of promo blocks: newsletters, apps, sharing, comments, subscriptions.
PROMO = re.compile(
    r"(?:^|[.!?:]\s+)(?:sign up|subscribe)\b|\b(?:newsletters?|download (?:our|the) app|click(?:ing)? here|share (?:it|this)|follow us|tell us what you think|thanks for signing up)\b"
    r"|(?:^|[.!?]\s+)follow\b[^.]{0,60}\bon (?:facebook|twitter|instagram)\b"
    r"|訂閱|订阅|下載.{0,12}app|下载.{0,12}app|app下載|加入.{0,8}(?:好友|粉絲|粉丝)|按讚|追蹤.{0,8}(?:粉絲|粉丝|ig|facebook)|還想看更多|请继续往下阅读|請繼續往下閱讀",
    re.I,
)
# Care notices with a hotline number, and copyright lines: longer than a promo, never story.
NOTICE = re.compile(
    r"關心您|關心你|关心您|关心你|(?:專線|专线|熱線|热线|hotline|helpline|lifeline)\D{0,8}\d[\d-]{2,}"
    r"|版權所有|版权所有|all rights reserved|未經.{0,8}(?:授權|同意)|未经.{0,8}(?:授权|同意)|禁止.{0,30}(?:轉載|转载|引用)|不得.{0,12}(?:轉載|转载)",
    re.I,
)
NOTICE_MAX = 300
# A byline standing before the story: 「記者林悅／南市報導」, 「〔記者王小明／台北報導〕」, 「社會中心／綜合報導」.
BYLINE = re.compile(r"^[〔［\[（(【]?[^，。,.]{0,20}[／/][^，。,.]{0,12}(?:報導|报道|電|电)[〕］\]）)】]?$")
PROMO_MAX = 160  # characters: a promo is a line or two; a paragraph that names a newsletter is story
STORY_MIN = 200  # weight of a paragraph that is story, not a card's line (``weight``)
CARD_LINK_SHARE = 0.8
CARD_HEADLINE_MIN = 40  # weight of a linked headline: ten CJK characters, or forty letters  # a short paragraph this much link is a "see also" card amid the story


def key(s: str) -> str:
    return "".join(ch for ch in s.casefold() if unicodedata.category(ch)[0] in "LN")


def _text(el: Element) -> str:
    return " ".join(text_of(el).split())


def is_marker(el: Element) -> bool:
    if el.tag in ("figure", "img"):
        return False
    words = _text(el)
    return len(words) <= MARKER_MAX and key(words) in MARKERS


def is_label(el: Element) -> bool:
    """A short paragraph that is only a label: its value (a time, a name) is gone."""
    if el.tag != "p":
        return False
    words = _text(el)
    return len(words) <= 4 * LABEL_MAX and words.endswith((":", "：")) and 0 < len(key(words)) <= LABEL_MAX and next(el.iter("img"), None) is None


def is_link_list(el: Element) -> bool:
    """A block that is mostly links: related stories, tags, share and follow lists."""
    if el.tag in ("figure", "img", "blockquote", "table"):
        return False
    if el.tag not in LISTS and next(el.iter("img"), None) is not None:  # a photo with a credit link
        return False
    total = len(key(_text(el)))
    linked = sum(len(key(_text(a))) for a in el.iter("a"))
    return total > 0 and linked >= LINK_SHARE * total


def _empty(el: Element) -> bool:
    return el.tag not in ("img", "figure", "hr", "br") and not key(_text(el)) and next(el.iter("img"), None) is None


def weight(s: str) -> int:
    """Length in English letters: a CJK character, about a word, weighs what four letters and a space do."""
    return sum(4 if "\u2e80" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af" else 1 for ch in s)


def is_promo(el: Element) -> bool:
    """A call to action, a care notice with a hotline, or a copyright line."""
    words = _text(el)
    if el.tag in ("figure", "img"):
        return False
    return (len(words) <= PROMO_MAX and PROMO.search(words) is not None) or (len(words) <= NOTICE_MAX and NOTICE.search(words) is not None)


def is_byline(el: Element) -> bool:
    return el.tag in ("p", "div", "span") and BYLINE.match(_text(el)) is not None


# A WordPress shortcode the site never rendered: 「[button link=…]Send us…[/button]」.
SHORTCODE = re.compile(r"^\[(\w+)\b[^\]]*\].*\[/\1\]$", re.S)


def is_shortcode(el: Element) -> bool:
    return SHORTCODE.match(_text(el)) is not None


def is_card(el: Element) -> bool:
    """A short paragraph that is nearly all one link to another story's headline (after a
    label such as 「延伸閱讀：」): a "see also" line amid the story."""
    if el.tag != "p" or next(el.iter("img"), None) is not None:
        return False
    words = _text(el)
    total = len(key(words))
    linked = sum(len(key(_text(a))) for a in el.iter("a"))
    label = (el.text or "").strip()  # 「延伸閱讀：」, "SEE MORE:" before the link
    if linked and label.endswith((":", "：")) and len(key(label)) <= LABEL_MAX:
        linked += len(key(label))
    links = list(el.iter("a"))
    if len(links) != 1 or re.match(r"\s*(?:https?:|www\.)", _text(links[0])) or re.match(r"\[\d+\]", words):
        return False  # several links (a list of accounts), a cited address, a numbered reference
    headline = weight(key(_text(links[0])))  # another story's title, not a handle or a page number
    return total > 0 and len(words) <= PROMO_MAX and linked >= CARD_LINK_SHARE * total and headline >= CARD_HEADLINE_MIN


def is_standfirst(el: Element) -> bool:
    """A heading that is a whole sentence: the summary printed above the story."""
    return el.tag in HEADINGS and _text(el).endswith(SENTENCE_END)


def _story_end(blocks: list[Element]) -> int:
    """Where the story ends: at the first promo after which no story paragraph follows."""
    last_story = max((i for i, b in enumerate(blocks) if b.tag in ("p", "blockquote") and weight(_text(b)) >= STORY_MIN and not is_promo(b)), default=-1)
    for i, block in enumerate(blocks):
        if i > last_story and i > 0 and is_promo(block):
            return i
    return len(blocks)


def _deduplicated(blocks: list[Element]) -> list[Element]:
    """Blocks without a repeat of an earlier block's text (a caption printed under every photo)."""
    seen: set[str] = set()
    out = []
    for block in blocks:
        k = key(_text(block))
        if len(k) >= LABEL_MAX and k in seen and block.tag not in ("figure", "img"):
            continue
        seen.add(k)
        out.append(block)
    return out


def cut(blocks: list[Element]) -> list[Element]:
    """The story's boundaries: the summary heading above it, promos and "see also" cards in
    it, and what follows the first promo after its last paragraph, removed."""
    end = _story_end(blocks)
    # the story's photos may stand after its end (a photo under the text and its notices);
    # related stories' photos never get here (they sit in links: ``media.is_card_photo``)
    blocks = blocks[:end] + [b for b in blocks[end:] if b.tag == "figure"]
    kept = []
    before_story = True  # no paragraph yet (one flag, not a scan of the blocks before each block)
    for block in blocks:
        if (before_story and (is_standfirst(block) or is_byline(block))) or is_promo(block) or is_card(block) or is_shortcode(block):
            before_story = before_story and block.tag != "p"
            continue
        before_story = before_story and block.tag != "p"
        kept.append(block)
    return kept


def remove(blocks: list[Element]) -> list[Element]:
    """``blocks`` without ad markers and bare labels anywhere, lists above the first
    paragraph (bylines, breadcrumbs, tags), and link lists, headings and labels after the last."""
    for block in blocks:  # markers nested in a list or a quote
        for inner in list(block.iter("p", "li", "div")):
            if inner is not block and is_marker(inner) and inner.getparent() is not None:
                inner.drop_tree()  # type: ignore[attr-defined]
    blocks = cut(blocks)
    kept: list[Element] = []
    story = 0  # paragraphs of the story seen so far
    for i, block in enumerate(blocks):
        if block.tag == "h1" or is_marker(block) or _empty(block):  # the headline is the post's title
            continue
        introduces = i + 1 < len(blocks) and blocks[i + 1].tag in ("ul", "ol", "blockquote", "table")
        # In the story, 「他說：」 before a quoted paragraph is text; a label is one in the
        # header (before the second paragraph) or one that names page metadata.
        if is_label(block) and not introduces and (story < 2 or any(word in key(_text(block)) for word in METADATA)):
            continue
        if block.tag == "p" and len(key(_text(block))) > 2 * LABEL_MAX:
            story += 1
        kept.append(block)
    while len(kept) > 1 and kept[0].tag in LISTS:
        kept.pop(0)
    while len(kept) > 1 and (kept[-1].tag in HEADINGS or is_label(kept[-1]) or (kept[-1].tag in (*LISTS, "p", "div") and is_link_list(kept[-1]))):
        kept.pop()
    return kept
