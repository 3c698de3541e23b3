"""Instance-proof receipts (contracts/instance_proof_receipt.schema.yaml) as output evidence."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.errors import OracleError
from oracle_tui.core.jsonio import canonical_json
from oracle_tui.core.seal import seal_pack

OUT = "arrival_events_5B"


def _receipt(world: DemoWorld, target: str, digest: str, status: str = "PASS",
             mf: str | None = None) -> Path:
    wk = world.world_key
    doc: dict[str, Any] = {
        "output_id": OUT, "status": status,
        "scope": {"manifest_fingerprint": mf or wk.manifest_fingerprint, "seed": wk.seed,
                  "scenario_id": wk.scenario_id},
        "target_ref": {"output_id": OUT, "path": target,
                       "manifest_fingerprint": wk.manifest_fingerprint},
        "target_digest": {"algo": "sha256", "hex": digest},
        "receipt_kind": "instance_proof"}
    path = (Path(world.root) / "data/layer2/5B/receipts/instance" / f"output_id={OUT}"
            / f"seed={wk.seed}" / "instance_receipt.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(canonical_json(doc))
    return path


def _part(world: DemoWorld) -> tuple[str, str]:
    part = sorted(Path(world.root).glob("data/layer2/5B/arrival_events/**/part-00001.parquet"))[0]
    return part.relative_to(world.root).as_posix(), hashlib.sha256(part.read_bytes()).hexdigest()


def _fails(report: Any) -> set[tuple[str, str]]:
    return {(f.code, f.subject) for f in report.findings if f.severity.value == "FAIL"}


def test_a_pinned_file_with_other_bytes_is_caught(world: DemoWorld) -> None:
    key, digest = _part(world)
    _receipt(world, key, digest)
    assert _fails(run_check(world.root, verify_digests=True)) == set()
    _receipt(world, key, "0" * 64)
    report = run_check(world.root, verify_digests=True)
    assert _fails(report) == {("DIGEST_MISMATCH", key)}
    assert {o.output_id: o.status for o in report.outputs}[OUT] == "BLOCKED"
    with pytest.raises(OracleError) as exc:
        seal_pack(world.root, scenario_id="baseline_v1", engine_release="demo-1.0")
    assert exc.value.code == "DIGEST_MISMATCH"
    assert not (Path(world.root) / "_SEALED.json").exists()


def test_a_failed_instance_proof_blocks_its_output(world: DemoWorld) -> None:
    key, digest = _part(world)
    _receipt(world, key, digest, status="FAIL")
    report = run_check(world.root)
    assert _fails(report) == {("REQUIRED_GATE_NOT_PASS", OUT)}
    assert {o.output_id: o.status for o in report.outputs}[OUT] == "BLOCKED"


def test_another_worlds_receipt_is_ignored_and_a_folder_target_is_said(world: DemoWorld
                                                                       ) -> None:
    key, _ = _part(world)
    _receipt(world, key, "0" * 64, mf="f" * 64)
    assert _fails(run_check(world.root, verify_digests=True)) == set()
    _receipt(world, key.rsplit("/", 1)[0] + "/", "0" * 64)
    report = run_check(world.root, verify_digests=True)
    assert _fails(report) == set()
    info = [f.detail for f in report.findings if f.code == "OUTPUT_EVIDENCE_ABSENT"]
    assert len(info) == 1 and "not compared" in info[0]


def test_a_malformed_receipt_is_reported(world: DemoWorld) -> None:
    key, digest = _part(world)
    path = _receipt(world, key, digest)
    path.write_text(json.dumps({"output_id": OUT}))
    report = run_check(world.root)
    rel = path.relative_to(world.root).as_posix()
    assert ("GATE_EVIDENCE_MISMATCH", rel) in _fails(report)


def _write(world: DemoWorld, rel: str, doc: dict[str, Any]) -> Path:
    path = Path(world.root) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(canonical_json(doc))
    return path


def _doc(world: DemoWorld, status: str, **scope: Any) -> dict[str, Any]:
    key, digest = _part(world)
    wk = world.world_key
    return {"output_id": OUT, "status": status,
            "scope": {"manifest_fingerprint": wk.manifest_fingerprint, **scope},
            "target_ref": {"output_id": OUT, "path": key,
                           "manifest_fingerprint": wk.manifest_fingerprint},
            "target_digest": {"algo": "sha256", "hex": digest}}


def _statuses(world: DemoWorld) -> dict[str, str]:
    return {o.output_id: o.status for o in run_check(world.root).outputs}


def test_a_fail_receipt_of_another_scenario_or_seed_does_not_block_this_one(
        world: DemoWorld) -> None:
    base = f"data/layer2/5B/receipts/instance/output_id={OUT}"
    _write(world, f"{base}/seed=42/scenario_id=other_v2/instance_receipt.json",
           _doc(world, "FAIL", seed=42, scenario_id="other_v2"))
    _write(world, f"{base}/seed=7/scenario_id=baseline_v1/instance_receipt.json",
           _doc(world, "FAIL", seed=7, scenario_id="baseline_v1"))
    assert _statuses(world)[OUT] == "READABLE"
    # This world's own FAIL receipt (its scenario given as the contract allows) blocks it.
    _write(world, f"{base}/seed=42/scenario_id=baseline_v1/instance_receipt.json",
           _doc(world, "FAIL", seed=42, scenario_id="baseline_v1"))
    report = run_check(world.root)
    assert ("REQUIRED_GATE_NOT_PASS", OUT) in _fails(report)
    assert {o.output_id: o.status for o in report.outputs}[OUT] == "BLOCKED"


def test_a_fail_instance_proof_anywhere_under_a_receipts_folder_blocks(world: DemoWorld) -> None:
    mf = world.world_key.manifest_fingerprint
    _write(world, f"data/layer2/5B/receipts/manifest_fingerprint={mf}/{OUT}.json",
           _doc(world, "FAIL"))
    assert ("REQUIRED_GATE_NOT_PASS", OUT) in _fails(run_check(world.root))


@pytest.mark.parametrize(("where", "edit", "words"), [
    ("output_id=s2_event_stream_baseline_6B", lambda d: d, "sits under output_id="),
    (f"output_id={OUT}", lambda d: d.update(extra=1), "Additional properties"),
    (f"output_id={OUT}", lambda d: d["scope"].pop("manifest_fingerprint"),
     "'manifest_fingerprint' is a required property"),
    (f"output_id={OUT}/scenario_id=other_v2", lambda d: d["scope"].update(
        scenario_id="baseline_v1"), "different instances"),
])
def test_a_receipt_that_breaks_the_contract_is_reported(world: DemoWorld, where: str, edit: Any,
                                                        words: str) -> None:
    doc = _doc(world, "PASS")
    edit(doc)
    rel = f"data/layer2/5B/receipts/instance/{where}/instance_receipt.json"
    _write(world, rel, doc)
    report = run_check(world.root)
    found = [f for f in report.findings if f.code == "GATE_EVIDENCE_MISMATCH" and f.subject == rel]
    assert len(found) == 1 and words in found[0].detail
    assert all(o.status == "BLOCKED" for o in report.outputs)


@pytest.mark.parametrize("wrong_first", [True, False])
def test_two_proofs_of_one_file_that_disagree_are_refused_in_any_order(
        world: DemoWorld, wrong_first: bool) -> None:
    key, digest = _part(world)
    first = _receipt(world, key, "0" * 64 if wrong_first else digest)
    second = first.parent / "instance_receipt_b.json"
    doc = json.loads(first.read_text())
    doc["target_digest"]["hex"] = digest if wrong_first else "0" * 64
    second.write_bytes(canonical_json(doc))
    for quick in (False, True):
        report = run_check(world.root, verify_digests=not quick)
        assert ("DIGEST_MISMATCH", key) in _fails(report)
        assert {o.output_id: o.status for o in report.outputs}[OUT] == "BLOCKED"
    with pytest.raises(OracleError):
        seal_pack(world.root, scenario_id="baseline_v1", engine_release="demo-1.0")
    assert not (Path(world.root) / "_SEALED.json").exists()
