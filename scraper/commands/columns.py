"""Text laid out in columns for a terminal, measured in display cells (wcwidth): a Chinese
character takes two cells, so padding by ``len`` would push every later column out of line."""

from __future__ import annotations

from collections.abc import Sequence

from wcwidth import wcswidth


def width(text: str) -> int:
    """The cells ``text`` takes on a terminal; a control character counts as one."""
    cells = wcswidth(text)
    return cells if cells >= 0 else sum(max(wcswidth(ch), 1) for ch in text)


def pad(text: str, cells: int) -> str:
    return text + " " * max(0, cells - width(text))


def rows(table: Sequence[Sequence[str]], *, indent: str = "", gap: int = 2) -> list[str]:
    """Each row as one line, every column but the last padded to its widest cell."""
    if not table:
        return []
    count = max(len(r) for r in table)
    widths = [max((width(r[i]) for r in table if i < len(r)), default=0) for i in range(count)]
    out = []
    for row in table:
        cells = [pad(cell, widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        out.append(indent + (" " * gap).join(cells).rstrip())
    return out


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``1 photo``, ``2 photos``."""
    return f"{n} {noun}" if n == 1 else f"{n} {many or noun + 's'}"
