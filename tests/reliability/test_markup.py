"""Everything shown is data: console markup in names and reasons prints as itself.

A file named `[conceal]…` or `[/x]`, and a tombstone reason and authority holding markup,
used to crash the TUI (MarkupError) and the text report (INTERNAL_ERROR) or hide text.
"""

from __future__ import annotations

from pathlib import Path

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.tombstone import tombstone_pack
from oracle_tui.tui.app import make_app
from oracle_tui.tui.pilot import wait_idle
from tests.conftest import run_cli_process

REASON = "[/x] rng defect [conceal]hidden[/conceal] :smile:"
AUTHORITY = "[bold red]ops-oncall"
NAMES = ["[conceal]secret.log", "[/x].log", "[link=x]y[/link].log"]


def _marked_world(root: str) -> None:
    logs = Path(root) / "logs"
    for name in NAMES:
        (logs / name).parent.mkdir(parents=True, exist_ok=True)
        (logs / name).write_text("x")
    tombstone_pack(root, reason=REASON, authority=AUTHORITY)


def test_text_report_prints_markup_as_itself(sealed_world: DemoWorld) -> None:
    _marked_world(sealed_world.root)
    res = run_cli_process("check", sealed_world.root, env={"COLUMNS": "250"})
    assert res.code == 1 and "Traceback" not in res.err and "INTERNAL_ERROR" not in res.out
    flat = " ".join(res.out.split())
    assert REASON in flat and AUTHORITY in flat
    for name in NAMES:
        assert f"logs/{name}" in flat


async def test_every_pane_shows_markup_as_itself(sealed_world: DemoWorld) -> None:
    _marked_world(sealed_world.root)
    app = make_app(sealed_world.root, read_only=True)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_idle(pilot)
        seen = ""
        for key in "123456":
            await pilot.press(key)
            await wait_idle(pilot)
            assert type(app.screen).__name__ == "Screen"  # no error screen
            seen += app.export_screenshot().replace("&#160;", " ")
        for text in ("[conceal]secret.log", "[/x].log", "hidden", "[bold red]ops-oncall"):
            assert text in seen, text


async def test_a_file_name_with_line_breaks_is_one_escaped_line_in_every_inspector_text(
        world: DemoWorld) -> None:
    """A stray file named with a newline and a carriage return: the Findings table, the
    selected finding's panel and the copy toast show the escapes, never a forged line or
    a name with a character gone."""
    folder = next(Path(world.root).glob(
        "data/layer3/6B/s3_event_stream_with_fraud_6B/**/part-00000.parquet")).parent
    (folder / "evil\nFAIL FAKE x.parquet").write_text("x")
    app = make_app(world.root, read_only=True)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_idle(pilot)
        await pilot.press("6")
        await wait_idle(pilot)
        from textual.widgets import DataTable

        from oracle_tui.tui.panes import FindingsPane

        rows = app.query_one(FindingsPane).rows
        index = next(i for i, f in enumerate(rows) if f is not None and "evil" in f.subject)
        app.query_one("#findings-table", DataTable).move_cursor(row=index)
        await wait_idle(pilot)
        lines = [strip.text for strip in app.screen._compositor.render_strips()]
        assert not any(line.strip().startswith("FAIL FAKE") for line in lines)
        assert any("evil\\x0aFAIL FAKE x.parquet" in line for line in lines), "\n".join(lines)
        app.action_copy()
        await wait_idle(pilot)
        toast = next(str(n.message) for n in app._notifications if "clipboard" in str(n.message))
        assert "evil\\x0aFAIL FAKE x.parquet" in toast and "\nFAIL FAKE" not in toast
