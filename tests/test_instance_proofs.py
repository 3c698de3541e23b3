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
