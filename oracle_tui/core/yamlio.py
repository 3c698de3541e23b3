"""Operator-supplied files (profiles, interface packs, locators) read safely, and YAML read
strictly: a regular file of bounded size (never a FIFO or a device that blocks or never
ends), no duplicate keys (the loader would keep the last in silence), and no alias that
makes a small file into a huge document.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from oracle_tui.core.errors import OracleError

# libyaml's safe loader when PyYAML was built with it (5x faster on the 340-output catalogue),
# else the pure-Python one: both accept exactly the same safe subset of YAML.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The largest operator file read (the engine's 340-output catalogue is about 300 KB).
MAX_OPERATOR_FILE = 32 * 1024 * 1024
# Nodes a document may expand to through its aliases: far above any real catalogue, far
# below what exhausts memory.
MAX_NODES = 2_000_000


def read_operator_file(path: str | Path, code: str, what: str,
                       limit: int = MAX_OPERATOR_FILE) -> bytes:
    """The bytes of a regular file the operator named, or ``code`` saying why not. Opened
    without blocking, so a FIFO is refused instead of waiting for a writer."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError as exc:
        raise OracleError(code, f"{what} not found: {path}") from exc
    except OSError as exc:
        raise OracleError(code, f"cannot read {what} {path}: {exc.strerror}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OracleError(code, f"{what} {path} is not a regular file")
        if st.st_size > limit:
            raise OracleError(code, f"{what} {path} is {st.st_size:,} bytes; at most "
                                    f"{limit:,} are read")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise OracleError(code, f"{what} {path} grew past {limit:,} bytes while read")
    return data


class _Strict(SAFE_LOADER):  # type: ignore[misc]
    """The safe loader, refusing a mapping that names a key twice."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                line = seen.get(key)
            except TypeError:
                continue  # unhashable: the base loader says so
            if line is not None:
                raise DuplicateKey(key, key_node.start_mark.line + 1, line)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)


class DuplicateKey(yaml.YAMLError):
    def __init__(self, key: Any, line: int, first: int) -> None:
        super().__init__(f"duplicate key {str(key)[:80]!r} on line {line} (first on line "
                         f"{first})")


def _expanded_size_exceeds(doc: Any, limit: int) -> bool:
    """Whether walking ``doc`` visits more than ``limit`` nodes (aliases share objects, so a
    "billion laughs" document is small in memory and endless to walk)."""
    count = 0
    stack = [doc]
    while stack:
        node = stack.pop()
        count += 1
        if count > limit:
            return True
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def load_yaml(raw: bytes, code: str, subject: str) -> Any:
    """Parse operator YAML strictly, or raise ``code`` naming the problem (and its line)."""
    try:
        doc = yaml.load(raw, Loader=_Strict)
    except DuplicateKey as exc:
        raise OracleError(code, f"{subject}: {exc}", subject) from exc
    except yaml.MarkedYAMLError as exc:
        where = f" (line {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise OracleError(code, f"{subject} is not valid YAML{where}: {exc.problem}",
                          subject) from exc
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        raise OracleError(code, f"{subject} is not valid YAML", subject) from exc
    if _expanded_size_exceeds(doc, MAX_NODES):
        raise OracleError(code, f"{subject} expands through its aliases to more than "
                                f"{MAX_NODES:,} nodes; refused", subject)
    return doc
