"""Snapshot tests of each pane at a fixed size, on a deterministic demo world.

The root is given relative to the working folder so that no temporary path shows up; the
demo world has no timestamps unless sealed. Update with `pytest --snapshot-update` and look
at the SVGs (snapshot_report.html) before committing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from oracle_tui.tui.app import make_app

SIZE = (130, 42)


async def _settle(pilot: Any) -> None:
    for _ in range(200):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if pilot.app.job_label is None:
            break


@pytest.mark.parametrize("key", ["1", "2", "3", "4", "5", "6"])
def test_pane_snapshot(snap_compare, world, tmp_path: Path, monkeypatch, key: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    app = make_app("world")

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        await pilot.press(key)
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_seal_modal_snapshot(snap_compare, world, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    app = make_app("world")

    async def before(pilot: Any) -> None:
        await _settle(pilot)
        await pilot.press("s", "enter")
        await _settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=before)
