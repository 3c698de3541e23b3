"""The inspector benchmarks' pack: a demo world plus many small report files (the shape of a
real engine run root with thousands of bundle and report files)."""

from __future__ import annotations

import argparse
from pathlib import Path

from oracle_tui.core.demo import DemoWorld, generate_demo_world

REPO = Path(__file__).resolve().parent.parent
UPSTREAM = REPO.parent / "shared" / "reference" / "upstream-interface-pack"


def world_with_many_files(folder: Path, files: int) -> DemoWorld:
    """A 20,000-event demo world under ``folder`` with ``files`` extra small JSON files."""
    world = generate_demo_world(folder / "w", events=20_000)
    many = Path(world.root) / "reports" / "many"
    for i in range(files):
        d = many / f"{i // 1000:03d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"r{i:06d}.json").write_text("{}\n")
    return world


def pack_arguments(description: str | None = None) -> argparse.Namespace:
    """The inspector benchmarks' flags: extra files, the catalogue, how many runs."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--upstream", default=str(UPSTREAM))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--s3", action="store_true",
                    help="the pack sealed on a local S3 server, read through a latency proxy")
    ap.add_argument("--delay-ms", default="0,30", help="with --s3: each request's delay")
    return ap.parse_args()
