"""The import budget of the first screen (issue 37): a fresh interpreter that opens the
inspector's first screen on a demo world (Pilot), and one that runs `check --quick`, never
load DuckDB. Arrow (with numpy) is loaded by the check itself: Parquet footers are read with
it (row counts and schemas of every part); jsonschema judges the pack's own documents."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from oracle_tui.core.demo import DemoWorld

NEVER_ON_THE_FIRST_SCREEN = ("duckdb", "distributed", "dask")

FIRST_SCREEN = """
import asyncio, sys
from oracle_tui.tui.app import make_app
from oracle_tui.tui.jobs import CheckDone

async def main():
    first = asyncio.Event()

    def hook(message):
        if isinstance(message, CheckDone):
            first.set()

    app = make_app({root!r}, read_only=True)
    async with app.run_test(size=(120, 40), message_hook=hook):
        await asyncio.wait_for(first.wait(), 240)  # the first screen's quick check
        loaded = [m for m in {names!r} if m in sys.modules]
        app.exit()
    print(",".join(loaded))

asyncio.run(main())
"""

QUICK_CHECK = """
import sys
from oracle_tui.cli import main
code = main(["check", {root!r}, "--quick", "--json"])
sys.stderr.write(",".join(m for m in {names!r} if m in sys.modules))
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300)


def test_the_first_screen_loads_no_engine(world: DemoWorld) -> None:
    res = _run(FIRST_SCREEN.format(root=world.root, names=NEVER_ON_THE_FIRST_SCREEN))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""


def test_a_quick_check_loads_no_engine(world: DemoWorld) -> None:
    res = _run(QUICK_CHECK.format(root=world.root, names=NEVER_ON_THE_FIRST_SCREEN))
    assert res.stderr.strip() == ""
