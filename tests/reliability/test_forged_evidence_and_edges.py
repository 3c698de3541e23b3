"""Trust at every door, round 3: each class of the third adversarial round, closed.

Each test breaks a pack the way the round did, asserts the exact code, and that every door
(check, the scoped check the doors ask, the reader, build) refuses what check refuses.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.errors import OracleError
from oracle_tui.core.jsonio import canonical_json
from oracle_tui.core.pack import open_pack
from oracle_tui.core.profiles import load_profile
from oracle_tui.core.views.build import build_stream_view
from oracle_tui.core.views.reader import open_stream_view
from oracle_tui.core.views.verify import verify_stream_view
from tests.conftest import S3Env, run_cli_here, run_cli_process
from tests.engine import edit_view_receipt, reissue_evidence
from tests.reliability.helpers import check, codes, fails, part, rel

OUT = "s3_event_stream_with_fraud_6B"
VIEW = f"stream_view/ts_utc/output_id={OUT}"


def _statuses(report: Any) -> dict[str, str]:
    return {o.output_id: o.status for o in report.outputs}


# -- attribution by name ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["arrival_events_5B", "gate.layer3.6B.validation"])
def test_a_stray_file_named_like_an_output_or_gate_blocks_the_pack(sealed_world: DemoWorld,
                                                                   name: str) -> None:
    (Path(sealed_world.root) / name).write_text("stray")
    rc, doc = check(sealed_world.root)
    assert rc == 1 and fails(doc) == {("UNEXPECTED_FILE", name)}
    assert {o["status"] for o in doc["outputs"]} == {"BLOCKED"}


# -- one decision, any scope ----------------------------------------------------------------------

def _bundle_digest_flag(bundle: Path) -> None:
    files = sorted(p for p in bundle.rglob("*") if p.is_file() and p.name != "_passed.flag")
    data = b"".join(p.read_bytes() for p in sorted(
        files, key=lambda p: p.relative_to(bundle).as_posix()))
    (bundle / "_passed.flag").write_text(f"sha256_hex = {hashlib.sha256(data).hexdigest()}\n")


def test_evidence_of_another_gate_blocks_the_output_in_every_scope(world: DemoWorld) -> None:
    victim = part(world.root)
    bundle = next(Path(world.root).glob("data/layer1/1A/validation/*"))
    planted = bundle / "extra_parts.json"
    planted.write_text(json.dumps(
        [{"path": rel(world.root, victim), "sha256_hex": "0" * 64, "rows": 1000}]))
    # Listed by the bundle's index too, so the gate itself still PASSes.
    index = json.loads((bundle / "index.json").read_text())
    index.append({"path": planted.name,
                  "sha256_hex": hashlib.sha256(planted.read_bytes()).hexdigest()})
    (bundle / "index.json").write_text(json.dumps(index))
    _bundle_digest_flag(bundle)
    full = run_check(world.root)
    scoped = run_check(world.root, output_ids=[OUT])
    assert _statuses(full)[OUT] == _statuses(scoped)[OUT] == "BLOCKED"
    assert ("GATE_EVIDENCE_MISMATCH", rel(world.root, victim)) in {
        (f.code, f.subject) for f in scoped.findings}
    assert _statuses(full)["arrival_events_5B"] == "READABLE"
    with pytest.raises(OracleError):
        list(open_stream_view(world.root, OUT))
    with pytest.raises(OracleError):
        build_stream_view(world.root, OUT)


# -- evidence that no longer parses ----------------------------------------------------------------

def test_bytes_moved_between_bundle_members_fail_the_gate(world: DemoWorld) -> None:
    bundle = next(Path(world.root).glob("data/layer1/1A/validation/*"))
    first, second = bundle / "checks" / "schema.json", bundle / "index.json"
    a, b = first.read_bytes(), second.read_bytes()
    first.write_bytes(a[:-2])          # the same concatenation: the flag still matches
    second.write_bytes(a[-2:] + b)
    report = run_check(world.root)
    gate = {g.gate_id: g for g in report.gates}["gate.layer1.1A.validation"]
    assert gate.status == "FAIL"
    assert gate.recomputed_digest == gate.expected_digest
    details = [f.detail for f in report.findings if f.subject == "gate.layer1.1A.validation"]
    assert any("checks/schema.json does not parse" in d for d in details)
    assert all(s == "BLOCKED" for s in _statuses(report).values())


# -- Parquet that lies -----------------------------------------------------------------------------

def _varint(n: int) -> bytes:
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def test_a_footer_row_count_its_row_groups_do_not_hold(world: DemoWorld) -> None:
    p = part(world.root)
    rows = pq.read_metadata(p).num_rows
    data = p.read_bytes()
    # FileMetaData.num_rows (field 3, i64: header 0x16, zigzag varint) before the row groups
    # (field 4, list: header 0x19): the same length, five more rows claimed.
    old = b"\x16" + _varint(rows * 2) + b"\x19"
    new = b"\x16" + _varint((rows + 5) * 2) + b"\x19"
    assert len(old) == len(new) and data.count(old) == 1
    p.write_bytes(data.replace(old, new))
    assert pq.read_metadata(p).num_rows == rows + 5
    reissue_evidence(world)  # the engine validated the lie: evidence agrees with the footer
    rc, doc = check(world.root)
    assert rc == 1 and fails(doc) == {("PARQUET_INVALID", rel(world.root, p))}
    with pytest.raises(OracleError) as exc:
        build_stream_view(world.root, OUT)
    assert exc.value.code == "PARQUET_INVALID"
    assert not (Path(world.root) / "stream_view").exists()


@pytest.mark.parametrize("drift", ["int-for-double", "extra-column"])
def test_parts_of_one_output_with_other_schemas(world: DemoWorld, drift: str) -> None:
    p = part(world.root)
    table = pq.read_table(p)
    if drift == "int-for-double":
        i = table.schema.get_field_index("amount")
        table = table.set_column(i, pa.field("amount", pa.int64()),
                                 pa.array([int(v) for v in table.column("amount").to_pylist()]))
    else:
        table = table.append_column("note", pa.array(["x"] * table.num_rows))
    p.unlink()
    pq.write_table(table, p)
    reissue_evidence(world)
    rc, doc = check(world.root)
    assert rc == 1 and fails(doc) == {("SCHEMA_MISMATCH", rel(world.root, p))}
    with pytest.raises(OracleError) as exc:
        build_stream_view(world.root, OUT)
    assert exc.value.code == "SCHEMA_MISMATCH"


# -- view control files bound to this pack ----------------------------------------------------------

def _edit_doc(path: Path, edit: Any) -> None:
    doc = json.loads(path.read_text())
    edit(doc)
    path.unlink()
    path.write_bytes(canonical_json(doc))


@pytest.mark.parametrize(("case", "code", "words"), [
    ("another-world", "STREAM_RECEIPT_MISMATCH", "another world key"),
    ("another-run", "STREAM_RECEIPT_MISMATCH", "names engine run"),
    ("zeroed-source-digest", "STREAM_RECEIPT_MISMATCH", "source_locator_digest"),
    ("resorted-by-another-key", "STREAM_RECEIPT_MISMATCH", "sorted by ['flow_id'"),
    ("root-renamed", "STREAM_VIEW_MOVED", "written for the root"),
])
def test_every_claim_of_a_view_is_held_to_this_pack(world: DemoWorld, case: str, code: str,
                                                    words: str) -> None:
    from oracle_tui.core.views.documents import stream_view_id

    build_stream_view(world.root, OUT, rows_per_part=1500)
    folder = Path(world.root) / VIEW
    manifest, receipt = folder / "_stream_view_manifest.json", folder / "_stream_sort_receipt.json"
    if case == "another-world":
        _edit_doc(manifest, lambda d: d["world_key"].update(seed=7))
    elif case == "another-run":
        _edit_doc(manifest, lambda d: d.update(engine_run_id="f" * 32))
    elif case == "zeroed-source-digest":
        _edit_doc(receipt, lambda d: d.update(source_locator_digest="0" * 64))
    elif case == "resorted-by-another-key":
        keys = ["flow_id", "filename", "file_row_number"]
        view_id = stream_view_id(world.root, "baseline_v1", OUT, keys)
        for doc in (manifest, receipt):
            _edit_doc(doc, lambda d: d.update(sort_keys=keys, stream_view_id=view_id))
        edit_view_receipt(receipt, lambda r: r.update(sort_keys=keys))
    else:
        other = "/elsewhere/world"
        view_id = stream_view_id(other, "baseline_v1", OUT, ["ts_utc", "filename",
                                                             "file_row_number"])
        for doc in (manifest, receipt):
            _edit_doc(doc, lambda d: d.update(engine_run_root=other, stream_view_id=view_id))
    report = run_check(world.root)
    found = [f for f in report.findings if f.subject == OUT and f.severity.value == "FAIL"]
    assert code in {f.code for f in found}
    assert any(words in f.detail for f in found), [f.detail for f in found]
    assert _statuses(report)[OUT] == "BLOCKED"
    assert verify_stream_view(world.root, OUT).state == "INVALID"
    with pytest.raises(OracleError):
        list(open_stream_view(world.root, OUT))


def test_a_pack_copied_with_its_views_reports_them_moved(world: DemoWorld,
                                                         tmp_path: Path) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    copy = tmp_path / "copy"
    shutil.copytree(world.root, copy)
    report = run_check(str(copy))
    moved = [f for f in report.findings if f.code == "STREAM_VIEW_MOVED"]
    assert [f.subject for f in moved] == [OUT] and str(world.root) in moved[0].detail
    res = run_cli_here("explain", "STREAM_VIEW_MOVED")
    assert "Rebuild the view here under a new stream_view_root" in " ".join(res.out.split())


# -- a receipt cannot switch its own checks off ---------------------------------------------------

def test_an_engine_version_edit_does_not_hide_an_altered_row(world: DemoWorld) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    folder = Path(world.root) / VIEW
    p = folder / "part-00001.parquet"
    table = pq.read_table(p)
    i = table.schema.get_field_index("amount")
    amounts = table.column("amount").to_pylist()
    amounts[3] = amounts[3] + 1.0
    table = table.set_column(i, table.schema.field(i), pa.array(amounts))
    p.unlink()
    pq.write_table(table, p, compression="zstd")

    def forge(r: dict[str, Any]) -> None:
        r["hash"]["engine_version"] = "0.0.1"
        entry = r["parts"][1]
        entry["size"], entry["sha256"] = p.stat().st_size, hashlib.sha256(
            p.read_bytes()).hexdigest()

    edit_view_receipt(folder / "_stream_sort_receipt.json", forge)
    state = verify_stream_view(world.root, OUT)
    assert state.state == "INVALID"
    assert any("does not hold exactly the source's rows" in f.detail for f in state.findings)


# -- raw fallback ------------------------------------------------------------------------------------

def test_the_raw_fallback_refuses_a_part_changed_after_the_check(sealed_world: DemoWorld) -> None:
    reader = open_stream_view(sealed_world.root, OUT)
    assert reader.source == "raw_fallback"
    p = part(sealed_world.root, 2)
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01
    p.write_bytes(bytes(data))  # after the check said READABLE, before the rows are read
    with pytest.raises(OracleError) as exc:
        for _ in reader:
            pass
    assert exc.value.code == "DIGEST_MISMATCH"
    assert "the content index says" in exc.value.message


# -- folders where files belong ------------------------------------------------------------------------

@pytest.mark.parametrize(("where", "verdict"), [
    (f"{VIEW}/part-00009.parquet", "FAIL"),
    ("_TOMBSTONE.json", "FAIL"),
    ("_SEALED.flag", "FAIL"),
    ("logs/empty", "PASS"),
])
def test_an_empty_folder_where_a_file_belongs(sealed_world: DemoWorld, where: str,
                                              verdict: str) -> None:
    (Path(sealed_world.root) / where).mkdir(parents=True)
    rc, doc = check(sealed_world.root, "--strict-seal")
    assert doc["verdict"] == verdict
    if verdict == "FAIL":
        assert rc == 1 and fails(doc) == {("PATH_UNSAFE", where + "/")}
    else:
        assert [(f["code"], f["severity"]) for f in doc["findings"]
                if f["subject"] == where + "/"] == [("PATH_UNSAFE", "INFO")]


def test_an_empty_folder_named_like_a_part_in_an_output(world: DemoWorld) -> None:
    folder = part(world.root).parent / "part-00009.parquet"
    folder.mkdir()
    rc, doc = check(world.root)
    assert rc == 1 and ("PATH_UNSAFE", rel(world.root, folder) + "/") in fails(doc)


# -- writes where none belong ----------------------------------------------------------------------

def test_a_stream_view_root_inside_the_pack_is_refused(world: DemoWorld) -> None:
    profile = load_profile("local", env={"ORACLE_STREAM_VIEW_ROOT": world.root + "/data/views"})
    with pytest.raises(OracleError) as exc:
        build_stream_view(open_pack(world.root, profile=profile), OUT)
    assert exc.value.code == "INPUT_INVALID" and "lies inside the pack" in exc.value.message
    assert not (Path(world.root) / "data" / "views").exists()


def test_stale_scratch_cleanup_keeps_what_this_tool_did_not_make(tmp_path: Path) -> None:
    from oracle_tui.core.storage.local import LocalStore
    from oracle_tui.core.views.cluster import SCRATCH_MARK, remove_stale_scratch, scratch_mark_body

    ours = tmp_path / "20200101T000000Z-0123456789ab"
    theirs = tmp_path / "20200101T000000Z-ba9876543210"
    named_only = tmp_path / "20200101T000000Z-aaaaaaaaaaaa"  # a mark's name, not its bytes
    other_build = tmp_path / "20200101T000000Z-bbbbbbbbbbbb"  # the mark of another build id
    mine_too = tmp_path / "20200101T000000Z-notes.txt"
    for folder in (ours, theirs, named_only, other_build):
        (folder / "parts").mkdir(parents=True)
        (folder / "parts" / "r00000.parquet").write_text("x")
        (folder / "operator.parquet").write_text("operator's")
    (ours / SCRATCH_MARK).write_bytes(scratch_mark_body(ours.name))
    (named_only / SCRATCH_MARK).write_text("m")
    (other_build / SCRATCH_MARK).write_bytes(scratch_mark_body(ours.name))
    mine_too.write_text("operator's own file")
    # Only the file a build writes, in the folder whose mark is this tool's for its id; the
    # operator's file there stays, and so does the mark that claims the folder.
    assert remove_stale_scratch(LocalStore(tmp_path)) == 1
    assert not (ours / "parts" / "r00000.parquet").exists()
    assert (ours / "operator.parquet").read_text() == "operator's"
    assert (ours / SCRATCH_MARK).exists()
    for folder in (theirs, named_only, other_build):
        assert (folder / "parts" / "r00000.parquet").read_text() == "x"
        assert (folder / "operator.parquet").read_text() == "operator's"
    assert mine_too.read_text() == "operator's own file"
    # With nothing of the operator's left in it, the mark goes too.
    (ours / "operator.parquet").unlink()
    assert remove_stale_scratch(LocalStore(tmp_path)) == 1
    assert not (ours / SCRATCH_MARK).exists()


@pytest.mark.parametrize("where", ["device", "under-a-file"])
def test_a_temp_dir_that_cannot_hold_files_is_input_invalid(world: DemoWorld, tmp_path: Path,
                                                            where: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    temp = "/dev/null" if where == "device" else str(blocker / "spill")
    res = run_cli_here("stream-view", "build", world.root, "--output-id", OUT,
                          "--temp-dir", temp)
    assert res.code == 2 and res.err.startswith("oracle-tui: INPUT_INVALID: ")
    assert not (Path(world.root) / "stream_view").exists()


def test_demo_out_under_a_file_is_input_invalid(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    res = run_cli_here("demo", "--out", str(tmp_path / "file" / "world"), "--events", "10")
    assert res.code == 2 and res.err.startswith("oracle-tui: INPUT_INVALID: ")
    assert (tmp_path / "file").read_text() == "x"


# -- operator input and names on every channel -------------------------------------------------------

def test_control_characters_never_reach_a_terminal_raw(world: DemoWorld) -> None:
    name = "evil\x1b[2J\u009b31m\nFAKE oracle-tui: PASS\u0085.log"
    (Path(world.root) / "logs" / name).write_text("x")  # PATH_UNSAFE names it
    text = run_cli_here("check", world.root)
    for stream in (text.out, text.err):
        assert not any(ch in stream for ch in "\x1b\u009b\u0085")
    assert "evil\\x1b[2J\\x9b31m\\x0aFAKE oracle-tui: PASS\\x85.log" in text.out
    assert not any(line.startswith("FAKE") for line in text.out.splitlines())
    res = run_cli_here("check", world.root, "--json")
    doc = json.loads(res.out)
    assert [f["subject"] for f in doc["findings"] if f["code"] == "PATH_UNSAFE"] == [
        f"logs/{name}"]
    assert "\x1b" not in res.out  # JSON escapes it


@pytest.mark.parametrize("args", [
    ["seal", "--scenario-id", "baseline_v1", "--engine-release", "1.0\x1b[2J", "--yes"],
    ["tombstone", "--reason", "bad\u009b", "--authority", "ops", "--yes"],
    ["tombstone", "--reason", "two\nlines", "--authority", "ops", "--yes"],
    ["tombstone", "--reason", "r", "--authority", "ops", "--replacement",
     "s3://AKIDEXAMPLE:wJalrXUtnFEMI@bucket/w2/", "--yes"],
])
def test_operator_values_with_controls_or_credentials_are_refused(world: DemoWorld,
                                                                  args: list[str]) -> None:
    before = sorted(p.name for p in Path(world.root).iterdir())
    res = run_cli_here(args[0], world.root, *args[1:])
    assert res.code == 2 and res.err.startswith("oracle-tui: INPUT_INVALID: ")
    assert len(res.err.strip().splitlines()) == 1
    assert not any(ch in res.err for ch in "\x1b\u009b") and "wJalrXUtnFEMI" not in res.err
    assert sorted(p.name for p in Path(world.root).iterdir()) == before


def test_an_unknown_output_id_with_controls_is_one_escaped_line(world: DemoWorld) -> None:
    res = run_cli_here("check", world.root, "--output-id", "x\x1b[31m\noracle-tui: PASS")
    assert res.code == 2 and len(res.err.strip().splitlines()) == 1
    assert "\x1b" not in res.err and "x\\x1b[31m\\x0aoracle-tui: PASS" in res.err


def test_a_lone_surrogate_in_a_receipt_prints(world: DemoWorld) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    receipt = Path(world.root) / VIEW / "_stream_sort_receipt.json"
    text = receipt.read_text().replace('"status": "OK"', '"status": "\\ud800"')
    receipt.unlink()
    receipt.write_text(text)
    res = run_cli_here("check", world.root)
    assert res.code == 1 and "Traceback" not in res.err
    assert "\\ud800" in res.out


# -- the store's own failures keep their codes ---------------------------------------------------------

@pytest.mark.s3
def test_a_throttled_view_footer_is_throttling_not_a_mismatch(s3env: S3Env, s3_world: DemoWorld,
                                                               tmp_path: Path) -> None:
    if not s3env.read_fault_endpoints:
        pytest.skip("needs the loopback server's fault endpoints")
    build_stream_view(s3_world.root, OUT, rows_per_part=1500)
    (tmp_path / "fast.yaml").write_text(
        "profile_id: fast\nwiring:\n  object_store:\n    endpoint: ${OBJECT_STORE_ENDPOINT}\n"
        "    region: us-east-1\n    max_attempts: 1\n    read_timeout: 5\n")
    res = run_cli_process("check", s3_world.root, "--json", "--profile", "fast",
                          "--profiles-dir", str(tmp_path), env={
                              "OBJECT_STORE_ENDPOINT": s3env.read_fault_endpoints["503-view-ranged"]})
    doc = json.loads(res.out)
    assert res.code == 3
    assert "STORAGE_THROTTLED" in codes(doc) and "STREAM_RECEIPT_MISMATCH" not in codes(doc)


def test_running_out_of_descriptors_is_a_retry(sealed_world: DemoWorld) -> None:
    script = ("import resource, sys\n"
              "resource.setrlimit(resource.RLIMIT_NOFILE, (24, 24))\n"
              "from oracle_tui.cli import main\n"
              "sys.exit(main(['check', sys.argv[1], '--verify-digests', '--json']))\n")
    proc = subprocess.run([sys.executable, "-c", script, sealed_world.root], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    if proc.stdout.strip().startswith("{"):
        doc = json.loads(proc.stdout)
        assert "OBJECT_MISSING" not in codes(doc)
        assert proc.returncode in (0, 3)
        if proc.returncode == 3:
            assert "RESOURCE_EXHAUSTED" in codes(doc)
    else:  # refused before the report: still a retry, never a verdict on the pack
        assert proc.returncode == 3 and "RESOURCE_EXHAUSTED" in proc.stderr


# -- legitimate data, read as it is ----------------------------------------------------------------------

def _rewrite_ts(world: DemoWorld, change: Any) -> None:
    for p in sorted(Path(world.root).glob(f"data/**/{OUT}/**/part-*.parquet")):
        table = pq.read_table(p)
        i = table.schema.get_field_index("ts_utc")
        values = [change(v) for v in table.column("ts_utc").to_pylist()]
        table = table.set_column(i, table.schema.field(i), pa.array(values, pa.string()))
        p.unlink()
        pq.write_table(table, p)
    reissue_evidence(world)


def test_lower_case_rfc3339_is_read_and_a_leading_space_is_refused(world: DemoWorld) -> None:
    _rewrite_ts(world, lambda v: v.replace("T", "t").replace("Z", "z"))
    build_stream_view(world.root, OUT, rows_per_part=1500)
    assert verify_stream_view(world.root, OUT).state == "VALID"
    shutil.rmtree(Path(world.root) / "stream_view")
    _rewrite_ts(world, lambda v: " " + v)
    with pytest.raises(OracleError) as exc:
        build_stream_view(world.root, OUT, rows_per_part=1500)
    assert exc.value.code == "SORT_KEY_INVALID" and "not a valid instant" in exc.value.message


def test_verify_of_a_view_with_null_keys(world: DemoWorld) -> None:
    _rewrite_ts(world, lambda v: None if v.endswith(("1.000000Z", "7.000000Z")) else v)
    build_stream_view(world.root, OUT, rows_per_part=1500)
    state = verify_stream_view(world.root, OUT)
    assert (state.state, state.findings) == ("VALID", [])


@pytest.mark.parametrize("column", ["file_index", "file_row_number", "filename"])
def test_a_column_named_like_a_reader_virtual_column(world: DemoWorld, column: str) -> None:
    for p in sorted(Path(world.root).glob(f"data/**/{OUT}/**/part-*.parquet")):
        table = pq.read_table(p)
        table = table.append_column(column, pa.array([7] * table.num_rows, pa.int64()))
        p.unlink()
        pq.write_table(table, p)
    reissue_evidence(world)
    assert _statuses(run_check(world.root))[OUT] == "READABLE"
    with pytest.raises(OracleError) as exc:
        build_stream_view(world.root, OUT, rows_per_part=1500)
    assert exc.value.code == "STREAM_SOURCE_UNSUPPORTED" and column in exc.value.message
    assert not (Path(world.root) / "stream_view").exists()
    rows = sum(b.num_rows for b in open_stream_view(world.root, OUT))  # raw, as it is
    assert rows == 4000
