"""Regenerate screenshots/ (SVG from Textual, PNG via cairosvg) of every pane of a demo world,
and of the Diff pane against the same world varied (`demo --vary 3`).

    .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

from oracle_tui.core.demo import generate_demo_world, vary_demo_world
from oracle_tui.core.seal import seal_pack
from oracle_tui.core.views.build import build_stream_view
from oracle_tui.tui.app import make_app
from oracle_tui.tui.pilot import wait_idle

OUT = Path(__file__).resolve().parent.parent / "screenshots"
SIZE = (140, 44)



async def shoot(root: str, shots: list[tuple[str, list[str]]],
                against: str | None = None) -> None:
    app = make_app(root, against=against)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        for name, keys in shots:
            for key in keys:
                await pilot.press(key)
            await wait_idle(pilot)
            await pilot.pause(0.3)
            app.save_screenshot(filename=f"{name}.svg", path=str(OUT))
            print(OUT / f"{name}.svg")


def to_png() -> None:
    import cairosvg

    for svg in sorted(OUT.glob("*.svg")):
        cairosvg.svg2png(url=str(svg), write_to=str(svg.with_suffix(".png")), scale=1.0)


def main() -> None:
    # The PNGs are what the README shows: nothing is removed unless they can be made again.
    if importlib.util.find_spec("cairosvg") is None:
        sys.exit("screenshots: cairosvg is not installed (python3 scripts/test.py installs the "
                 "dev tools, or: .venv/bin/pip install -e '.[dev]'); nothing was changed")
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.*"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        world = generate_demo_world(Path(tmp) / "demo-world", events=20_000)
        root = "demo-world"
        asyncio.run(shoot(root, [("0-overview-staging", ["1"])]))
        seal_pack(root, scenario_id=world.world_key.scenario_id, engine_release="demo-1.0")
        build_stream_view(root, "s3_event_stream_with_fraud_6B", rows_per_part=5_000)
        asyncio.run(shoot(root, [
            ("1-overview", ["1"]), ("2-gates", ["2"]), ("3-outputs", ["3", "d"]),
            ("4-seal", ["4"]), ("5-stream-views", ["5", "down", "down"]),
            ("6-findings", ["6"]), ("7-help", ["question_mark"]),
        ]))
        # Triage: one byte of the 6B gate's flag changed and a stray file in the sealed pack.
        flag = next(Path(root).glob("data/layer3/6B/validation/*/_passed.flag"))
        claimed = flag.read_text().split("=")[1].strip()
        forged = claimed[:40] + ("0" if claimed[40] != "0" else "1") + claimed[41:]
        flag.write_text(flag.read_text().replace(claimed, forged))
        (Path(root) / "logs").mkdir(exist_ok=True)
        (Path(root) / "logs" / "stray.txt").write_text("left behind\n")
        asyncio.run(shoot(root, [
            ("8-triage-overview", ["1"]), ("9-triage-gate", ["2", "down", "down", "down"]),
            ("10-triage-finding", ["6"]),
        ]))
        # Diff: the same world again, varied as `demo --vary 3` makes it (still readable).
        first = generate_demo_world(Path(tmp) / "first", events=2_000)
        changed = vary_demo_world(generate_demo_world(Path(tmp) / "changed", events=2_000), 3)
        asyncio.run(shoot(first.root, [("11-diff", ["7"])], against=changed.root))
    to_png()


if __name__ == "__main__":
    main()
