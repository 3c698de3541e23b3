"""Break a demo world on purpose; assert the exact reason code and exit status."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from oracle_tui.core import check as check_mod
from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.jsonio import canonical_json
from oracle_tui.core.storage.local import LocalStore
from tests.conftest import CliRunner

MF_5B = "data/layer2/5B/validation/manifest_fingerprint={mf}"


def _check(cli: Any, root: str, *args: str) -> tuple[int, dict[str, Any]]:
    res = cli("check", root, "--json", *args)
    assert "Traceback" not in res.err
    return res.code, json.loads(res.out)


def _actionable(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Findings that are not INFO (STREAM_VIEW_MISSING is INFO on the local profile)."""
    return [f for f in doc["findings"] if f["severity"] != "INFO"]


def _codes(doc: dict[str, Any], severity: str | None = None) -> set[str]:
    return {f["code"] for f in _actionable(doc) if severity is None or f["severity"] == severity}


def _part(root: str, output: str = "s3_event_stream_with_fraud_6B") -> Path:
    return sorted(Path(root).glob(f"data/**/{output}/**/part-00001.parquet"))[0]


def test_fresh_world_passes_with_warn_and_json_shape(cli: CliRunner, world: DemoWorld) -> None:
    code, doc = _check(cli, world.root)
    assert code == 0
    assert doc["verdict"] == "WARN"
    assert [(f["code"], f["severity"], f["subject"]) for f in doc["findings"]] == [
        ("PACK_NOT_SEALED", "WARN", "_SEALED.json"),
        ("STREAM_VIEW_MISSING", "INFO", "arrival_events_5B"),
        ("STREAM_VIEW_MISSING", "INFO", "s2_event_stream_baseline_6B"),
        ("STREAM_VIEW_MISSING", "INFO", "s3_event_stream_with_fraud_6B"),
        ("STREAM_VIEW_MISSING", "INFO", "s4_event_labels_6B")]
    assert {s["output_id"]: s["state"] for s in doc["stream_views"]} == {
        "arrival_events_5B": "MISSING", "s2_event_stream_baseline_6B": "MISSING",
        "s3_event_stream_with_fraud_6B": "MISSING", "s4_event_labels_6B": "MISSING"}
    assert set(doc) >= {"verdict", "root", "profile", "strict_seal", "world_key", "findings",
                        "gates", "outputs", "seal", "stream_views"}
    assert doc["profile"] == "local" and doc["strict_seal"] is False
    assert doc["world_key"] == world.world_key.model_dump()
    assert [g["status"] for g in doc["gates"]] == ["PASS"] * 4
    assert {o["output_id"]: (o["status"], o["parts"]) for o in doc["outputs"]} == {
        "arrival_events_5B": ("READABLE", 4), "s2_event_stream_baseline_6B": ("READABLE", 4),
        "s3_event_stream_with_fraud_6B": ("READABLE", 4), "s4_event_labels_6B": ("READABLE", 4)}
    assert doc["seal"]["lifecycle"] == "STAGING"


def test_strict_seal_turns_missing_seal_into_fail(cli: CliRunner, world: DemoWorld) -> None:
    code, doc = _check(cli, world.root, "--strict-seal")
    assert code == 1 and doc["verdict"] == "FAIL"
    assert _codes(doc, "FAIL") == {"PACK_NOT_SEALED"}
    code, doc = _check(cli, world.root, "--profile", "dev")
    assert code == 1 and _codes(doc, "FAIL") == {"PACK_NOT_SEALED"}
    assert doc["strict_seal"] is True


def test_sealed_world_passes_strict_with_digests(cli: CliRunner, sealed_world: DemoWorld) -> None:
    code, doc = _check(cli, sealed_world.root, "--strict-seal", "--verify-digests")
    assert (code, doc["verdict"], _actionable(doc)) == (0, "PASS", [])
    assert doc["seal"]["lifecycle"] == "SEALED_OK"
    assert doc["seal"]["files_hashed"] == 37


def test_a_flipped_byte_at_equal_size_is_caught_by_default_and_quick_says_it_did_not_look(
        cli: CliRunner, sealed_world: DemoWorld) -> None:
    part = _part(sealed_world.root)
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))
    code, doc = _check(cli, sealed_world.root, "--strict-seal", "--quick")
    assert (code, doc["verdict"], doc["digests_rehashed"]) == (0, "PASS", False)
    assert doc["verified"].endswith("digests not re-hashed")
    text = cli("check", sealed_world.root, "--strict-seal", "--quick")
    assert text.code == 0
    assert text.out.splitlines()[0].split()[0] == "PASS"
    assert "(digests not re-hashed)" in text.out.splitlines()[0]
    code, doc = _check(cli, sealed_world.root, "--strict-seal")
    assert code == 1
    rel = part.relative_to(sealed_world.root).as_posix()
    # Once against the content index, once against the engine's evidence for the part.
    assert sorted((f["code"], f["subject"], " ".join(f["detail"].split(", ")[1].split()[:3]))
                  for f in _actionable(doc)) == [("DIGEST_MISMATCH", rel, "the content index"),
                                                 ("DIGEST_MISMATCH", rel, "the engine's evidence")]


