"""Block structure of a page, by shape alone (pure): which containers hold the story, and
paragraphs that a page writes as ``<br><br>`` runs (or empty ``display:block`` spans)
instead of ``<p>``s.

CNA's pre-2016 pages (2012-2015) wrap the whole page in ASP.NET's ``<form id="aspnetForm">``
and lay out their columns in tables; the story is one ``<p>`` whose paragraphs are split by
``<br /><br />``. A cleaner that drops every form or table, or an extractor that takes a
``<p>`` for one paragraph, loses the story or runs it together. These rules hold for any
page: a container is judged by whether the story is inside it, never by its name.
"""

from __future__ import annotations

import re

from lxml import etree

from ..page import Element, text_of

# Tags whose text is never story text (code, styles, hidden fallbacks).
NOT_TEXT = frozenset({"script", "style", "noscript", "template", "textarea", "select", "option", "head", "title"})
# Inline tags: a block holding only these (and text) is one run of text that ``<br>``s may split.
INLINE = frozenset({"a", "abbr", "b", "bdi", "bdo", "big", "br", "cite", "code", "em", "font", "i", "img", "kbd", "mark", "q", "s", "small", "span", "strong", "sub", "sup", "time", "u", "wbr"})
# Containers that cleaners drop as page furniture but that may wrap the whole story.
WRAPPERS = frozenset({"form", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "header", "footer", "nav", "aside", "center", "font"})


def _own_chars(el: Element) -> int:
    """Characters of text directly in ``el`` and in its inline children: one block's own text."""
    total = len((el.text or "").strip())
    for child in el:
        if isinstance(child.tag, str) and child.tag in INLINE and child.tag != "img":
            total += len(text_of(child).strip())
        total += len((child.tail or "").strip())
    return total


def story_block(root: Element) -> Element | None:
    """The block holding the most text of its own: a paragraph of the story on a news page
    (menus, link lists and footers hold short lines)."""
    best: Element | None = None
    most = 0
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in NOT_TEXT or el.tag in INLINE:
            continue
        if any(isinstance(a.tag, str) and a.tag in NOT_TEXT for a in el.iterancestors()):
            continue
        chars = _own_chars(el)
        if chars > most:
            best, most = el, chars
    return best


def story_containers(root: Element) -> set[Element]:
    """The story's block and every element around it: the containers that must never be
    dropped, whatever their tag."""
    block = story_block(root)
    if block is None:
        return set()
    return {block, *block.iterancestors()}


def unwrap_containers(root: Element) -> int:
    """Make every form, table row or cell, header, footer, nav or aside that holds the story a
    plain ``div``, so a cleaner that drops such furniture keeps the story; returns how many."""
    changed = 0
    for el in story_containers(root):
        if el.tag in WRAPPERS:
            el.tag = "div"
            for name in list(el.attrib):
                if name not in ("class", "id"):
                    del el.attrib[name]
            changed += 1
    return changed


_BLOCK_STYLE = re.compile(r"display\s*:\s*block", re.I)


def _is_spacer(el: Element) -> bool:
    """An empty ``<span style="display:block">``: a paragraph break drawn by CSS (蘋果日報)."""
    return el.tag == "span" and bool(_BLOCK_STYLE.search(el.get("style") or "")) and not len(el) and not (el.text or "").strip()


def _is_break_run(kids: list[Element], i: int) -> bool:
    """``kids[i]`` is a ``<br>`` followed, with only blank text between, by another; or a spacer."""
    if _is_spacer(kids[i]):
        return True
    return kids[i].tag == "br" and not (kids[i].tail or "").strip() and i + 1 < len(kids) and kids[i + 1].tag == "br"


def _pieces(el: Element) -> list[tuple[str, list[Element]]]:
    """``el``'s content cut at each run of two or more ``<br>``: (leading text, children) per piece."""
    kids = list(el)
    pieces: list[tuple[str, list[Element]]] = [(el.text or "", [])]
    i = 0
    while i < len(kids):
        if _is_break_run(kids, i):
            while not _is_spacer(kids[i]) and i + 1 < len(kids) and kids[i + 1].tag == "br" and not (kids[i].tail or "").strip():
                i += 1
            pieces.append((kids[i].tail or "", []))
        else:
            pieces[-1][1].append(kids[i])
        i += 1
    return pieces


def split_breaks(root: Element) -> int:
    """Every block of inline content that ``<br><br>`` runs divide becomes one ``<p>`` per
    piece (a ``<p>`` is replaced by them; a ``div`` or cell keeps them inside). A single
    ``<br>`` is a line break within a paragraph and stays. Returns the paragraphs made."""
    made = 0
    for el in list(root.iter("p", "div", "td", "section", "article", "blockquote")):
        kids = list(el)
        if not any(_is_break_run(kids, i) for i in range(len(kids))):
            continue
        if any(isinstance(k.tag, str) and k.tag not in INLINE for k in kids):
            continue  # blocks inside: not one run of text
        paras: list[Element] = []
        for text, children in _pieces(el):
            p = etree.Element("p")
            p.text = text.strip("\r\n")
            for child in children:
                p.append(child)  # moves the child with its tail
            while len(p) and p[-1].tag == "br" and not (p[-1].tail or "").strip():
                p.remove(p[-1])  # a lone trailing break ends nothing
            if (p.text or "").strip() or len(p):
                paras.append(p)
        for child in list(el):
            el.remove(child)
        el.text = None
        parent = el.getparent()
        if el.tag == "p" and parent is not None:
            for p in paras:
                el.addprevious(p)
            if paras:
                paras[-1].tail = el.tail
            parent.remove(el)
        else:
            el.extend(paras)
        made += len(paras)
    return made


def wrap_runs(el: Element) -> None:
    """Text that sits in ``el`` outside any paragraph (紐約時報中文網 writes each paragraph as a
    ``div`` of bare text) becomes a ``<p>``: ``el`` itself when it holds no block, else each
    run of text and inline elements between its blocks."""
    if el.tag == "p":
        return
    kids = list(el)
    if not any(isinstance(k.tag, str) and k.tag not in INLINE for k in kids):
        if (el.text or "").strip() or any(isinstance(k.tag, str) for k in kids):
            el.tag = "p"
        return
    run: list[Element] = []
    lead = el.text or ""
    el.text = None

    def close(before: Element | None) -> None:
        nonlocal lead
        if lead.strip() or run:
            p = etree.Element("p")
            p.text = lead
            for child in run:
                p.append(child)
            if before is None:
                el.append(p)
            else:
                before.addprevious(p)
        run.clear()
        lead = ""

    for kid in kids:
        if isinstance(kid.tag, str) and kid.tag not in INLINE:
            tail, kid.tail = kid.tail or "", None
            close(kid)
            lead = tail
        else:
            run.append(kid)
    close(None)
