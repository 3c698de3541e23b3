"""Stream views: order (re-read independently), schema identity, receipts that catch every
dropped, duplicated or altered row, idempotent rerun, refusal of tampered and partial views."""

from __future__ import annotations

import itertools
import json
import shutil
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.engine import EngineOptions
from oracle_tui.core.errors import OracleError
from oracle_tui.core.interface_pack import builtin_pack_dir, load_interface_pack
from oracle_tui.core.pack import open_pack
from oracle_tui.core.profiles import load_profile
from oracle_tui.core.progress import Cancelled
from oracle_tui.core.views.build import RECEIPT, build_stream_view
from oracle_tui.core.views.reader import open_stream_view
from oracle_tui.core.views.sort import SortKey, raw_stats, scan_sql
from oracle_tui.core.views.verify import verify_stream_view
from tests.conftest import REPO, CliRunner, S3Env, run_cli_here, run_cli_process, s3_lists
from tests.engine import edit_view_receipt, reissue_evidence

OUT = "s3_event_stream_with_fraud_6B"


def _view_dir(root: str, output_id: str = OUT) -> Path:
    return Path(root) / "stream_view" / "ts_utc" / f"output_id={output_id}"


def _instant(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def _expected_rows(root: str, output_id: str = OUT) -> list[dict[str, Any]]:
    """The contract's order, computed without DuckDB: instant, source file, row number."""
    parts = sorted(str(p) for p in Path(root).glob(f"data/**/{output_id}/**/part-*.parquet"))
    rows = []
    for path in parts:
        for i, row in enumerate(pq.read_table(path).to_pylist()):
            rows.append((_instant(row["ts_utc"]), path, i, row))
    rows.sort(key=lambda r: r[:3])
    return [r[3] for r in rows]


def _view_rows(root: str, output_id: str = OUT) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for part in sorted(_view_dir(root, output_id).glob("part-*.parquet")):
        rows.extend(pq.read_table(part).to_pylist())  # each part read on its own
    return rows


def test_view_is_globally_ordered_with_exact_schema_and_rows(world: DemoWorld) -> None:
    result = build_stream_view(world.root, OUT, engine=EngineOptions(memory_limit="64MB"), rows_per_part=700)
    assert result.status == "BUILT"
    parts = sorted(_view_dir(world.root).glob("part-*.parquet"))
    assert [p.name for p in parts] == [f"part-{i:05d}.parquet" for i in range(6)]
    # ceil(4000 / 700) = 6 key ranges, cut at sample quantiles: parts of similar size.
    counts = [r["row_count"] for r in result.receipt["parts"]]
    assert sum(counts) == 4000 and all(550 <= c <= 800 for c in counts)
    source_schema = pq.read_schema(next(Path(world.root).glob(f"data/**/{OUT}/**/part-00000.parquet")))
    for part in parts:
        assert pq.read_schema(part).remove_metadata() == source_schema.remove_metadata()
    # Each part's last key <= the next part's first key, read part by part.
    bounds = [(pq.read_table(p).column("ts_utc").to_pylist()) for p in parts]
    for a, b in itertools.pairwise(bounds):
        assert _instant(a[-1]) <= _instant(b[0])
    assert _view_rows(world.root) == _expected_rows(world.root)
    doc = json.loads((_view_dir(world.root) / RECEIPT).read_text())
    receipt = doc["extensions"]["oracle_tui"]
    assert doc["status"] == "OK" and doc["raw_stats"]["row_count"] == 4000
    assert receipt["sort_keys"] == ["ts_utc", "filename", "file_row_number"]
    assert receipt["source"]["row_count"] == receipt["view"]["row_count"] == 4000
    assert receipt["hash"]["engine"] == "duckdb" and receipt["hash"]["engine_version"] == duckdb.__version__
    assert receipt["partitioning"]["layout"] == "flat"
    schema = json.loads((REPO / "oracle_tui" / "schemas"
                         / "stream_sort_receipt.schema.json").read_text())
    from jsonschema import Draft202012Validator

    assert list(Draft202012Validator(schema).iter_errors(doc)) == []
    manifest_schema = json.loads((REPO / "oracle_tui" / "schemas"
                                  / "stream_view_manifest.schema.json").read_text())
    manifest = json.loads((_view_dir(world.root) / "_stream_view_manifest.json").read_text())
    assert list(Draft202012Validator(manifest_schema).iter_errors(manifest)) == []


def test_rerun_is_a_noop_and_verify_passes(world: DemoWorld) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in _view_dir(world.root).iterdir()}
    res = run_cli_here("stream-view", "build", world.root, "--output-id", OUT, "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["status"] == "ALREADY_VALID"
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in _view_dir(world.root).iterdir()}
    assert after == before
    state = verify_stream_view(world.root, OUT)
    assert (state.state, state.findings) == ("VALID", [])
    res = run_cli_here("stream-view", "verify", world.root, "--output-id", OUT)
    assert res.code == 0 and res.out.startswith("VALID")


