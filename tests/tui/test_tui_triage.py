"""Triage in the inspector: a finding and a failing gate shown whole, every code group
listed where Enter lands, a sealed pack's seal shown instead of a new one proposed, quit
stops work, and the view preview reads one part at a time."""

from __future__ import annotations

import asyncio
import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.widgets import DataTable, Static

from oracle_tui.core.codes import CODES
from oracle_tui.core.demo import DemoWorld
from oracle_tui.tui.app import make_app
from oracle_tui.tui.code_panes import PANES, pane_of
from oracle_tui.tui.panes import MEMBERS_SHOWN
from oracle_tui.tui.pilot import wait_idle
from oracle_tui.tui.screens import InfoScreen
from tests.conftest import run_cli_here

SIZE = (160, 45)


def _flip_flag(root: str) -> tuple[str, str]:
    """One byte of the 6B gate's flag changed far into the digest; returns (claimed, true)."""
    flag = next(Path(root).glob("data/layer3/6B/validation/*/_passed.flag"))
    text = flag.read_text()
    true = text.split("=")[1].strip()
    forged = true[:40] + ("0" if true[40] != "0" else "1") + true[41:]
    flag.write_text(text.replace(true, forged))
    return forged, true


def _plain(content: Any) -> str:
    """What a Static shows, as plain text (wide enough that nothing wraps)."""
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(content)
    return console.export_text()


def _text(app: Any, widget_id: str) -> str:
    return _plain(app.query_one(widget_id, Static).content)


