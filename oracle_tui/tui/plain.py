"""Everything the inspector shows from a pack is data, never markup.

File names, tombstone reasons, details and digests can hold `[`…`]`: Textual's DataTable and
Rich tables would read a plain string as console markup (crash on `[/x]`, hide text after
`[conceal]`). The widgets here take strings as literal text; styled cells stay `Text`.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from oracle_tui.core.elide import PATH_CELL, elide_middle
from oracle_tui.core.redact import printable

__all__ = ["PATH_CELL", "DataGrid", "PlainGrid", "elide_middle", "literal"]


def literal(cell: Any) -> Any:
    """A string cell as literal text, unprintable characters escaped; anything already
    renderable unchanged."""
    return Text(printable(cell)) if isinstance(cell, str) else cell


class DataGrid(DataTable[Any]):
    """A DataTable whose string cells are shown exactly as they are."""

    def add_row(self, *cells: Any, height: int | None = 1, key: str | None = None,
                label: Any = None) -> RowKey:
        return super().add_row(*(literal(c) for c in cells), height=height, key=key,
                               label=label)


class PlainGrid(Table):
    """A borderless Rich grid whose string cells are shown exactly as they are."""

    def __init__(self, padding: tuple[int, int] = (0, 2)) -> None:
        super().__init__(show_header=False, show_edge=False, box=None, padding=padding,
                         collapse_padding=True, pad_edge=False)

    def add_row(self, *cells: Any, **kwargs: Any) -> None:
        super().add_row(*(literal(c) for c in cells), **kwargs)
