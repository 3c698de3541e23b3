"""An independent, deliberately naive re-implementation of the three gate methods.

Tests use it to prove the demo world's flags (and worlds they build themselves) without
going through oracle_tui.core.gates.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def flag_digest(flag: Path, field: str) -> str:
    text = flag.read_text()
    if text.lstrip().startswith("{"):
        return str(json.loads(text)[field])
    key, value = (s.strip() for s in text.strip().split("=", 1))
    assert key == field
    return value


def index_members(index: Path) -> list[dict[str, Any]]:
    doc = json.loads(index.read_text())
    if isinstance(doc, list):
        return doc
    for key in ("entries", "items", "members"):
        if key in doc:
            return list(doc[key])
    raise AssertionError("no member list")


def recompute(run_root: Path, bundle: Path, method: dict[str, Any]) -> str:
    kind = method["kind"]
    exclude = set(method.get("exclude_filenames", []))
    if kind == "sha256_bundle_digest":
        files = sorted((p for p in bundle.rglob("*") if p.is_file() and p.name not in exclude),
                       key=lambda p: p.relative_to(bundle).as_posix().encode())
        return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()
    members = [m for m in index_members(bundle / method["_index"])
               if m["path"].rsplit("/", 1)[-1] not in exclude]
    base = run_root if method.get("path_base") == "run_root" else bundle
    for m in members:
        assert hashlib.sha256((base / m["path"]).read_bytes()).hexdigest() == m["sha256_hex"]
    if kind == "sha256_member_digest_concat":
        return hashlib.sha256("".join(m["sha256_hex"] for m in members).encode()).hexdigest()
    if method.get("ordering") != "index_order":
        members = sorted(members, key=lambda m: m["path"].encode())
    return hashlib.sha256(b"".join((base / m["path"]).read_bytes() for m in members)).hexdigest()
