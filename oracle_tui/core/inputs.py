"""Operator-given values, checked before anything is written (exit 2, nothing written).

Whatever the tool writes into a pack file must be something its own reader accepts: a value
the manifest or tombstone model would reject later is refused here, up front.
"""

from __future__ import annotations

from oracle_tui.core.errors import OracleError
from oracle_tui.core.redact import has_url_credentials, unprintable_in

MAX_RELEASE = 256
MAX_REASON = 4096
MAX_AUTHORITY = 256
MAX_ROOT = 2048


def require_text(value: str, what: str, max_len: int) -> str:
    """``value`` unchanged, or INPUT_INVALID saying why (empty, too long, control chars)."""
    if not value.strip():
        raise OracleError("INPUT_INVALID", f"{what} must not be empty")
    if len(value) > max_len:
        raise OracleError("INPUT_INVALID", f"{what} is {len(value):,} characters; at most "
                                           f"{max_len:,} are kept")
    bad = unprintable_in(value)
    if bad:
        raise OracleError("INPUT_INVALID", f"{what} holds control characters "
                                           f"({', '.join(bad[:4])})")
    return value


def require_no_credentials(value: str, what: str) -> str:
    """A location given by the operator never carries credentials into a file."""
    if has_url_credentials(value):
        raise OracleError("INPUT_INVALID", f"{what} carries credentials in its URL "
                                           "(user:secret@); they are never written: give the "
                                           "location without them")
    return value


def who_am_i() -> str:
    """The acting user's name, or ``uid:N`` where the user has no passwd entry (containers
    run with arbitrary UIDs)."""
    import getpass
    import os

    try:
        return getpass.getuser()
    except (KeyError, OSError, ImportError):
        return f"uid:{os.getuid()}"
