"""Messages that carry worker results back to the UI thread (the only way they cross)."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from oracle_tui.core.overview import PackOverview
from oracle_tui.core.report import CheckReport


class OverviewReady(Message):
    def __init__(self, overview: PackOverview) -> None:
        super().__init__()
        self.overview = overview


class CheckReady(Message):
    def __init__(self, report: CheckReport) -> None:
        super().__init__()
        self.report = report


class JobProgress(Message):
    def __init__(self, label: str, done: int, total: int) -> None:
        super().__init__()
        self.label, self.done, self.total = label, done, total


class JobFinished(Message):
    """A write or verify action ended well; ``cli`` is the equivalent command line."""

    def __init__(self, label: str, summary: str, cli: str, payload: Any = None) -> None:
        super().__init__()
        self.label, self.summary, self.cli, self.payload = label, summary, cli, payload


class JobFailed(Message):
    def __init__(self, label: str, code: str, message: str, cli: str = "") -> None:
        super().__init__()
        self.label, self.code, self.message, self.cli = label, code, message, cli


class JobCancelled(Message):
    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label
