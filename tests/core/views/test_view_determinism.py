"""Byte-identical rebuilds: boundaries are a pure function of the source, parts do not depend
on memory limits or thread counts, and `verify --deep` proves the order of tied rows."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.duck import connect
from oracle_tui.core.engine import EngineOptions
from oracle_tui.core.views.build import build_stream_view
from oracle_tui.core.views.plan import (
    bounds_of_sample,
    profile_source,
    range_bounds,
    sort_plan,
)
from oracle_tui.core.views.sort import raw_stats, scan_sql
from oracle_tui.core.views.verify import verify_stream_view
from tests.conftest import run_cli_process
from tests.engine import edit_view_receipt

OUT = "s3_event_stream_with_fraud_6B"


def test_rebuilds_are_byte_identical_across_limits_and_threads(world: DemoWorld,
                                                               tmp_path: Path) -> None:
    digests = []
    for i, (memory, threads) in enumerate([("1GB", 2), ("64MB", 1), ("256MB", 2)]):
        root = tmp_path / f"copy{i}"
        shutil.copytree(world.root, root)
        result = build_stream_view(str(root), OUT, engine=EngineOptions(memory_limit=memory, threads=threads), rows_per_part=900)
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
    assert f"differ from a rebuild from the source, first at part 0 row {i}" in \
        state["findings"][0]["detail"]


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


def _rewrite_parts(view: Path, swap_ties: bool = False) -> None:
    """Write every part again with another writer (pyarrow, snappy): the same rows in the
    same order (or two tied rows swapped), other bytes; the receipt's digests follow."""
    for part in sorted(view.glob("part-*.parquet")):
        table = pq.read_table(part)
        if swap_ties and part.name == "part-00000.parquet":
            ts = table.column("ts_utc").to_pylist()
            i = next(k for k in range(len(ts) - 1) if ts[k] == ts[k + 1])
            order = list(range(table.num_rows))
            order[i], order[i + 1] = order[i + 1], order[i]
            table = table.take(pa.array(order))
        part.unlink()
        pq.write_table(table, part, compression="snappy")

    def fix_up(receipt: dict[str, Any]) -> None:
        for entry in receipt["parts"]:
            path = view / entry["path"]
            entry["size"] = path.stat().st_size
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()

    edit_view_receipt(view / "_stream_sort_receipt.json", fix_up)


@pytest.mark.parametrize("case", ["another-format", "format-claim-edited",
                                  "ties-swapped-format-claim-edited"])
def test_deep_verify_compares_rows_whatever_the_receipt_says_of_its_format(
        world: DemoWorld, case: str) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    view = Path(world.root) / "stream_view" / "ts_utc" / f"output_id={OUT}"
    receipt = json.loads((view / "_stream_sort_receipt.json").read_text())
    assert receipt["extensions"]["oracle_tui"]["partitioning"]["part_format"] == (
        "COMPRESSION zstd, COMPRESSION_LEVEL 1, WRITE_BLOOM_FILTER false; "
        "constant text as a one-value ENUM")
    _rewrite_parts(view, swap_ties=case.startswith("ties"))
    if case == "another-format":
        edit_view_receipt(view / "_stream_sort_receipt.json",
                          lambda r: r["partitioning"].update(part_format="snappy (pyarrow)"))
    assert verify_stream_view(world.root, OUT).state == "VALID"  # same rows, same key order
    state = verify_stream_view(world.root, OUT, deep=True)
    found = [(f.code, f.severity.value) for f in state.findings]
    if case == "another-format":
        assert (state.state, found) == ("VALID", [("STREAM_DEEP_VERIFY_SKIPPED", "WARN")])
        assert state.findings[0].detail.startswith(
            "every row is where a rebuild puts it; the parts were written with 'snappy")
    elif case == "format-claim-edited":
        assert (state.state, found) == ("INVALID", [("STREAM_RECEIPT_MISMATCH", "FAIL")])
        assert "hold a rebuild's rows in its order but not its bytes" in state.findings[0].detail
    else:
        assert (state.state, found) == ("INVALID", [("STREAM_RECEIPT_MISMATCH", "FAIL")])
        assert "first at part 0 row" in state.findings[0].detail


def _key_table(kind: str, n: int) -> pa.Table:
    """n rows whose key repeats (ties) and is out of order, with a NULL, in ``kind``."""
    base = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in microseconds
    micros = [None if i == 7 else base + ((i * 7919) % (n // 3)) * 1_000_003 for i in range(n)]
    if kind == "canonical":
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        keys: pa.Array = pa.array([None if m is None else
                                   (epoch + dt.timedelta(microseconds=m))
                                   .strftime("%Y-%m-%dT%H:%M:%S.%fZ") for m in micros])
    elif kind == "offsets":  # RFC 3339 with an offset: text order is not instant order
        keys = pa.array([None if m is None else f"2026-01-01T{(m // 10**6) % 24:02d}:00:00+0"
                         f"{(m // 10**7) % 10}:00" for m in micros])
    elif kind in ("timestamp", "timestamptz"):
        keys = pa.array(micros, type=pa.timestamp("us", tz="UTC" if kind == "timestamptz"
                                                      else None))
    elif kind == "date":
        keys = pa.array([None if m is None else 20_000 + (m // 10**6) % 997 for m in micros],
                        type=pa.date32())
    elif kind == "bigint":
        keys = pa.array(micros, type=pa.int64())
    else:  # double
        keys = pa.array([None if m is None else (m % 100_003) / 7 for m in micros])
    return pa.table({"ts_utc": keys, "v": pa.array([f"row {i}" for i in range(n)])})


def test_the_planning_scan_takes_the_same_stats_and_boundaries_as_their_own_scans(
        tmp_path: Path) -> None:
    """A build in this process takes the source stats and the boundary sample in the scan
    that plans it (one read instead of three); they must equal what the separate scans (a
    cluster build's path) give, for every kind of key, or parts would differ by executor."""

    con = connect(stores=[], memory_limit="256MB", temp_dir=str(tmp_path / "spill"))
    taken = {}
    for kind in ("canonical", "offsets", "timestamp", "timestamptz", "date", "bigint",
                 "double"):
        table = _key_table(kind, 3000)
        uris = []
        for i in range(3):
            uri = str(tmp_path / f"{kind}-{i}.parquet")
            pq.write_table(table.slice(i * 1000, 1000), uri)
            uris.append(uri)
        one_scan = profile_source(con, uris, ["ts_utc"], whole=(3000, 6))
        alone = profile_source(con, uris, ["ts_utc"])
        plan = sort_plan(alone, ["ts_utc"])
        assert sort_plan(one_scan, ["ts_utc"]) == plan
        expected_bounds = range_bounds(con, uris, plan[0], 3000, 6)
        assert len(expected_bounds) == 5, kind
        if kind == "offsets":  # not ordered by its text: left to the separate scans
            assert (one_scan.stats, one_scan.sample) == (None, None)
            continue
        assert one_scan.stats == raw_stats(con, scan_sql(uris), plan[0], list(one_scan.types)), kind
        assert one_scan.sample is not None
        typ = one_scan.types["ts_utc"]
        assert bounds_of_sample(con, plan[0], typ, one_scan.sample) == expected_bounds, kind
        taken[kind] = one_scan.stats.rows
    con.close()
    assert taken == dict.fromkeys(["canonical", "timestamp", "timestamptz", "date", "bigint",
                                   "double"], 3000)