def test_truncated_part_is_digest_mismatch_by_size(cli: CliRunner, sealed_world: DemoWorld) -> None:
    part = _part(sealed_world.root)
    part.write_bytes(part.read_bytes()[:-1])
    code, doc = _check(cli, sealed_world.root, "--quick")  # sizes alone see it
    assert code == 1
    rel = part.relative_to(sealed_world.root).as_posix()
    # The size against the content index and against the engine's evidence; the footer is
    # gone, so the evidence's row count cannot be read either.
    assert [(f["code"], f["subject"]) for f in _actionable(doc)] == [
        ("DIGEST_MISMATCH", rel), ("DIGEST_MISMATCH", rel), ("PARQUET_INVALID", rel)]
    assert any("not a Parquet file" in f["detail"] for f in _actionable(doc))


def test_deleted_part_is_object_missing(cli: CliRunner, sealed_world: DemoWorld) -> None:
    part = _part(sealed_world.root)
    part.unlink()
    code, doc = _check(cli, sealed_world.root)
    assert code == 1
    assert _codes(doc) == {"OBJECT_MISSING"}
    out = {o["output_id"]: o for o in doc["outputs"]}["s3_event_stream_with_fraud_6B"]
    assert out["parts"] == 3


@pytest.mark.parametrize("name", ["extra.parquet", ".hidden", "_SUCCESS", "x.tmp"])
def test_file_added_after_sealing_is_unexpected(cli: CliRunner, sealed_world: DemoWorld, name: str) -> None:
    target = _part(sealed_world.root).parent / name
    target.write_bytes(b"x")
    code, doc = _check(cli, sealed_world.root)
    assert code == 1
    rel = target.relative_to(sealed_world.root).as_posix()
    assert [(f["code"], f["subject"]) for f in _actionable(doc)] == [("UNEXPECTED_FILE", rel)]


def test_tampered_flag_fails_gate_and_blocks_outputs(cli: CliRunner, world: DemoWorld) -> None:
    flag = Path(world.root) / MF_5B.format(mf=world.world_key.manifest_fingerprint) / "_passed.flag"
    doc0 = json.loads(flag.read_text())
    doc0["bundle_digest_sha256"] = "0" * 64
    flag.write_bytes(canonical_json(doc0))
    code, doc = _check(cli, world.root)
    assert code == 1
    fails = {(f["code"], f["subject"]) for f in _actionable(doc) if f["severity"] == "FAIL"}
    assert fails == {
        ("GATE_EVIDENCE_MISMATCH", "gate.layer2.5B.validation"),
        ("REQUIRED_GATE_NOT_PASS", "arrival_events_5B"),
        ("REQUIRED_GATE_NOT_PASS", "s2_event_stream_baseline_6B"),
        ("REQUIRED_GATE_NOT_PASS", "s3_event_stream_with_fraud_6B"),
        ("REQUIRED_GATE_NOT_PASS", "s4_event_labels_6B"),
    }
    gates = {g["gate_id"]: g for g in doc["gates"]}
    assert gates["gate.layer2.5B.validation"]["expected_digest"] == "0" * 64
    assert gates["gate.layer3.6B.validation"]["status"] == "PASS"  # its own evidence is fine
    assert {o["status"] for o in doc["outputs"]} == {"BLOCKED"}


def test_tampered_bundle_member_is_gate_evidence_mismatch(cli: CliRunner, world: DemoWorld) -> None:
    bundle = Path(world.root) / f"data/layer3/6B/validation/manifest_fingerprint=" \
                                f"{world.world_key.manifest_fingerprint}"
    member = bundle / "s5_validation_report_6B.json"
    member.write_bytes(member.read_bytes().replace(b"PASS", b"FAIL"))
    code, doc = _check(cli, world.root, "--output-id", "s4_event_labels_6B")
    assert code == 1
    assert _codes(doc, "FAIL") == {"GATE_EVIDENCE_MISMATCH", "REQUIRED_GATE_NOT_PASS"}
    detail = next(f["detail"] for f in doc["findings"] if f["code"] == "GATE_EVIDENCE_MISMATCH")
    assert detail.startswith("member s5_validation_report_6B.json hashes to ")


