"""Time to the inspector's first screen on a big pack, and to the full check.

Builds a demo world plus 20,000 small files, opens it with the upstream 340-output catalogue
(as an operator would with --interface-pack), and measures, in one process from before the
app is built: first screen (overview pane filled: listing, receipt, lifecycle) and complete
check (all panes filled). The baseline named in the issue is a fixed budget: 1.5 s.

    python benchmarks/bench_tui_open.py [--files 20000] [--upstream ../shared/...]
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from big_pack import pack_arguments, world_with_many_files

from oracle_tui.tui.app import make_app
from oracle_tui.tui.jobs import CheckDone, OverviewReady


async def open_once(root: str, pack: str | None) -> tuple[float, float]:
    t0 = time.perf_counter()
    marks: dict[str, float] = {}

    def hook(message: Any) -> None:
        if isinstance(message, OverviewReady) and "first" not in marks:
            marks["first"] = time.perf_counter() - t0
        if isinstance(message, CheckDone) and "full" not in marks:
            marks["full"] = time.perf_counter() - t0

    app = make_app(root, interface_pack=pack)
    async with app.run_test(size=(140, 44), message_hook=hook) as pilot:
        while "full" not in marks:
            await pilot.pause(0.01)
    return marks["first"], marks["full"]


def main() -> int:
    args = pack_arguments()
    with tempfile.TemporaryDirectory() as tmp:
        world = world_with_many_files(Path(tmp), args.files)
        results = [asyncio.run(open_once(world.root, args.upstream)) for _ in range(args.repeat)]
    first = statistics.median(r[0] for r in results)
    full = statistics.median(r[1] for r in results)
    print(f"pack: {args.files + world.files:,} files, catalogue: upstream (340 outputs)")
    print(f"first screen: {first:.2f} s (budget 1.5 s)   full check in panes: {full:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
