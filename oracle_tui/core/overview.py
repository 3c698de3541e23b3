"""A pack's cheap overview: the run receipt and the lifecycle files, read directly.

What the inspector shows first, before any gate is recomputed: it must stay fast on big
packs, so nothing here hashes or opens data files.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import BaseModel

from oracle_tui.core.errors import OracleError
from oracle_tui.core.jsonio import MAX_JSON_BYTES, parse_json
from oracle_tui.core.pack import OpenedPack
from oracle_tui.core.pack_files import MANIFEST, SEAL, TOMBSTONE
from oracle_tui.core.world import HEX64, RUN_RECEIPT


class PackOverview(BaseModel):
    root: str
    exists: bool
    lifecycle: str = "STAGING"
    run_receipt: dict[str, Any] | None = None
    oracle_pack_id: str | None = None
    problem: tuple[str, str] | None = None  # (code, message) when the pack could not be read


def _json(store: Any, key: str) -> dict[str, Any] | None:
    try:  # absent, unreadable or malformed: the check will say which
        data = parse_json(store.read_bytes(key, MAX_JSON_BYTES), "PACK_MANIFEST_INVALID", key)
    except OracleError:
        return None
    return data if isinstance(data, dict) else None


def _pack_id(doc: dict[str, Any]) -> str | None:
    """A document's pack id if it is one (64 hex): a first look shows nothing else as one."""
    value = doc.get("oracle_pack_id")
    return value if isinstance(value, str) and HEX64.fullmatch(value) else None


def _absent(root: str) -> PackOverview:
    return PackOverview(root=root, exists=False, lifecycle="ABSENT",
                        problem=("PACK_NOT_FOUND", f"no pack at {root}"))


def pack_overview(pack: OpenedPack) -> PackOverview:
    """The first screen's facts from a handful of small reads (the root, the run receipt,
    the seal, the manifest, the tombstone): never a listing, so it costs the same on a pack
    of 40 files and of 200,000. File counts, gates and everything else come with the check."""
    root = pack.root
    try:
        store = pack.store
        reads: list[Callable[[], Any]] = [
            pack.root_exists, lambda: _json(store, RUN_RECEIPT), lambda: _json(store, SEAL),
            lambda: _json(store, MANIFEST), lambda: store.head(TOMBSTONE)]
        if store.remote:  # one round trip for all five, not five in a row
            with ThreadPoolExecutor(max_workers=len(reads)) as pool:
                futures = [pool.submit(read) for read in reads]
                if not futures[0].result():  # an absent root: nothing else counts
                    return _absent(root)
                receipt, seal, manifest, tombstone = [f.result() for f in futures[1:]]
        else:
            if not reads[0]():
                return _absent(root)
            receipt, seal, manifest, tombstone = [read() for read in reads[1:]]
        out = PackOverview(root=root, exists=True)
        out.run_receipt = receipt
        if seal is not None:
            status = seal.get("seal_status")
            out.lifecycle = status if status in ("SEALED_OK", "SEALED_FAILED") else "…"
            out.oracle_pack_id = _pack_id(seal)
        if out.oracle_pack_id is None:
            out.oracle_pack_id = _pack_id(manifest or {})
        if tombstone is not None:
            out.lifecycle = "TOMBSTONED"
        elif seal is None and out.run_receipt is None:
            out.lifecycle = "…"  # empty, or not a pack: the check's listing will say
    except OracleError as exc:
        # A pack that could not be read gets no lifecycle claim, only the reason.
        return PackOverview(root=root, exists=False,
                            lifecycle="ABSENT" if exc.code == "PACK_NOT_FOUND" else "UNKNOWN",
                            problem=(exc.code, exc.message))
    return out