def test_tampered_1a_bundle_file_breaks_bundle_digest(cli: CliRunner, world: DemoWorld) -> None:
    bundle = Path(world.root) / f"data/layer1/1A/validation/manifest_fingerprint=" \
                                f"{world.world_key.manifest_fingerprint}"
    (bundle / "checks" / "schema.json").write_text('{"tables_checked": 13}\n')
    code, doc = _check(cli, world.root)
    assert code == 1
    gate = {g["gate_id"]: g for g in doc["gates"]}["gate.layer1.1A.validation"]
    assert gate["status"] == "FAIL" and gate["expected_digest"] != gate["recomputed_digest"]
    assert ("GATE_EVIDENCE_MISMATCH", "gate.layer1.1A.validation") in {
        (f["code"], f["subject"]) for f in doc["findings"]}
    # 1A is upstream of everything in the demo: every output is blocked.
    assert {o["status"] for o in doc["outputs"]} == {"BLOCKED"}


def test_missing_flag_is_gate_receipt_missing(cli: CliRunner, world: DemoWorld) -> None:
    (Path(world.root) / MF_5B.format(mf=world.world_key.manifest_fingerprint)
     / "_passed.flag").unlink()
    code, doc = _check(cli, world.root, "--output-id", "arrival_events_5B")
    assert code == 1
    assert ("GATE_RECEIPT_MISSING", "gate.layer2.5B.validation") in {
        (f["code"], f["subject"]) for f in doc["findings"]}


@pytest.mark.parametrize("flag_text", [
    "sha256_hex = " + "A" * 64 + "\n",          # upper-case hex
    "sha256_hex = " + "a" * 63 + "\n",          # wrong length
    "sha256_hex = abc\nsha256_hex = def\n",     # two lines
    "\ufeffsha256_hex = " + "a" * 64,           # BOM
    "",                                          # empty
])
def test_malformed_text_flag_is_gate_evidence_mismatch(cli: CliRunner, world: DemoWorld, flag_text: str) -> None:
    flag = Path(world.root) / f"data/layer3/6B/validation/manifest_fingerprint=" \
                              f"{world.world_key.manifest_fingerprint}/_passed.flag"
    flag.write_text(flag_text, encoding="utf-8")
    code, doc = _check(cli, world.root, "--output-id", "s2_event_stream_baseline_6B")
    assert code == 1
    assert ("GATE_EVIDENCE_MISMATCH", flag.relative_to(world.root).as_posix()) in {
        (f["code"], f["subject"]) for f in doc["findings"]}


def test_symlink_leaving_the_root_is_path_unsafe(cli: CliRunner, world: DemoWorld, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    link = Path(world.root) / "data" / "escape.txt"
    os.symlink(outside, link)
    os.symlink(tmp_path, Path(world.root) / "logs" / "dirlink")
    code, doc = _check(cli, world.root)
    assert code == 1
    assert {(f["code"], f["subject"]) for f in _actionable(doc) if f["severity"] == "FAIL"} == {
        ("PATH_UNSAFE", "data/escape.txt"), ("PATH_UNSAFE", "logs/dirlink")}


def test_fifo_is_path_unsafe_and_does_not_hang(cli: CliRunner, sealed_world: DemoWorld) -> None:
    os.mkfifo(Path(sealed_world.root) / "reports" / "pipe")
    code, doc = _check(cli, sealed_world.root, "--verify-digests")
    assert code == 1
    assert ("PATH_UNSAFE", "reports/pipe") in {(f["code"], f["subject"]) for f in doc["findings"]}


@pytest.mark.parametrize("content,code_", [
    (None, "RUN_RECEIPT_MISSING"),
    (b"{not json", "RUN_RECEIPT_INVALID"),
    (b'{"run_id": "x", "seed": 1, "parameter_hash": "a", "manifest_fingerprint": "b"}',
     "RUN_RECEIPT_INVALID"),
    (b"[]", "RUN_RECEIPT_INVALID"),
    (b'{"run_id": "' + b"a" * 32 + b'", "seed": -1, "parameter_hash": "' + b"a" * 64
     + b'", "manifest_fingerprint": "' + b"a" * 64 + b'"}', "RUN_RECEIPT_INVALID"),
])
def test_bad_run_receipt(cli: CliRunner, world: DemoWorld, content: bytes | None, code_: str) -> None:
    path = Path(world.root) / "run_receipt.json"
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)
    code, doc = _check(cli, world.root)
    assert code == 1
    assert code_ in _codes(doc, "FAIL")
    assert doc["world_key"] is None
    assert doc["outputs"] == []


