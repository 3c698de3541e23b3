from __future__ import annotations

from pathlib import Path

import pytest

from oracle_tui.core.errors import OracleError
from oracle_tui.core.interface_pack import (
    VERIFICATION_KINDS,
    load_interface_pack,
    render_template,
)
from oracle_tui.core.listing import Listing
from oracle_tui.core.storage.base import ObjectInfo


def test_upstream_catalogue_and_gate_map_load_unchanged(upstream_pack_dir: Path) -> None:
    pack = load_interface_pack(upstream_pack_dir)
    assert len(pack.outputs) == 340
    assert len(pack.gates) == 10
    # A template that ends in a newline in the real file is stripped on load.
    assert pack.outputs["arrival_events_5B"].path_template == (
        "data/layer2/5B/arrival_events/seed={seed}/manifest_fingerprint={manifest_fingerprint}/"
        "scenario_id={scenario_id}/part-*.parquet")
    g6a = pack.gates["gate.layer3.6A.validation"].verification_method
    assert g6a.ordering == "index_order"
    assert pack.gates["gate.layer1.2B.validation"].verification_method.path_base == "run_root"
    assert pack.gates["gate.layer3.6B.validation"].verification_method.exclude_filenames == [
        "_passed.flag", "index.json"]
    assert pack.gates["gate.layer2.5A.validation"].verification_method.digest_field == (
        "bundle_digest_sha256")
    assert {g.verification_method.kind for g in pack.gates.values()} == set(VERIFICATION_KINDS)
    # Every gate an output requires exists in the gate map.
    required = {g for o in pack.outputs.values() for g in o.read_requires_gates}
    assert required <= set(pack.gates)
    assert len(pack.catalogue_digest) == 64


def test_upstream_gate_closure_is_transitive(upstream_pack_dir: Path) -> None:
    pack = load_interface_pack(upstream_pack_dir)
    closure = pack.gate_closure(["gate.layer3.6B.validation"])
    # 6B depends, directly or not, on every other gate.
    assert closure == sorted(pack.gates)


def test_builtin_pack_uses_all_three_kinds_and_a_dependency() -> None:
    pack = load_interface_pack()
    assert {"arrival_events_5B", "s2_event_stream_baseline_6B", "s3_event_stream_with_fraud_6B",
            "s4_event_labels_6B"} <= set(pack.outputs)
    assert {g.verification_method.kind for g in pack.gates.values()} == set(VERIFICATION_KINDS)
    assert pack.gate_closure(["gate.layer3.6B.validation"]) == [
        "gate.layer1.1A.validation", "gate.layer1.3A.validation", "gate.layer2.5B.validation",
        "gate.layer3.6B.validation"]


def test_render_fills_tokens_and_wildcards_the_rest() -> None:
    assert render_template("a/seed={seed}/utc_day={utc_day}/x.jsonl\n", {"seed": "7"}) == (
        "a/seed=7/utc_day=*/x.jsonl")


def test_listing_expands_part_globs_and_folder_templates() -> None:
    objs = [ObjectInfo(k, 1) for k in [
        "d/o/seed=1/part-00000.parquet", "d/o/seed=1/part-00001.parquet",
        "d/o/seed=1/_SUCCESS", "d/o/seed=1/sub/part-9.parquet", "d/o/seed=10/part-0.parquet",
        "d/f/p=1/a.json", "d/f/p=1/deep/b.json", "d/f/p=11/c.json"]]
    listing = Listing(objs)
    assert [o.key for o in listing.match("d/o/seed=1/part-*.parquet")] == [
        "d/o/seed=1/part-00000.parquet", "d/o/seed=1/part-00001.parquet"]
    assert [o.key for o in listing.match("d/f/p=1/")] == ["d/f/p=1/a.json", "d/f/p=1/deep/b.json"]
    assert [o.key for o in listing.match("d/*/p=1/a.json")] == ["d/f/p=1/a.json"]


def test_malformed_pack_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "engine_outputs.catalogue.yaml").write_text("outputs: [ {output_id: x} ]\n")
    (tmp_path / "engine_gates.map.yaml").write_text("gates: []\n")
    with pytest.raises(OracleError) as exc:
        load_interface_pack(tmp_path)
    assert exc.value.code == "INTERFACE_PACK_INVALID"
    with pytest.raises(OracleError) as exc:
        load_interface_pack(tmp_path / "nope")
    assert exc.value.code == "INTERFACE_PACK_INVALID"
