"""`seal`: write-once content index → manifest → seal binding → seal, the seal last.

Each file is created only if absent. A file that already exists is compared with what these
inputs produce (timestamps aside): equal → idempotent success, different → MISMATCH and
nothing is written. A crash between writes leaves a prefix of the sequence, which a re-run
with the same inputs completes; racing sealers converge on the first writer's files.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from pydantic import BaseModel, Field

from oracle_tui import __version__
from oracle_tui.core import contracts
from oracle_tui.core.check import run_check
from oracle_tui.core.codes import Severity
from oracle_tui.core.errors import OracleError
from oracle_tui.core.findings import Finding
from oracle_tui.core.hashing import DEFAULT_THREADS, hash_objects, sha256_bytes
from oracle_tui.core.inputs import MAX_RELEASE, require_text
from oracle_tui.core.interface_pack import InterfacePack
from oracle_tui.core.jsonio import canonical_json, parse_json
from oracle_tui.core.listing import Listing
from oracle_tui.core.pack import OpenedPack, opened
from oracle_tui.core.pack_files import (
    CONTENT_INDEX,
    CONTENT_INDEX_SCHEMA,
    MANIFEST,
    MANIFEST_VERSION,
    SEAL,
    SEAL_BINDING,
    SEAL_BINDING_SCHEMA,
    SEAL_VERSION,
    TOMBSTONE,
    Manifest,
    is_pack_content,
    oracle_pack_id,
    read_model,
)
from oracle_tui.core.progress import Progress, check_cancel, no_progress
from oracle_tui.core.report import CheckReport
from oracle_tui.core.storage import Store
from oracle_tui.core.storage.base import require_regular
from oracle_tui.core.timeutil import utc_now
from oracle_tui.core.world import WorldKey, read_run_receipt, validate_scenario_id

# Findings of the pre-seal check that do not stop sealing: the pack not being sealed yet is
# the point, and a manifest for another world is reported by the write step as a mismatch.
_NOT_BLOCKING = {"PACK_NOT_SEALED", "WORLD_KEY_MISMATCH"}
# What sealing writes, in this order; the seal last (its existence is the commit).
SEAL_SEQUENCE = (CONTENT_INDEX, MANIFEST, SEAL_BINDING, SEAL)


class SealPlan(BaseModel):
    root: str
    world_key: WorldKey
    run_id: str
    engine_release: str
    oracle_pack_id: str
    catalogue_digest: str
    gate_map_digest: str
    files_to_write: list[str] = Field(default_factory=lambda: list(SEAL_SEQUENCE))
    already_present: list[str] = Field(default_factory=list)
    content_files: int = 0
    content_bytes: int = 0
    gates: dict[str, str] = Field(default_factory=dict)
    blocking: list[Finding] = Field(default_factory=list)  # the FAIL findings that refuse it

    @property
    def refused(self) -> bool:
        return bool(self.blocking)

    def refusal(self) -> OracleError:
        """The one-line error every face shows when sealing is refused."""
        first = self.blocking[0]
        more = f" (+{len(self.blocking) - 1} more)" if len(self.blocking) > 1 else ""
        return OracleError(first.code, f"seal refused: {first.subject}: {first.detail}{more}",
                           self.root)


class SealResult(BaseModel):
    oracle_pack_id: str
    status: str  # SEALED | ALREADY_SEALED
    written: list[str]
    already_present: list[str]
    content_files: int
    content_bytes: int


def plan_seal(pack: str | OpenedPack, *, scenario_id: str, engine_release: str,
              cancel: threading.Event | None = None) -> tuple[SealPlan, CheckReport]:
    """What sealing would write, and whether it may (gates must PASS). Writes nothing."""
    require_text(engine_release, "the engine release", MAX_RELEASE)
    validate_scenario_id(scenario_id)
    target = opened(pack).for_scenario(scenario_id)
    report = run_check(target, strict_seal=False, cancel=cancel)
    first_fail = next((f for f in report.findings if f.severity is Severity.FAIL), None)
    if report.world_key is None or report.run_receipt is None:
        assert first_fail is not None
        raise OracleError(first_fail.code, first_fail.detail, first_fail.subject)
    _require_receipt_agrees(report.run_receipt, {"engine_release": engine_release,
                                                 "scenario_id": scenario_id})
    if any(f.code == "PACK_TOMBSTONED" for f in report.findings):
        raise OracleError("PACK_TOMBSTONED", "a tombstoned pack is never sealed", TOMBSTONE)
    sealed_for = (report.seal.manifest or {}).get("world_key")
    if isinstance(sealed_for, dict) and sealed_for != report.world_key.model_dump():
        # The first thing to say: this pack already belongs to another world key (whatever
        # the outputs of the asked-for scenario look like).
        raise OracleError("WORLD_KEY_MISMATCH", f"the pack is sealed for scenario_id="
                                                f"{sealed_for.get('scenario_id')!s:.80}, not "
                                                f"{report.world_key.scenario_id}; nothing was "
                                                "changed", MANIFEST)
    wk = report.world_key
    catalogue = target.interface_pack
    plan = SealPlan(
        root=target.root, world_key=wk, run_id=str(report.run_receipt["run_id"]),
        engine_release=engine_release,
        oracle_pack_id=oracle_pack_id(wk, engine_release, catalogue.catalogue_digest,
                                      catalogue.gate_map_digest),
        catalogue_digest=catalogue.catalogue_digest, gate_map_digest=catalogue.gate_map_digest,
        gates={g.gate_id: g.recomputed_digest or "" for g in report.gates if g.status == "PASS"},
        blocking=[f for f in report.findings
                  if f.severity is Severity.FAIL and f.code not in _NOT_BLOCKING],
    )
    listing = target.listing()  # the check's: what was judged is what is planned and sealed
    plan.already_present = [k for k in SEAL_SEQUENCE if k in listing.by_key]
    plan.files_to_write = [k for k in SEAL_SEQUENCE if k not in plan.already_present]
    content = [o for o in listing.objects if is_pack_content(o.key)]
    plan.content_files = len(content)
    plan.content_bytes = sum(o.size for o in content)
    return plan, report


def _require_receipt_agrees(receipt: dict[str, Any], given: dict[str, str]) -> None:
    """Each seal input the run receipt also records must be the receipt's value."""
    for name, value in given.items():
        recorded = receipt.get(name)
        if isinstance(recorded, str) and recorded != value:
            raise OracleError("SEAL_INPUT_MISMATCH", f"--{name.replace('_', '-')} {value!r} "
                                                     f"disagrees with the run receipt's "
                                                     f"{name} {recorded!r}; nothing was "
                                                     "written", "run_receipt.json")


