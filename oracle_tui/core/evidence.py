"""Engine evidence for an output's parts, taken only from gate-verified validation bundles.

The engine's validation bundles enumerate the parts they validated (path, sha256 and row
count: see the demo's `arrival_parts.json` and the 6B `parts/event_streams.json`). A bundle
member counts as evidence only when its gate recomputed PASS and its bytes still hash to what
the gate verified, so a forger who edits the evidence breaks the gate first. Any JSON member
is searched for lists of `{path, sha256_hex | sha256, rows | row_count, size?}` objects whose
path is one of the output's parts (root-relative); other members are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from oracle_tui.core.errors import OracleError
from oracle_tui.core.findings import Finding, make_finding
from oracle_tui.core.gates import GateResult
from oracle_tui.core.jsonio import parse_json
from oracle_tui.core.storage.base import Store

HEX64 = re.compile(r"^[0-9a-f]{64}$")
ROW_FIELDS = ("rows", "row_count")
SIZE_FIELDS = ("size", "size_bytes", "bytes")
MAX_DEPTH = 16


class PartEvidence(BaseModel):
    path: str  # root-relative key
    sha256: str
    rows: int | None = None
    size: int | None = None
    source: str  # the bundle member that states it


def _int_field(entry: dict[str, Any], names: tuple[str, ...]) -> int | None:
    for name in names:
        value = entry.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _part_entries(node: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Objects anywhere in a JSON document that look like part entries."""
    if depth > MAX_DEPTH:
        return
    if isinstance(node, dict):
        digest = node.get("sha256_hex", node.get("sha256"))
        if isinstance(node.get("path"), str) and isinstance(digest, str) and HEX64.match(digest):
            yield node
            return
        for value in node.values():
            yield from _part_entries(value, depth + 1)
    elif isinstance(node, list):
        for value in node:
            yield from _part_entries(value, depth + 1)


def collect_evidence(gates: list[GateResult], owner_of: Any
                     ) -> tuple[dict[str, dict[str, PartEvidence]], list[Finding]]:
    """Part evidence per output from the JSON members of PASSing gates.

    ``owner_of(path)`` names the output whose part ``path`` is (or None). Returns
    {output_id: {part key: evidence}} and findings for evidence that contradicts itself.
    """
    found: dict[str, dict[str, PartEvidence]] = {}
    findings: list[Finding] = []
    for gate in gates:
        if gate.status != "PASS":
            continue
        for member in gate.members:
            doc = member.document  # parsed from the bytes the gate hashed
            if doc is None:
                continue
            for entry in _part_entries(doc):
                path = entry["path"].strip()
                output_id = owner_of(path)
                if output_id is None:
                    continue
                digest = str(entry.get("sha256_hex", entry.get("sha256")))
                ev = PartEvidence(path=path, sha256=digest,
                                  rows=_int_field(entry, ROW_FIELDS),
                                  size=_int_field(entry, SIZE_FIELDS), source=member.key)
                known = found.setdefault(output_id, {}).get(path)
                if known is not None and (known.sha256, known.rows, known.size) != (
                        ev.sha256, ev.rows, ev.size):
                    findings.append(make_finding(
                        "GATE_EVIDENCE_MISMATCH", path,
                        f"{known.source} and {ev.source} state different facts for this part"))
                    continue
                found[output_id][path] = ev
    return found, findings


INSTANCE_RECEIPT_MARK = "/receipts/instance/output_id="


def collect_instance_proofs(store: Store, keys: list[str], outputs: dict[str, set[str]],
                            manifest_fingerprint: str
                            ) -> tuple[dict[str, dict[str, PartEvidence]], list[Finding]]:
    """Instance-proof receipts (contracts/instance_proof_receipt.schema.yaml) under the root
    that pin one file of an output by its sha256: {output_id: {file key: evidence}}.

    A receipt whose target is a folder or pattern (a multi-file output) is reported as not
    comparable: the contract leaves the byte order of such a digest to the output's semantics.
    A receipt with status FAIL blocks its output. Receipts of another world are ignored.
    """
    pinned: dict[str, dict[str, PartEvidence]] = {}
    findings: list[Finding] = []
    for key in keys:
        if INSTANCE_RECEIPT_MARK not in key or not key.endswith(".json"):
            continue
        try:
            doc = parse_json(store.read_bytes(key, 1024 * 1024), "GATE_EVIDENCE_MISMATCH", key)
        except OracleError as exc:
            findings.append(make_finding(exc.code, key, exc.message))
            continue
        oid = doc.get("output_id") if isinstance(doc, dict) else None
        target = doc.get("target_ref") if isinstance(doc, dict) else None
        digest = doc.get("target_digest") if isinstance(doc, dict) else None
        scope = doc.get("scope") if isinstance(doc, dict) else None
        if not (isinstance(oid, str) and isinstance(target, dict) and isinstance(digest, dict)
                and isinstance(scope, dict) and isinstance(target.get("path"), str)
                and digest.get("algo") == "sha256" and isinstance(digest.get("hex"), str)
                and HEX64.match(digest["hex"])):
            findings.append(make_finding("GATE_EVIDENCE_MISMATCH", key,
                                         "not an instance-proof receipt of the contract's "
                                         "shape (output_id, scope, target_ref.path, "
                                         "target_digest sha256)"))
            continue
        if oid not in outputs or scope.get("manifest_fingerprint") != manifest_fingerprint:
            continue  # another output catalogue's or another world's receipt
        if doc.get("status") != "PASS":
            findings.append(make_finding("REQUIRED_GATE_NOT_PASS", oid,
                                         f"its instance-proof receipt {key} says "
                                         f"{doc.get('status')!r}"))
            continue
        path = target["path"].strip().lstrip("/")
        if path not in outputs[oid]:
            findings.append(make_finding(
                "OUTPUT_EVIDENCE_ABSENT", oid,
                f"instance-proof receipt {key} pins {path[:120]!r}, not one file of this "
                "output: its digest over several files is not compared"))
            continue
        pinned.setdefault(oid, {})[path] = PartEvidence(path=path, sha256=digest["hex"],
                                                        source=key)
    return pinned, findings
