"""Benchmark `stream-view build` against the bare DuckDB external sort, side by side.

Generates (once) a demo world with --events rows per output, then times, in the same run:
  ours:     oracle-tui stream-view build ROOT --output-id OUT --memory-limit LIMIT (a process)
  baseline: COPY (SELECT * EXCLUDE (filename, file_row_number) FROM read_parquet(<parts>,
            filename=true, file_row_number=true) ORDER BY ts_utc, filename, file_row_number)
            TO '<one file>'  (a process, same memory limit and threads)
and prints both times, their ratio, both peak RSS figures and the data size.

    python benchmarks/bench_stream_view.py [--events 20000000] [--memory-limit 1GB]
        [--baseline-memory-limit 4GB] [--skip-baseline] [--cluster]
        [--s3 --delay-ms 0,30]

The world is written by benchmarks/make_big_world.py (DuckDB, 250 files; minutes even at
125M rows); `--generator demo` uses the demo generator instead (numpy, 16 files per output).
`--cluster` runs ours on a Dask LocalCluster of two worker processes (one thread each),
started by this script, with a local scratch folder.

`--s3` uploads the world to a local S3 server (moto, scripts/local_s3.py) and, for each
`--delay-ms`, puts benchmarks/latency_proxy.py in front of it (every request waits that long
before it reaches the server); ours builds `s3://bench/world` (the view written back to the
bucket) and the baseline runs the same COPY over DuckDB's httpfs, reading the same objects
and writing its file to the bucket, same memory limit.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

OUT = "s3_event_stream_with_fraud_6B"

BASELINE = r"""
import sys, duckdb, glob
root, limit, tmp, target = sys.argv[1:5]
parts = sorted(glob.glob(f"{root}/data/**/{sys.argv[5]}/**/part-*.parquet", recursive=True))
con = duckdb.connect()
con.execute(f"SET memory_limit='{limit}'")
con.execute(f"SET temp_directory='{tmp}'")
con.execute("SET preserve_insertion_order=true")
plist = "[" + ",".join("'" + p + "'" for p in parts) + "]"
con.execute(f"COPY (SELECT * EXCLUDE (filename, file_row_number) FROM read_parquet({plist}, "
            f"filename=true, file_row_number=true, hive_partitioning=false) "
            f"ORDER BY ts_utc, filename, file_row_number) TO '{target}'")
"""


BASELINE_S3 = r"""
import sys, duckdb, glob, os
from pathlib import Path
import duckdb_extension_httpfs
uris, limit, tmp, target = sys.argv[1].split(","), sys.argv[2], sys.argv[3], sys.argv[4]
endpoint = os.environ["OBJECT_STORE_ENDPOINT"].split("//", 1)[1]
con = duckdb.connect()
ext = sorted((Path(duckdb_extension_httpfs.__file__).parent / "extensions").glob(
    f"v{duckdb.__version__}/httpfs.duckdb_extension"))
con.execute(f"LOAD '{ext[0]}'" if ext else "LOAD httpfs")
con.execute(f"CREATE SECRET (TYPE s3, KEY_ID 'bench', SECRET 'bench', REGION 'us-east-1', "
            f"ENDPOINT '{endpoint}', URL_STYLE 'path', USE_SSL false)")
con.execute(f"SET memory_limit='{limit}'")
con.execute(f"SET temp_directory='{tmp}'")
con.execute("SET preserve_insertion_order=true")
plist = "[" + ",".join("'" + p + "'" for p in uris) + "]"
con.execute(f"COPY (SELECT * EXCLUDE (filename, file_row_number) FROM read_parquet({plist}, "
            f"filename=true, file_row_number=true, hive_partitioning=false) "
            f"ORDER BY ts_utc, filename, file_row_number) TO '{target}'")