async def test_a_failing_gate_and_its_finding_are_shown_whole(world: DemoWorld) -> None:
    forged, true = _flip_flag(world.root)
    app = make_app(world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        await pilot.press("2")
        table = app.query_one("#gates-table", DataTable)
        table.move_cursor(row=table.get_row_index("gate.layer3.6B.validation"))
        await wait_idle(pilot)
        detail = _text(app, "#gate-detail")
        assert forged in detail and true in detail  # both in full, not cut at 16
        assert "^ differ from character 41" in detail
        assert "GATE_EVIDENCE_MISMATCH: flag says" in detail
        await pilot.press("6")
        findings = app.query_one("#findings-table", DataTable)
        row = next(i for i in range(findings.row_count)
                   if str(findings.get_row_at(i)[1]) == "GATE_EVIDENCE_MISMATCH")
        findings.move_cursor(row=row)
        await wait_idle(pilot)
        guidance = _text(app, "#guidance")
        assert f"flag says {forged}, recomputed {true}" in guidance.replace("\n", " ")
        assert "differ from character 41" in guidance
        assert "blocks:  s2_event_stream_baseline_6B, s3_event_stream_with_fraud_6B, " \
               "s4_event_labels_6B" in guidance


def test_every_code_belongs_to_exactly_one_pane() -> None:
    assert {pane_of(code) for code in CODES} <= set(PANES)
    for pane in PANES:
        assert any(pane_of(code) == pane for code in CODES), pane


async def test_enter_on_each_code_group_lands_on_the_pane_that_lists_it(
        sealed_world: DemoWorld) -> None:
    root = Path(sealed_world.root)
    _flip_flag(sealed_world.root)                                    # gates
    (root / "logs" / "stray.txt").write_text("x")                     # outputs
    binding = root / "_oracle_tui_seal_binding.json"                  # seal
    doc = json.loads(binding.read_text())
    doc["run_id"] = "0" * 32
    binding.write_text(json.dumps(doc))
    app = make_app(sealed_world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        assert app.report is not None
        landed: dict[str, str] = {}
        for code in ("GATE_EVIDENCE_MISMATCH", "UNEXPECTED_FILE", "SEAL_MISMATCH",
                     "STREAM_VIEW_MISSING"):
            await pilot.press("6")
            table = app.query_one("#findings-table", DataTable)
            row = next(i for i in range(table.row_count)
                       if str(table.get_row_at(i)[1]) == code)
            table.move_cursor(row=row)
            await pilot.press("enter")
            await wait_idle(pilot)
            landed[code] = app.query_one("#panes").active
        assert landed == {"GATE_EVIDENCE_MISMATCH": "gates", "UNEXPECTED_FILE": "outputs",
                          "SEAL_MISMATCH": "seal", "STREAM_VIEW_MISSING": "streams"}
        # And those panes list them.
        assert "stray.txt" in " ".join(str(c) for i in range(
            app.query_one("#files-table", DataTable).row_count)
            for c in app.query_one("#files-table", DataTable).get_row_at(i))
        assert "SEAL_MISMATCH" in _text(app, "#seal-summary")
        views = app.query_one("#views-table", DataTable)
        assert [str(views.get_row_at(i)[2]) for i in range(views.row_count)] == \
            ["STREAM_VIEW_MISSING"] * 4


async def test_s_on_a_sealed_pack_shows_its_seal_and_writes_nothing(
        sealed_world: DemoWorld) -> None:
    before = sorted(p.name for p in Path(sealed_world.root).iterdir())
    app = make_app(sealed_world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        await pilot.press("s")
        await wait_idle(pilot)
        assert isinstance(app.screen, InfoScreen)
        body = _plain(app.screen.query_one("#info-body", Static).content)
        assert "SEALED_OK" in body and "engine_release  demo-1.0" in body
        assert app.report is not None and app.report.seal.oracle_pack_id in body
        await pilot.press("escape")
    assert sorted(p.name for p in Path(sealed_world.root).iterdir()) == before


async def _wait_for(event: threading.Event) -> bool:
    return await asyncio.get_running_loop().run_in_executor(None, event.wait, 60)


@pytest.mark.parametrize("action", ["build", "seal"])
async def test_quit_mid_job_stops_the_core(world: DemoWorld, monkeypatch: pytest.MonkeyPatch,
                                           action: str) -> None:
    from oracle_tui.core import hashing, seal
    from oracle_tui.core.views import build as stream_view
    from oracle_tui.core.views import sort as range_sort

    label = {"build": "building stream view", "seal": "sealing"}[action]
    entered = threading.Event()
    ended = threading.Event()
    app = make_app(world.root)

    def hold() -> None:
        """Inside the job's core work: stay until the job is told to stop (or a minute)."""
        job = app.job
        if job is not None and job.label == label and not entered.is_set():
            entered.set()
            job.cancel.wait(60)

    if action == "build":
        real = range_sort.sha256_file

        def held(path: Any) -> str:
            hold()
            return real(path)

        monkeypatch.setattr(range_sort, "sha256_file", held)
    else:
        real_chunks = hashing._chunks_of  # every stored object's bytes are read through it

        def slow(*args: Any, **kwargs: Any) -> Any:
            hold()
            yield from real_chunks(*args, **kwargs)

        monkeypatch.setattr(hashing, "_chunks_of", slow)
    module, name = (stream_view, "build_stream_view") if action == "build" \
        else (seal, "seal_pack")
    core = getattr(module, name)

    def tracked(*args: Any, **kwargs: Any) -> Any:
        try:
            return core(*args, **kwargs)
        finally:
            ended.set()

    monkeypatch.setattr(module, name, tracked)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        if action == "build":
            await pilot.press("5", "b", "tab", "enter")
        else:
            await pilot.press("s", "enter")
            await wait_idle(pilot)
            await pilot.press("tab", "enter")
        assert await _wait_for(entered)
        job = app.job
        assert job is not None and job.label == label
        await pilot.press("q")
    assert job.cancel.is_set()  # quitting told the core to stop
    assert ended.wait(60)  # the core's call returns by itself: it was told, not abandoned
    names = sorted(p.name for p in Path(world.root).iterdir())
    if action == "build":
        assert "stream_view" not in names  # no partial view
    else:
        # A prefix of the seal's files at most, which a re-run completes; never a seal.
        assert "_SEALED.json" not in names


async def test_the_preview_reads_one_part_at_a_time(world: DemoWorld,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from oracle_tui.core.views import reader as view_reader
    from oracle_tui.core.views.build import build_stream_view

    for output in ("arrival_events_5B", "s3_event_stream_with_fraud_6B"):
        build_stream_view(world.root, output, rows_per_part=1500)
    real = view_reader.preview_rows
    active, most = [0], [0]
    lock = threading.Lock()

    def counted(*args: Any, **kwargs: Any) -> Any:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            return real(*args, **kwargs)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(view_reader, "preview_rows", counted)
    opened: list[str] = []
    real_open = view_reader.open_stream_view
    monkeypatch.setattr(view_reader, "open_stream_view",
                        lambda *a, **k: opened.append(a[1]) or real_open(*a, **k))
    app = make_app(world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        await pilot.press("5")
        for _ in range(5):
            for key in ("down", "down", "down", "up", "up", "up"):
                await pilot.press(key)
        await wait_idle(pilot)
        assert most[0] == 1
        assert opened == []  # no full check, no listing per cursor move
        assert app.query_one("#view-rows", DataTable).row_count == 20


def test_the_cli_report_explains_each_fail(world: DemoWorld) -> None:
    """Piped, the report is one line per finding with what it blocks, then what each FAIL
    code means and where the two digests part; a WARN is not a reason it fails."""
    _flip_flag(world.root)
    result = run_cli_here("check", world.root)
    assert result.code == 1
    lines = result.out.splitlines()
    blocks = " [blocks s2_event_stream_baseline_6B, s3_event_stream_with_fraud_6B, " \
             "s4_event_labels_6B]"
    gate = [line for line in lines if line.startswith("FAIL GATE_EVIDENCE_MISMATCH ")]
    required = [line for line in lines if line.startswith("FAIL REQUIRED_GATE_NOT_PASS ")]
    assert len(gate) == 1 and len(required) == 3
    assert gate[0].startswith("FAIL GATE_EVIDENCE_MISMATCH gate.layer3.6B.validation: ")
    assert gate[0].endswith(blocks)
    assert sorted(line.split()[2].rstrip(":") for line in required) == [
        "s2_event_stream_baseline_6B", "s3_event_stream_with_fraud_6B", "s4_event_labels_6B"]
    assert "GATE_EVIDENCE_MISMATCH gate.layer3.6B.validation: flag and recomputed differ " \
           "from character 41" in lines
    assert [line.split()[1] for line in lines if line.split()[0] in
            ("GATE_EVIDENCE_MISMATCH", "REQUIRED_GATE_NOT_PASS", "PACK_NOT_SEALED")] == \
        ["means:", "do:", "gate.layer3.6B.validation:", "means:", "do:"]


async def test_a_gate_with_thousands_of_members_lists_the_failing_ones_first(
        world: DemoWorld) -> None:
    """The member table is cut at MEMBERS_SHOWN rows: the index's 500 extra entries come
    after its real members, yet the absent ones lead the table and the rest is counted."""
    index = next(Path(world.root).glob("data/layer1/1A/validation/*/index.json"))
    members = json.loads(index.read_text())
    index.write_text(json.dumps(members + [{"path": f"gone/{i:03d}.json", "sha256_hex": "0" * 64}
                                           for i in range(500)]))
    app = make_app(world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        await pilot.press("2")
        table = app.query_one("#members-table", DataTable)
        shown = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert len(shown) == MEMBERS_SHOWN + 1
        assert [r[0] for r in shown[:3]] == ["gone/000.json", "gone/001.json", "gone/002.json"]
        assert {r[4] for r in shown[:-1]} == {"NO"}
        total = 500 + len(members) + 1  # index.json is hashed as a member too
        assert shown[-1][:2] == [f"… and {total - MEMBERS_SHOWN:,} more",
                                 "all of them in the JSON export"]


async def test_without_colour_failure_is_the_most_prominent_text(
        world: DemoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR: Textual greys every colour by its luminance, which made red the darkest
    text on screen. Every FAIL label, the failing count, the readable count and the "next"
    line are bold and reversed, never dim; routine text is neither."""
    from rich.console import Console as RichConsole

    _flip_flag(world.root)
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        assert app.no_color
        update = app.screen._compositor.render_update(full=True)
        segments = list(RichConsole(width=SIZE[0], force_terminal=True,
                                    color_system="truecolor").render(update))
    def styles_of(fragment: str) -> list[Any]:
        return [s.style for s in segments if fragment in s.text and s.style is not None]

    wanted = ["FAIL", "4 fail", "outputs readable", "Do not read this pack"]
    for fragment in wanted:
        found = styles_of(fragment)
        assert found, fragment
        for style in found:
            assert (style.bold, style.reverse, bool(style.dim)) == (True, True, False), fragment
    routine = styles_of("profile")
    assert routine and not any(s.reverse for s in routine)


async def test_at_80_by_24_the_verdict_files_and_every_key_are_reachable(
        world: DemoWorld) -> None:
    """An 80×24 terminal: the Overview's verdict and first FAIL lines sit above the fold,
    a long subject keeps its file name (cut in the middle, never at the end), and every
    footer key is either shown whole or listed on the help screen."""
    from textual.widgets._footer import FooterKey

    from oracle_tui.tui.actions import ACTIONS, help_keys

    _flip_flag(world.root)
    part = sorted(Path(world.root).glob(
        "data/layer3/6B/s3_event_stream_with_fraud_6B/**/part-*.parquet"))[0]
    stray = part.parent / ".part-00004.parquet.tmp"
    stray.write_bytes(b"x")
    app = make_app(world.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(pilot)

        def screen() -> list[str]:
            return [strip.text for strip in app.screen._compositor.render_strips()]

        lines = screen()
        assert len(lines) == 24
        verdict = [i for i, line in enumerate(lines) if "Do not read this pack" in line]
        fails = [i for i, line in enumerate(lines) if line.lstrip().startswith("FAIL")]
        assert verdict and len(fails) >= 2, "\n".join(lines)
        assert max(verdict[0], fails[1]) < 23  # above the footer

        shown = {key.action for key in app.screen.query(FooterKey)
                 if key.display and key.region.width > 0}
        for key in app.screen.query(FooterKey):
            if key.action in shown:
                assert key.region.right <= 80, key.action  # whole, not cut at the edge
        footer_actions = {a.name for a in ACTIONS if a.show}
        hidden = footer_actions - shown
        assert hidden == {"filter", "copy", "export"}
        help_text = help_keys()
        for action in ACTIONS:
            if action.name in hidden:
                assert action.help in help_text

        await pilot.press("6")
        await wait_idle(pilot)
        rows = [line for line in screen() if "UNEXPECTED_FILE" in line]
        assert len(rows) == 1
        assert ".part-00004.parquet.tmp" in rows[0], rows[0]  # the file name, whole
        assert rows[0].index("data/layer3/6") < rows[0].index("…") < rows[0].index(".part")
