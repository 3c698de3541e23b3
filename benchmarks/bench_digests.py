"""Benchmark `check --verify-digests` against `openssl dgst -sha256` run two-way parallel.

Builds a sealed pack of at least --gib GiB (demo world + large parts), warms the page cache,
then times, in the same run: our check (as a real process) and the baseline
`find ROOT -type f -print0 | xargs -0 -P2 -n8 openssl dgst -sha256`. Prints both and the
ratio. Also times a plain check (no re-hash) of a sealed pack with 20,000 files.

    python benchmarks/bench_digests.py [--gib 2] [--workdir /tmp/oracle-bench] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from bytecode import compile_package

from oracle_tui.core.demo import generate_demo_world
from oracle_tui.core.seal import seal_pack

CLI = [sys.executable, "-m", "oracle_tui.entry"]  # as the `oracle-tui` script runs


def _timed(cmd: list[str] | str, shell: bool = False) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, shell=shell, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def build_big_pack(root: Path, gib: float) -> int:
    world = generate_demo_world(root, events=200_000)
    wk = world.world_key
    # Large reports of the run: files a sealed pack binds (a file of no output, bundle, log
    # or report would be refused as UNEXPECTED_FILE).
    bulk = root / "reports" / "bulk"
    bulk.mkdir(parents=True)
    rng = np.random.default_rng(1)
    part = 128 * 1024 * 1024
    n = int(gib * 1024**3 // part) + 1
    for i in range(n):
        (bulk / f"part-{i:05d}.bin").write_bytes(rng.bytes(part))
    seal_pack(str(root), scenario_id=wk.scenario_id, engine_release="demo-1.0")
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def build_many_files(root: Path, files: int) -> None:
    world = generate_demo_world(root, events=2_000)
    d = root / "reports" / "many"
    for i in range(files):
        sub = d / f"{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"r{i:06d}.json").write_text(f'{{"i": {i}}}\n')
    seal_pack(str(root), scenario_id=world.world_key.scenario_id, engine_release="demo-1.0")


def main() -> int:
    compile_package()
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=2.0)
    ap.add_argument("--workdir", default="/tmp/oracle-bench")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--files", type=int, default=20_000)
    args = ap.parse_args()
    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    big = work / "big"
    total = build_big_pack(big, args.gib)
    print(f"pack: {total / 1024**3:.2f} GiB in {sum(1 for _ in big.rglob('*'))} entries")
    ours_cmd = [*CLI, "check", str(big), "--verify-digests", "--json"]
    base_cmd = (f"find {big} -type f -print0 | xargs -0 -P2 -n8 openssl dgst -sha256")
    _timed(ours_cmd)  # warm the page cache (and check it passes)
    _timed(base_cmd, shell=True)
    ours, base = [], []
    for _ in range(args.repeat):
        ours.append(_timed(ours_cmd))
        base.append(_timed(base_cmd, shell=True))
    o, b = statistics.median(ours), statistics.median(base)
    print(f"check --verify-digests: {o:.2f} s   openssl -P2: {b:.2f} s   ratio: {o / b:.3f}"
          f"   ({total / 1024**2 / o:.0f} MiB/s vs {total / 1024**2 / b:.0f} MiB/s)")

    many = work / "many"
    build_many_files(many, args.files)
    cmd = [*CLI, "check", str(many), "--json", "--quick"]
    _timed(cmd)
    times = [_timed(cmd) for _ in range(args.repeat)]
    print(f"check of a sealed pack with {args.files + 37} files (no re-hash): "
          f"{statistics.median(times):.2f} s")
    if os.environ.get("KEEP") != "1":
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
