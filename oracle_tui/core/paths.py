"""Key (relative path) safety: the one place that decides whether a path may be followed."""

from __future__ import annotations

import re

from oracle_tui.core.errors import OracleError

# A backslash, or a C0/C1 control character (NUL, line feeds, ESC, DEL...): one scan in C.
_FORBIDDEN = re.compile("[\\\\\x00-\x1f\x7f-\x9f]")
PATH_MAX = 4096  # Linux: a longer path cannot be opened in one call
NAME_MAX = 255


def unsafe_reason(key: str) -> str | None:
    """Why ``key`` (a '/'-separated path relative to a root) must not be followed, or None."""
    if not key:
        return "empty path"
    if _FORBIDDEN.search(key):
        return "control character or backslash in path"
    if key.startswith("/"):
        return "absolute path"
    if key.startswith("~"):
        return "home-relative path"
    if len(key) >= 2 and key[1] == ":":
        return "drive-qualified path"
    if len(key.encode("utf-8", "surrogateescape")) >= PATH_MAX:
        return f"path longer than PATH_MAX ({PATH_MAX} bytes)"
    parts = key.split("/")
    if any(len(p.encode("utf-8", "surrogateescape")) > NAME_MAX for p in parts):
        return f"a name longer than NAME_MAX ({NAME_MAX} bytes)"
    if any(p in ("..", ".") for p in parts):
        return "'.' or '..' segment"
    if any(p == "" for p in parts[:-1]):
        return "empty path segment"
    return None


# Characters that pattern-reading consumers (DuckDB's read_parquet, shell globs, S3 tools)
# expand: a discovered name holding one could make such a reader take other files too.
GLOB_CHARS = frozenset("*?[]{}")


def glob_reason(key: str) -> str | None:
    """Why a discovered name is unsafe to hand to a pattern-reading consumer, or None."""
    found = sorted({ch for ch in key if ch in GLOB_CHARS})
    if found:
        return f"glob metacharacter {' '.join(found)} in a name"
    return None


def glob_literal(path: str) -> str:
    """``path`` as a glob pattern that matches exactly itself (each metacharacter as a
    one-character class: ``part-*.parquet`` → ``part-[*].parquet``)."""
    return "".join(f"[{ch}]" if ch in GLOB_CHARS else ch for ch in path)


def require_safe_key(key: str, subject: str = "") -> str:
    """Return ``key`` unchanged, or raise PATH_UNSAFE."""
    reason = unsafe_reason(key)
    if reason is not None:
        raise OracleError("PATH_UNSAFE", f"{reason}: {key!r}", subject or key)
    return key


def join_key(base: str, rel: str) -> str:
    """Join a directory key and a relative key (both '/'-separated, no leading '/')."""
    base = base.strip("/")
    return f"{base}/{rel}" if base else rel



def _normal_location(uri: str) -> str:
    """A root's location for comparison: ``s3://bucket/prefix/`` as it is, a local path made
    absolute with its links resolved (it need not exist), both ending in '/'."""
    import os

    if "://" in uri:
        return uri.rstrip("/") + "/"
    return os.path.realpath(os.path.abspath(uri)).rstrip("/") + "/"


def is_within(location: str, root: str) -> bool:
    """Whether ``location`` is ``root`` or lies below it (write targets that must not)."""
    return _normal_location(location).startswith(_normal_location(root))
