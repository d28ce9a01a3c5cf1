"""A page's photos and paragraphs made plain before the story is looked for (pure).

Sites write a photo and a paragraph in many ways that the main-text extractor would miss
or merge. These rules rewrite the parsed page in place, by the shape of the markup, never
by one site's classes:

- lazy photos: the address in ``data-src``, ``data-original``, ``data-lazy-src`` or
  ``srcset`` (the widest) replaces a placeholder ``src``; a ``<noscript>`` copy replaces
  the placeholder it follows; the lead photo the page declares (``og:image``), given as a
  CSS ``background-image``, becomes an ``<img>``;
- icons and logos (share buttons, font-size buttons) are no photos and go, nor are the
  hover cards (a photo and links) some sites put inside a sentence after a name;
- a block holding one photo and a short text is a ``<figure>`` with that text as its
  caption, as is a photo block followed by a caption paragraph (「▲…」, 「（圖／…）」, or
  the photo's own alt text);
- paragraphs separated by ``<br><br>`` or by an empty ``display:block`` span, not by
  ``<p>``, become ``<p>`` each.
"""

from __future__ import annotations

import re

import lxml.etree
import lxml.html

from ..page import Element, text_of

LAZY = ("data-src", "data-original", "data-lazy-src", "data-lazy", "data-echo", "data-url")
PHOTO_FILE = re.compile(r"\.(?:jpe?g|png|webp|gif|avif)(?:[?#]|$)", re.I)
_BACKGROUND = re.compile(r"background(?:-image)?\s*:[^;]*url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", re.I)
_ICON_NAME = re.compile(r"(?:^|[/_.-])(?:icons?|logo|btn|button|bt|share|sprite|avatar|badge|emoji)(?:[/_.\d-]|$)", re.I)
ICON_ALT_MAX = 10  # letters: 「字體」, "Line", "twitter" name a button, not a photo
CAPTION_MAX = 200  # characters of a caption; longer text beside a photo is story
CAPTION_MARKS = ("▲", "▼", "△", "▽", "↑", "⬆")
_CREDIT = re.compile(r"[（(]\s*(?:圖|图|照片|攝影|摄影|photo)[^）)]{0,40}[）)]\s*$", re.I)
INLINE = frozenset({"a", "span", "strong", "b", "em", "i", "u", "small", "sub", "sup", "font", "abbr", "cite", "code", "mark", "q", "s", "time", "br", "img", "wbr", "ins", "del"})
SPLITTABLE = frozenset({"div", "p", "span", "td", "section", "article", "main", "blockquote", "font"})


def _letters(s: str) -> int:
    return sum(1 for ch in s if ch.isalnum())


def _widest(srcset: str) -> str | None:
    best, width = None, -1.0
    for part in srcset.split(","):
        bits = part.split()
        if not bits:
            continue
        size = bits[1] if len(bits) > 1 else "1x"
        try:
            w = float(size[:-1]) if size[-1] in "wx" else 0.0
        except ValueError:
            w = 0.0
        if w > width:
            best, width = bits[0], w
    return best


def _real_src(img: Element) -> str | None:
    for name in LAZY:
        value = (img.get(name) or "").strip()
        if value and not value.startswith("data:") and (name != "data-url" or PHOTO_FILE.search(value)):
            return value
    src = (img.get("src") or "").strip()
    if src and not src.startswith("data:"):
        return None  # the src is the photo
    for name in ("srcset", "data-srcset"):
        widest = _widest(img.get(name) or "")
        if widest:
            return widest
    return None


def unlazy(root: Element) -> None:
    """Every ``<img>`` with its real address in ``src``; a ``<noscript>`` copy takes the place
    of the placeholder before it, and goes when that image is the same photo already."""
    for noscript in list(root.iter("noscript")):
        try:
            inner = lxml.html.fragments_fromstring(noscript.text) if noscript.text and "<img" in noscript.text else list(noscript)
        except (lxml.etree.ParserError, ValueError):
            continue
        imgs = [el for el in inner if isinstance(el, lxml.html.HtmlElement) and el.tag == "img"]
        parent = noscript.getparent()
        if len(imgs) != 1 or parent is None:
            continue
        prev = noscript.getprevious()
        if prev is not None and prev.tag == "img":
            known = _real_src(prev) or (prev.get("src") or "")
            if known and not known.startswith("data:") and file_of(known) == file_of(imgs[0].get("src") or ""):
                noscript.drop_tree()  # type: ignore[attr-defined]
                continue
            if _real_src(prev) is None and (not known or known.startswith("data:")):
                prev.drop_tree()  # type: ignore[attr-defined]
        imgs[0].tail = noscript.tail
        parent.replace(noscript, imgs[0])
    for img in root.iter("img"):
        real = _real_src(img)
        if real is not None:
            img.set("src", real)


