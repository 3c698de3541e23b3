"""Strict JSON reading and canonical JSON writing for the files the tool owns."""

from __future__ import annotations

import json
from typing import Any

from oracle_tui.core.errors import OracleError, TooLarge

# Receipts, manifests and indexes are small; a larger file is refused, never loaded blindly.
MAX_JSON_BYTES = 64 * 1024 * 1024
# No document the tool reads nests deeper than a few levels; deeper is refused before any
# model or walker sees it (Python's parser itself gives up near 1,000 levels).
MAX_JSON_DEPTH = 64


def _too_deep(doc: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return False


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def parse_json(data: bytes, code: str, subject: str) -> Any:
    """Parse UTF-8 JSON strictly (no BOM, no NaN, no duplicate keys) or raise ``code``."""
    if data.startswith(b"\xef\xbb\xbf"):
        raise OracleError(code, f"{subject} starts with a byte-order mark", subject)
    try:
        text = data.decode("utf-8")
        doc = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise OracleError(code, f"{subject} nests deeper than {MAX_JSON_DEPTH} levels",
                          subject) from exc
    except UnicodeDecodeError as exc:
        raise OracleError(code, f"{subject} is not UTF-8", subject) from exc
    except ValueError as exc:
        msg = str(exc).splitlines()[0][:120]
        raise OracleError(code, f"{subject} is not valid JSON ({msg})", subject) from exc
    if _too_deep(doc, MAX_JSON_DEPTH):
        raise OracleError(code, f"{subject} nests deeper than {MAX_JSON_DEPTH} levels", subject)
    return doc


def read_json(store: Any, key: str, code: str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Read and parse a small JSON document; oversize or malformed → ``code``."""
    try:
        raw = store.read_bytes(key, max_bytes)
    except TooLarge as exc:
        raise OracleError(code, exc.message, key) from exc
    return parse_json(raw, code, key), raw


def canonical_json(obj: Any) -> bytes:
    """Deterministic bytes: sorted keys, two-space indent, UTF-8, trailing newline."""
    return (json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