def test_missing_root_is_pack_not_found(cli: CliRunner, tmp_path: Path) -> None:
    code, doc = _check(cli, str(tmp_path / "nope"))
    assert code == 1
    assert [f["code"] for f in doc["findings"]] == ["PACK_NOT_FOUND"]
    res = cli("check", str(tmp_path / "nope"))
    assert res.code == 1 and "PACK_NOT_FOUND" in res.out


def test_scenario_id_discovery(cli: CliRunner, world: DemoWorld) -> None:
    code, doc = _check(cli, world.root)
    assert doc["world_key"]["scenario_id"] == "baseline_v1"
    other = Path(str(_part(world.root).parent).replace("scenario_id=baseline_v1",
                                                       "scenario_id=stress_v2"))
    other.mkdir(parents=True)
    (other / "part-00000.parquet").write_bytes(b"x")
    code, doc = _check(cli, world.root)
    assert code == 1 and next(f["code"] for f in _actionable(doc)) == "SCENARIO_ID_AMBIGUOUS"
    code, doc = _check(cli, world.root, "--scenario-id", "baseline_v1")
    assert code == 0


def test_scenario_id_missing(cli: CliRunner, world: DemoWorld) -> None:
    import shutil

    shutil.rmtree(Path(world.root) / "data" / "layer2" / "5B" / "arrival_events")
    shutil.rmtree(Path(world.root) / "data" / "layer3" / "6B" / "s2_event_stream_baseline_6B")
    shutil.rmtree(Path(world.root) / "data" / "layer3" / "6B" / "s3_event_stream_with_fraud_6B")
    shutil.rmtree(Path(world.root) / "data" / "layer3" / "6B" / "s4_event_labels_6B")
    code, doc = _check(cli, world.root)
    assert code == 1 and "SCENARIO_ID_MISSING" in _codes(doc)


def test_unknown_and_missing_outputs(cli: CliRunner, world: DemoWorld) -> None:
    # A typo is a usage error naming the closest ids; the API still reports OUTPUT_UNKNOWN.
    res = cli("check", world.root, "--output-id", "s4_event_label_6B", "--json")
    assert res.code == 2 and res.out == ""
    assert res.err.strip().startswith("oracle-tui: OUTPUT_UNKNOWN: unknown output id "
                                      "'s4_event_label_6B'; "
                                      "did you mean s4_event_labels_6B, ")
    report = run_check(world.root, output_ids=["no_such_output"])
    assert {f.code for f in report.findings if f.severity.value == "FAIL"} == {"OUTPUT_UNKNOWN"}
    for p in _part(world.root, "s4_event_labels_6B").parent.glob("part-*"):
        p.unlink()
    code, doc = _check(cli, world.root, "--output-id", "s4_event_labels_6B")
    assert code == 1
    assert [(f["code"], f["subject"]) for f in _actionable(doc) if f["severity"] == "FAIL"] == [
        ("OUTPUT_MISSING", "s4_event_labels_6B")]


def test_world_key_mismatch_against_the_manifest(cli: CliRunner, sealed_world: DemoWorld) -> None:
    code, doc = _check(cli, sealed_world.root, "--scenario-id", "stress_v2")
    assert code == 1
    assert "WORLD_KEY_MISMATCH" in _codes(doc, "FAIL")


def test_malformed_and_missing_manifest(cli: CliRunner, sealed_world: DemoWorld) -> None:
    manifest = Path(sealed_world.root) / "_oracle_pack_manifest.json"
    raw = manifest.read_bytes()
    manifest.write_bytes(b"{\"version\": ")
    code, doc = _check(cli, sealed_world.root)
    assert code == 1 and "PACK_MANIFEST_INVALID" in _codes(doc)
    manifest.write_bytes(raw.replace(b'"version": "v0"', b'"version": 1'))
    code, doc = _check(cli, sealed_world.root)
    assert code == 1 and "PACK_MANIFEST_INVALID" in _codes(doc)
    manifest.unlink()
    code, doc = _check(cli, sealed_world.root)
    assert code == 1 and _codes(doc) == {"PACK_MANIFEST_MISSING"}


def test_manifest_edited_after_sealing_breaks_the_seal(cli: CliRunner, sealed_world: DemoWorld) -> None:
    manifest = Path(sealed_world.root) / "_oracle_pack_manifest.json"
    manifest.write_bytes(manifest.read_bytes().replace(b"demo-1.0", b"demo-1.1"))
    code, doc = _check(cli, sealed_world.root)
    assert code == 1
    # The seal's digest of the manifest, and the pack id no longer derived from its fields.
    assert _codes(doc) == {"SEAL_MISMATCH", "MANIFEST_MISMATCH"}


