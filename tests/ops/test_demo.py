from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from oracle_tui.core.demo import DemoWorld, generate_demo_world
from oracle_tui.core.interface_pack import builtin_pack_dir, render_template
from tests.conftest import UPSTREAM, run_cli_process
from tests.independent import flag_digest, recompute


def _tree_digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_worlds(tmp_path: Path) -> None:
    a = generate_demo_world(tmp_path / "a", events=3_000, seed=7)
    b = generate_demo_world(tmp_path / "b", events=3_000, seed=7)
    c = generate_demo_world(tmp_path / "c", events=3_000, seed=8)
    da, db = _tree_digests(Path(a.root)), _tree_digests(Path(b.root))
    assert da == db
    assert len(da) == a.files == 37
    assert _tree_digests(Path(c.root)) != da
    # Another seed or another size is another world: no shared identity, so no shared pack id.
    d = generate_demo_world(tmp_path / "d", events=3_001, seed=7)
    keys = {(w.run_id, w.world_key.manifest_fingerprint, w.world_key.parameter_hash)
            for w in (a, c, d)}
    assert len(keys) == 3 and len({k[0] for k in keys}) == 3


def test_demo_gates_verify_under_independent_recomputation(tmp_path: Path) -> None:
    world = generate_demo_world(tmp_path / "w", events=2_000)
    root = Path(world.root)
    gmap = yaml.safe_load((builtin_pack_dir() / "engine_gates.map.yaml").read_text())
    tokens = world.world_key.tokens()
    kinds = set()
    for gate in gmap["gates"]:
        bundle = root / render_template(gate["bundle_root_template"], tokens)
        method = dict(gate["verification_method"])
        method["_index"] = render_template(gate["index_path_template"], tokens).rsplit("/", 1)[1]
        expected = flag_digest(root / render_template(gate["passed_flag_path_template"], tokens),
                               method["digest_field"])
        assert recompute(root, bundle, method) == expected, gate["gate_id"]
        kinds.add(method["kind"])
    assert len(kinds) == 3


def test_outputs_have_upstream_columns_and_unsorted_ts_with_ties(world: DemoWorld) -> None:
    root = Path(world.root)
    schemas = yaml.safe_load((UPSTREAM / "segment_schemas" / "schemas.6B.yaml").read_text()) \
        if UPSTREAM.is_dir() else None
    parts = sorted(root.glob("data/layer3/6B/s3_event_stream_with_fraud_6B/**/part-*.parquet"))
    assert len(parts) == 4
    tables = [pq.read_table(p) for p in parts]
    cols = tables[0].column_names
    if schemas is not None:
        required = schemas["s3"]["properties"]["event_stream_with_fraud_6B"]["required"]
        assert set(required) <= set(cols)
    ts = [t.column("ts_utc").to_pylist() for t in tables]
    assert all(x.endswith("Z") for x in ts[0][:10])
    assert ts[0] != sorted(ts[0])  # unsorted within a part
    firsts, lasts = [min(t) for t in ts], [max(t) for t in ts]
    assert any(lasts[i] > firsts[i + 1] for i in range(3))  # overlapping across parts
    flat = [x for t in ts for x in t]
    assert len(set(flat)) < len(flat)  # ties
    assert sum(t.num_rows for t in tables) == 4_000
    arrivals = pq.read_table(next(root.glob("data/layer2/5B/arrival_events/**/part-00000.parquet")))
    if UPSTREAM.is_dir():
        s5b = yaml.safe_load((UPSTREAM / "segment_schemas" / "schemas.5B.yaml").read_text())
        req = s5b["egress"]["s4_arrival_events_5B"]["items"]["required"]
        assert set(req) <= set(arrivals.column_names)


def test_demo_cli_last_line_is_the_root_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = run_cli_process("demo", "--out", str(out), "--events", "500", "--seed", "3")
    assert res.code == 0, res.err
    assert res.out.strip().splitlines()[-1] == str(out)
    assert (out / "run_receipt.json").is_file()
    before = _tree_digests(out)
    again = run_cli_process("demo", "--out", str(out), "--events", "500")
    assert again.code == 2
    assert again.err.strip().startswith("oracle-tui: TARGET_EXISTS:")
    assert "Traceback" not in again.err
    assert _tree_digests(out) == before
