"""The import budget of the first screen (issue 37). What the inspector needs to draw its
first screen (the app, its panes, the Overview's facts) loads none of DuckDB, Arrow, numpy
or jsonschema. The check that follows the first frame (and `check --quick`) loads exactly
the two named in CHECK_NEEDS, for the reasons given there, and never the sort engine."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from oracle_tui.core.demo import DemoWorld

NEVER_ON_THE_FIRST_SCREEN = ("duckdb", "distributed", "dask")
HEAVY = ("duckdb", "pyarrow", "numpy", "jsonschema", "distributed", "dask")
# What a check imports, and why: a change that drops one of them (or adds another) shows here.
CHECK_NEEDS = {
    "pyarrow": "Parquet footers (row counts, schemas of every part) are parsed with it",
    "numpy": "pyarrow imports it",
}
# jsonschema judges a sealed pack's documents (manifest, seal, content index): this demo
# world is not sealed, so its check never loads it.

FIRST_FRAME = """
import sys
from oracle_tui.core.overview import pack_overview
from oracle_tui.tui.app import make_app

app = make_app({root!r}, read_only=True)
facts = pack_overview(app.open_pack())  # what the Overview's first frame shows
assert facts.exists and facts.run_receipt is not None
print(",".join(m for m in {names!r} if m in sys.modules))
"""

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


def test_the_first_frame_loads_none_of_the_heavy_libraries(world: DemoWorld) -> None:
    res = _run(FIRST_FRAME.format(root=world.root, names=HEAVY))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""


def test_the_first_screen_loads_no_engine(world: DemoWorld) -> None:
    res = _run(FIRST_SCREEN.format(root=world.root, names=HEAVY))
    assert res.returncode == 0, res.stderr
    assert set(res.stdout.strip().split(",")) == set(CHECK_NEEDS)


def test_a_quick_check_loads_no_engine(world: DemoWorld) -> None:
    res = _run(QUICK_CHECK.format(root=world.root, names=HEAVY))
    assert set(res.stderr.strip().split(",")) == set(CHECK_NEEDS)
