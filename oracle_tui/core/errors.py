"""Typed errors that carry a stable reason code."""

from __future__ import annotations

from oracle_tui.core.codes import CODES, Retry


class OracleError(Exception):
    """An expected failure with a reason code; its message is one line, safe to print."""

    def __init__(self, code: str, message: str, subject: str = "") -> None:
        if code not in CODES:
            raise ValueError(f"unregistered reason code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.subject = subject

    @property
    def retryable(self) -> bool:
        return CODES[self.code].retry is Retry.RETRYABLE

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
