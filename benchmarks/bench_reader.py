"""Time to first batch of the reader API against a bare pyarrow read of the same view part.

The reader must refuse before its first row unless the one readability decision says yes, so
it pays for a check of that output (listing, control files, gate bundles, part evidence and
Parquet footers, the view's receipt and footers) and the first part's sha256 before it
yields. The baseline opens the first view part with pyarrow and reads one batch, with no
check at all. Both run in fresh processes, in one run, side by side.

    python benchmarks/bench_reader.py [--events 20000000] [--workdir /tmp/oracle-bench-reader]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

OUT = "s3_event_stream_with_fraud_6B"

OURS = r"""
import sys, time
t = time.perf_counter()
from oracle_tui.core.views.reader import open_stream_view
reader = open_stream_view(sys.argv[1], sys.argv[2])
batch = next(iter(reader))
print(time.perf_counter() - t, batch.num_rows, reader.source)
"""

BARE = r"""
import sys, time
t = time.perf_counter()
import pyarrow.parquet as pq
batch = next(pq.ParquetFile(sys.argv[1]).iter_batches(batch_size=65536))
print(time.perf_counter() - t, batch.num_rows, "bare")
"""


def _run(code: str, *args: str) -> tuple[float, float, str]:
    """(wall seconds from process start, in-process seconds, what it read)."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         check=True).stdout.split()
    return time.perf_counter() - t, float(out[0]), out[2]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--workdir", default="/tmp/oracle-bench-reader")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    world = Path(args.workdir) / f"world-{args.events}"
    if not (world / "run_receipt.json").exists():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "oracle_tui.cli", "demo", "--out", str(world),
                        "--events", str(args.events)], check=True, capture_output=True)
        print(f"generated {args.events:,} events per output in {time.perf_counter() - t0:.0f} s")
    if not (world / "_SEALED.json").exists():
        subprocess.run([sys.executable, "-m", "oracle_tui.cli", "seal", str(world),
                        "--scenario-id", "baseline_v1", "--engine-release", "bench", "--yes"],
                       check=True, capture_output=True)
    view = world / "stream_view" / "ts_utc" / f"output_id={OUT}"
    if not (view / "_stream_sort_receipt.json").exists():
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "oracle_tui.cli", "stream-view", "build",
                        str(world), "--output-id", OUT, "--memory-limit", "1GB"], check=True,
                       capture_output=True)
        print(f"built the view in {time.perf_counter() - t0:.0f} s")
    receipt = json.loads((view / "_stream_sort_receipt.json").read_text())["extensions"][
        "oracle_tui"]
    first = view / receipt["parts"][0]["path"]
    print(f"{OUT}: {receipt['view']['row_count']:,} rows in {len(receipt['parts'])} parts, "
          f"first part {first.stat().st_size / 1024**2:.0f} MiB")
    ours, bare = [], []
    for _ in range(args.repeat):  # interleaved, so both see the same machine load
        ours.append(_run(OURS, str(world), OUT))
        bare.append(_run(BARE, str(first)))
    assert {o[2] for o in ours} == {"stream_view"}
    for label, runs in (("open_stream_view → first batch", ours),
                        ("bare pyarrow first batch     ", bare)):
        print(f"{label}: median {statistics.median(r[0] for r in runs):.2f} s from process "
              f"start, {statistics.median(r[1] for r in runs):.2f} s in process")
    ratio = statistics.median(r[0] for r in ours) / statistics.median(r[0] for r in bare)
    print(f"ratio (process start): {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