def test_seal_failed_status(cli: CliRunner, sealed_world: DemoWorld) -> None:
    seal = Path(sealed_world.root) / "_SEALED.json"
    seal.write_bytes(seal.read_bytes().replace(b"SEALED_OK", b"SEALED_FAILED"))
    code, doc = _check(cli, sealed_world.root)
    assert code == 1 and _codes(doc) == {"PACK_SEALED_FAILED"}
    assert doc["seal"]["lifecycle"] == "SEALED_FAILED"


def test_content_index_missing_or_edited(cli: CliRunner, sealed_world: DemoWorld) -> None:
    index = Path(sealed_world.root) / "_oracle_content_index.json"
    raw = index.read_bytes()
    index.write_bytes(raw.replace(b'"size": ', b'"size":  ', 1))
    code, doc = _check(cli, sealed_world.root)
    assert code == 1
    assert [(f["code"], f["subject"]) for f in _actionable(doc)] == [
        ("DIGEST_MISMATCH", "_oracle_content_index.json")]
    index.unlink()
    code, doc = _check(cli, sealed_world.root)
    assert code == 1 and _codes(doc) == {"CONTENT_DIGEST_MISSING"}


def test_tombstoned_pack_fails(cli: CliRunner, sealed_world: DemoWorld) -> None:
    res = cli("tombstone", sealed_world.root, "--reason", "bad rng", "--authority", "ops",
              "--yes")
    assert res.code == 0, res.err
    code, doc = _check(cli, sealed_world.root, "--verify-digests")
    assert code == 1
    assert _codes(doc) == {"PACK_TOMBSTONED"}
    assert doc["seal"]["lifecycle"] == "TOMBSTONED"


def test_unexpected_exception_in_a_step_fails_closed(cli: CliRunner, world: DemoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(check_mod, "verify_gate", boom)
    code, doc = _check(cli, world.root)
    assert code == 1 and doc["verdict"] == "FAIL"
    internal = [f for f in doc["findings"] if f["code"] == "INTERNAL_ERROR"]
    assert [f["subject"] for f in internal] == [
        "gate gate.layer1.1A.validation", "gate gate.layer1.3A.validation",
        "gate gate.layer2.5B.validation", "gate gate.layer3.6B.validation"]
    assert "RuntimeError: disk on fire" in internal[0]["detail"]


def test_findings_do_not_depend_on_listing_order_or_threads(sealed_world: DemoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(sealed_world.root)
    for i, part in enumerate(sorted(root.glob("data/**/part-0000[12].parquet"))):
        if i % 2:
            part.unlink()
        else:
            part.write_bytes(part.read_bytes()[:-3] + b"zzz")
    (root / "logs" / "late.log").write_text("x")
    base = run_check(str(root), verify_digests=True, threads=1)
    original = LocalStore.list

    def reversed_list(self: LocalStore, prefix: str = "") -> Any:
        return iter(list(original(self, prefix))[::-1])

    monkeypatch.setattr(LocalStore, "list", reversed_list)
    other = run_check(str(root), verify_digests=True, threads=4)
    assert [f.model_dump() for f in base.findings] == [f.model_dump() for f in other.findings]
    # 4 parts removed and 4 changed (each against the content index and the engine's
    # evidence: size, footer, sha256), one log added after sealing.
    assert len(base.actionable()) == 21


def test_missing_and_empty_roots_are_not_staging(cli: CliRunner, tmp_path: Path) -> None:
    code, doc = _check(cli, str(tmp_path / "nowhere"))
    assert (code, doc["seal"]["lifecycle"]) == (1, "ABSENT")
    assert [f["code"] for f in doc["findings"]] == ["PACK_NOT_FOUND"]
    (tmp_path / "empty").mkdir()
    code, doc = _check(cli, str(tmp_path / "empty"))
    assert (code, doc["seal"]["lifecycle"]) == (1, "EMPTY")
    assert "RUN_RECEIPT_MISSING" in {f["code"] for f in doc["findings"]}


def test_what_was_verified_is_only_what_was_judged(world: DemoWorld) -> None:
    """A run receipt that cannot be read stops the check before any gate or output: the
    line beside the verdict says so, not "gates recomputed"."""
    (Path(world.root) / "run_receipt.json").write_text("{not json")
    report = run_check(world.root, verify_digests=True)
    assert report.verdict == "FAIL" and not report.gates and not report.outputs
    assert report.verified == ("the listing only; no gate or output was reached (no "
                               "readable run receipt)")