"""


def measure_in_fresh_parent(cmd: list[str], env: dict[str, str] | None = None
                            ) -> tuple[float, int]:
    helper = ("import json, resource, subprocess, sys, time; t=time.perf_counter(); "
              "p=subprocess.run(sys.argv[1:], capture_output=True, text=True); "
              "e=time.perf_counter()-t; "
              "print(json.dumps({'rc': p.returncode, 's': e, 'err': p.stderr[-1500:], "
              "'rss': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024}))")
    out = subprocess.run([sys.executable, "-c", helper, *cmd], capture_output=True, text=True,
                         check=True, env=env).stdout
    doc = json.loads(out)
    if doc["rc"]:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{doc['err']}")
    return doc["s"], doc["rss"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20_000_000)
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument("--workdir", default="/tmp/oracle-bench-sv")
    ap.add_argument("--keep-world", action="store_true")
    ap.add_argument("--generator", choices=["duckdb", "demo"], default="duckdb")
    ap.add_argument("--baseline-memory-limit", help="bare DuckDB's limit (default: ours)")
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument("--cluster", action="store_true", help="ours on a 2-worker LocalCluster")
    ap.add_argument("--s3", action="store_true", help="the world on a local S3 server")
    ap.add_argument("--delay-ms", default="0,30", help="with --s3: each request's delay")
    ap.add_argument("--threads", default="",
                    help="comma-separated thread counts to run ours with, one build each "
                         "(default: DuckDB's own, the machine's cores)")
    args = ap.parse_args()
    work = Path(args.workdir)
    world = work / f"world-{args.generator}-{args.events}"
    if not (world / "run_receipt.json").exists():
        shutil.rmtree(world, ignore_errors=True)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        if args.generator == "demo":
            gen = [sys.executable, "-m", "oracle_tui.cli", "demo", "--out", str(world),
                   "--events", str(args.events)]
        else:
            gen = [sys.executable, str(Path(__file__).parent / "make_big_world.py"),
                   "--rows", str(args.events), "--out", str(world)]
        subprocess.run(gen, check=True, capture_output=True)
        print(f"generated {args.events:,} rows ({args.generator}) in "
              f"{time.perf_counter() - t0:.0f} s")
    data = sum(p.stat().st_size for p in world.glob(f"data/**/{OUT}/**/part-*.parquet"))
    print(f"{OUT}: {data / 1024**2:.0f} MiB of Parquet, memory limit {args.memory_limit}")
    shutil.rmtree(world / "stream_view", ignore_errors=True)
    if args.s3:
        return on_s3(world, work, args)
    tmp = work / "spill"
    tmp.mkdir(exist_ok=True)
    target = work / "baseline.parquet"
    target.unlink(missing_ok=True)
    base_limit = args.baseline_memory_limit or args.memory_limit
    base: tuple[float, int] | None = None
    if not args.skip_baseline:
        try:
            base = measure_in_fresh_parent(
                [sys.executable, "-c", BASELINE, str(world), base_limit, str(tmp), str(target),
                 OUT])
        except SystemExit as exc:
            print(f"baseline COPY ... ORDER BY at {base_limit}: FAILED ({str(exc)[-200:]})")
    extra: list[str] = []
    cluster = None
    if args.cluster:
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=":0")
        extra = ["--executor", str(cluster.scheduler_address), "--scratch",
                 str(work / "scratch"), "--threads", "1"]
    runs = [t for t in args.threads.split(",") if t] or [""]
    for threads in runs:
        shutil.rmtree(world / "stream_view", ignore_errors=True)
        asked = ["--threads", threads] if threads else []
        ours_s, ours_rss = measure_in_fresh_parent(
            [sys.executable, "-m", "oracle_tui.cli", "stream-view", "build", str(world),
             "--output-id", OUT, "--memory-limit", args.memory_limit, "--temp-dir", str(tmp),
             "--json", *extra, *asked])
        receipt = json.loads((world / "stream_view" / "ts_utc" / f"output_id={OUT}"
                              / "_stream_sort_receipt.json").read_text())["extensions"][
            "oracle_tui"]
        used = (receipt.get("run") or {}).get("threads", "?")
        where = "2-worker LocalCluster" if args.cluster else "this machine"
        rows = receipt["view"]["row_count"]
        print(f"stream-view build at {args.memory_limit}, --threads {threads or 'default'} "
              f"(used {used}) ({where}): {ours_s:.1f} s, peak RSS {ours_rss} MiB "
              f"({len(receipt['parts'])} parts, {rows:,} rows, {ours_s / rows * 1e6:.2f} us a "
              "row, receipt passes included)")
        if base is not None:
            print(f"ratio: {ours_s / base[0]:.2f}")
    if cluster is not None:
        print("(cluster: peak RSS is the client's; workers not included)")
        cluster.close()
    if base is not None:
        print(f"baseline COPY ... ORDER BY at {base_limit}: {base[0]:.1f} s, peak RSS "
              f"{base[1]} MiB")
    target.unlink(missing_ok=True)
    shutil.rmtree(world / "stream_view", ignore_errors=True)
    if not args.keep_world:
        shutil.rmtree(world, ignore_errors=True)
    return 0


def on_s3(world: Path, work: Path, args: argparse.Namespace) -> int:
    """Ours and bare DuckDB over httpfs, on a world in a local S3 server, at each delay."""
    from latency_proxy import LatencyProxy
    from s3_bench import client, dummy_env, local_s3, upload_folder

    tmp = work / "spill"
    tmp.mkdir(exist_ok=True)
    with local_s3("bench") as server:
        upload_folder(server.endpoint, world, "bench", "world")
        s3: Any = client(server.endpoint)
        keys = sorted(o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket="bench", Prefix="world/data/") for o in page.get("Contents", [])
            if f"/{OUT}/" in o["Key"] and o["Key"].endswith(".parquet"))
        print(f"uploaded to {server.endpoint}: {len(keys)} parts of {OUT}")
        for delay in [float(d) for d in args.delay_ms.split(",")]:
            with LatencyProxy(server.host, server.port, delay / 1000) as url:
                env = dummy_env(url)
                base_s, base_rss = measure_in_fresh_parent(
                    [sys.executable, "-c", BASELINE_S3, ",".join(f"s3://bench/{k}" for k in keys),
                     args.memory_limit, str(tmp), f"s3://bench/baseline-{delay:.0f}.parquet"],
                    env)
                ours_s, ours_rss = measure_in_fresh_parent(
                    [sys.executable, "-m", "oracle_tui.cli", "stream-view", "build",
                     "s3://bench/world", "--output-id", OUT, "--memory-limit",
                     args.memory_limit, "--temp-dir", str(tmp), "--json"], env)
                views = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
                    Bucket="bench", Prefix="world/stream_view/") for o in page.get(
                    "Contents", [])]
                print(f"{delay:4.0f} ms: stream-view build {ours_s:6.1f} s (peak RSS {ours_rss} "
                      f"MiB; {len(views)} view objects written back)   bare DuckDB over "
                      f"httpfs {base_s:6.1f} s (peak RSS {base_rss} MiB)   ratio "
                      f"{ours_s / base_s:.2f}")
                for key in views:
                    s3.delete_object(Bucket="bench", Key=key)
    if not args.keep_world:
        shutil.rmtree(world, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
