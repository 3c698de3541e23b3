"""Cutting a long value to a width so that what identifies it stays visible."""

from __future__ import annotations

PATH_CELL = 56  # widest a path cell gets in a table; the full value is shown elsewhere


def elide_middle(text: str, width: int = PATH_CELL) -> str:
    """``text`` cut in the middle so that both ends stay: a path keeps its root and, above
    all, its file name (the part that identifies the file)."""
    if len(text) <= width:
        return text
    head = (width - 1) // 3
    tail = width - 1 - head
    return text[:head] + "…" + text[-tail:]