def _rewrite_part(root: str, mutate: Any) -> None:
    """Tamper with part 0 and fix up its size and sha256 in the receipt, as an attacker
    would: only the row-level stats can still tell."""
    import hashlib

    vdir = _view_dir(root)
    part = vdir / "part-00000.parquet"
    table = mutate(pq.read_table(part))
    pq.write_table(table, part, compression="zstd")

    def fix_up(receipt: dict[str, Any]) -> None:
        entry = receipt["parts"][0]
        entry["size"] = part.stat().st_size
        entry["sha256"] = hashlib.sha256(part.read_bytes()).hexdigest()
        entry["row_count"] = table.num_rows
        receipt["view"]["row_count"] = sum(p["row_count"] for p in receipt["parts"])
        receipt["source"]["row_count"] = receipt["view"]["row_count"]

    edit_view_receipt(vdir / RECEIPT, fix_up)


def _drop_one(t: pa.Table) -> pa.Table:
    return t.slice(1)


def _dup_one(t: pa.Table) -> pa.Table:
    return pa.concat_tables([t.slice(0, 1), t])


def _dup_two(t: pa.Table) -> pa.Table:
    return pa.concat_tables([t.slice(0, 2), t])


def _alter_one(t: pa.Table) -> pa.Table:
    amounts = t.column("amount").to_pylist()
    amounts[3] = amounts[3] + 0.01
    return t.set_column(t.schema.get_field_index("amount"), "amount", pa.array(amounts))


@pytest.mark.parametrize("mutate", [_drop_one, _dup_one, _dup_two, _alter_one],
                         ids=["dropped", "duplicated", "two-duplicated", "altered"])
def test_receipt_catches_row_level_tampering(world: DemoWorld, mutate: Any) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1000)
    _rewrite_part(world.root, mutate)
    state = verify_stream_view(world.root, OUT)
    assert state.state == "INVALID"
    codes = {f.code for f in state.findings}
    assert codes <= {"STREAM_RECEIPT_MISMATCH", "STREAM_ORDER_VIOLATION"}
    # Caught by the part's size and footer before any hashing, or by the row-hash sums.
    assert any(f.code == "STREAM_RECEIPT_MISMATCH" and (
        "row-hash sums differ" in f.detail or "row" in f.detail or "bytes" in f.detail)
        for f in state.findings)


def test_hash_sums_catch_an_even_number_of_duplicates_at_equal_count(tmp_path: Path) -> None:
    con = duckdb.connect()
    base = pa.table({"ts_utc": [f"2026-01-01T00:00:0{i}Z" for i in range(6)],
                     "v": [1, 2, 3, 4, 5, 6]})
    # Rows 4 and 5 removed, row 0 present three times: same count, an even number of extra
    # copies (an XOR of row hashes would be fooled).
    tampered = pa.concat_tables([base.slice(0, 4), base.slice(0, 1), base.slice(0, 1)])
    stats = []
    for i, t in enumerate((base, tampered)):
        path = str(tmp_path / f"even-{i}.parquet")
        pq.write_table(t, path)
        key = SortKey(column="ts_utc", expr="CAST(ts_utc AS TIMESTAMPTZ)", kind="epoch")
        stats.append(raw_stats(con, scan_sql([path]), key, ["ts_utc", "v"]).shown(key))
    assert stats[0].row_count == stats[1].row_count == 6
    assert stats[0].hash_sum != stats[1].hash_sum
    assert stats[0].hash_sum_salted != stats[1].hash_sum_salted


def test_tampered_view_is_never_overwritten(world: DemoWorld) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    part = _view_dir(world.root) / "part-00001.parquet"
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x40
    part.write_bytes(bytes(data))
    before = {p.name: p.read_bytes() for p in _view_dir(world.root).iterdir()}
    res = run_cli_here("stream-view", "build", world.root, "--output-id", OUT)
    assert res.code == 1
    assert res.err.startswith("oracle-tui: STREAM_RECEIPT_MISMATCH:")
    assert {p.name: p.read_bytes() for p in _view_dir(world.root).iterdir()} == before
    with pytest.raises(OracleError) as exc:
        list(open_stream_view(world.root, OUT))
    assert exc.value.code == "STREAM_RECEIPT_MISMATCH"


