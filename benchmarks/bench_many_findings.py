"""Reports that grow linearly (issue 33, class 7): a sealed pack with N files the content
index does not list (N UNEXPECTED_FILE findings) and a pack whose gate index lists N members
that are absent (N OBJECT_MISSING findings), each checked three ways in one run:

  - `oracle-tui check ROOT --json` (the baseline: the default check and a JSON dump),
  - `oracle-tui check ROOT` (the human text report),
  - the inspector (Pilot) from start until it settles (quick look and full re-hash).

Prints each time and the ratio text/JSON and inspector/JSON (goal: text within 2x).

    python benchmarks/bench_many_findings.py [--findings 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from oracle_tui.core.demo import generate_demo_world
from oracle_tui.core.jsonio import canonical_json
from oracle_tui.core.seal import seal_pack
from oracle_tui.tui.app import make_app
from oracle_tui.tui.pilot import wait_idle


def extra_files(base: Path, n: int) -> str:
    world = generate_demo_world(base / "extra", events=2_000)
    seal_pack(world.root, scenario_id=world.world_key.scenario_id, engine_release="demo-1.0")
    many = Path(world.root) / "logs" / "many"
    many.mkdir()
    for i in range(n):
        (many / f"{i:06d}.log").write_bytes(b"")
    return world.root


def missing_members(base: Path, n: int) -> str:
    """The 1A bundle's index.json lists n more members, none present (its flag then no
    longer matches either: one GATE_EVIDENCE_MISMATCH besides)."""
    world = generate_demo_world(base / "members", events=2_000)
    index = next(Path(world.root).glob("data/layer1/1A/validation/*/index.json"))
    doc = json.loads(index.read_text())
    entries = doc if isinstance(doc, list) else doc.get("files") or doc.get("members") or []
    template = dict(entries[0]) if entries and isinstance(entries[0], dict) else {}
    key = "path" if "path" in template else next(iter(template), "path")
    added = [{**template, key: f"missing/{i:06d}.json"} for i in range(n)]
    if isinstance(doc, list):
        doc = doc + added
    else:
        field = "files" if "files" in doc else "members"
        doc[field] = list(doc.get(field, [])) + added
    index.write_bytes(canonical_json(doc))
    return world.root


def timed(*args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "oracle_tui.cli", *args], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


async def inspector(root: str) -> float:
    t0 = time.perf_counter()
    app = make_app(root, read_only=True)
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_idle(pilot, rounds=100_000)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--findings", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in (("extra files", extra_files), ("missing members", missing_members)):
            root = make(Path(tmp), args.findings)
            as_json = timed("check", root, "--json")
            as_text = timed("check", root)
            tui = asyncio.run(inspector(root))
            print(f"{name:16} {args.findings:,} findings: json {as_json:.2f} s, text "
                  f"{as_text:.2f} s ({as_text / as_json:.2f}x), inspector {tui:.2f} s "
                  f"({tui / as_json:.2f}x, quick look and full re-hash)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
