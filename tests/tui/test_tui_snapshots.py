"""Snapshot tests of each pane at a fixed size, on a deterministic demo world.

The root is given relative to the working folder so that no temporary path shows up; the
demo world has no timestamps unless sealed. Update with `pytest --snapshot-update` and look
at the SVGs (snapshot_report.html) before committing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.tui.app import make_app
from oracle_tui.tui.pilot import wait_idle

SIZE = (130, 42)



@pytest.mark.parametrize("key", ["1", "2", "3", "4", "5", "6"])
def test_pane_snapshot(snap_compare: Any, world: DemoWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app("world")

    async def before(pilot: Any) -> None:
        await wait_idle(pilot)
        await pilot.press(key)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_seal_modal_snapshot(snap_compare: Any, world: DemoWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app("world")

    async def before(pilot: Any) -> None:
        await wait_idle(pilot)
        await pilot.press("s", "enter")
        await wait_idle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=before)