def test_parts_without_receipt_are_refused(world: DemoWorld, cli: CliRunner) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    (_view_dir(world.root) / RECEIPT).unlink()
    before = sorted(p.name for p in _view_dir(world.root).iterdir())
    res = run_cli_here("stream-view", "build", world.root, "--output-id", OUT)
    assert res.code == 1 and "STREAM_VIEW_PARTIAL_EXISTS" in res.err
    assert sorted(p.name for p in _view_dir(world.root).iterdir()) == before
    check = cli("check", world.root, "--json")
    doc = json.loads(check.out)
    assert ("STREAM_VIEW_PARTIAL_EXISTS", OUT) in {(f["code"], f["subject"]) for f in doc["findings"]}
    assert check.code == 1


def test_check_reports_view_states(world: DemoWorld, cli: CliRunner) -> None:
    build_stream_view(world.root, OUT)
    doc = json.loads(cli("check", world.root, "--json").out)
    states = {s["output_id"]: s["state"] for s in doc["stream_views"]}
    assert states[OUT] == "VALID" and states["arrival_events_5B"] == "MISSING"
    missing = [f for f in doc["findings"] if f["code"] == "STREAM_VIEW_MISSING"]
    assert {f["severity"] for f in missing} == {"INFO"}
    doc = json.loads(cli("check", world.root, "--json", "--profile", "dev").out)
    assert {f["severity"] for f in doc["findings"] if f["code"] == "STREAM_VIEW_MISSING"} == {"WARN"}
    receipt = _view_dir(world.root) / RECEIPT
    receipt.write_text(receipt.read_text().replace('"row_count": 4000', '"row_count": 3999', 1))
    doc = json.loads(cli("check", world.root, "--json").out)
    assert ("STREAM_RECEIPT_MISMATCH", OUT) in {(f["code"], f["subject"]) for f in doc["findings"]}


def test_mixed_offset_rfc3339_orders_by_instant(world: DemoWorld) -> None:
    parts = sorted(Path(world.root).glob(f"data/**/{OUT}/**/part-*.parquet"))
    template = pq.read_table(parts[0]).slice(0, 3)
    stamps = ["2026-01-01T10:00:00+02:00", "2026-01-01T09:00:00Z", "2026-01-01T03:30:00-05:00"]
    table = template.set_column(template.schema.get_field_index("ts_utc"), "ts_utc",
                                pa.array(stamps))
    for p in parts:
        p.unlink()
    pq.write_table(table, parts[0])
    reissue_evidence(world)
    build_stream_view(world.root, OUT)
    got = [r["ts_utc"] for r in _view_rows(world.root)]
    assert got == ["2026-01-01T10:00:00+02:00", "2026-01-01T03:30:00-05:00",
                   "2026-01-01T09:00:00Z"]


def test_timestamp_typed_sort_key(world: DemoWorld) -> None:
    parts = sorted(Path(world.root).glob(f"data/**/{OUT}/**/part-*.parquet"))
    for p in parts:
        t = pq.read_table(p)
        ts = pa.array([_instant(x) for x in t.column("ts_utc").to_pylist()],
                      type=pa.timestamp("us", tz="UTC"))
        pq.write_table(t.set_column(t.schema.get_field_index("ts_utc"), "ts_utc", ts), p)
    reissue_evidence(world)
    result = build_stream_view(world.root, OUT, rows_per_part=1000)
    rows = _view_rows(world.root)
    assert [r["ts_utc"] for r in rows] == sorted(r["ts_utc"] for r in rows)
    assert pq.read_schema(_view_dir(world.root) / "part-00000.parquet").field("ts_utc").type == \
        pa.timestamp("us", tz="UTC")
    assert result.receipt["view"]["min_ts"].endswith("Z")


def test_missing_sort_key_and_overrides(world: DemoWorld, tmp_path: Path) -> None:
    # The reference pack sorts s4_event_labels_6B (no ts_utc) by flow_id, event_seq.
    result = build_stream_view(world.root, "s4_event_labels_6B", rows_per_part=1000)
    assert result.receipt["sort_keys"] == ["flow_id", "event_seq", "filename", "file_row_number"]
    rows = _view_rows(world.root, "s4_event_labels_6B")
    keys = [(r["flow_id"], r["event_seq"]) for r in rows]
    assert keys == sorted(keys) and len(keys) == 4000
    pack_dir = tmp_path / "pack"
    shutil.copytree(builtin_pack_dir(), pack_dir)
    cat = pack_dir / "engine_outputs.catalogue.yaml"
    cat.write_text(cat.read_text().replace("  stream_sort_keys: [flow_id, event_seq]\n", ""))
    shutil.rmtree(_view_dir(world.root, "s4_event_labels_6B"))
    with pytest.raises(OracleError) as exc:
        build_stream_view(open_pack(world.root, interface_pack=load_interface_pack(pack_dir)), "s4_event_labels_6B")
    assert exc.value.code == "MISSING_SORT_KEY"
    vdir = _view_dir(world.root, "s4_event_labels_6B")
    assert not vdir.exists() or list(vdir.iterdir()) == []