def seal_pack(pack: str | OpenedPack, *, scenario_id: str, engine_release: str,
              threads: int = DEFAULT_THREADS, progress: Progress = no_progress,
              cancel: threading.Event | None = None) -> SealResult:
    """Seal the pack; raises OracleError with the reason code when it may not or cannot."""
    target = opened(pack).for_scenario(scenario_id)
    plan, report = plan_seal(target, scenario_id=scenario_id, engine_release=engine_release,
                             cancel=cancel)
    if plan.refused:
        raise plan.refusal()
    store = target.store
    store.remove_stale_temps()
    store.ensure_conditional_writes()
    receipt = read_run_receipt(store)  # read again: a receipt replaced since the check
    if receipt.run_id != plan.run_id:
        raise OracleError("RUN_RECEIPT_INVALID", "run_receipt.json changed during sealing")
    written: list[str] = []

    index_bytes, digests, total = _content_index(store, target.listing(), threads, progress,
                                                 cancel)
    files = len(digests)
    check_cancel(cancel)
    _refuse_against_evidence(report, digests)
    if _put_or_compare(store, CONTENT_INDEX, index_bytes, _same_bytes, "MANIFEST_MISMATCH"):
        written.append(CONTENT_INDEX)

    manifest_doc = _manifest_doc(plan, target.interface_pack, engine_release)
    if _put_or_compare(store, MANIFEST, _contract_bytes(contracts.PACK_MANIFEST, manifest_doc),
                       _same_except("created_at_utc"), "MANIFEST_MISMATCH"):
        written.append(MANIFEST)
    _, manifest_raw = read_model(store, MANIFEST, Manifest, "PACK_MANIFEST_INVALID")

    binding_doc = _binding_doc(plan, manifest_raw, index_bytes, files, total)
    if _put_or_compare(store, SEAL_BINDING,
                       _contract_bytes(contracts.SEAL_BINDING, binding_doc),
                       _same_except("tool"), "SEAL_MISMATCH"):
        written.append(SEAL_BINDING)

    seal_doc = _seal_doc(plan)
    if _put_or_compare(store, SEAL, _contract_bytes(contracts.PACK_SEAL, seal_doc),
                       _same_except("sealed_at_utc"), "SEAL_MISMATCH"):
        written.append(SEAL)
    return SealResult(oracle_pack_id=plan.oracle_pack_id,
                      status="SEALED" if SEAL in written else "ALREADY_SEALED",
                      written=written, already_present=plan.already_present,
                      content_files=files, content_bytes=total)


def _contract_bytes(contract: str, doc: dict[str, Any]) -> bytes:
    """The bytes of a document its schema accepts; never write what a reader would refuse."""
    contracts.require(contract, doc, "INTERNAL_ERROR", contract)
    return canonical_json(doc)


def _manifest_doc(plan: SealPlan, catalogue: InterfacePack, engine_release: str) -> dict[str, Any]:
    """The platform's v1 manifest: the pack's identity, these seven fields and no others."""
    return {
        "version": MANIFEST_VERSION,
        "oracle_pack_id": plan.oracle_pack_id,
        "world_key": plan.world_key.model_dump(),
        "engine_release": engine_release,
        "catalogue_digest": catalogue.catalogue_digest,
        "gate_map_digest": catalogue.gate_map_digest,
        "created_at_utc": utc_now(),
    }


