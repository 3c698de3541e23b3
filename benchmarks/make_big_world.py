"""A world whose `s3_event_stream_with_fraud_6B` has the real engine's scale, in minutes.

The demo generator writes 125M rows in about 18 minutes (numpy, one chunk at a time). This
writes a small demo world for the control files, then replaces that one output's parts with
FILES Parquet files written by DuckDB straight from `range()` (same columns and types as the
demo's, ts_utc canonical RFC 3339 at whole seconds over 30 days, so with many ties), and
re-validates the output as the engine would (new part evidence, new gate flags).

    python benchmarks/make_big_world.py --rows 125000000 --files 250 --out /tmp/big-world
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

OUT = "s3_event_stream_with_fraud_6B"


def _columns(sample: Path, seed: int, mf: str, ph: str, scenario: str) -> str:
    """SELECT list over range(i): the demo's columns, in its order, with its types."""
    exprs = {
        "flow_id": "(i // 2 + 1)::BIGINT",
        "event_seq": "(i % 2)::BIGINT",
        "event_type": "['AUTH_REQUEST', 'AUTH_RESPONSE', 'CLEARING', 'REFUND']"
                      "[1 + (hash(i, 'type') % 4)::INTEGER]",
        "ts_utc": "strftime(TIMESTAMP '2026-01-01' + to_seconds((hash(i, 'ts') % 2592000)"
                  "::BIGINT), '%Y-%m-%dT%H:%M:%S.%fZ')",
        "amount": "round(exp(3 + (hash(i, 'amt') % 1000000)::DOUBLE / 250000), 2)",
        "seed": f"{seed}::UBIGINT",
        "manifest_fingerprint": f"'{mf}'",
        "parameter_hash": f"'{ph}'",
        "scenario_id": f"'{scenario}'",
        "fraud_flag": "(hash(i, 'fraud') % 50 = 0)",
        "campaign_id": "CASE WHEN hash(i, 'fraud') % 50 = 0 THEN "
                       "['camp_card_testing', 'camp_ato'][1 + (hash(i, 'camp') % 2)::INTEGER] "
                       "END",
    }
    names = pq.read_schema(sample).names
    missing = [n for n in names if n not in exprs]
    if missing:
        raise SystemExit(f"the demo's {OUT} has columns this generator does not know: {missing}")
    return ", ".join(f"{exprs[n]} AS {n}" for n in names)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=125_000_000)
    ap.add_argument("--files", type=int, default=250)
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    root = Path(args.out)
    if root.exists():
        raise SystemExit(f"{root} exists; remove it first")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "oracle_tui.cli", "demo", "--out", str(root),
                    "--events", "1000"], check=True, capture_output=True)
    from oracle_tui.core.demo import revalidate
    from oracle_tui.core.interface_pack import load_interface_pack
    from oracle_tui.core.storage import LocalStore
    from oracle_tui.core.world import WorldKey, read_run_receipt

    receipt = read_run_receipt(LocalStore(root))
    pack = load_interface_pack()
    folder = sorted(root.glob(f"data/**/{OUT}/**/part-*.parquet"))[0].parent
    sample = sorted(folder.glob("part-*.parquet"))[0]
    mf, ph = receipt.manifest_fingerprint, receipt.parameter_hash
    scenario = sample.parent.name.split("=", 1)[1] if "=" in sample.parent.name else \
        next(p.split("=", 1)[1] for p in sample.parts if p.startswith("scenario_id="))
    select = _columns(sample, receipt.seed, mf, ph, scenario)
    staged = root.parent / f".{root.name}-parts"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir()
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    per = -(-args.rows // args.files)
    for k in range(args.files):
        lo, hi = k * per, min(args.rows, (k + 1) * per)
        con.execute(f"COPY (SELECT {select} FROM range({lo}, {hi}) t(i)) TO "
                    f"'{staged / f'part-{k:05d}.parquet'}' (FORMAT parquet, COMPRESSION zstd)")
        print(f"\r{k + 1}/{args.files} files", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    for old in folder.glob("part-*.parquet"):
        old.unlink()
    for new in sorted(staged.glob("part-*.parquet")):
        new.rename(folder / new.name)
    staged.rmdir()
    # Re-validate every output as the engine would: evidence lists the new parts.
    wk = WorldKey(manifest_fingerprint=mf, parameter_hash=ph, scenario_id=scenario,
                  seed=receipt.seed)
    revalidate(root, wk, receipt.run_id, pack)
    size = sum(p.stat().st_size for p in folder.glob("part-*.parquet"))
    print(f"{args.rows:,} rows in {args.files} files ({size / 1024**3:.2f} GiB) at {root} "
          f"in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
