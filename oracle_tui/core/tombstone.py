"""`tombstone`: withdraw a pack for good (docs/contract.md §7). Create-if-absent; nothing
ever goes back."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel

from oracle_tui.core import contracts
from oracle_tui.core.errors import OracleError
from oracle_tui.core.inputs import (
    MAX_AUTHORITY,
    MAX_REASON,
    MAX_ROOT,
    require_no_credentials,
    require_text,
    who_am_i,
)
from oracle_tui.core.jsonio import canonical_json, parse_json
from oracle_tui.core.pack import OpenedPack, opened
from oracle_tui.core.pack_files import (
    MANIFEST,
    TOMBSTONE,
    TOMBSTONE_SCHEMA,
    Manifest,
    Tombstone,
    read_model,
)
from oracle_tui.core.storage.base import Store
from oracle_tui.core.timeutil import utc_now


class TombstoneResult(BaseModel):
    status: str  # TOMBSTONED | ALREADY_TOMBSTONED
    oracle_pack_id: str | None
    record: dict[str, object]


def check_tombstone_inputs(reason: str, authority: str, replacement_root: str | None) -> None:
    """INPUT_INVALID unless the operator's values may be written (before any preview)."""
    require_text(reason, "the reason", MAX_REASON)
    require_text(authority, "the authority", MAX_AUTHORITY)
    if replacement_root is not None:
        require_text(replacement_root, "the replacement root", MAX_ROOT)
        require_no_credentials(replacement_root, "the replacement root")


def answer_if_tombstoned(pack: str | OpenedPack, *, reason: str, authority: str,
                         replacement_root: str | None = None) -> TombstoneResult | None:
    """The answer a tombstone request gets from a pack that already has one, found without
    any write path (so no door previews, asks or writes for it); None when it has none."""
    opened_pack = opened(pack)
    store = opened_pack.store
    if store.head(TOMBSTONE) is None:
        # A folder by that name (head does not answer for folders) can never become the
        # record: refused before any preview, as check refuses it.
        if next(iter(store.list(TOMBSTONE + "/")), None) is not None:
            raise OracleError("PATH_UNSAFE", f"{TOMBSTONE} is a folder, not a record: the "
                                             "tombstone cannot be written there", TOMBSTONE)
        return None
    wanted = {"reason": reason, "authority": authority, "replacement_root": replacement_root}
    return _answer_existing(store, wanted, _pack_id(opened_pack))


def _answer_existing(store: Store, wanted: Mapping[str, object], pack_id: str | None
                     ) -> TombstoneResult:
    try:
        existing = parse_json(store.read_bytes(TOMBSTONE, 1024 * 1024), "PACK_TOMBSTONED",
                              TOMBSTONE)
    except OracleError as exc:
        # Something holds the name (a link, a FIFO, a record too large to read): the pack
        # is tombstoned as check says, and no record of ours will ever be written there.
        raise OracleError("PACK_TOMBSTONED", f"already tombstoned (the record cannot be "
                                             f"read: {exc.code})", TOMBSTONE) from exc
    if not isinstance(existing, dict):
        raise OracleError("PACK_TOMBSTONED", "already tombstoned (record unreadable)", TOMBSTONE)
    if not all(existing.get(k) == v for k, v in wanted.items()):
        raise OracleError("PACK_TOMBSTONED",
                          f"already tombstoned by {existing.get('authority')}: "
                          f"{existing.get('reason')}; the record is never changed", TOMBSTONE)
    return TombstoneResult(status="ALREADY_TOMBSTONED", oracle_pack_id=pack_id, record=existing)


def _pack_id(opened_pack: OpenedPack) -> str | None:
    store = opened_pack.store
    if store.head(MANIFEST) is None:
        return None
    try:
        manifest, _ = read_model(store, MANIFEST, Manifest, "PACK_MANIFEST_INVALID")
    except OracleError:
        return None  # a broken pack can still be withdrawn
    pack_id: str = manifest.oracle_pack_id
    return pack_id


def tombstone_pack(pack: str | OpenedPack, *, reason: str, authority: str,
                   replacement_root: str | None = None) -> TombstoneResult:
    """Withdraw the pack for good: ``_TOMBSTONE.json``, create-if-absent."""
    check_tombstone_inputs(reason, authority, replacement_root)
    opened_pack = opened(pack)
    store = opened_pack.store
    if not opened_pack.root_exists():
        raise OracleError("PACK_NOT_FOUND", f"no pack at {store.root_uri}", store.root_uri)
    answered = answer_if_tombstoned(opened_pack, reason=reason, authority=authority,
                                    replacement_root=replacement_root)
    if answered is not None:  # every door: no write path for a pack that has one
        return answered
    pack_id = _pack_id(opened_pack)
    record: dict[str, object] = {
        "schema": TOMBSTONE_SCHEMA,
        "oracle_pack_id": pack_id,
        "reason": reason,
        "authority": authority,
        "tombstoned_by": who_am_i(),
        "tombstoned_at_utc": utc_now(),
        "replacement_root": replacement_root,
    }
    # Never write what our own reader would refuse.
    contracts.require(contracts.TOMBSTONE, record, "INPUT_INVALID", TOMBSTONE)
    Tombstone.model_validate(record)
    store.ensure_conditional_writes()
    if store.put_if_absent(TOMBSTONE, canonical_json(record)):
        return TombstoneResult(status="TOMBSTONED", oracle_pack_id=pack_id, record=record)
    return _answer_existing(store, {k: record[k] for k in ("reason", "authority",
                                                           "replacement_root")}, pack_id)