def file_of(url: str) -> str:
    """A photo's address without scheme and query: the same photo over http(s), resized or not."""
    return url.strip().split("?", 1)[0].split("//", 1)[-1]


def backgrounds(root: Element, lead: set[str]) -> None:
    """An element painted with the page's declared lead photo (``lead``: ``file_of`` its
    ``og:image``) as ``style="background-image:url(…)"`` gets it as an ``<img>``. Other
    backgrounds (teasers of the next story, decoration) stay no photo of the story."""
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or el.tag in ("body", "html") or next(el.iter("img"), None) is not None:
            continue
        found = _BACKGROUND.search(el.get("style") or "")
        if found is None or file_of(found.group(1)) not in lead or any(a.tag == "a" for a in el.iterancestors()) or _letters(text_of(el)) > CAPTION_MAX:
            continue
        img = lxml.html.Element("img", src=found.group(1), alt=el.get("aria-label") or el.get("title") or "")
        el.insert(0, img)


def is_icon(img: Element) -> bool:
    """A button or a logo: an icon-like file name, or a small image file named by one word."""
    src = img.get("src") or ""
    path = src.split("?", 1)[0]
    if path.lower().endswith((".svg", ".ico")) or _ICON_NAME.search(path.rsplit("/", 1)[-1]):
        return True
    alt = (img.get("alt") or "").strip()
    small = (img.get("width") or "99").isdigit() and int(img.get("width") or "99") < 64
    return small or (path.lower().endswith((".png", ".gif")) and 0 < _letters(alt) <= ICON_ALT_MAX and " " not in alt and _CREDIT.search(alt) is None)


def drop_hover_cards(root: Element) -> None:
    """A box inside a sentence that holds a photo and links (a person's or a term's card
    shown on hover) is no text of the sentence: its name link stays, the card goes."""
    for p in list(root.iter("p")):
        cards = [box for box in p.iter("span", "div") if box is not p and _is_hover_card(box)]
        for box in cards:  # the innermost: the name's own link, outside the card, stays
            if box.getparent() is not None and not any(_is_hover_card(inner) for inner in box.iter("span", "div") if inner is not box):
                box.drop_tree()  # type: ignore[attr-defined]


def _is_hover_card(box: Element) -> bool:
    return next(box.iter("img"), None) is not None and sum(1 for _ in box.iter("a")) >= 2


def drop_icons(root: Element) -> None:
    for img in list(root.iter("img")):
        if img.getparent() is not None and is_icon(img):
            img.drop_tree()  # type: ignore[attr-defined]


def _is_zoom_link(a: Element, img: Element) -> bool:
    """A link around a photo that opens the photo itself (or nothing), not another page."""
    href = (a.get("href") or "").strip()
    src = img.get("src") or ""
    return not href or href.startswith(("#", "javascript:")) or PHOTO_FILE.search(href.split("#", 1)[0]) is not None or (bool(src) and (src in href or href in src))


def is_card_photo(img: Element) -> bool:
    """A photo inside a link to another page: a related story's thumbnail."""
    return any(a.tag == "a" and not _is_zoom_link(a, img) for a in img.iterancestors())


def _caption_text(el: Element) -> str:
    """An element's text without its links' (share and zoom buttons beside a caption)."""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str) and child.tag not in ("a", "script", "style", "img", "button"):
            parts.append(_caption_text(child))
        parts.append(child.tail or "")
    return " ".join("".join(parts).split())


def _is_caption(text: str, img: Element) -> bool:
    """A photo's caption: marked as one (「▲」, a photo credit at its end) or the photo's alt
    text (whole, or as far as a shortened alt goes)."""
    alt = " ".join((img.get("alt") or "").split())
    cut = alt.rstrip(".…")
    same = bool(alt) and (text == alt or (cut != alt and text.startswith(cut)))
    return 0 < len(text) <= CAPTION_MAX and (text.startswith(CAPTION_MARKS) or _CREDIT.search(text) is not None or same)


def _make_figure(block: Element, img: Element, caption: str) -> None:
    fig = lxml.html.Element("figure")
    photo = lxml.html.Element("img", src=img.get("src") or "", alt=img.get("alt") or "")
    fig.append(photo)
    if caption:
        cap = lxml.html.Element("figcaption")
        cap.text = caption
        fig.append(cap)
    fig.tail = block.tail
    parent = block.getparent()
    if parent is not None:
        parent.replace(block, fig)