def test_build_refuses_when_gates_do_not_pass(world: DemoWorld) -> None:
    flag = next(Path(world.root).glob("data/layer3/6B/validation/*/_passed.flag"))
    flag.write_text("sha256_hex = " + "0" * 64 + "\n")
    res = run_cli_here("stream-view", "build", world.root, "--output-id", OUT)
    assert res.code == 1
    assert res.err.startswith("oracle-tui: GATE_EVIDENCE_MISMATCH: build refused")
    assert not _view_dir(world.root).exists()


def test_strict_profile_refuses_an_unsealed_pack(world: DemoWorld, sealed_world: DemoWorld) -> None:
    with pytest.raises(OracleError) as exc:
        build_stream_view(open_pack(world.root, profile=load_profile("dev", env={})), OUT)
    assert exc.value.code == "PACK_NOT_SEALED"
    result = build_stream_view(open_pack(sealed_world.root, profile=load_profile("dev", env={})), OUT)
    assert result.status == "BUILT"
    from oracle_tui.core.check import run_check

    report = run_check(sealed_world.root, strict_seal=True, verify_digests=True)
    assert (report.verdict, report.actionable()) == ("PASS", [])  # views are not pack content


def test_cancel_leaves_no_view(world: DemoWorld) -> None:
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done > 0:
            cancel.set()

    with pytest.raises(Cancelled):
        build_stream_view(world.root, OUT, rows_per_part=500, progress=progress, cancel=cancel)
    vdir = _view_dir(world.root)
    assert not vdir.exists() or list(vdir.iterdir()) == []
    assert build_stream_view(world.root, OUT).status == "BUILT"


def test_engine_version_mismatch_is_a_distinct_warning(world: DemoWorld) -> None:
    build_stream_view(world.root, OUT)

    def older_engine(doc: dict[str, Any]) -> None:
        doc["hash"]["engine_version"] = "0.9.2"
        doc["view"]["hash_sum"] = doc["source"]["hash_sum"] = "12345"

    edit_view_receipt(_view_dir(world.root) / RECEIPT, older_engine)
    state = verify_stream_view(world.root, OUT)
    assert [(f.code, f.severity.value) for f in state.findings] == [
        ("STREAM_RECEIPT_ENGINE_MISMATCH", "WARN")]
    assert state.state == "VALID"


def test_reader_api(world: DemoWorld) -> None:
    fallback = open_stream_view(world.root, OUT)
    assert fallback.source == "raw_fallback"
    # The reader reads an unsealed pack (local profile), and says so.
    assert [f.code for f in fallback.findings] == ["PACK_NOT_SEALED", "STREAM_VIEW_MISSING"]
    assert sum(b.num_rows for b in fallback) == 4000
    with pytest.raises(OracleError) as exc:  # dev seals strictly: an unsealed pack is no read
        open_stream_view(open_pack(world.root, profile=load_profile("dev", env={})), OUT)
    assert exc.value.code == "PACK_NOT_SEALED"
    build_stream_view(world.root, OUT, rows_per_part=900)
    reader = open_stream_view(world.root, OUT)
    assert reader.source == "stream_view"
    assert [(f.code, f.severity.value) for f in reader.findings] == [("PACK_NOT_SEALED", "WARN")]
    rows = [r for b in reader for r in b.to_pylist()]
    assert rows == _expected_rows(world.root)


