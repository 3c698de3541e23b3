"""Time from starting `oracle-tui inspect` in a terminal to the Overview on screen.

Builds a demo world plus 20,000 small files, then starts `oracle-tui inspect ROOT
--interface-pack <upstream 340-output catalogue>` in a real pseudo-terminal (200×50), as an
operator would, and times from just before the process starts until the terminal has been
sent the Overview's facts (the pack's run id, drawn by the first frame that shows the
pack) and, separately, until the full check's verdict line is drawn. Median of --repeat
runs, each a fresh process. Prints both, and the goal (< 0.6 s to the first screen, issue 37;
the budget was 1 s before it).

    python benchmarks/bench_first_screen.py [--files 20000] [--repeat 5]
        [--s3 --delay-ms 0,30]

`--s3` seals the pack on a local S3 server (moto) and opens `s3://bench/pack` through
benchmarks/latency_proxy.py at each delay, counting the requests each screen made.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from collections.abc import Callable
from pathlib import Path

from big_pack import pack_arguments, world_with_many_files
from bytecode import compile_package

from oracle_tui.core.demo import DemoWorld

CLI = [sys.executable, "-m", "oracle_tui.entry"]  # as the `oracle-tui` script runs


def time_to(args: list[str], first: bytes, full: bytes, limit: float = 60,
            requests: Callable[[], int] = lambda: 0) -> tuple[float, float, int, int]:
    """Seconds until ``first`` and until ``full`` appear in what the app writes, and the
    ``requests`` counted by then."""
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of 200×50, as an operator's
        os.environ.update({"TERM": "xterm-256color", "COLUMNS": "200", "LINES": "50"})
        os.execv(args[0], args)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    seen = b""
    marks: dict[str, float] = {}
    counts = {"start": requests()}
    try:
        while "full" not in marks and time.perf_counter() - t0 < limit:
            if not full and "first" in marks:
                break
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if "first" not in marks and first in seen:
                marks["first"] = time.perf_counter() - t0
                counts["first"] = requests() - counts["start"]
            if full and full in seen:
                marks["full"] = time.perf_counter() - t0
                counts["full"] = requests() - counts["start"]
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    if not full:
        marks["full"], counts["full"] = marks.get("first", -1.0), counts.get("first", -1)
    if "full" not in marks:
        raise SystemExit(f"the app never drew {full!r}; last output: {seen[-400:]!r}")
    return (marks.get("first", marks["full"]), marks["full"],
            counts.get("first", counts["full"]), counts["full"])


def on_s3(world: DemoWorld, args: argparse.Namespace) -> int:
    import subprocess

    from latency_proxy import LatencyProxy
    from s3_bench import dummy_env, local_s3, upload_folder

    with local_s3("bench") as server:
        upload_folder(server.endpoint, Path(world.root), "bench", "pack")
        env = dummy_env(server.endpoint)
        subprocess.run([*CLI, "seal", "s3://bench/pack", "--scenario-id",
                        world.world_key.scenario_id, "--engine-release", "demo-1.0", "--yes"],
                       env=env, check=True, capture_output=True)
        for delay in [float(d) for d in args.delay_ms.split(",")]:
            proxy = LatencyProxy(server.host, server.port, delay / 1000)
            with proxy as url:
                os.environ.update(dummy_env(url))
                cmd = [*CLI, "inspect", "s3://bench/pack", "--interface-pack", args.upstream]
                # The first screen only: the full check re-hashes every object (minutes of
                # this machine's S3 stand-in at 20,000 objects), measured by bench_s3_rehash.
                runs = [time_to(cmd, world.run_id.encode(), b"",
                                requests=lambda p=proxy: p.requests)  # type: ignore[misc]
                        for _ in range(args.repeat)]
            print(f"{delay:4.0f} ms: sealed pack of {args.files + world.files:,} files on S3, "
                  f"upstream catalogue, median of {args.repeat}: Overview on screen "
                  f"{statistics.median(r[0] for r in runs):.2f} s "
                  f"({statistics.median(r[2] for r in runs):.0f} requests)")
    return 0


def main() -> int:
    compile_package()
    args = pack_arguments()
    if args.s3:
        with tempfile.TemporaryDirectory() as tmp:
            return on_s3(world_with_many_files(Path(tmp), args.files), args)
    with tempfile.TemporaryDirectory() as tmp:
        world = world_with_many_files(Path(tmp), args.files)
        cmd = [*CLI, "inspect", world.root, "--interface-pack", args.upstream]
        # The run id is on the Overview's first frame; "outputs readable" only once the
        # check's report is drawn.
        runs = [time_to(cmd, world.run_id.encode(), b"outputs readable")
                for _ in range(args.repeat)]
    first = statistics.median(r[0] for r in runs)
    full = statistics.median(r[1] for r in runs)
    print(f"pack: {args.files + world.files:,} files, catalogue: upstream (340 outputs), "
          f"terminal 200x50, median of {args.repeat} fresh processes")
    print(f"from process start to the Overview on screen: {first:.2f} s (goal < 0.6 s)")
    print(f"from process start to the full check drawn:    {full:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