def _lone_photo(block: Element) -> Element | None:
    imgs = [i for i in block.iter("img") if not is_card_photo(i)]
    return imgs[0] if len(imgs) == 1 and len(list(block.iter("img"))) == 1 else None


def figures(root: Element) -> None:
    """Photo blocks as ``<figure><img><figcaption>``: a block of one photo and its caption,
    or a block of one photo and no text followed by a caption paragraph."""
    for block in list(root.iter("div", "p", "center", "span", "li")):
        if block.getparent() is None or any(a.tag == "figure" for a in block.iterancestors()):
            continue
        img = _lone_photo(block)
        if img is None or sum(1 for _ in block.iter("p", "li", "h2", "h3", "table")) > (block.tag == "p") + 1:
            continue  # a container of the story, not a photo block
        text = _caption_text(block)
        if text and (_is_caption(text, img) or _captioned(block, text)):
            _make_figure(block, img, text)
        elif not _letters(text_of(block)) and block.tag in ("li", "div") and block.getparent() is not None and _in_gallery(block):
            _make_figure(block, img, "")  # a slide of a gallery
        elif not _letters(text_of(block)):
            following = block.getnext()
            caption = _caption_text(following) if following is not None and following.tag in ("p", "div", "span") and next(following.iter("img"), None) is None else ""
            if caption and _is_caption(caption, img):
                following.drop_tree()  # type: ignore[union-attr]
                _make_figure(block, img, caption)


def _captioned(block: Element, text: str) -> bool:
    """A block whose only text is in an element the page marks as a caption (a class such as
    ``caption``, ``photo-caption``, ``wp-caption-text``, ``figcaption``)."""
    marked = [el for el in block.iter() if isinstance(el.tag, str) and (el.tag == "figcaption" or "caption" in (el.get("class") or "").lower())]
    return len(text) <= CAPTION_MAX and bool(marked) and " ".join(" ".join(_caption_text(el) for el in marked).split()) == text


def _in_gallery(block: Element) -> bool:
    """One of several sibling blocks that each hold one photo and no text: a gallery's slides."""
    parent = block.getparent()
    siblings = [b for b in parent if isinstance(b.tag, str)] if parent is not None else []
    slides = [b for b in siblings if next(b.iter("img"), None) is not None and not _letters(text_of(b))]
    return len(slides) >= 2 and len(slides) == len(siblings)


def _is_break(el: Element) -> bool:
    """An empty ``display:block`` span, or a ``<br>`` followed (blanks between) by another."""
    if el.tag == "span" and "display:block" in (el.get("style") or "").replace(" ", "").lower() and not text_of(el).strip():
        return True
    if el.tag == "br" and not (el.tail or "").strip():
        following = el.getnext()
        return following is not None and following.tag == "br"
    return False


def split_paragraphs(root: Element) -> None:
    """Text runs separated by ``<br><br>`` or block spans, as paragraphs of their own."""
    for el in list(root.iter(*SPLITTABLE)):
        if el.getparent() is None or not any(_is_break(c) for c in el):
            continue
        runs: list[list[Element | str]] = [[el.text or ""]]
        breaking = False  # inside a run of <br>s that ends a paragraph
        for child in list(el):
            breaking = _is_break(child) or (breaking and child.tag == "br")
            tail = child.tail or ""
            child.tail = None
            if breaking:
                runs.append([tail])
                breaking = not tail.strip()
            elif child.tag in INLINE:
                runs[-1] += [child, tail]
            else:
                runs += [[child], [tail]]
        el.text = None
        for child in list(el):
            el.remove(child)
        for run in runs:
            _append_run(el, run)
        if el.tag in ("p", "span", "font"):  # paragraphs inside an inline element or a paragraph
            el.tag = "div"


def _append_run(el: Element, run: list[Element | str]) -> None:
    parts = [r for r in run if not isinstance(r, str) or r.strip()]
    if not parts:
        return
    if len(parts) == 1 and not isinstance(parts[0], str) and parts[0].tag not in INLINE:
        el.append(parts[0])
        return
    while parts and not isinstance(parts[-1], str) and parts[-1].tag == "br":
        parts.pop()
    p = lxml.html.Element("p")
    for part in parts:
        if isinstance(part, str):
            last = p[-1] if len(p) else None
            if last is None:
                p.text = (p.text or "") + part
            else:
                last.tail = (last.tail or "") + part
        else:
            p.append(part)
    el.append(p)


def prepare(root: Element, lead: set[str]) -> None:
    """All of the above, in order; ``lead``: the declared lead photo's ``file_of``."""
    unlazy(root)
    backgrounds(root, lead)
    drop_hover_cards(root)
    drop_icons(root)
    split_paragraphs(root)
    figures(root)
