"""A pack's cheap overview: one listing, the run receipt and the lifecycle files.

What the inspector shows first, before any gate is recomputed: it must stay fast on big
packs, so nothing here hashes or opens data files.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from oracle_tui.core.errors import OracleError
from oracle_tui.core.jsonio import MAX_JSON_BYTES, parse_json
from oracle_tui.core.listing import Listing
from oracle_tui.core.pack_files import MANIFEST, SEAL, TOMBSTONE
from oracle_tui.core.profiles import Profile
from oracle_tui.core.world import RUN_RECEIPT


class PackOverview(BaseModel):
    root: str
    exists: bool
    files: int = 0
    bytes: int = 0
    lifecycle: str = "STAGING"
    run_receipt: dict[str, Any] | None = None
    oracle_pack_id: str | None = None
    problem: tuple[str, str] | None = None  # (code, message) when the pack could not be read


def _json(store: Any, key: str) -> dict[str, Any] | None:
    try:
        data = parse_json(store.read_bytes(key, MAX_JSON_BYTES), "PACK_MANIFEST_INVALID", key)
    except OracleError:
        return None
    return data if isinstance(data, dict) else None


def pack_overview(root: str, profile: Profile) -> PackOverview:
    try:
        store = profile.open_store(root)
        if not store.root_exists():
            return PackOverview(root=root, exists=False, lifecycle="ABSENT",
                                problem=("PACK_NOT_FOUND", f"no pack at {root}"))
        listing = Listing.of(store)
    except OracleError as exc:
        return PackOverview(root=root, exists=False, lifecycle="ABSENT",
                            problem=(exc.code, exc.message))
    out = PackOverview(root=root, exists=True, files=len(listing.objects),
                       bytes=sum(o.size for o in listing.objects),
                       lifecycle="STAGING" if listing.objects else "EMPTY")
    if RUN_RECEIPT in listing.by_key:
        out.run_receipt = _json(store, RUN_RECEIPT)
    if SEAL in listing.by_key:
        seal = _json(store, SEAL) or {}
        out.lifecycle = str(seal.get("seal_status", "SEALED_FAILED"))
        out.oracle_pack_id = seal.get("oracle_pack_id")
    if MANIFEST in listing.by_key and out.oracle_pack_id is None:
        out.oracle_pack_id = (_json(store, MANIFEST) or {}).get("oracle_pack_id")
    if TOMBSTONE in listing.by_key:
        out.lifecycle = "TOMBSTONED"
    return out
