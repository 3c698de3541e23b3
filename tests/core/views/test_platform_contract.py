"""What oracle-tui writes is exactly what the platform's contracts allow, and its view receipts
carry the platform sorter's own stats.

Every document this tool writes that has an upstream schema is judged by the upstream schema
file itself (tests/upstream.py reads it from the interface pack; nothing is copied), on local
disk and on S3. The platform's stats are re-derived here by an independent transcription of
its stream sorter's queries (``_duckdb_columns``, ``_build_raw_query_for_output_with_columns``,
``_build_stats_query_for_files``, ``_compute_stats``): DESCRIBE over the output's glob, the
payload hash over the columns in name order, the key cast to TIMESTAMP, isoformat().
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.interface_pack import load_interface_pack, render_template
from oracle_tui.core.jsonio import canonical_json
from oracle_tui.core.locators import locator_for
from oracle_tui.core.views.build import build_stream_view
from oracle_tui.core.views.verify import verify_stream_view
from tests.conftest import S3Env, run_cli_here
from tests.engine import reissue_evidence
from tests.upstream import upstream_errors

OUT = "s3_event_stream_with_fraud_6B"
MANIFEST = "oracle_store_contracts/oracle_pack_manifest"
SEAL = "oracle_store_contracts/oracle_pack_seal"


def _seal(root: str, *extra: str) -> Any:
    return run_cli_here("seal", root, "--scenario-id", "baseline_v1", "--engine-release",
                           "demo-1.0", "--yes", *extra)


def _json(path: Path) -> Any:
    return json.loads(path.read_text())


def _fails(report: Any) -> set[tuple[str, str]]:
    return {(f.code, f.subject) for f in report.findings if f.severity.value == "FAIL"}


# -- every written document, judged by the upstream schema files ------------------------------

def test_every_document_written_on_disk_is_valid_under_the_upstream_schemas(
        world: DemoWorld) -> None:
    root = Path(world.root)
    assert upstream_errors("contracts/run_receipt", _json(root / "run_receipt.json")) == []
    assert _seal(world.root).code == 0
    assert upstream_errors(MANIFEST, _json(root / "_oracle_pack_manifest.json")) == []
    assert upstream_errors(SEAL, _json(root / "_SEALED.json")) == []
    report = run_cli_here("check", world.root, "--json")
    doc = json.loads(report.out)
    assert len(doc["gate_receipts"]) == 4
    for receipt in doc["gate_receipts"]:
        assert upstream_errors("contracts/gate_receipt", receipt) == []
    pack = load_interface_pack()
    for output_id in sorted(pack.outputs):
        loc = run_cli_here("locate", world.root, "--output-id", output_id)
        assert loc.code == 0, loc.err
        locator = json.loads(loc.out)["locator"]
        assert upstream_errors("contracts/engine_output_locator", locator) == [], output_id
    assert run_cli_here("tombstone", world.root, "--reason", "r", "--authority", "a",
                           "--yes").code == 0
    # Tombstoning leaves the v1 documents as they were: still valid.
    assert upstream_errors(MANIFEST, _json(root / "_oracle_pack_manifest.json")) == []


@pytest.mark.s3
def test_every_document_written_on_s3_is_valid_under_the_upstream_schemas(
        s3env: S3Env, s3_world: DemoWorld) -> None:
    assert _seal(s3_world.root).code == 0
    client: Any = s3env.client()
    bucket, _, prefix = s3_world.root[len("s3://"):].partition("/")

    def get(name: str) -> Any:
        return json.loads(client.get_object(Bucket=bucket, Key=prefix + name)["Body"].read())

    assert upstream_errors(MANIFEST, get("_oracle_pack_manifest.json")) == []
    assert upstream_errors(SEAL, get("_SEALED.json")) == []
    assert upstream_errors("contracts/run_receipt", get("run_receipt.json")) == []
    assert sorted(get("_oracle_tui_seal_binding.json")) == [
        "content_index", "gates", "manifest_sha256", "oracle_pack_id", "run_id", "schema", "tool"]
    report = run_check(s3_world.root, strict_seal=True, verify_digests=True)
    assert (report.verdict, report.actionable()) == ("PASS", [])


def test_the_locator_of_every_upstream_output_is_valid(world: DemoWorld,
                                                       upstream_pack_dir: Path) -> None:
    pack = load_interface_pack(upstream_pack_dir)
    for output_id in sorted(pack.outputs):
        loc = locator_for(pack, world.world_key, output_id, world.run_id)
        assert upstream_errors("contracts/engine_output_locator", loc) == [], output_id


# -- what check reads, judged the same way -----------------------------------------------------

@pytest.mark.parametrize(("name", "edit", "code", "words"), [
    ("_oracle_pack_manifest.json", lambda d: d.update(notes="x"), "PACK_MANIFEST_INVALID",
     "Additional properties are not allowed ('notes' was unexpected)"),
    ("_oracle_pack_manifest.json", lambda d: d["world_key"].update(run_id="0" * 32),
     "PACK_MANIFEST_INVALID", "Additional properties are not allowed ('run_id' was unexpected)"),
    ("_oracle_pack_manifest.json", lambda d: d.pop("gate_map_digest"), "PACK_MANIFEST_INVALID",
     "'gate_map_digest' is a required property"),
    ("_SEALED.json", lambda d: d.update(extensions={"x": 1}), "PACK_SEAL_INVALID",
     "Additional properties are not allowed ('extensions' was unexpected)"),
    ("_SEALED.json", lambda d: d.update(seal_status="OK"), "PACK_SEAL_INVALID",
     "'OK' is not one of ['SEALED_OK', 'SEALED_FAILED']"),
])
def test_check_refuses_a_control_file_the_platform_refuses(sealed_world: DemoWorld, name: str,
                                                           edit: Any, code: str,
                                                           words: str) -> None:
    path = Path(sealed_world.root) / name
    doc = _json(path)
    edit(doc)
    path.write_bytes(canonical_json(doc))
    assert upstream_errors(MANIFEST if "manifest" in name else SEAL, doc) != []
    res = run_cli_here("check", sealed_world.root, "--json")
    assert res.code == 1
    report = json.loads(res.out)
    found = [f for f in report["findings"] if f["code"] == code]
    assert [f["subject"] for f in found] == [name]
    assert words in found[0]["detail"]
    assert {o["status"] for o in report["outputs"]} == {"BLOCKED"}


def test_a_pack_sealed_by_oracle_tui_0_1_is_outdated_and_left_alone(
        sealed_world: DemoWorld) -> None:
    root = Path(sealed_world.root)
    binding = _json(root / "_oracle_tui_seal_binding.json")
    manifest = _json(root / "_oracle_pack_manifest.json")
    seal = _json(root / "_SEALED.json")
    manifest["extensions"] = {"oracle_tui": {
        "schema": "oracle-tui.manifest-ext/1", "run_id": binding["run_id"],
        "content_index": binding["content_index"], "gates": binding["gates"]}}
    seal["extensions"] = {"oracle_tui": {"schema": "oracle-tui.seal-ext/1",
                                         "manifest_sha256": "0" * 64}}
    (root / "_oracle_tui_seal_binding.json").unlink()
    (root / "_oracle_pack_manifest.json").write_bytes(canonical_json(manifest))
    (root / "_SEALED.json").write_bytes(canonical_json(seal))
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    report = run_check(sealed_world.root)
    assert _fails(report) == {("PACK_LAYOUT_OUTDATED", "_oracle_pack_manifest.json"),
                              ("PACK_LAYOUT_OUTDATED", "_SEALED.json")}
    assert all(o.status == "BLOCKED" for o in report.outputs)
    res = _seal(sealed_world.root)
    assert res.code == 1
    assert res.err.strip().splitlines()[-1].startswith("oracle-tui: PACK_LAYOUT_OUTDATED: ")
    explain = run_cli_here("explain", "PACK_LAYOUT_OUTDATED")
    assert "new root" in explain.out and "tombstone" in explain.out
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def _seal_as_another_tool(root: Path, release: str = "2.0") -> dict[str, Any]:
    """The platform's own packer: v1 manifest and seal only ("v0", isoformat() times)."""
    pack = load_interface_pack()
    receipt = _json(root / "run_receipt.json")
    wk = {"manifest_fingerprint": receipt["manifest_fingerprint"],
          "parameter_hash": receipt["parameter_hash"], "scenario_id": "baseline_v1",
          "seed": receipt["seed"]}
    import hashlib
    pack_id = hashlib.sha256(
        f"{wk['manifest_fingerprint']}|{wk['parameter_hash']}|baseline_v1|{wk['seed']}|"
        f"{release}|{pack.catalogue_digest}|{pack.gate_map_digest}".encode()).hexdigest()
    now = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC).isoformat()
    manifest = {"version": "v0", "oracle_pack_id": pack_id, "world_key": wk,
                "engine_release": release, "catalogue_digest": pack.catalogue_digest,
                "gate_map_digest": pack.gate_map_digest, "created_at_utc": now}
    seal = {"version": "v0", "oracle_pack_id": pack_id, "seal_status": "SEALED_OK",
            "sealed_at_utc": now}
    (root / "_oracle_pack_manifest.json").write_text(json.dumps(manifest))
    (root / "_SEALED.json").write_text(json.dumps(seal))
    return manifest


