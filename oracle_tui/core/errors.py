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

    def __reduce__(self) -> tuple[type[OracleError], tuple[str, str, str]]:
        # Raised on a Dask worker, it must arrive at the client with its code intact.
        return (OracleError, (self.code, self.message, self.subject))


class TooLarge(OracleError):
    """An object is larger than its reader allows; it was refused before being read."""

    def __init__(self, key: str, limit: int) -> None:
        super().__init__("OBJECT_TOO_LARGE", f"{key} is larger than {limit} bytes; not loaded",
                         key)
        self.limit = limit
