"""The real upstream gate map drives a world whose ten bundles this test builds itself."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from oracle_tui.core.check import run_check
from oracle_tui.core.interface_pack import load_interface_pack, render_template
from oracle_tui.core.pack import open_pack
from tests.independent import recompute

MF = hashlib.sha256(b"upstream-test-mf").hexdigest()
PH = hashlib.sha256(b"upstream-test-ph").hexdigest()
RUN_ID = "0123456789abcdef0123456789abcdef"
SEED = 20260101
SCENARIO = "baseline_v1"
LIST_KEY = {"5A": "entries", "5B": "entries", "6A": "items", "3A": "members"}


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def build_world(root: Path, gmap: dict[str, Any]) -> None:
    tokens = {"manifest_fingerprint": MF, "parameter_hash": PH, "seed": str(SEED),
              "scenario_id": SCENARIO, "run_id": RUN_ID}
    (root / "run_receipt.json").parent.mkdir(parents=True, exist_ok=True)
    (root / "run_receipt.json").write_text(json.dumps({
        "run_id": RUN_ID, "seed": SEED, "parameter_hash": PH, "manifest_fingerprint": MF,
        "created_utc": "2026-01-01T00:00:00Z"}))
    for gate in gmap["gates"]:
        seg = gate["segment"]
        method = gate["verification_method"]
        bundle = root / render_template(gate["bundle_root_template"], tokens)
        bundle.mkdir(parents=True)
        names = [f"report_{seg}.json", f"zz/checks_{seg}.json", f"A_receipt_{seg}.json",
                 f"b-{seg}.txt"]
        for i, n in enumerate(names):
            (bundle / n).parent.mkdir(parents=True, exist_ok=True)
            (bundle / n).write_bytes(f'{{"segment": "{seg}", "n": {i}}}\n'.encode())
        base_prefix = ""
        if method.get("path_base") == "run_root":
            base_prefix = bundle.relative_to(root).as_posix() + "/"
        members = [{"path": base_prefix + n, "sha256_hex": _sha((bundle / n).read_bytes())}
                   for n in names]  # deliberately not in ASCII-lex order
        index_name = render_template(gate["index_path_template"], tokens).rsplit("/", 1)[1]
        if "index.json" in method.get("exclude_filenames", []):
            # The 6B index may list itself; the method excludes it from the hashed members.
            members.append({"path": "index.json", "sha256_hex": "f" * 64})
        doc: Any = {LIST_KEY[seg]: members} if seg in LIST_KEY else members
        (bundle / index_name).write_text(json.dumps(doc, indent=1))
        method_doc = dict(method, _index=index_name)
        digest = recompute(root, bundle, method_doc)
        field = method["digest_field"]
        flag = bundle / "_passed.flag"
        if field == "bundle_digest_sha256":
            flag.write_text(json.dumps({"manifest_fingerprint": MF, field: digest}))
        else:
            flag.write_text(f"{field} = {digest}\n")


@pytest.fixture
def upstream_world(tmp_path: Path, upstream_pack_dir: Path) -> tuple[Path, Path]:
    gmap = yaml.safe_load((upstream_pack_dir / "engine_gates.map.yaml").read_text())
    root = tmp_path / "world"
    build_world(root, gmap)
    cat = load_interface_pack(upstream_pack_dir)
    rendered = render_template(cat.outputs["s3_event_stream_with_fraud_6B"].path_template, {
        "manifest_fingerprint": MF, "parameter_hash": PH, "seed": str(SEED),
        "scenario_id": SCENARIO})
    part = root / rendered.replace("part-*.parquet", "part-00000.parquet")
    part.parent.mkdir(parents=True)
    pq.write_table(pa.table({"ts_utc": ["2026-01-01T00:00:00.000000Z"], "v": [1]}), part)
    return root, upstream_pack_dir


def test_all_ten_upstream_gates_pass(upstream_world: tuple[Path, Path]) -> None:
    root, pack_dir = upstream_world
    pack = load_interface_pack(pack_dir)
    report = run_check(open_pack(str(root), interface_pack=pack, scenario_id=SCENARIO), output_ids=["s3_event_stream_with_fraud_6B"])
    assert [(f.code, f.severity.value) for f in report.actionable()] == [("PACK_NOT_SEALED", "WARN")]
    assert len(report.gates) == 10
    assert all(g.status == "PASS" for g in report.gates)
    kinds = {g.method for g in report.gates}
    assert len(kinds) == 3
    assert report.outputs[0].status == "READABLE"
    g6b = {g.gate_id: g for g in report.gates}["gate.layer3.6B.validation"]
    assert [m.path for m in g6b.members] == sorted(m.path for m in g6b.members)
    assert "index.json" not in [m.path for m in g6b.members]
    g6a = {g.gate_id: g for g in report.gates}["gate.layer3.6A.validation"]
    assert [m.path for m in g6a.members][:2] == ["report_6A.json", "zz/checks_6A.json"]


@pytest.mark.parametrize("gate_id,segment", [
    ("gate.layer1.2B.validation", "2B"),   # path_base: run_root
    ("gate.layer3.6A.validation", "6A"),   # index_order
    ("gate.layer1.3A.validation", "3A"),   # member digest concat
    ("gate.layer1.1A.validation", "1A"),   # bundle digest
])
def test_each_method_detects_a_changed_member(upstream_world: tuple[Path, Path], gate_id: str,
                                              segment: str) -> None:
    root, pack_dir = upstream_world
    pack = load_interface_pack(pack_dir)
    member = next(root.glob(f"data/*/{segment}/validation/*/report_{segment}.json"))
    member.write_bytes(member.read_bytes().replace(b'"n": 0', b'"n": 9'))
    report = run_check(open_pack(str(root), interface_pack=pack, scenario_id=SCENARIO), output_ids=["s3_event_stream_with_fraud_6B"])
    bad = {g.gate_id for g in report.gates if g.status != "PASS"}
    assert bad == {gate_id}
    assert ("GATE_EVIDENCE_MISMATCH", gate_id) in {(f.code, f.subject) for f in report.findings}
    assert report.outputs[0].status == "BLOCKED"
    assert report.exit_code == 1


def test_6a_index_order_matters(upstream_world: tuple[Path, Path]) -> None:
    root, pack_dir = upstream_world
    index = next(root.glob("data/layer3/6A/validation/*/validation_bundle_index_6A.json"))
    doc = json.loads(index.read_text())
    doc["items"] = sorted(doc["items"], key=lambda m: m["path"])  # same members, lex order
    index.write_text(json.dumps(doc))
    report = run_check(open_pack(str(root), interface_pack=load_interface_pack(pack_dir), scenario_id=SCENARIO), output_ids=["s3_event_stream_with_fraud_6B"])
    assert {g.gate_id for g in report.gates if g.status != "PASS"} == {
        "gate.layer3.6A.validation"}


def test_gate_receipts_validate_against_the_upstream_schema(
        upstream_world: tuple[Path, Path]) -> None:
    root, pack_dir = upstream_world
    report = run_check(open_pack(str(root), interface_pack=load_interface_pack(pack_dir), scenario_id=SCENARIO), output_ids=["s3_event_stream_with_fraud_6B"])
    schema = yaml.safe_load((pack_dir / "contracts" / "gate_receipt.schema.yaml").read_text())
    layer1 = yaml.safe_load((pack_dir / "segment_schemas" / "schemas.layer1.yaml").read_text())
    resource = Resource.from_contents(layer1, default_specification=DRAFT202012)
    # The schema's $refs point at the engine's layer-1 schema by a relative path.
    registry = Registry().with_resources([
        ("../layer-1/specs/contracts/1A/schemas.layer1.yaml", resource),
        ("layer-1/specs/contracts/1A/schemas.layer1.yaml", resource)])
    validator = Draft202012Validator(schema, registry=registry)
    assert len(report.gate_receipts) == 10
    for receipt in report.gate_receipts:
        errors = sorted(validator.iter_errors(receipt), key=str)
        assert errors == [], errors[0].message if errors else ""
        assert receipt["status"] == "PASS"
        assert receipt["digest"]["hex"] == {g.gate_id: g for g in report.gates}[
            receipt["gate_id"]].recomputed_digest
    bad = dict(report.gate_receipts[0], status="MAYBE")
    assert list(validator.iter_errors(bad))
