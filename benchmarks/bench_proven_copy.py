"""What proving the bytes a build sorts costs (issue 33): copying an output's parts into a
private folder while hashing them (core/proven_parts.py), against a plain `cp -r` of the same
files and against `sha256sum` of them, in one run. The parts are sized like the engine's 20M-row
flow output (180 MiB in 100 parts: 125M rows are 1.1 GiB, docs/performance.md).

    python benchmarks/bench_proven_copy.py [--mib 180] [--parts 100]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from oracle_tui.core.proven_parts import stage_proven_parts
from oracle_tui.core.report import OutputResult
from oracle_tui.core.storage.local import LocalStore


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=180)
    parser.add_argument("--parts", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "pack"
        folder = root / "data" / "out" / "seed=42"
        folder.mkdir(parents=True)
        out = OutputResult(output_id="out", path="data/out/seed=42/part-*.parquet")
        size = args.mib * 2**20 // args.parts
        for i in range(args.parts):
            data = os.urandom(size)
            key = f"data/out/seed=42/part-{i:05d}.parquet"
            (root / key).write_bytes(data)
            out._files.append(key)
            out._sealed[key] = hashlib.sha256(data).hexdigest()
        subprocess.run(["cat", *[str(root / k) for k in out._files]], stdout=subprocess.DEVNULL,
                       check=True)  # warm the page cache for all three
        t0 = time.perf_counter()
        stage_proven_parts(LocalStore(root), out, Path(tmp) / "proven", door="bench", threads=2)
        ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        shutil.copytree(folder, Path(tmp) / "plain")
        copy = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(["sha256sum", *[str(root / k) for k in out._files]],
                       stdout=subprocess.DEVNULL, check=True)
        hashing = time.perf_counter() - t0
    print(f"{args.mib} MiB in {args.parts} parts: copy while hashing {ours:.2f} s; cp "
          f"{copy:.2f} s; sha256sum {hashing:.2f} s; ours / (cp + sha256sum) "
          f"{ours / (copy + hashing):.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
