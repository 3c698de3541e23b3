"""Row-level diff of two large outputs that differ in a few rows, against DuckDB's EXCEPT ALL
both ways, side by side in one run.

Two outputs of ``--rows`` rows (a key, a timestamp, an amount, a label) in 20 Parquet parts
each; B is A with ``--changed`` rows' amounts changed. Ours: ``row_diff.diff_rows`` (segment
checksums, then only the differing segments read again and compared). Baseline: a bare DuckDB
``SELECT … EXCEPT ALL …`` both ways over the same files. Each runs in a fresh process under
the same memory limit and threads; wall time and peak RSS are reported, with the ratio.

    python benchmarks/bench_diff.py [--rows 20000000] [--changed 10] [--memory-limit 2GB]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

OURS = r"""
import json, resource, sys, time
from oracle_tui.core.duck import connect
from oracle_tui.core.engine import budget
from oracle_tui.core.row_diff import diff_rows
from oracle_tui.core.storage import LocalStore
a, b, limit, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
allowed = budget(limit, threads)
con = connect(stores=[LocalStore(a)], memory_limit=allowed.engine_limit, threads=allowed.threads)
parts = lambda d: sorted(str(p) for p in __import__("pathlib").Path(d).glob("*.parquet"))
t = time.perf_counter()
out = diff_rows(con, (parts(a), parts(b)), ["id"], ["id", "ts", "amount", "label"], 10)
took = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": took, "rss": rss,
                  "found": [out.changed, out.only_in_a, out.only_in_b]}))
"""

BASELINE = r"""
import json, resource, sys, time
import duckdb
a, b, limit, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
from oracle_tui.core.engine import budget
allowed = budget(limit, threads)
con = duckdb.connect(":memory:", config={"memory_limit": allowed.engine_limit,
                                         "threads": allowed.threads})
con.execute("SET enable_progress_bar = false")
scan = lambda d: f"read_parquet('{d}/*.parquet')"
t = time.perf_counter()
ab = con.execute(f"SELECT count(*) FROM (SELECT * FROM {scan(a)} EXCEPT ALL "
                 f"SELECT * FROM {scan(b)})").fetchone()[0]
ba = con.execute(f"SELECT count(*) FROM (SELECT * FROM {scan(b)} EXCEPT ALL "
                 f"SELECT * FROM {scan(a)})").fetchone()[0]
took = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": took, "rss": rss, "found": [ab, ba]}))
"""


def _make(folder: Path, rows: int, changed: int) -> None:
    """A (and B: A with ``changed`` amounts moved by one) in 20 parts each."""
    import duckdb

    con = duckdb.connect()
    for side in ("a", "b"):
        out = folder / side
        out.mkdir(parents=True, exist_ok=True)
        step = max(1, rows // max(1, changed))
        bump = f"CASE WHEN i % {step} = 7 AND i < {step * changed} THEN 1.0 ELSE 0.0 END" \
            if side == "b" else "0.0"
        for part in range(20):
            lo, hi = rows * part // 20, rows * (part + 1) // 20
            con.execute(
                f"COPY (SELECT i AS id, TIMESTAMP '2026-01-01' + to_microseconds(i * 1000) AS ts, "
                f"(i % 9973) / 7.0 + {bump} AS amount, 'label-' || (i % 17) AS label "
                f"FROM range({lo}, {hi}) t(i)) TO '{out}/part-{part:05d}.parquet' "
                "(FORMAT parquet, COMPRESSION zstd)")


def _run(code: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         check=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=20_000_000)
    ap.add_argument("--changed", type=int, default=10)
    ap.add_argument("--memory-limit", default="2GB")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workdir", default="/tmp/oracle-bench-diff")
    args = ap.parse_args()
    folder = Path(args.workdir) / f"rows-{args.rows}-changed-{args.changed}"
    if not (folder / "b" / "part-00019.parquet").exists():
        t0 = time.perf_counter()
        _make(folder, args.rows, args.changed)
        print(f"generated 2 x {args.rows:,} rows in {time.perf_counter() - t0:.1f} s")
    common = (str(folder / "a"), str(folder / "b"), args.memory_limit, str(args.threads))
    ours = _run(OURS, *common)
    base = _run(BASELINE, *common)
    print(f"rows {args.rows:,}, {args.changed} changed, limit {args.memory_limit}, "
          f"threads {args.threads}")
    for name, r in (("oracle-tui diff_rows", ours), ("DuckDB EXCEPT ALL both ways", base)):
        print(f"  {name:30} {r['seconds']:8.2f} s  peak RSS {r['rss'] / 2**20:7.0f} MiB  "
              f"found {r['found']}")
    print(f"  ratio (ours / baseline): time {ours['seconds'] / base['seconds']:.2f}, "
          f"peak RSS {ours['rss'] / base['rss']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
