"""Gate verification: recompute every `_passed.flag` byte-exactly under its method
(docs/contract.md §2)."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from oracle_tui.core.errors import OracleError, TooLarge
from oracle_tui.core.findings import Finding, finding_from_error, make_finding
from oracle_tui.core.hashing import iter_chunks
from oracle_tui.core.interface_pack import GateSpec, render_template
from oracle_tui.core.jsonio import MAX_JSON_BYTES, parse_json
from oracle_tui.core.listing import Listing
from oracle_tui.core.paths import join_key, require_safe_key
from oracle_tui.core.storage.base import ObjectInfo, Store, require_regular
from oracle_tui.core.world import WorldKey

HEX64 = re.compile(r"^[0-9a-f]{64}$")
FLAG_TEXT = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=\s*(\S+)\s*$")
INDEX_LIST_KEYS = ("entries", "items", "members")
MAX_FLAG_BYTES = 64 * 1024


class MemberCheck(BaseModel):
    path: str
    key: str = ""  # root-relative key of the member's bytes
    expected_sha256: str
    actual_sha256: str | None = None
    size: int | None = None
    ok: bool = False
    # A JSON member's document, parsed from the very bytes that were hashed (evidence.py
    # reads part lists from it: no second read that could see other bytes).
    _document: Any = PrivateAttr(default=None)

    @property
    def document(self) -> Any:
        return self._document


class GateResult(BaseModel):
    gate_id: str
    method: str
    status: str = "FAIL"  # PASS | FAIL; anything short of a proven match is FAIL
    flag_path: str
    bundle_root: str
    index_path: str
    expected_digest: str | None = None
    recomputed_digest: str | None = None
    upstream: list[str] = Field(default_factory=list)
    members: list[MemberCheck] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)

    def receipt(self, world_key: WorldKey) -> dict[str, Any]:
        """The portable gate receipt (contracts/gate_receipt.schema.yaml)."""
        out: dict[str, Any] = {
            "gate_id": self.gate_id,
            "status": self.status,
            "scope": {"manifest_fingerprint": world_key.manifest_fingerprint},
            "receipt_kind": "passed_flag",
            "artifacts": {
                "validation_bundle_root": self.bundle_root,
                "index_path": self.index_path,
                "passed_flag_path": self.flag_path,
            },
            "notes": f"recomputed by oracle-tui under {self.method}",
        }
        if self.recomputed_digest:
            out["digest"] = {"algo": "sha256", "hex": self.recomputed_digest}
        return out


def parse_passed_flag(data: bytes, digest_field: str, subject: str,
                      manifest_fingerprint: str | None = None) -> str:
    """The digest a `_passed.flag` claims: `key = hex` text, or a JSON object with the key
    (which, when it names a manifest_fingerprint, must name this world's)."""
    code = "GATE_EVIDENCE_MISMATCH"
    stripped = data.strip()
    if stripped.startswith(b"{"):
        obj = parse_json(data, code, subject)
        if not isinstance(obj, dict) or digest_field not in obj:
            raise OracleError(code, f"{subject}: JSON flag lacks {digest_field!r}", subject)
        named = obj.get("manifest_fingerprint", manifest_fingerprint)
        if manifest_fingerprint is not None and named != manifest_fingerprint:
            raise OracleError(code, f"{subject}: the flag is for manifest_fingerprint "
                                    f"{str(named)[:64]!r}, not this world's", subject)
        value = obj[digest_field]
    else:
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError as exc:
            raise OracleError(code, f"{subject}: flag is not ASCII text", subject) from exc
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(lines) != 1:
            raise OracleError(code, f"{subject}: expected one '{digest_field} = <hex>' line",
                              subject)
        m = FLAG_TEXT.match(lines[0])
        if not m or m.group(1) != digest_field:
            raise OracleError(code, f"{subject}: expected '{digest_field} = <hex>'", subject)
        value = m.group(2)
    if not isinstance(value, str) or not HEX64.match(value):
        raise OracleError(code, f"{subject}: digest is not 64 lowercase hex characters", subject)
    return value


def parse_index_members(data: bytes, subject: str) -> list[dict[str, str]]:
    """Members of a bundle index: a bare array, or an array under entries/items/members."""
    code = "GATE_EVIDENCE_MISMATCH"
    obj = parse_json(data, code, subject)
    members: Any = obj
    if isinstance(obj, dict):
        lists = [k for k in INDEX_LIST_KEYS if isinstance(obj.get(k), list)]
        if len(lists) != 1:
            raise OracleError(code, f"{subject}: index object must hold exactly one of "
                                    f"{'/'.join(INDEX_LIST_KEYS)}", subject)
        members = obj[lists[0]]
    if not isinstance(members, list):
        raise OracleError(code, f"{subject}: index is neither an array nor an object", subject)
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, m in enumerate(members):
        if not isinstance(m, dict) or not isinstance(m.get("path"), str) \
                or not isinstance(m.get("sha256_hex"), str):
            raise OracleError(code, f"{subject}: member {i} lacks string path/sha256_hex",
                              subject)
        if not HEX64.match(m["sha256_hex"]):
            raise OracleError(code, f"{subject}: member {m['path']!r} digest is not 64 "
                                    "lowercase hex", subject)
        require_safe_key(m["path"], subject)
        if m["path"] in seen:
            raise OracleError(code, f"{subject}: member {m['path']!r} listed twice", subject)
        seen.add(m["path"])
        out.append({"path": m["path"], "sha256_hex": m["sha256_hex"]})
    return out


def _read_evidence(store: Store, key: str, limit: int) -> bytes:
    try:
        return store.read_bytes(key, limit)
    except TooLarge as exc:
        raise OracleError("GATE_EVIDENCE_MISMATCH", exc.message, key) from exc


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _stream_into(store: Store, key: str, hashers: Sequence[Any],
                 cancel: threading.Event | None, keep: list[bytes] | None = None) -> int:
    size = 0
    for chunk in iter_chunks(store, key, cancel):
        for h in hashers:
            h.update(chunk)
        size += len(chunk)
        if keep is not None and size <= MAX_JSON_BYTES:
            keep.append(bytes(chunk))
    return size


def _is_json(key: str) -> bool:
    return key.endswith(".json")


def _parse_member(result: GateResult, check: MemberCheck, kept: list[bytes]) -> None:
    """A JSON member of a bundle must parse: evidence a gate covers is used, or the gate
    fails. (Bytes moved between two members keep a bundle digest, never both documents.)"""
    if check.size is not None and check.size > MAX_JSON_BYTES:
        result.findings.append(make_finding(
            "GATE_EVIDENCE_MISMATCH", result.gate_id,
            f"member {check.path} is a JSON document of {check.size:,} bytes, larger than "
            f"oracle-tui reads as evidence ({MAX_JSON_BYTES:,})"))
        return
    try:
        check._document = parse_json(b"".join(kept), "GATE_EVIDENCE_MISMATCH", check.key)
    except OracleError as exc:
        result.findings.append(make_finding(
            "GATE_EVIDENCE_MISMATCH", result.gate_id,
            f"member {check.path} does not parse ({exc.message[len(check.key) + 1:][:160]}): "
            "evidence the gate covers must be readable"))


def verify_gate(store: Store, spec: GateSpec, world_key: WorldKey, listing: Listing,
                cancel: threading.Event | None = None) -> GateResult:
    """Recompute one gate from the root's listing; PASS only on a proven byte-exact match."""
    values = world_key.tokens()
    flag_key = render_template(spec.passed_flag_path_template, values)
    bundle_root = render_template(spec.bundle_root_template, values).rstrip("/") + "/"
    index_key = render_template(spec.index_path_template, values)
    method = spec.verification_method
    result = GateResult(gate_id=spec.gate_id, method=method.kind, flag_path=flag_key,
                        bundle_root=bundle_root, index_path=index_key,
                        upstream=list(spec.upstream_gate_dependencies))
    bundle = listing.under(bundle_root)
    present = {o.key: o for o in bundle}
    missing = [k for k in (flag_key, index_key) if k not in present]
    if not bundle or missing:
        what = "bundle" if not bundle else ", ".join(missing)
        result.findings.append(make_finding("GATE_RECEIPT_MISSING", spec.gate_id,
                                            f"missing {what}"))
        return result
    try:
        result.expected_digest = parse_passed_flag(
            _read_evidence(store, flag_key, MAX_FLAG_BYTES), method.digest_field, flag_key,
            world_key.manifest_fingerprint)
        if method.kind == "sha256_bundle_digest":
            _bundle_digest(store, result, bundle, bundle_root, method.exclude_filenames, cancel)
        else:
            _index_digest(store, result, spec, bundle_root, index_key, cancel)
    except OracleError as exc:
        result.findings.append(finding_from_error(exc, spec.gate_id))
        return result
    if result.findings:
        return result
    if result.recomputed_digest != result.expected_digest:
        result.findings.append(make_finding(
            "GATE_EVIDENCE_MISMATCH", spec.gate_id,
            f"flag says {result.expected_digest}, recomputed {result.recomputed_digest}"))
        return result
    result.status = "PASS"
    return result


def _bundle_digest(store: Store, result: GateResult, bundle: list[ObjectInfo], bundle_root: str,
                   exclude: list[str], cancel: threading.Event | None) -> None:
    # Excluded names are the bundle's own top-level files: a nested file that merely shares
    # the name (sub/_passed.flag) is hashed like any other member.
    members = sorted(
        (o for o in bundle if o.key[len(bundle_root):] not in exclude),
        key=lambda o: o.key[len(bundle_root):],
    )
    stated = _stated_by_index(store, result.index_path, bundle)
    total = hashlib.sha256()
    unlisted = _compare_file_sets(result, stated, [o.key[len(bundle_root):] for o in members],
                                  bundle_root, exclude)
    for obj in members:
        require_regular(obj)
        h = hashlib.sha256()
        kept: list[bytes] | None = [] if _is_json(obj.key) else None
        size = _stream_into(store, obj.key, (total, h), cancel, kept)
        digest = h.hexdigest()
        path = obj.key[len(bundle_root):]
        # The member's expected digest is what the bundle's index states for it, where it
        # states one: a changed member is then named, not only the bundle digest.
        expected = stated.get(path, digest)
        check = MemberCheck(path=path, key=obj.key, expected_sha256=expected,
                            actual_sha256=digest, size=size,
                            ok=expected == digest and path not in unlisted)
        result.members.append(check)
        if path in unlisted:
            continue  # named once, by _compare_file_sets
        if not check.ok:
            result.findings.append(make_finding(
                "GATE_EVIDENCE_MISMATCH", result.gate_id,
                f"member {path} hashes to {digest}, the bundle's index says {expected}"))
        elif kept is not None:
            _parse_member(result, check, kept)
    result.recomputed_digest = total.hexdigest()


def _compare_file_sets(result: GateResult, stated: dict[str, str], present: list[str],
                       bundle_root: str, exclude: list[str]) -> set[str]:
    """The index is the bundle's input-set authority: where it states members, the engine's
    consumers refuse a bundle whose files and index differ either way (the index itself may
    go unlisted). Each listed member that is absent is OBJECT_MISSING; each file it does not
    list is named: the flag would vouch for bytes the index never stated."""
    if not stated:
        return set()
    index_name = result.index_path[len(bundle_root):]
    have = set(present)
    for path in sorted(set(stated) - have - set(exclude)):
        key = bundle_root + path
        result.members.append(MemberCheck(path=path, key=key, expected_sha256=stated[path]))
        result.findings.append(make_finding(
            "OBJECT_MISSING", key, f"listed by the bundle's {index_name} of {result.gate_id} "
            "but absent: the engine refuses a bundle whose index and files differ"))
    unlisted = {p for p in present if p not in stated and p != index_name}
    for path in sorted(unlisted):
        result.findings.append(make_finding(
            "GATE_EVIDENCE_MISMATCH", result.gate_id,
            f"member {path} is in the bundle but not in its {index_name}: the engine refuses a "
            "bundle whose index and files differ"))
    return unlisted


def _stated_by_index(store: Store, index_key: str, bundle: list[ObjectInfo]) -> dict[str, str]:
    """Member digests a bundle-digest gate's index.json states, by path ({} when it has
    no index or one in another shape: the method does not need one)."""
    if index_key not in {o.key for o in bundle}:
        return {}
    data = _read_evidence(store, index_key, MAX_JSON_BYTES)
    try:
        shape = parse_json(data, "GATE_EVIDENCE_MISMATCH", index_key)
    except OracleError:
        return {}  # not JSON: the method does not read it, the bundle digest covers it
    states_members = isinstance(shape, list) or (
        isinstance(shape, dict) and any(isinstance(shape.get(k), list) for k in INDEX_LIST_KEYS))
    if not states_members:
        return {}
    # An index that states member digests must state them unambiguously (one entry a path,
    # each a digest): one that does not is refused, never read as stating nothing.
    members = parse_index_members(data, index_key)
    return {m["path"]: m["sha256_hex"] for m in members}


def _index_digest(store: Store, result: GateResult, spec: GateSpec, bundle_root: str,
                  index_key: str, cancel: threading.Event | None) -> None:
    method = spec.verification_method
    members = parse_index_members(_read_evidence(store, index_key, MAX_JSON_BYTES), index_key)
    members = [m for m in members if m["path"] not in method.exclude_filenames]
    if method.kind == "sha256_index_json_ascii_lex_raw_bytes" and method.ordering != "index_order":
        # ASCII-lex over the path: Python orders str by code point, i.e. by UTF-8 bytes.
        members = sorted(members, key=lambda m: m["path"])
    total = hashlib.sha256()
    base = "" if method.path_base == "run_root" else bundle_root
    for m in members:
        key = join_key(base, m["path"])
        h = hashlib.sha256()
        hashers = (total, h) if method.kind != "sha256_member_digest_concat" else (h,)
        check = MemberCheck(path=m["path"], key=key, expected_sha256=m["sha256_hex"])
        result.members.append(check)
        kept: list[bytes] | None = [] if _is_json(key) else None
        try:
            check.size = _stream_into(store, key, hashers, cancel, kept)
        except OracleError as exc:
            result.findings.append(finding_from_error(exc, key))
            continue
        check.actual_sha256 = h.hexdigest()
        check.ok = check.actual_sha256 == m["sha256_hex"]
        if check.ok and kept is not None:
            _parse_member(result, check, kept)
        if not check.ok:
            result.findings.append(make_finding(
                "GATE_EVIDENCE_MISMATCH", spec.gate_id,
                f"member {m['path']} hashes to {check.actual_sha256}, index says "
                f"{m['sha256_hex']}"))
    if method.kind == "sha256_member_digest_concat":
        total.update("".join(m["sha256_hex"] for m in members).encode("ascii"))
    result.recomputed_digest = total.hexdigest()
