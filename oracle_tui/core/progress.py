"""What long jobs share: the progress callback and cancel event they accept."""

from __future__ import annotations

import threading
from collections.abc import Callable

from oracle_tui.core.errors import OracleError

Progress = Callable[[int, int], None]
"""progress(done, total): called from worker threads; must be cheap and thread-safe."""


class Cancelled(Exception):
    """The caller set the cancel event; the job stopped without writing anything further."""


def no_progress(done: int, total: int) -> None:
    return None


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


__all__ = ["Cancelled", "OracleError", "Progress", "check_cancel", "no_progress"]