def _binding_doc(plan: SealPlan, manifest_raw: bytes, index_bytes: bytes, files: int,
                 total: int) -> dict[str, Any]:
    """oracle-tui's seal binding: the manifest's exact bytes, the content index, the gates as
    verified, the run, and which tool wrote it."""
    return {
        "schema": SEAL_BINDING_SCHEMA,
        "oracle_pack_id": plan.oracle_pack_id,
        "manifest_sha256": sha256_bytes(manifest_raw),
        "run_id": plan.run_id,
        "content_index": {"path": CONTENT_INDEX, "sha256": sha256_bytes(index_bytes),
                          "file_count": files, "total_bytes": total},
        "gates": plan.gates,
        "tool": {"name": "oracle-tui", "version": __version__},
    }


def _seal_doc(plan: SealPlan) -> dict[str, Any]:
    """The commit point, the platform's v1 seal: its existence says the pack is sealed."""
    return {
        "version": SEAL_VERSION,
        "oracle_pack_id": plan.oracle_pack_id,
        "seal_status": "SEALED_OK",
        "sealed_at_utc": utc_now(),
    }


def _refuse_against_evidence(report: CheckReport, digests: dict[str, str]) -> None:
    """Sealing hashes every byte, so it always holds the parts to the engine's evidence: a
    part changed before sealing (same size and row count) is refused, never sealed in."""
    for out in report.outputs:
        for key, ev in sorted({**out._evidence, **out._pinned}.items()):
            actual = digests.get(key)
            if actual is None:
                raise OracleError("OBJECT_MISSING", f"seal refused: {key} is listed by the "
                                                    "engine's evidence and absent", key)
            if actual != ev.sha256:
                raise OracleError("DIGEST_MISMATCH", f"seal refused: {key} hashes to {actual}, "
                                                     f"the engine's evidence says {ev.sha256}",
                                  key)


def _content_index(store: Store, listing: Listing, threads: int, progress: Progress,
                   cancel: threading.Event | None) -> tuple[bytes, dict[str, str], int]:
    keys = [o.key for o in listing.objects if is_pack_content(o.key)]
    for obj in listing.objects:
        require_regular(obj)  # nothing under the root is skipped, whatever it is
    hashed = hash_objects(store, keys, threads=threads, progress=progress, cancel=cancel)
    entries: list[dict[str, Any]] = []
    for key in keys:
        res = hashed[key]
        if isinstance(res, OracleError):
            raise res
        entries.append({"path": key, "size": res[0], "sha256": res[1]})
    total = sum(e["size"] for e in entries)
    doc = {"schema": CONTENT_INDEX_SCHEMA, "file_count": len(entries), "total_bytes": total,
           "files": entries}
    return canonical_json(doc), {e["path"]: e["sha256"] for e in entries}, total


def _same_bytes(existing: bytes, wanted: bytes) -> list[str]:
    if existing == wanted:
        return []
    return ["its bytes (the files under the root are not those it indexes: another listing "
            "or other contents)"]


# Version strings that mean the same v1 document: oracle-tui wrote "1.0" before 0.3, the
# platform's packer writes "v0"; a pack half-sealed by either is completed, not refused.
_SAME_VERSIONS = ({"1.0", "v0"},)


def _same_except(field: str) -> Any:
    """A comparison of an existing document with the wanted one that leaves ``field`` (a
    time or the tool's version) out; returns each differing field with both values."""
    def differences(existing: bytes, wanted: bytes) -> list[str]:
        try:
            old = parse_json(existing, "MANIFEST_MISMATCH", "existing")
        except OracleError:
            return ["it is not JSON"]
        new = parse_json(wanted, "MANIFEST_MISMATCH", "wanted")
        if not isinstance(old, dict):
            return ["it is not a JSON object"]
        old.pop(field, None)
        new.pop(field, None)
        if {old.get("version"), new.get("version")} in _SAME_VERSIONS:
            old["version"] = new["version"]
        return [f"{name}: present {a}, these inputs {b}"
                for name, a, b in _field_differences(old, new)]

    return differences


def _field_differences(old: Any, new: Any, prefix: str = "") -> list[tuple[str, str, str]]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for name in sorted(set(old) | set(new), key=str):
            missing = "(absent)"
            out += _field_differences(old.get(name, missing), new.get(name, missing),
                                      f"{prefix}{name}.")
        return out
    if old == new:
        return []
    return [(prefix.rstrip("."), json.dumps(old)[:120], json.dumps(new)[:120])]


def _put_or_compare(store: Store, key: str, data: bytes, same: Any, code: str) -> bool:
    """Create ``key``; if it exists, it must match. True if this call wrote it."""
    if store.put_if_absent(key, data):
        return True
    existing = store.read_bytes(key)
    differences = same(existing, data)
    if differences:
        raise OracleError(code, f"{key} exists and differs from what these inputs produce in "
                                f"{'; '.join(differences[:6])}; nothing was changed", key)
    return False
