"""Byte-identical rebuilds: boundaries are a pure function of the source, parts do not depend
on memory limits or thread counts, and `verify --deep` proves the order of tied rows."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.stream_view import build_stream_view, verify_stream_view
from tests.conftest import run_cli_process
from tests.engine import edit_view_receipt

OUT = "s3_event_stream_with_fraud_6B"


def test_rebuilds_are_byte_identical_across_limits_and_threads(world: DemoWorld,
                                                               tmp_path: Path) -> None:
    digests = []
    for i, (memory, threads) in enumerate([("1GB", 2), ("64MB", 1), ("256MB", 2)]):
        root = tmp_path / f"copy{i}"
        shutil.copytree(world.root, root)
        result = build_stream_view(str(root), OUT, memory_limit=memory, threads=threads,
                                   rows_per_part=900)
        receipt = result.receipt
        digests.append(([p["sha256"] for p in receipt["parts"]],
                        receipt["partitioning"]["boundaries"]))
        view = root / "stream_view" / "ts_utc" / f"output_id={OUT}"
        on_disk = [hashlib.sha256((view / p["path"]).read_bytes()).hexdigest()
                   for p in receipt["parts"]]
        assert on_disk == digests[-1][0]
    assert digests[0] == digests[1] == digests[2]
    parts, bounds = digests[0]
    assert len(parts) == 5 and len(bounds) == 4  # 4,000 rows at 900 a part
    assert bounds == sorted(bounds)


def test_deep_verify_sees_two_tied_rows_swapped(world: DemoWorld) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    view = Path(world.root) / "stream_view" / "ts_utc" / f"output_id={OUT}"
    part = view / "part-00000.parquet"
    table = pq.read_table(part)
    ts = table.column("ts_utc").to_pylist()
    i = next(k for k in range(len(ts) - 1) if ts[k] == ts[k + 1])  # demo data has ties
    order = list(range(table.num_rows))
    order[i], order[i + 1] = order[i + 1], order[i]
    swapped = table.take(pa.array(order))
    assert swapped.to_pylist() != table.to_pylist()
    part.unlink()
    pq.write_table(swapped, part, compression="zstd")

    def fix_up(receipt: dict[str, Any]) -> None:
        receipt["parts"][0]["size"] = part.stat().st_size
        receipt["parts"][0]["sha256"] = hashlib.sha256(part.read_bytes()).hexdigest()

    edit_view_receipt(view / "_stream_sort_receipt.json", fix_up)
    # Same rows, same order of keys, same stats: the receipt cannot tell.
    assert verify_stream_view(world.root, OUT).state == "VALID"
    deep = run_cli_process("stream-view", "verify", world.root, "--output-id", OUT, "--deep",
                           "--json")
    assert deep.code == 1
    state = json.loads(deep.out)
    assert state["state"] == "INVALID"
    assert [f["code"] for f in state["findings"]] == ["STREAM_RECEIPT_MISMATCH"]
    assert "part-00000.parquet differs from its rebuild" in state["findings"][0]["detail"]


def test_deep_verify_passes_on_an_untouched_view(world: DemoWorld) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    state = verify_stream_view(world.root, OUT, deep=True)
    assert (state.state, state.findings) == ("VALID", [])
    assert sorted(p.name for p in (Path(world.root) / "stream_view").rglob("*")
                  if p.is_file()) == sorted(["_stream_sort_receipt.json",
                                             "_stream_view_manifest.json", "part-00000.parquet",
                                             "part-00001.parquet", "part-00002.parquet"])


def test_build_progress_is_one_rising_percentage(world: DemoWorld) -> None:
    seen: list[tuple[int, int]] = []
    build_stream_view(world.root, OUT, rows_per_part=900,
                      progress=lambda done, total: seen.append((done, total)))
    assert {total for _, total in seen} == {1000}
    done = [d for d, _ in seen]
    assert done == sorted(done)  # never goes back
    assert done[-1] >= 990 and len(set(done)) >= 6  # every phase moves it


def test_deep_verify_of_a_view_in_an_older_part_format_says_it_did_not_compare(
        world: DemoWorld) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    view = Path(world.root) / "stream_view" / "ts_utc" / f"output_id={OUT}"
    receipt = json.loads((view / "_stream_sort_receipt.json").read_text())
    assert receipt["extensions"]["oracle_tui"]["partitioning"]["part_format"] == (
        "COMPRESSION zstd, COMPRESSION_LEVEL 1, WRITE_BLOOM_FILTER false; "
        "constant text as a one-value ENUM")

    def as_built_before(r: dict[str, Any]) -> None:
        del r["partitioning"]["part_format"]

    edit_view_receipt(view / "_stream_sort_receipt.json", as_built_before)
    state = verify_stream_view(world.root, OUT, deep=True)
    assert state.state == "VALID"
    assert [(f.code, f.severity.value) for f in state.findings] == [
        ("STREAM_DEEP_VERIFY_SKIPPED", "WARN")]
    assert state.findings[0].detail.startswith("parts were written in an earlier format; "
                                              "this version writes 'COMPRESSION zstd")
    assert verify_stream_view(world.root, OUT).findings == []  # plain verify: nothing to say
