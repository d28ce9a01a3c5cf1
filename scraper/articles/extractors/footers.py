"""A footer that a feed repeats at the end of every item, found and removed (pure).

WordPress feeds close each item's full text with the same block: China Digital Times
ends every ``content:encoded`` with 「© author for 中国数字时代 | Permalink | No comment |
Add to del.icio.us / Post tags: … / 订靠谱新闻 …」. Its start varies (author, links, tags)
but its end does not, so the rule is: the longest text that ends most items' text is the
footer's anchor; the top-level blocks holding it go, with the rule or blank paragraphs
before them. An anchor that spans blocks starts at a block boundary (that every story
ends in 「。」 is chance, not footer). A short common ending (「（完）」 inside the last
paragraph) is no footer: the anchor must be whole blocks or long, and never half an item.
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections import Counter
from collections.abc import Sequence

import lxml.html
from lxml import etree

from ..page import Element, text_of

SHARE = 0.6  # of the items with text that must end alike
MIN_ITEMS = 3
MIN_BLOCK_LETTERS = 4  # an anchor that is whole blocks (「纽约时报中文网」 home link)
MIN_LETTERS = 16  # an anchor that starts inside a block
MAX_SHARE_OF_ITEM = 0.5  # a footer is never half of an item's text


def _letters(s: str) -> int:
    return sum(1 for ch in s if unicodedata.category(ch)[0] in "LN")


def _blocks(content: str) -> list[str | Element]:
    try:
        return list(lxml.html.fragments_fromstring(content))
    except (etree.ParserError, ValueError):
        return []


def _text(block: str | Element) -> str:
    raw = block if isinstance(block, str) else text_of(block)
    return " ".join(raw.split())


def _common_ending(texts: Sequence[str], need: int) -> str:
    """The longest string that ends at least ``need`` of ``texts``."""
    lo, hi = 0, max((len(t) for t in texts), default=0)
    best = ""
    while lo < hi:  # the best group only shrinks as the ending grows
        mid = (lo + hi + 1) // 2
        ending, count = Counter(t[-mid:] for t in texts if len(t) >= mid).most_common(1)[0] if any(len(t) >= mid for t in texts) else ("", 0)
        if count >= need:
            lo, best = mid, ending
        else:
            hi = mid - 1
    return best


def _is_spacer(block: str | Element) -> bool:
    if isinstance(block, str):
        return not block.strip()
    return block.tag in ("hr", "br") or (not _letters(_text(block)) and next(block.iter("img", "iframe"), None) is None)


def _serialise(blocks: list[str | Element]) -> str:
    out = []
    for block in blocks:
        if isinstance(block, str):
            out.append(html.escape(block, quote=False))
        else:
            out.append(lxml.html.tostring(block, encoding="unicode", with_tail=True))
    return "".join(out).rstrip()


def strip_common_footer(contents: Sequence[str | None]) -> list[str | None]:
    """``contents`` (the items of one feed, in order) without the footer most of them end
    with; items without it, or with no text, come back unchanged."""
    parsed = [_blocks(c) if c else [] for c in contents]
    texts = ["\n".join(_text(b) for b in blocks) for blocks in parsed]
    with_text = [t for t in texts if _letters(t)]
    need = max(MIN_ITEMS, math.ceil(SHARE * len(with_text)))
    if len(with_text) < need:
        return list(contents)
    anchor = _common_ending(with_text, need)
    if "\n" in anchor:  # spanning blocks: the part before the first boundary is chance (「。」)
        anchor = anchor[anchor.index("\n") :]
    if _letters(anchor) < MIN_BLOCK_LETTERS:
        return list(contents)
    out: list[str | None] = []
    for content, blocks, text in zip(contents, parsed, texts, strict=True):
        if not content or not text.endswith(anchor):
            out.append(content)
            continue
        start = len(text) - len(anchor)
        aligned = start == 0 or text[start - 1] == "\n" or text[start] == "\n"
        # the first block holding any of the anchor
        offset, first = 0, len(blocks)
        for i, block in enumerate(blocks):
            end = offset + len(_text(block))
            if end > start:
                first = i
                break
            offset = end + 1
        dropped = text[offset:]
        if (not aligned and _letters(anchor) < MIN_LETTERS) or _letters(dropped) > MAX_SHARE_OF_ITEM * _letters(text):
            out.append(content)
            continue
        while first > 0 and _is_spacer(blocks[first - 1]):
            first -= 1
        out.append(_serialise(blocks[:first]))
    return out