def test_a_pack_sealed_by_another_tool_is_checked_as_far_as_v1_allows(world: DemoWorld) -> None:
    root = Path(world.root)
    _seal_as_another_tool(root)
    local = run_check(world.root)
    assert local.verdict == "WARN" and local.seal.lifecycle == "SEALED_OK"
    assert [(f.code, f.severity.value) for f in local.actionable()] == [
        ("SEAL_BINDING_MISSING", "WARN")]
    assert "nothing proves the files are those that were sealed" in local.actionable()[0].detail
    strict = run_check(world.root, strict_seal=True)
    assert _fails(strict) == {("SEAL_BINDING_MISSING", "_oracle_tui_seal_binding.json")}
    assert all(o.status == "BLOCKED" for o in strict.outputs)
    # What v1 does allow is still checked: the pack id is derived from the manifest.
    manifest = _json(root / "_oracle_pack_manifest.json")
    manifest["engine_release"] = "2.1"
    (root / "_oracle_pack_manifest.json").write_text(json.dumps(manifest))
    assert ("MANIFEST_MISMATCH", "_oracle_pack_manifest.json") in _fails(run_check(world.root))


def test_a_seal_binding_removed_from_a_pack_oracle_tui_sealed_fails(
        sealed_world: DemoWorld) -> None:
    (Path(sealed_world.root) / "_oracle_tui_seal_binding.json").unlink()
    report = run_check(sealed_world.root)
    assert _fails(report) == {("SEAL_MISMATCH", "_oracle_tui_seal_binding.json")}


