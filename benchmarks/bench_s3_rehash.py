"""Re-hash a sealed pack on S3 at a set first-byte latency: `check --verify-digests` against
the AWS CLI's transfer engine (s3transfer, default concurrency) downloading the same objects
into a temp folder, then sha256 of each file.

Builds (once) a sealed local pack of --gib GiB in --objects large parts plus a demo world,
uploads it to a local S3 server (moto, scripts/local_s3.py), then for each --delay-ms puts
benchmarks/latency_proxy.py in front of the server and times, as processes in the same run:

  ours      oracle-tui check s3://bench/pack --verify-digests --json
  baseline  python benchmarks/s3transfer_sha256.py s3://bench/pack TMP  (download, sha256)

Prints time, throughput, peak RSS, the ratio, and our throughput at each delay against ours
at 0 ms.

    python benchmarks/bench_s3_rehash.py [--gib 2] [--objects 200] [--delay-ms 0,30]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from latency_proxy import LatencyProxy
from s3_bench import REPO, dummy_env, local_s3, timed, upload_folder

from oracle_tui.core.demo import generate_demo_world
from oracle_tui.core.seal import seal_pack

BUCKET = "bench"


def build_pack(root: Path, gib: float, objects: int) -> int:
    world = generate_demo_world(root, events=20_000)
    wk = world.world_key
    # Large reports of the run: files a sealed pack binds (a file of no output, bundle, log
    # or report would be refused as UNEXPECTED_FILE).
    bulk = root / "reports" / "bulk"
    bulk.mkdir(parents=True)
    size = int(gib * 1024**3 // objects) + 1
    rng = np.random.default_rng(1)
    block = rng.bytes(size)
    for i in range(objects):  # distinct bytes per object, cheaply
        (bulk / f"part-{i:05d}.bin").write_bytes(i.to_bytes(8, "big") + block[8:])
    seal_pack(str(root), scenario_id=wk.scenario_id, engine_release="demo-1.0")
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=2.0)
    ap.add_argument("--objects", type=int, default=200)
    ap.add_argument("--delay-ms", default="0,30")
    ap.add_argument("--threads", default="", help="also pass --threads N to check")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="oracle-bench-s3-"))
    try:
        local = work / "pack"
        total = build_pack(local, args.gib, args.objects)
        mib = total / 1024**2
        with local_s3(BUCKET) as server:
            files = upload_folder(server.endpoint, local, BUCKET, "pack")
            shutil.rmtree(local)  # nothing is read from disk but the baseline's downloads
            print(f"pack: {total / 1024**3:.2f} GiB in {files} objects on {server.endpoint}")
            ours_at: dict[float, float] = {}
            for delay in [float(d) for d in args.delay_ms.split(",")]:
                with LatencyProxy(server.host, server.port, delay / 1000) as url:
                    env = dummy_env(url)
                    ours_cmd = [sys.executable, "-m", "oracle_tui.cli", "check",
                                f"s3://{BUCKET}/pack", "--verify-digests", "--json"]
                    if args.threads:
                        ours_cmd += ["--threads", args.threads]
                    down = work / "downloads"
                    base_cmd = [sys.executable, str(REPO / "benchmarks" / "s3transfer_sha256.py"),
                                f"s3://{BUCKET}/pack", str(down)]
                    ours = timed(ours_cmd, env)
                    if '"verdict": "PASS"' not in ours.output and \
                            '"verdict":"PASS"' not in ours.output:
                        print(ours.output[-3000:])
                        raise SystemExit("our check did not PASS")
                    base = timed(base_cmd, env)
                    shutil.rmtree(down, ignore_errors=True)
                    ours_at[delay] = mib / ours.seconds
                    print(f"{delay:4.0f} ms: check --verify-digests {ours.seconds:6.2f} s "
                          f"({mib / ours.seconds:5.0f} MiB/s, peak RSS {ours.peak_rss_mib:.0f} "
                          f"MiB)   s3transfer+sha256 {base.seconds:6.2f} s "
                          f"({mib / base.seconds:5.0f} MiB/s, peak RSS "
                          f"{base.peak_rss_mib:.0f} MiB)   ratio {ours.seconds / base.seconds:.2f}"
                          )
            if 0.0 in ours_at:
                for delay, rate in ours_at.items():
                    if delay:
                        print(f"our throughput at {delay:.0f} ms is "
                              f"{100 * rate / ours_at[0.0]:.0f}% of ours at 0 ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
