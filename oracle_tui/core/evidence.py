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

from oracle_tui.core import contracts
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


INSTANCE_FOLDER = "/receipts/instance/"
RECEIPTS_FOLDER = "/receipts/"
SCOPE_FIELDS = ("manifest_fingerprint", "parameter_hash", "seed", "scenario_id", "run_id")


def _is_instance_proof(key: str, doc: Any) -> bool:
    """Receipts under a segment's receipts/instance/ are instance proofs by location; any
    other JSON under a receipts/ folder is one by its shape (it names a target)."""
    if INSTANCE_FOLDER in key:
        return True
    return isinstance(doc, dict) and ("target_ref" in doc or "target_digest" in doc
                                      or doc.get("receipt_kind") == "instance_proof")


def _scope_of_this_instance(doc: dict[str, Any], key: str, identity: dict[str, str]
                            ) -> bool | None:
    """True when the receipt is about this world and run (every scope field it states, and
    every partition folder of its path, equal this pack's); False when it is about another
    instance; None when its scope and its path disagree with each other."""
    scope = {k: str(v) for k, v in doc["scope"].items() if k in SCOPE_FIELDS}
    folders = dict(seg.split("=", 1) for seg in key.split("/")[:-1] if "=" in seg)
    in_path = {k: v for k, v in folders.items() if k in SCOPE_FIELDS}
    if any(scope[k] != v for k, v in in_path.items() if k in scope):
        return None
    stated = {**in_path, **scope}
    return all(identity.get(k) == v for k, v in stated.items())


def collect_instance_proofs(store: Store, keys: list[str], outputs: dict[str, set[str]],
                            identity: dict[str, str]
                            ) -> tuple[dict[str, dict[str, PartEvidence]], list[Finding]]:
    """Instance-proof receipts (contracts/instance_proof_receipt.schema.yaml) under the root
    that pin one file of an output by its sha256: {output_id: {file key: evidence}}.

    ``identity``: this pack's world key and run id as text. A receipt is this instance's
    only when every scope field it states (and every partition folder of its path) is this
    pack's: one of another scenario or seed with the same fingerprint is another instance's
    and ignored. A receipt must follow the contract (its schema, its folder's output_id), or
    it is reported. A receipt whose target is a folder or pattern (a multi-file output) is
    reported as not comparable: the contract leaves the byte order of such a digest to the
    output's semantics. A receipt with status FAIL blocks its output.
    """
    pinned: dict[str, dict[str, PartEvidence]] = {}
    findings: list[Finding] = []
    for key in keys:
        if RECEIPTS_FOLDER not in f"/{key}" or not key.endswith(".json"):
            continue
        try:
            doc = parse_json(store.read_bytes(key, 1024 * 1024), "GATE_EVIDENCE_MISMATCH", key)
        except OracleError as exc:
            findings.append(make_finding(exc.code, key, exc.message))
            continue
        if not _is_instance_proof(key, doc):
            continue
        why = contracts.problem(contracts.INSTANCE_PROOF, doc)
        folder_id = next((seg.split("=", 1)[1] for seg in key.split("/")
                          if seg.startswith("output_id=")), None)
        if why is None and folder_id is not None and folder_id != doc["output_id"]:
            why = f"it sits under output_id={folder_id} but names {doc['output_id']}"
        if why is not None:
            findings.append(make_finding("GATE_EVIDENCE_MISMATCH", key,
                                         f"not an instance-proof receipt of the contract: {why}"))
            continue
        oid = doc["output_id"]
        mine = _scope_of_this_instance(doc, key, identity)
        if mine is None:
            findings.append(make_finding("GATE_EVIDENCE_MISMATCH", key,
                                         "its scope and its path's partition folders name "
                                         "different instances"))
            continue
        if not mine or oid not in outputs:
            continue  # another instance's receipt, or an output not asked about
        if doc["status"] != "PASS":
            findings.append(make_finding("REQUIRED_GATE_NOT_PASS", oid,
                                         f"its instance-proof receipt {key} says "
                                         f"{doc['status']!r}"))
            continue
        path = doc["target_ref"]["path"].strip().lstrip("/")
        if path not in outputs[oid]:
            findings.append(make_finding(
                "OUTPUT_EVIDENCE_ABSENT", oid,
                f"instance-proof receipt {key} pins {path[:120]!r}, not one file of this "
                "output: its digest over several files is not compared"))
            continue
        digest = doc["target_digest"]["hex"]
        earlier = pinned.setdefault(oid, {}).get(path)
        if earlier is not None and earlier.sha256 != digest:
            # Two proofs of one file that disagree: neither is taken, whatever their order.
            findings.append(make_finding(
                "DIGEST_MISMATCH", path, f"{oid}: its instance proofs disagree: "
                                         f"{earlier.source} says {earlier.sha256}, {key} "
                                         f"says {digest}"))
            continue
        pinned[oid][path] = PartEvidence(path=path, sha256=digest, source=key)
    return pinned, findings
