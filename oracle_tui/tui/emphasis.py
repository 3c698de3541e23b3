"""Failure stays the most prominent text without colour.

Under NO_COLOR Textual turns every colour into its grey of the same luminance, so red text
(a FAIL label, a failing count, the "next" line of a failing pack) became the darkest grey on
the screen: the failure was the least readable thing there. This filter runs just before
that conversion and shows every red span bold, reversed and never dimmed instead."""

from __future__ import annotations

from typing import Any

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.app import App
from textual.color import Color
from textual.filter import LineFilter, Monochrome, NoColor

# Bold, reversed (a light block with dark text wherever it stands), never dim.
EMPHASIS = Style(color="#ffffff", bold=True, reverse=True, dim=False)
_RED_NUMBERS = (1, 9)  # the terminal's red and bright red


def is_red(color: RichColor | None) -> bool:
    """Whether ``color`` is a red the inspector uses for failure (a shade where red
    dominates, or the terminal's own red), as text or as a background."""
    if color is None:
        return False
    if color.triplet is None:
        return color.number in _RED_NUMBERS
    red, green, blue = color.triplet
    # The theme's red is (244, 0, 95); its yellow (253, 151, 31) has far more green.
    return red >= 120 and green <= 0.4 * red and blue <= 0.6 * red


class FailEmphasis(LineFilter):
    """Red spans shown bold and reversed (see the module's docstring)."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [Segment(text, style + EMPHASIS, control)
                if style is not None and (is_red(style.color) or is_red(style.bgcolor))
                else Segment(text, style, control)
                for text, style, control in segments]


def emphasise_failures_without_colour(app: App[Any]) -> None:
    """Under NO_COLOR, put :class:`FailEmphasis` just before the app's colour-removing
    filter (Textual keeps its filters in a private list: there is no public hook)."""
    if not app.no_color:
        return
    filters = app._filters
    at = next((i for i, f in enumerate(filters) if isinstance(f, Monochrome | NoColor)),
              len(filters))
    filters.insert(at, FailEmphasis())
