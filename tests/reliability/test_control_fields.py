"""Control files are checked field by field, not only by the digests that chain them.

Each case edits one field of a sealed pack's manifest (or seal) and re-chains every digest
above it — the seal's digest of the manifest, the seal's pack id — as a careful forger would.
What is left to catch it is the field's own source: the run receipt, the recomputed gates,
the interface pack in use, the content index, or the derivation of the pack id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.jsonio import canonical_json
from tests.reliability.helpers import check, edit_binding, fails, rechain_manifest


def _set_world(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda m: m["world_key"].__setitem__(field, value)


CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "pack-id-not-derived": (lambda m: m.update(oracle_pack_id="ab" * 32), "MANIFEST_MISMATCH"),
    "engine-release-edited": (lambda m: m.update(engine_release="9.9.9"), "MANIFEST_MISMATCH"),
    "foreign-catalogue-digest": (lambda m: m.update(catalogue_digest="c" * 64),
                                 "MANIFEST_MISMATCH"),
    "foreign-gate-map-digest": (lambda m: m.update(gate_map_digest="d" * 64),
                                "MANIFEST_MISMATCH"),
    "created-not-a-time": (lambda m: m.update(created_at_utc="2026-01-01T25:61:00.000000Z"),
                           "PACK_MANIFEST_INVALID"),
    "created-leap-second": (lambda m: m.update(created_at_utc="2026-06-30T23:59:60.000000Z"),
                            "PACK_MANIFEST_INVALID"),
    "created-free-text": (lambda m: m.update(created_at_utc="yesterday"),
                          "PACK_MANIFEST_INVALID"),
    "created-empty": (lambda m: m.update(created_at_utc=""), "PACK_MANIFEST_INVALID"),
    "seed-as-float": (_set_world("seed", 42.0), "PACK_MANIFEST_INVALID"),
    "seed-as-string": (_set_world("seed", "42"), "PACK_MANIFEST_INVALID"),
    "seed-as-bool": (_set_world("seed", True), "PACK_MANIFEST_INVALID"),
    "seed-negative": (_set_world("seed", -1), "PACK_MANIFEST_INVALID"),
    "scenario-too-long": (_set_world("scenario_id", "s" * 257), "PACK_MANIFEST_INVALID"),
    "extra-world-key-field": (_set_world("run_id", "0" * 32), "PACK_MANIFEST_INVALID"),
    "extra-top-level-key": (lambda m: m.update(notes="hi"), "PACK_MANIFEST_INVALID"),
    "extensions-of-another-tool": (lambda m: m.update(extensions={"x": {}}),
                                   "PACK_MANIFEST_INVALID"),
    "extensions-of-oracle-tui-0.1": (lambda m: m.update(extensions={"oracle_tui": {}}),
                                     "PACK_LAYOUT_OUTDATED"),
    "version-a-number": (lambda m: m.update(version=1), "PACK_MANIFEST_INVALID"),
    "engine-release-missing": (lambda m: m.pop("engine_release"), "PACK_MANIFEST_INVALID"),
}

BINDING_CASES: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "run-id-not-the-receipts": (lambda b: b.update(run_id="0" * 32), "SEAL_MISMATCH"),
    "gate-digests-zeroed": (lambda b: b.update(gates={g: "0" * 64 for g in b["gates"]}),
                            "SEAL_MISMATCH"),
    "gate-dropped": (lambda b: b["gates"].pop("gate.layer3.6B.validation"), "SEAL_MISMATCH"),
    "gate-invented": (lambda b: b["gates"].update({"gate.other": "1" * 64}), "SEAL_MISMATCH"),
    "wrong-file-count": (lambda b: b["content_index"].update(file_count=1), "SEAL_MISMATCH"),
    "wrong-total-bytes": (lambda b: b["content_index"].update(total_bytes=7), "SEAL_MISMATCH"),
    "another-pack-id": (lambda b: b.update(oracle_pack_id="e" * 64), "SEAL_MISMATCH"),
    "another-manifest-digest": (lambda b: b.update(manifest_sha256="f" * 64), "SEAL_MISMATCH"),
    "file-count-as-string": (lambda b: b["content_index"].update(file_count="37"),
                             "SEAL_BINDING_INVALID"),
    "extra-key": (lambda b: b.update(notes="x"), "SEAL_BINDING_INVALID"),
    "unknown-schema": (lambda b: b.update(schema="oracle-tui.seal-binding/2"),
                       "SEAL_BINDING_INVALID"),
    "tool-missing": (lambda b: b.pop("tool"), "SEAL_BINDING_INVALID"),
}


@pytest.mark.parametrize("case", sorted(BINDING_CASES))
def test_edited_binding_field_is_caught(sealed_world: DemoWorld, case: str) -> None:
    edit, code = BINDING_CASES[case]
    edit_binding(sealed_world.root, edit)
    rc, doc = check(sealed_world.root)
    assert rc == 1 and doc["verdict"] == "FAIL"
    assert code in {c for c, _ in fails(doc)}, fails(doc)
    assert {o["status"] for o in doc["outputs"]} <= {"BLOCKED"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rechained_manifest_field_is_caught(sealed_world: DemoWorld, case: str) -> None:
    edit, code = CASES[case]
    rechain_manifest(sealed_world.root, edit)
    rc, doc = check(sealed_world.root, "--strict-seal")
    assert rc == 1 and doc["verdict"] == "FAIL"
    assert code in {c for c, _ in fails(doc)}, fails(doc)
    assert {o["status"] for o in doc["outputs"]} <= {"BLOCKED"}  # nothing readable


@pytest.mark.parametrize("edit,code", [
    ({"sealed_at_utc": "2026-13-01T00:00:00.000000Z"}, "PACK_SEAL_INVALID"),
    ({"extensions": {}}, "PACK_SEAL_INVALID"),
    ({"extensions": {"oracle_tui": {}}}, "PACK_LAYOUT_OUTDATED"),
    ({"version": 1.0}, "PACK_SEAL_INVALID"),
    ({"seal_status": "SEALED"}, "PACK_SEAL_INVALID"),
    ({"oracle_pack_id": "e" * 64}, "SEAL_MISMATCH"),
])
def test_seal_fields_are_exact(sealed_world: DemoWorld, edit: dict[str, Any], code: str) -> None:
    path = Path(sealed_world.root) / "_SEALED.json"
    seal = json.loads(path.read_text())
    seal.update(edit)
    path.write_bytes(canonical_json(seal))
    rc, doc = check(sealed_world.root)
    assert rc == 1 and code in {c for c, _ in fails(doc)}
    assert "Traceback" not in json.dumps(doc)


def test_gate_flag_naming_another_world(world: DemoWorld) -> None:
    flag = next(Path(world.root).glob("data/layer2/5B/validation/*/_passed.flag"))
    doc = json.loads(flag.read_text())
    doc["manifest_fingerprint"] = "f" * 64
    flag.write_bytes(canonical_json(doc))
    rc, report = check(world.root)
    assert rc == 1
    rel = flag.relative_to(world.root).as_posix()
    assert ("GATE_EVIDENCE_MISMATCH", rel) in fails(report)
    assert any("not this world's" in f["detail"] for f in report["findings"])


def test_nested_file_named_like_the_flag_is_hashed(world: DemoWorld) -> None:
    bundle = next(Path(world.root).glob("data/layer1/1A/validation/*"))
    (bundle / "checks" / "_passed.flag").write_text("sha256_hex = " + "0" * 64 + "\n")
    rc, report = check(world.root)
    assert rc == 1
    assert ("GATE_EVIDENCE_MISMATCH", "gate.layer1.1A.validation") in fails(report)


@pytest.mark.parametrize("key,code,severity", [
    ("stream_view/notes.txt", "UNEXPECTED_FILE", "FAIL"),
    ("stream_view/ts_utc/output_id=not_in_catalogue/part-00000.parquet", "UNEXPECTED_FILE",
     "FAIL"),
    ("_oracle_write_probe/" + "a" * 32, "UNEXPECTED_FILE", "FAIL"),  # other bytes
    ("_oracle_write_probe/notes.txt", "UNEXPECTED_FILE", "FAIL"),
    # Seal and tombstone leave temporaries only at the root: anywhere else one is foreign.
    ("logs/.oracle-tui-tmp-999999-" + "0" * 32, "UNEXPECTED_FILE", "FAIL"),
    (".oracle-tui-tmp-999999-" + "0" * 32, "UNEXPECTED_FILE", "WARN"),
])
def test_every_byte_under_a_sealed_root_is_accounted_for(sealed_world: DemoWorld, key: str,
                                                         code: str, severity: str) -> None:
    path = Path(sealed_world.root) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * 35)  # the size of a real probe: only its bytes tell
    rc, doc = check(sealed_world.root, "--verify-digests")
    found = {(f["code"], f["subject"], f["severity"]) for f in doc["findings"]
             if f["severity"] != "INFO"}
    assert found == {(code, key, severity)}
    assert rc == (1 if severity == "FAIL" else 0)


def test_a_real_probe_is_accounted_for(sealed_world: DemoWorld) -> None:
    from oracle_tui.core.storage.base import PROBE_BODY

    path = Path(sealed_world.root) / ("_oracle_write_probe/" + "b" * 32)
    path.parent.mkdir()
    path.write_bytes(PROBE_BODY)
    rc, doc = check(sealed_world.root, "--strict-seal", "--verify-digests")
    assert (rc, doc["verdict"]) == (0, "PASS")