@pytest.mark.parametrize("sealed", [False, True])
def test_a_sealed_flag_the_platform_would_take_for_a_seal_fails(world: DemoWorld,
                                                                sealed: bool) -> None:
    if sealed:
        assert _seal(world.root).code == 0
    (Path(world.root) / "_SEALED.flag").write_text("ok\n")
    report = run_check(world.root)
    assert ("UNEXPECTED_FILE", "_SEALED.flag") in _fails(report)
    assert all(o.status == "BLOCKED" for o in report.outputs)


# -- the platform's producer, as its own code runs --------------------------------------------

class Refused(Exception):
    pass


def _producer_accepts(root: str, scenario_id: str, strict: bool) -> None:
    """``WorldStreamProducer.stream_engine_world`` up to streaming (runner.py): the run
    receipt gives the world key; the pack manifest must exist under a strict profile, must
    validate against oracle_pack_manifest.schema.yaml and name this world; a seal
    (_SEALED.flag or _SEALED.json) must exist under a strict profile."""
    base = Path(root)
    receipt = _json(base / "run_receipt.json")
    manifest_path = base / "_oracle_pack_manifest.json"
    if not manifest_path.exists():
        if strict:
            raise Refused("PACK_MANIFEST_MISSING")
    else:
        try:
            payload = json.loads(manifest_path.read_text(encoding="utf-8"))
            if upstream_errors(MANIFEST, payload):
                raise ValueError("schema")
        except ValueError as exc:
            raise Refused("PACK_MANIFEST_INVALID") from exc
        stored = payload.get("world_key") or {}
        for field in ("manifest_fingerprint", "parameter_hash"):
            if stored.get(field) != receipt[field]:
                raise Refused("WORLD_KEY_MISMATCH")
        if stored.get("scenario_id") != scenario_id or int(stored.get("seed", -1)) != int(
                receipt["seed"]):
            raise Refused("WORLD_KEY_MISMATCH")
    sealed = (base / "_SEALED.flag").exists() or (base / "_SEALED.json").exists()
    if strict and not sealed:
        raise Refused("PACK_NOT_SEALED")


def _view_rows(root: str) -> list[dict[str, Any]]:
    """``_stream_output``: receipt status OK (or absent), the manifest's id and output when
    present, then every *.parquet in the folder in name order."""
    from tests.core.views.test_producer import _local_producer

    return _local_producer(root, "baseline_v1").rows(OUT)


def test_the_producer_accepts_a_pack_sealed_and_viewed_by_oracle_tui(world: DemoWorld) -> None:
    assert _seal(world.root).code == 0
    build_stream_view(world.root, OUT, rows_per_part=1500)
    _producer_accepts(world.root, "baseline_v1", strict=True)
    rows = _view_rows(world.root)
    assert len(rows) == 4000
    # The platform's own order (its sorter's ORDER BY key, filename, file_row_number).
    glob = render_template(load_interface_pack().outputs[OUT].path_template,
                           world.world_key.tokens(world.run_id))
    con = duckdb.connect()
    expected = con.execute(
        f"SELECT * EXCLUDE (filename, file_row_number) FROM read_parquet("
        f"'{world.root}/{glob}', filename=true, file_row_number=true, hive_partitioning=false) "
        "ORDER BY CAST(ts_utc AS TIMESTAMP), filename, file_row_number").to_arrow_table()
    assert rows == expected.to_pylist()