@pytest.mark.s3
def test_stream_view_on_s3(s3env: S3Env, s3_world: DemoWorld, _pristine_world: DemoWorld) -> None:
    import io

    from oracle_tui.core.storage.s3 import S3Store

    res = run_cli_process("stream-view", "build", s3_world.root, "--output-id", OUT,
                          "--rows-per-part", "1500", "--memory-limit", "128MB", "--json")
    assert res.code == 0, res.err
    receipt = json.loads(res.out)["receipt"]
    assert len(receipt["parts"]) == 3 and sum(p["row_count"] for p in receipt["parts"]) == 4000
    store = S3Store.from_uri(s3_world.root)
    prefix = f"stream_view/ts_utc/output_id={OUT}/"
    keys = sorted(o.key for o in store.list(prefix))
    assert keys == [prefix + n for n in (RECEIPT, "_stream_view_manifest.json",
                                         "part-00000.parquet", "part-00001.parquet",
                                         "part-00002.parquet")]
    rows = []
    for key in keys[2:]:
        rows.extend(pq.read_table(io.BytesIO(store.read_bytes(key))).to_pylist())
    assert rows == _expected_rows(_pristine_world.root)  # same world, read back from S3
    # In-process from here, each command's requests counted: one listing of the root each.
    results: dict[str, Any] = {}

    def cli(name: str, *args: str) -> Callable[[], None]:
        def run() -> None:
            results[name] = run_cli_here(*args)

        return run

    assert s3_lists(s3env, cli("again", "stream-view", "build", s3_world.root, "--output-id",
                               OUT, "--json")) == (1, 1)
    assert results["again"].code == 0, results["again"].err
    assert json.loads(results["again"].out)["status"] == "ALREADY_VALID"
    assert s3_lists(s3env, cli("verify", "stream-view", "verify", s3_world.root,
                               "--output-id", OUT, "--json")) == (1, 1)
    assert results["verify"].code == 0, results["verify"].err
    assert json.loads(results["verify"].out)["state"] == "VALID"

    def read() -> None:
        results["rows"] = [r for b in open_stream_view(s3_world.root, OUT) for r in b.to_pylist()]

    assert s3_lists(s3env, read) == (1, 1)
    assert results["rows"] == rows
    # Tamper with a part in the bucket: verify and rebuild both refuse, nothing is replaced.
    client: Any = s3env.client()
    bucket, root_prefix = s3_world.root[5:].split("/", 1)
    key = root_prefix + prefix + "part-00001.parquet"
    body = bytearray(client.get_object(Bucket=bucket, Key=key)["Body"].read())
    body[200] ^= 0x01
    client.put_object(Bucket=bucket, Key=key, Body=bytes(body))
    verify = run_cli_here("stream-view", "verify", s3_world.root, "--output-id", OUT, "--json")
    assert verify.code == 1
    assert "STREAM_RECEIPT_MISMATCH" in {f["code"] for f in json.loads(verify.out)["findings"]}
    rebuild = run_cli_here("stream-view", "build", s3_world.root, "--output-id", OUT)
    assert rebuild.code == 1 and "STREAM_RECEIPT_MISMATCH" in rebuild.err


def test_stream_view_root_is_profile_wiring(world: DemoWorld, tmp_path: Path) -> None:
    from oracle_tui.core.check import run_check

    views = tmp_path / "views"
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "split.yaml").write_text(
        "profile_id: split\nwiring:\n  stream_view_root: ${VIEWS}\n")
    profile = load_profile("split", tmp_path / "profiles", env={"VIEWS": str(views)})
    result = build_stream_view(open_pack(world.root, profile=profile), OUT)
    assert result.location.startswith(str(views / "ts_utc" / f"output_id={OUT}"))
    assert (views / "ts_utc" / f"output_id={OUT}" / RECEIPT).is_file()
    assert not (Path(world.root) / "stream_view").exists()  # the pack itself is untouched
    states = {s.output_id: s.state for s in run_check(open_pack(world.root, profile=profile)).stream_views}
    assert states[OUT] == "VALID"
    states = {s.output_id: s.state for s in run_check(world.root).stream_views}
    assert states[OUT] == "MISSING"
    reader = open_stream_view(open_pack(world.root, profile=profile), OUT)
    assert reader.source == "stream_view"
    assert sum(b.num_rows for b in reader) == 4000


def test_profile_sort_key_override_wins(world: DemoWorld, tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "profile_id: p\nwiring:\n  stream_sort_keys:\n"
        f"    {OUT}: [flow_id, event_seq]\n")
    profile = load_profile("p", tmp_path, env={})
    result = build_stream_view(open_pack(world.root, profile=profile), OUT)
    assert result.receipt["sort_keys"] == ["flow_id", "event_seq", "filename",
                                           "file_row_number"]
    keys = [(r["flow_id"], r["event_seq"]) for r in _view_rows(world.root)]
    assert keys == sorted(keys) and len(keys) == 4000
    assert verify_stream_view(open_pack(world.root, profile=profile), OUT).state == "VALID"


def test_a_build_leaves_nothing_in_the_temp_folder(world: DemoWorld, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """No --temp-dir: the build's own spill and copy folders go with it, whole."""
    import tempfile

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    build_stream_view(world.root, OUT, rows_per_part=1500)
    assert sorted(p.name for p in temp.iterdir()) == []
