"""Trust round 4 (issue 33): every door decides on bytes it proved, one test per class.

1. doors that use source bytes without proving them (build, verify, reader, locate);
2. a door that shows rows against the pack's decision (the inspector's preview);
3. hashed in place, read by name (the reader);
4. sealed by a file's presence (diff);
5. two stated digests never compared (check --quick, diff --quick);
6. cleanup that trusts a name: tests/reliability/test_forged_evidence_and_edges.py
   (test_stale_scratch_cleanup_keeps_what_this_tool_did_not_make);
7. floods rendered in quadratic time: tests/reliability/test_many_findings.py;
8. interrupts and values at the edges.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.errors import OracleError
from oracle_tui.core.pack import open_pack
from oracle_tui.core.tombstone import tombstone_pack
from oracle_tui.core.views import build as stream_view_mod
from oracle_tui.core.views import reader as view_reader_mod
from oracle_tui.core.views.build import build_stream_view
from oracle_tui.core.views.reader import open_stream_view, preview_rows
from oracle_tui.core.views.verify import verify_stream_view
from tests.conftest import run_cli_here
from tests.reliability.helpers import BINDING, check, part, rechain, rel

OUT = "s3_event_stream_with_fraud_6B"


def _flip(path: Path) -> bytes:
    """Change one byte in the middle of ``path`` (its size stays); returns the old bytes."""
    old = path.read_bytes()
    data = bytearray(old)
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return old


def _view_dir(root: str) -> Path:
    return Path(root) / "stream_view"


# -- 1. doors that use source bytes without proving them -------------------------------------

def test_every_door_refuses_a_source_part_the_default_check_refuses(sealed_world: DemoWorld
                                                                    ) -> None:
    root = sealed_world.root
    source = part(root, 1)
    _flip(source)
    # The default check's answer, which every door below must share.
    code, doc = check(root)
    assert code == 1 and ("DIGEST_MISMATCH", rel(root, source)) in {
        (f["code"], f["subject"]) for f in doc["findings"]}
    build = run_cli_here("stream-view", "build", root, "--output-id", OUT)
    assert build.code == 1 and build.err.startswith("oracle-tui: DIGEST_MISMATCH: build refused: ")
    assert rel(root, source) in build.err
    assert not _view_dir(root).exists()  # nothing written
    with pytest.raises(OracleError) as read:
        open_stream_view(root, OUT)
    assert read.value.code == "DIGEST_MISMATCH"
    located = run_cli_here("locate", root, "--output-id", OUT)
    assert located.code == 1 and located.err.startswith("oracle-tui: DIGEST_MISMATCH: ")
    quick = run_cli_here("locate", root, "--output-id", OUT, "--quick")
    assert quick.code == 0
    assert json.loads(quick.out)["verified"].endswith("digests not re-hashed")


def test_a_view_of_the_sealed_bytes_is_not_valid_once_a_source_part_changed(
        sealed_world: DemoWorld) -> None:
    root = sealed_world.root
    build_stream_view(root, OUT, rows_per_part=1500)
    _flip(part(root, 2))
    state = verify_stream_view(root, OUT)
    assert state.state == "BLOCKED"
    assert [f.code for f in state.findings][:1] == ["DIGEST_MISMATCH"]
    again = run_cli_here("stream-view", "build", root, "--output-id", OUT)
    # Not ALREADY_VALID: the view stands, but the source it claims to hold is not the pack's.
    assert again.code == 1 and again.err.startswith("oracle-tui: DIGEST_MISMATCH: ")


def test_a_part_swapped_after_the_check_and_back_after_the_build_is_never_sorted(
        sealed_world: DemoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    root = sealed_world.root
    source = part(root, 0)
    original = source.read_bytes()
    real_check = stream_view_mod.readability_check

    def check_then_swap(*args: Any, **kwargs: Any) -> Any:
        report = real_check(*args, **kwargs)
        _flip(source)  # right after the decision, before any row is read
        return report

    monkeypatch.setattr(stream_view_mod, "readability_check", check_then_swap)
    with pytest.raises(OracleError) as built:
        build_stream_view(root, OUT, rows_per_part=1500)
    source.write_bytes(original)  # and back, as if nothing happened
    assert built.value.code == "DIGEST_MISMATCH"
    assert built.value.subject == rel(root, source)
    assert not _view_dir(root).exists()
    monkeypatch.undo()
    code, doc = check(root)
    assert (code, doc["verdict"]) == (0, "PASS")
    assert {v["state"] for v in doc["stream_views"]} == {"MISSING"}


# -- 2. a door that shows rows against the pack's decision -------------------------------------

def test_the_preview_follows_the_one_decision_and_reproves_a_changed_part(
        sealed_world: DemoWorld) -> None:
    root = sealed_world.root
    build_stream_view(root, OUT, rows_per_part=1500)
    pack = open_pack(root)
    full = run_check(pack, verify_digests=True)
    cache: view_reader_mod.PreviewCache = {}
    first = preview_rows(pack, full, OUT, cache=cache)
    assert first.num_rows == 20
    # A quick check never lets rows through.
    with pytest.raises(OracleError) as quick:
        preview_rows(open_pack(root), run_check(open_pack(root)), OUT)
    assert quick.value.code == "DIGESTS_NOT_REHASHED"
    # A view part replaced after it was previewed: proven again, refused, never served.
    view_part = sorted(_view_dir(root).rglob("part-00000.parquet"))[0]
    _flip(view_part)
    with pytest.raises(OracleError) as changed:
        preview_rows(pack, full, OUT, cache=cache)
    assert changed.value.code == "STREAM_RECEIPT_MISMATCH"


@pytest.mark.parametrize("damage", ["tombstone", "gate"])
def test_the_preview_shows_no_rows_of_a_pack_the_decision_blocks(sealed_world: DemoWorld,
                                                                 damage: str) -> None:
    root = sealed_world.root
    build_stream_view(root, OUT, rows_per_part=1500)
    if damage == "tombstone":
        tombstone_pack(root, reason="test", authority="ops")
        code = "PACK_TOMBSTONED"
    else:
        flag = sorted(Path(root).rglob("_passed.flag"))[-1]
        flag.write_text("sha256_hex = " + "0" * 64 + "\n")
        code = "GATE_EVIDENCE_MISMATCH"
    pack = open_pack(root)
    report = run_check(pack, verify_digests=True)
    with pytest.raises(OracleError) as refused:
        preview_rows(pack, report, OUT)
    assert refused.value.code == code


# -- 3. hashed in place, read by name -----------------------------------------------------------

def test_the_reader_serves_the_bytes_it_hashed_not_the_file_reopened(
        sealed_world: DemoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    root = sealed_world.root
    build_stream_view(root, OUT, rows_per_part=1500)
    view_part = sorted(_view_dir(root).rglob("part-00000.parquet"))[0]
    expected = pq.read_table(view_part).to_pylist()
    real_hash = view_reader_mod.hash_object
    forged = pq.read_table(view_part)
    forged = forged.set_column(forged.schema.get_field_index("amount"), "amount",
                               forged.column("amount").fill_null(0))

    def hash_then_swap(*args: Any, **kwargs: Any) -> Any:
        result = real_hash(*args, **kwargs)
        if args[1].endswith("part-00000.parquet"):
            pq.write_table(forged, view_part)  # a writer swaps the part right after the hash
        return result

    monkeypatch.setattr(view_reader_mod, "hash_object", hash_then_swap)
    reader = open_stream_view(root, OUT)
    first = next(iter(reader))
    assert first.to_pylist() == expected[:first.num_rows]


# -- 4. sealed by a file's presence; 5. two stated digests never compared ------------------------

def test_a_side_with_only_a_seal_file_is_rehashed_by_diff(sealed_world: DemoWorld,
                                                          tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(sealed_world.root, copy)
    (copy / BINDING).unlink()
    (copy / "_oracle_content_index.json").unlink()
    _flip(part(str(copy), 1))
    for quick in ([], ["--quick"]):
        res = run_cli_here("diff", sealed_world.root, str(copy), "--json", *quick)
        doc = json.loads(res.out)
        assert res.code == 1 and doc["result"] == "UNREADABLE", quick
        assert "DIGEST_MISMATCH" in {f["code"] for f in doc["b"]["blocking"]}


def test_two_statements_about_one_file_are_compared_without_reading_it(
        sealed_world: DemoWorld, tmp_path: Path) -> None:
    root = sealed_world.root
    source = part(root, 1)
    _flip(source)
    new = hashlib.sha256(source.read_bytes()).hexdigest()
    key = rel(root, source)

    def point_at_new_bytes(index: dict[str, Any]) -> None:
        for entry in index["files"]:
            if entry["path"] == key:
                entry["sha256"] = new

    rechain(root, point_at_new_bytes)
    code, doc = check(root, "--quick")
    mismatches = [f for f in doc["findings"] if f["code"] == "DIGEST_MISMATCH"]
    assert code == 1 and [f["subject"] for f in mismatches] == [key]
    assert f"the content index sealed sha256 {new}, the engine's evidence says " in \
        mismatches[0]["detail"]
    copy = tmp_path / "copy"
    shutil.copytree(sealed_world.root, copy)
    res = run_cli_here("diff", root, str(copy), "--quick", "--json")
    assert res.code == 1 and json.loads(res.out)["result"] == "UNREADABLE"


# -- 8. interrupts and values at the edges -----------------------------------------------------

def test_values_at_the_edges_are_refused_before_any_engine(world: DemoWorld) -> None:
    res = run_cli_here("diff", world.root, world.root, "--rows", str(10**20))
    assert res.code == 2
    assert res.err.startswith("oracle-tui: INPUT_INVALID: usage error: argument --rows: ")
    long_id = "x" * 20_000
    res = run_cli_here("check", world.root, "--output-id", long_id)
    assert res.code == 2 and res.err.startswith("oracle-tui: OUTPUT_UNKNOWN: unknown output id")
    assert "(20,000 characters)" in res.err and len(res.err) < 400
    for invisible in ("\u200b", "\ufeff", "\u2060", "\u00ad", "\U000e0041"):
        res = run_cli_here("tombstone", world.root, "--reason", f"rng{invisible}defect",
                           "--authority", "ops", "--yes")
        assert res.code == 2 and res.err.startswith("oracle-tui: INPUT_INVALID: "), invisible
        assert not (Path(world.root) / "_TOMBSTONE.json").exists()


def test_a_named_output_absent_on_one_side_is_a_difference(world: DemoWorld,
                                                           tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(world.root, copy)
    for p in sorted(copy.glob("data/layer2/5B/arrival_events/**/part-*.parquet")):
        p.unlink()
    res = run_cli_here("diff", world.root, str(copy), "--output-id", "arrival_events_5B",
                       "--json")
    doc = json.loads(res.out)
    assert res.code == 1 and doc["result"] == "DIFFERENT"
    assert [(o["output_id"], o["state"]) for o in doc["outputs"]] == [
        ("arrival_events_5B", "only_in_a")]


def test_every_unicode_format_character_is_escaped() -> None:
    import sys
    import unicodedata

    from oracle_tui.core.redact import printable

    format_chars = [chr(c) for c in range(sys.maxunicode + 1)
                    if unicodedata.category(chr(c)) == "Cf"]
    assert format_chars and all(printable(ch) != ch for ch in format_chars)
