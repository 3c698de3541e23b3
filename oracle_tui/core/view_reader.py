"""The reader's former import path, kept for callers written against it: the reader lives
in core/views/reader.py, and the public face is :mod:`oracle_tui.api`."""

from oracle_tui.core.views.reader import StreamReader, open_stream_view

__all__ = ["StreamReader", "open_stream_view"]
