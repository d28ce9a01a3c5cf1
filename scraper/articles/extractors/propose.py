"""Rules that read a changed layout, found on the pages themselves (pure).

When CNA's markup changes, ``scraper check`` proposes a ``rules:`` block to paste into
feeds.yaml. On each of the newest pages it locates the element that holds the feed
item's title and the paragraph that holds the text of the item's description (CNA's
descriptions are the story's lead). The story's selector is that paragraph's container
and tag (``div.txt > p``). A selector is generalized from the elements found on all
pages: the tag, the classes they all share and an id they all carry, qualified where
needed by an ancestor's; nothing of one page's own text, id or URL. A candidate is kept
only when, on every page, it selects exactly what was located there (the title; the
story's paragraphs and nothing outside their container), and the whole rule set then
reads every page: the title the item gives and a body holding the description.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from bs4 import BeautifulSoup, Tag

from ...models import Article, Rules
from . import rules as site_rules

NOT_TEXT = frozenset({"script", "style", "noscript", "template", "head", "title", "meta"})
DEPTH = 6  # ancestors tried as qualifiers
KEY_CHARS = 30  # of the description, to find its paragraph by
# Classes that only say a state or a position (active, odd, col-6…) tell nothing of a layout.
_UNSTABLE = re.compile(r"^(?:active|selected|current|show|hide|hidden|open|odd|even|first|last|clearfix|col(?:-\w+)?-\d+)$")


@dataclass(frozen=True)
class Sample:
    """A page and what its feed item says of it."""

    data: bytes
    url: str
    title: str
    description: str


def _norm(s: str) -> str:
    return " ".join(s.split())


def _content(soup: BeautifulSoup) -> Iterator[Tag]:
    for el in soup.find_all(True):
        if isinstance(el, Tag) and el.name not in NOT_TEXT and not any(p.name in NOT_TEXT for p in el.parents):
            yield el


def _deepest(found: list[Tag]) -> list[Tag]:
    chosen = set(map(id, found))
    return [el for el in found if not any(id(d) in chosen for d in el.find_all(True))]


def locate_title(soup: BeautifulSoup, title: str) -> list[Tag]:
    """The elements whose whole text is the title, and the ones around them with that text."""
    want = _norm(title)
    return [el for el in _content(soup) if _norm(el.get_text()) == want] if want else []


def locate_description(soup: BeautifulSoup, description: str) -> Tag | None:
    """The innermost element holding the start of the description."""
    key = _norm(description)[:KEY_CHARS]
    if len(key) < 10:
        return None
    found = _deepest([el for el in _content(soup) if key in _norm(el.get_text())])
    return found[0] if found else None


def _classes(el: Tag) -> set[str]:
    value = el.get("class")
    names = value.split() if isinstance(value, str) else list(value or [])
    return {c for c in names if not _UNSTABLE.match(c)}


def _simple(els: Sequence[Tag]) -> list[str]:
    """Simple selectors that every one of ``els`` (one per page) matches: tag with the shared
    classes, with one of them, with the shared id; the bare tag last."""
    names = {el.name for el in els}
    if len(names) != 1:
        return []
    tag = names.pop()
    common = set.intersection(*(_classes(el) for el in els))
    ids = {str(el.get("id") or "") for el in els}
    out = []
    if common:
        out.append(tag + "".join(f".{c}" for c in sorted(common)))
        out += [f"{tag}.{c}" for c in sorted(common)] if len(common) > 1 else []
    if len(ids) == 1 and (only := ids.pop()) and re.fullmatch(r"[A-Za-z][\w-]*", only) and not re.search(r"\d{4,}", only):
        out.append(f"{tag}#{only}")
    out.append(tag)
    return list(dict.fromkeys(out))


def _ancestors(els: Sequence[Tag], level: int) -> list[Tag] | None:
    out = []
    for el in els:
        parents = [p for p in el.parents if isinstance(p, Tag) and p.name not in ("[document]", "html")]
        if len(parents) < level:
            return None
        out.append(parents[level - 1])
    return out


def _nth(els: Sequence[Tag], simple: str) -> str | None:
    """``simple:nth-child(k of simple)`` when each of ``els`` is the k-th such child of its
    parent, the same k on every page (CNA's story box is the first of its kind; a later one
    of the same class holds the copyright line)."""
    places = set()
    for el in els:
        parent = el.parent
        if not isinstance(parent, Tag):
            return None
        same = parent.select(f":scope > {simple}")
        index = next((i for i, other in enumerate(same) if other is el), None)
        if index is None or len(same) < 2:
            return None
        places.add(index + 1)
    return f"{simple}:nth-child({places.pop()} of {simple})" if len(places) == 1 else None


def _own(els: Sequence[Tag]) -> list[str]:
    simple = _simple(els)
    placed = [n for s in simple[:2] if s != els[0].name and (n := _nth(els, s))]
    return simple[:-1] + placed + simple[-1:] if simple else []


def _candidates(els: Sequence[Tag], tail: str = "") -> Iterator[str]:
    """Selectors for ``els`` (one per page), simplest first; ``tail`` follows each."""
    own = _own(els)
    for s in own:
        yield s + tail
    for level in range(1, DEPTH + 1):
        ups = _ancestors(els, level)
        if ups is None:
            return
        for up in _simple(ups):
            if up == ups[0].name and up not in ("article", "main"):
                continue  # a bare div says nothing
            joiner = " > " if level == 1 else " "
            for s in own:
                yield up + joiner + s + tail


def _title_holds(selector: str, soups: Sequence[BeautifulSoup], samples: Sequence[Sample]) -> bool:
    for soup, sample in zip(soups, samples, strict=True):
        el = soup.select_one(selector)
        if el is None or _norm(el.get_text()) != _norm(sample.title):
            return False
    return True


def _body_holds(selector: str, soups: Sequence[BeautifulSoup], boxes: Sequence[Tag], leads: Sequence[Tag]) -> bool:
    for soup, box, lead in zip(soups, boxes, leads, strict=True):
        found = soup.select(selector)
        if not any(el is lead for el in found) or not all(any(p is box for p in el.parents) for el in found):
            return False
    return True


def propose(samples: Sequence[Sample], fill: Callable[[bytes, str, str | None], Article]) -> Rules | None:
    """Rules for ``title`` and ``body`` that read every sample page, or None."""
    if not samples:
        return None
    soups = [BeautifulSoup(s.data, "lxml") for s in samples]
    titles = [locate_title(soup, s.title) for soup, s in zip(soups, samples, strict=True)]
    leads = [locate_description(soup, s.description) for soup, s in zip(soups, samples, strict=True)]
    if not all(titles) or not all(leads):
        return None
    title = _title_rule(titles, soups, samples)
    body = _body_rule([lead for lead in leads if lead is not None], soups)
    if title is None or body is None:
        return None
    rules = Rules(title=title, body=body)
    for sample in samples:  # the whole rule set, as a poll would read the page
        article = site_rules.extract(sample.data, sample.url, None, rules, fill)
        text = "\n".join(article.paragraphs)
        if _norm(article.title) != _norm(sample.title) or _norm(sample.description)[:KEY_CHARS] not in _norm(text):
            return None
    return rules


def _title_rule(titles: Sequence[list[Tag]], soups: Sequence[BeautifulSoup], samples: Sequence[Sample]) -> str | None:
    """The simplest selector, made from any page's title element, whose first match is the
    title on every page (a title also shown in a carousel or a menu is passed over)."""
    found = {c for page in titles for el in page for c in _candidates([el])}
    for selector in sorted(found, key=lambda c: (c.count(" ") + c.count(":"), len(c), c)):
        if _title_holds(selector, soups, samples):
            return selector
    return None


def _body_rule(leads: Sequence[Tag], soups: Sequence[BeautifulSoup]) -> str | None:
    """``<container> > <tag>``: every paragraph of the story's container, nothing outside it."""
    boxes = [lead.parent for lead in leads]
    if not all(isinstance(b, Tag) for b in boxes) or len({lead.name for lead in leads}) != 1:
        return None
    containers = [b for b in boxes if isinstance(b, Tag)]
    for selector in _candidates(containers, f" > {leads[0].name}"):
        if _body_holds(selector, soups, containers, leads):
            return selector
    return None


def as_yaml(rules: Rules, indent: str = "    ") -> list[str]:
    """The ``rules:`` block, ready to paste under a feed of feeds.yaml."""
    lines = [f"{indent}rules:"]
    for key in ("title", "body"):
        value = getattr(rules, key)
        if value:
            lines.append(f"{indent}  {key}: {_quoted(value)}")
    return lines


def _quoted(selector: str) -> str:
    return '"' + selector.replace("\\", "\\\\").replace('"', '\\"') + '"'
