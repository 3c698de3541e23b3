"""Many findings of one code: the text report and the TUI summarise, JSON stays complete."""

from __future__ import annotations

import json
from pathlib import Path

from oracle_tui.core.demo import DemoWorld
from oracle_tui.tui.app import make_app
from oracle_tui.tui.panes import ROWS_PER_CODE
from oracle_tui.tui.pilot import wait_idle
from tests.conftest import run_cli_process

N = 2_000


def _flood(root: str) -> None:
    many = Path(root) / "logs" / "many"
    many.mkdir()
    for i in range(N):
        (many / f"{i:05d}.log").write_bytes(b"")


def test_text_summarises_and_json_lists_everything(sealed_world: DemoWorld) -> None:
    _flood(sealed_world.root)
    text = run_cli_process("check", sealed_world.root, env={"COLUMNS": "200"})
    assert text.code == 1
    assert f"… and {N - 5:,} more" in text.out
    assert len(text.out.splitlines()) < 80
    res = run_cli_process("check", sealed_world.root, "--json")
    doc = json.loads(res.out)
    unexpected = [f["subject"] for f in doc["findings"] if f["code"] == "UNEXPECTED_FILE"]
    assert unexpected == [f"logs/many/{i:05d}.log" for i in range(N)]


async def test_tui_shows_the_first_rows_and_a_count(sealed_world: DemoWorld) -> None:
    from textual.widgets import DataTable

    _flood(sealed_world.root)
    app = make_app(sealed_world.root, read_only=True)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_idle(pilot)
        table = app.query_one("#findings-table", DataTable)
        cells = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        unexpected = [r for r in cells if r[1] == "UNEXPECTED_FILE"]
        assert len(unexpected) == ROWS_PER_CODE + 1
        assert unexpected[-1][2] == f"… and {N - ROWS_PER_CODE:,} more: type / to filter"
        await pilot.press("6", "slash")
        await pilot.press(*"01999")
        await wait_idle(pilot)
        cells = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[2] for r in cells] == ["logs/many/01999.log"]