def test_the_producer_refuses_what_check_refuses(sealed_world: DemoWorld,
                                                 tmp_path: Path) -> None:
    cases = {
        "extra-key": (lambda d: d.update(extensions={"oracle_tui": {}}), "PACK_MANIFEST_INVALID",
                      "PACK_LAYOUT_OUTDATED"),
        "another-scenario": (lambda d: d["world_key"].update(scenario_id="other"),
                             "WORLD_KEY_MISMATCH", "WORLD_KEY_MISMATCH"),
    }
    for name, (edit, producer_code, check_code) in cases.items():
        copy = tmp_path / name
        shutil.copytree(sealed_world.root, copy)
        path = copy / "_oracle_pack_manifest.json"
        doc = _json(path)
        edit(doc)
        path.write_bytes(canonical_json(doc))
        with pytest.raises(Refused) as exc:
            _producer_accepts(str(copy), "baseline_v1", strict=True)
        assert str(exc.value) == producer_code
        assert check_code in {c for c, _ in _fails(run_check(str(copy)))}


# -- raw_stats / sorted_stats: the platform sorter's own quantities ----------------------------

def _platform_stats(con: duckdb.DuckDBPyConnection, source: str, key: str,
                    columns: list[str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The platform sorter's stats over ``source`` (a glob or a list literal), transcribed
    from its stream_sorter: returns the stats block and the columns it hashed."""
    if columns is None:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({source}, filename=true, "
                                "file_row_number=true)").fetchall()
        columns = [r[0] for r in described if r[0] not in {"filename", "file_row_number"}]
    select = ", ".join(f'"{c}"' for c in columns)
    hashed = ", ".join(f'"{c}"' for c in sorted(columns))
    query = (f"SELECT {select}, hash({hashed}) AS payload_hash FROM read_parquet({source})")
    expr = f"CAST({key} AS TIMESTAMP)" if key.endswith("_utc") else key
    row = con.execute(f"""SELECT count(*)::BIGINT, min({expr}), max({expr}),
        sum(CAST(payload_hash AS HUGEINT))::HUGEINT,
        sum(CAST(payload_hash % 1000000007 AS BIGINT))::BIGINT FROM ({query})""").fetchone()
    assert row is not None

    def fmt(value: Any) -> str | None:
        if value is None:
            return None
        return value.isoformat() if isinstance(value, dt.datetime) else str(value)

    return {"row_count": int(row[0]), "hash_sum": str(row[3]), "hash_sum2": str(row[4]),
            "min_ts_utc": fmt(row[1]), "max_ts_utc": fmt(row[2])}, columns


def _assert_platform_stats(world: DemoWorld, key: str = "ts_utc") -> dict[str, Any]:
    folder = Path(world.root) / "stream_view" / "ts_utc" / f"output_id={OUT}"
    receipt = _json(folder / "_stream_sort_receipt.json")
    glob = render_template(load_interface_pack().outputs[OUT].path_template,
                           world.world_key.tokens(world.run_id))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    raw, columns = _platform_stats(con, f"'{world.root}/{glob}'", key)
    parts = sorted(str(p) for p in folder.glob("*.parquet"))
    listed = "[" + ", ".join(f"'{p}'" for p in parts) + "]"
    ours = set(pq.read_schema(parts[0]).names)
    sorted_stats, _ = _platform_stats(con, listed, key, [c for c in columns if c in ours])
    assert receipt["raw_stats"] == raw
    assert receipt["sorted_stats"] == sorted_stats
    return receipt


def test_receipt_stats_are_the_platform_sorters_own(world: DemoWorld) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    receipt = _assert_platform_stats(world)
    assert receipt["raw_stats"] == receipt["sorted_stats"]
    low = receipt["raw_stats"]["min_ts_utc"]  # Python's isoformat() of a naive TIMESTAMP
    assert low == dt.datetime.fromisoformat(low).isoformat() and not low.endswith("Z")
    assert receipt["extensions"]["oracle_tui"]["platform_stats_from"] == "build scan"
    assert verify_stream_view(world.root, OUT).state == "VALID"


def _rewrite_sources(world: DemoWorld, change: Any) -> None:
    for path in sorted(Path(world.root).glob(f"data/**/{OUT}/**/part-*.parquet")):
        table = change(pq.read_table(path))
        path.unlink()
        pq.write_table(table, path)
    reissue_evidence(world)


def _column(table: pa.Table, name: str, array: pa.Array) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, pa.field(name, array.type), array)


def test_platform_stats_of_typed_instants_and_a_partition_value_the_rows_disagree_with(
        world: DemoWorld) -> None:
    def typed(table: pa.Table) -> pa.Table:
        ts = [dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
              for v in table.column("ts_utc").to_pylist()]
        table = _column(table, "ts_utc", pa.array(ts, type=pa.timestamp("us", tz="UTC")))
        # The folder says seed=42; the rows say 43: the platform hashes the folder's value.
        return _column(table, "seed", pa.array([43] * table.num_rows, type=pa.uint64()))

    _rewrite_sources(world, typed)
    build_stream_view(world.root, OUT, rows_per_part=1500)
    receipt = _assert_platform_stats(world)
    assert receipt["extensions"]["oracle_tui"]["platform_stats_from"] == "platform scan"
    # The view holds the files' own values, so the platform's sums over it differ from its
    # sums over the source as it reads it; the row counts and bounds do not.
    assert receipt["raw_stats"]["hash_sum"] != receipt["sorted_stats"]["hash_sum"]
    assert receipt["raw_stats"]["max_ts_utc"] == receipt["sorted_stats"]["max_ts_utc"]
    state = verify_stream_view(world.root, OUT)
    assert (state.state, state.findings) == ("VALID", [])


def test_verify_recomputes_the_platform_stats(world: DemoWorld) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    path = Path(world.root) / "stream_view" / "ts_utc" / f"output_id={OUT}" / \
        "_stream_sort_receipt.json"
    doc = _json(path)
    doc["raw_stats"]["hash_sum2"] = "1"
    path.unlink()
    path.write_bytes(canonical_json(doc))
    state = verify_stream_view(world.root, OUT)
    assert state.state == "INVALID"
    assert [f.code for f in state.findings] == ["STREAM_RECEIPT_MISMATCH"]
    assert "raw_stats are not the platform's quantities" in state.findings[0].detail


def test_a_view_built_by_oracle_tui_0_1_is_verified_and_reported_outdated(
        world: DemoWorld) -> None:
    """0.1 hashed the row as one struct in file order and wrote those sums as raw_stats."""
    from oracle_tui.core.duck import connect
    from oracle_tui.core.views.plan import profile_source, sort_plan
    from oracle_tui.core.views.sort import HASH_FUNCTION_0_1, raw_stats, scan_sql

    build_stream_view(world.root, OUT, rows_per_part=1500)
    folder = Path(world.root) / "stream_view" / "ts_utc" / f"output_id={OUT}"
    path = folder / "_stream_sort_receipt.json"
    doc = _json(path)
    ours = doc["extensions"]["oracle_tui"]
    con = connect(stores=[])
    sources = sorted(str(p) for p in Path(world.root).glob(f"data/**/{OUT}/**/*.parquet"))
    profile = profile_source(con, sources, ["ts_utc"])
    key = sort_plan(profile, ["ts_utc"])[0]
    old = raw_stats(con, scan_sql(sources), key, list(profile.types), HASH_FUNCTION_0_1)
    con.close()
    for side, block in (("source", "raw_stats"), ("view", "sorted_stats")):
        ours[side]["hash_sum"] = str(old.hash_sum)
        ours[side]["hash_sum_salted"] = str(old.hash_sum_salted)
        doc[block] = {"row_count": 4000, "hash_sum": str(old.hash_sum),
                      "hash_sum2": str(old.hash_sum_salted), "min_ts_utc": ours[side]["min_ts"],
                      "max_ts_utc": ours[side]["max_ts"]}
    ours["hash"]["function"] = HASH_FUNCTION_0_1
    del ours["platform_stats_from"]
    path.unlink()
    path.write_bytes(canonical_json(doc))
    state = verify_stream_view(world.root, OUT)
    assert state.state == "VALID"
    assert [(f.code, f.severity.value) for f in state.findings] == [
        ("STREAM_VIEW_OUTDATED", "WARN")]
    report = run_check(world.root)
    assert report.verdict == "WARN"
    assert {o.output_id: o.status for o in report.outputs}[OUT] == "READABLE"
    # A 0.1 receipt whose sums do not match its rows is still caught.
    ours["view"]["hash_sum"] = "1"
    path.unlink()
    path.write_bytes(canonical_json(doc))
    state = verify_stream_view(world.root, OUT)
    assert state.state == "INVALID"
