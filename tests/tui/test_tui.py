"""The inspector under Textual's Pilot: every pane, every action, on real packs."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, DataTable, Input, Label, Static

from oracle_tui.core import hashing
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.timeline import RowsOverTime, picture_lines
from oracle_tui.tui.app import InspectorApp, make_app
from oracle_tui.tui.jobs import CheckDone, JobCancelled
from oracle_tui.tui.panes import StreamViewsPane
from oracle_tui.tui.pilot import wait_idle
from oracle_tui.tui.plain import elide_middle
from oracle_tui.tui.screens import (
    ConfirmScreen,
    ErrorScreen,
    HelpScreen,
    InputScreen,
    TombstoneScreen,
)

SIZE = (130, 42)



async def _wait_for(event: threading.Event, timeout: float = 60) -> bool:
    """Wait for a worker thread's event without blocking the app's loop."""
    return await asyncio.get_running_loop().run_in_executor(None, event.wait, timeout)


def rows(app: InspectorApp, table_id: str) -> list[list[str]]:
    table = app.query_one(f"#{table_id}", DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_every_pane_shows_the_pack(world: DemoWorld, tmp_path: Path) -> None:
    seen: list[Any] = []
    app = make_app(world.root, export_dir=str(tmp_path))
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await wait_idle(pilot)
        assert any(isinstance(m, CheckDone) for m in seen)
        assert app.report is not None and app.report.verdict == "WARN"
        badge = str(app.query_one("#badge").render())
        assert "WARN" in badge and "lifecycle: not sealed yet (staging)" in badge
        # The first screen was quick and said so; the full re-hash followed by itself.
        quick = [m.report for m in seen if isinstance(m, CheckDone)]
        assert [r.digests_rehashed for r in quick] == [False, True]
        assert "digests not re-hashed" not in badge and app.report.digests_rehashed
        for key, pane in zip("123456", ("overview", "gates", "outputs", "seal", "streams",
                                        "findings"), strict=True):
            await pilot.press(key)
            assert app.query_one("#panes").active == pane
        gates = rows(app, "gates-table")
        assert [r[0] for r in gates] == ["gate.layer1.1A.validation", "gate.layer1.3A.validation",
                                         "gate.layer2.5B.validation", "gate.layer3.6B.validation"]
        assert {r[2] for r in gates} == {"PASS"}
        assert len(rows(app, "members-table")) == 4  # the 1A bundle's files
        assert [r[1] for r in rows(app, "outputs-table")] == ["READABLE"] * 4
        assert [r[1] for r in rows(app, "views-table")] == ["MISSING"] * 4
        assert next(r[1] for r in rows(app, "findings-table")) == "PACK_NOT_SEALED"
        assert "absent" in str(app.query_one("#seal-manifest").render())


async def test_seal_modal_no_is_focused_and_denying_writes_nothing(world: DemoWorld) -> None:
    app = make_app(world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        await pilot.press("s")
        assert isinstance(app.screen, InputScreen)
        assert app.screen.query_one("#value", Input).value == "demo-1.0"
        await pilot.press("enter")
        await wait_idle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.focused is not None and app.screen.focused.id == "no"
        body = str(app.screen.query_one("#confirm-body").render())
        assert "_SEALED.json" in body and world.world_key.manifest_fingerprint in body
        await pilot.press("enter")  # "No"
        await wait_idle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert [str(n.message) for n in app._notifications][-1] == \
            "Seal cancelled: nothing was written."
    assert not (Path(world.root) / "_SEALED.json").exists()
    assert not (Path(world.root) / "_oracle_pack_manifest.json").exists()


async def test_keys_typed_before_the_seal_dialog_appeared_do_not_answer_it(
        world: DemoWorld) -> None:
    """`s Enter Tab Enter` typed faster than the plan, or a click where "Yes" will appear:
    input stamped before the dialog was on screen is dropped (and the dialog says so); the
    operator then answers it, and only that answer writes."""
    from textual import events

    app = make_app(world.root)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_idle(pilot)
        await pilot.press("s")
        early: list[events.Event] = [events.Key("tab", None), events.Key("enter", "\r")]
        await pilot.press("enter")
        await wait_idle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        x, y = dialog.query_one("#yes", Button).region.center
        for kind in (events.MouseDown, events.MouseUp):  # a click on "Yes", stamped early
            click = kind(None, x, y, 0, 0, 1, False, False, False, x, y)
            click.time = early[0].time
            early.append(click)
        forwarded = events.Key("enter", "\r")
        forwarded._set_forwarded()
        forwarded.time = early[0].time  # as if it had been forwarded before the dialog
        early.append(forwarded)
        assert all(e.time < dialog.shown_at for e in early)
        for event in early:  # delivered only now, as a terminal's queued input would be
            app.post_message(event)
        yes_button = dialog.query_one("#yes", Button)
        direct = events.Click(yes_button, 1, 1, 0, 0, 1, False, False, False)
        direct.time = early[0].time
        yes_button.post_message(direct)  # straight to the button, stamped early too
        await wait_idle(pilot)
        assert app.screen is dialog and dialog.focused is not None and \
            dialog.focused.id == "no"
        assert str(dialog.query_one("#typed-ahead", Label).render()) == \
            "6 keys or clicks from before this dialog appeared ignored: choose now."
        assert not (Path(world.root) / "_SEALED.json").exists()
        await pilot.press("tab", "enter")  # typed with the dialog on screen: an answer
        await wait_idle(pilot)
        assert app.report is not None and app.report.seal.lifecycle == "SEALED_OK"
    assert (Path(world.root) / "_SEALED.json").exists()


async def test_a_tombstone_typed_before_its_dialog_appeared_writes_nothing(
        world: DemoWorld) -> None:
    """Reason, authority, the token and Enter, all typed before the tombstone dialog was on
    screen: none of it lands in its fields, nothing is written."""
    from textual import events

    app = make_app(world.root)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_idle(pilot)
        token = Path(world.root).name
        typed = [events.Key(c, c) for c in "bad"] + [events.Key("tab", None)] + \
            [events.Key(c, c) for c in "ops"] + [events.Key("tab", None)] + \
            [events.Key(c if c != "_" else "underscore", c) for c in token] + \
            [events.Key("tab", None), events.Key("tab", None), events.Key("enter", "\r")]
        await pilot.press("T")
        await wait_idle(pilot)
        dialog = app.screen
        assert isinstance(dialog, TombstoneScreen)
        for key in typed:
            app.post_message(key)
            await pilot.pause()
        await wait_idle(pilot)
        assert app.screen is dialog
        assert dialog.query_one("#reason", Input).value == ""
        assert dialog.query_one("#token", Input).value == ""
        await pilot.press("escape")
        await wait_idle(pilot)
    assert not (Path(world.root) / "_TOMBSTONE.json").exists()


async def test_dialogs_fit_80_by_24(world: DemoWorld) -> None:
    """At 80x24 the seal dialog's buttons and the help's last line can be reached: the body
    scrolls, the buttons stay on screen."""
    app = make_app(world.root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(pilot)
        await pilot.press("s", "enter")
        await wait_idle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        for button in app.screen.query(Button):  # on screen: what is at its centre is it
            assert app.screen.get_widget_at(*button.region.center)[0] is button, button.id
        await pilot.press("escape")
        await wait_idle(pilot)
        await pilot.press("question_mark")
        await wait_idle(pilot)
        help_screen = app.screen
        close = help_screen.query_one("#close", Button)
        assert help_screen.get_widget_at(*close.region.center)[0] is close
        body = help_screen.query_one("#help-body")
        body.scroll_end(animate=False)
        await wait_idle(pilot)
        text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert "switch panes" in text  # the help's last key line, scrolled to


async def test_copy_on_the_overview_is_the_root_and_on_outputs_the_path(
        world: DemoWorld) -> None:
    app = make_app(world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        assert app.copy_text() == world.root
        await pilot.press("3")
        await wait_idle(pilot)
        assert app.report is not None
        assert app.copy_text() == app.report.outputs[0].path


async def test_seal_confirmed_writes_and_rechecks(world: DemoWorld) -> None:
    app = make_app(world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        await pilot.press("s", "enter")
        await wait_idle(pilot)
        await pilot.press("tab", "enter")  # move to "Yes, seal"
        await wait_idle(pilot)
        assert app.report is not None
        assert app.report.seal.lifecycle == "SEALED_OK" and app.report.verdict == "PASS"
        # The background re-hash of the first look, the seal, the quick check after it
        # and its re-hash: each logged as the command that proves the same.
        assert app.cli_log == [f"oracle-tui check {world.root}",
                               f"oracle-tui seal {world.root} --scenario-id baseline_v1 "
                               "--engine-release demo-1.0 --yes",
                               f"oracle-tui check {world.root} --quick",
                               f"oracle-tui check {world.root}"]
    assert (Path(world.root) / "_SEALED.json").exists()


async def test_seal_refused_shows_the_reason(world: DemoWorld) -> None:
    flag = next(Path(world.root).glob("data/layer3/6B/validation/*/_passed.flag"))
    flag.write_text("sha256_hex = " + "0" * 64 + "\n")
    app = make_app(world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        await pilot.press("s", "enter")
        await wait_idle(pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert app.screen.code == "GATE_EVIDENCE_MISMATCH"
        await pilot.press("c")
        assert app.clipboard.startswith("GATE_EVIDENCE_MISMATCH: seal refused")
    assert not (Path(world.root) / "_SEALED.json").exists()


def _rendered_text(renderable: Any) -> str:
    import io

    from rich.console import Console

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


async def test_cancel_mid_verification(sealed_world: DemoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    real = hashing.hash_object
    entered, release = threading.Event(), threading.Event()

    def held(store: Any, key: str, cancel: Any = None) -> Any:
        entered.set()  # the job is hashing: cancel now, while it is held here
        release.wait(60)
        return real(store, key, cancel)

    monkeypatch.setattr(hashing, "hash_object", held)
    seen: list[Any] = []
    app = make_app(sealed_world.root)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        # The full re-hash follows the quick first look by itself; esc stops it.
        assert await _wait_for(entered)
        assert app.job_label == "re-hashing digests"
        await pilot.press("escape")
        release.set()
        await wait_idle(pilot)
        assert any(isinstance(m, JobCancelled) for m in seen)
        assert app.job_label is None
        assert app.report is not None and not app.report.seal.digests_verified
        badge = str(app.query_one("#badge").render())
        assert badge.split()[:2] == ["PASS", "(quick)"]
        assert "digests not re-hashed (d re-hashes)" in badge
        body = _rendered_text(app.query_one("#overview-body", Static).content)
        assert "The digests were not re-hashed: press d" in body
        assert "Sealed and readable" not in body
        monkeypatch.setattr(hashing, "hash_object", real)
        await pilot.press("d")
        await wait_idle(pilot)
        assert app.report.seal.digests_verified and app.report.seal.files_hashed == 37
        assert "37 files re-hashed, 0 mismatched" in str(app.query_one("#digest-label").render())
        assert str(app.query_one("#badge").render()).split()[:1] == ["PASS"]


async def test_read_only_hides_and_refuses_write_actions(world: DemoWorld) -> None:
    app = make_app(world.root, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Re-check the pack" in titles and "Seal the pack…" not in titles
        for key in ("s", "b", "T"):
            await pilot.press(key)
            await wait_idle(pilot)
            assert not isinstance(app.screen, (InputScreen, ConfirmScreen, TombstoneScreen))
        footer_keys = set(app.screen.active_bindings)
        assert "s" not in footer_keys and "T" not in footer_keys and "r" in footer_keys
    assert sorted(p.name for p in Path(world.root).iterdir()) == [
        "data", "logs", "reports", "run_receipt.json"]


async def test_bad_root_shows_a_clear_screen(tmp_path: Path) -> None:
    app = make_app(str(tmp_path / "nope"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert app.screen.code == "PACK_NOT_FOUND"
        assert app.report is not None and app.report.verdict == "FAIL"


def _hourly(root: str, output: str) -> RowsOverTime:
    """A view's rows per hour, read with Arrow and Python's datetime."""
    from collections import Counter
    from datetime import datetime, timedelta

    import pyarrow.parquet as pq

    hours: Counter[datetime] = Counter()
    for part in Path(root).glob(f"stream_view/ts_utc/output_id={output}/part-*.parquet"):
        for ts in pq.read_table(part, columns=["ts_utc"]).column(0).to_pylist():
            hours[datetime.fromisoformat(ts.replace("Z", "+00:00")).replace(
                minute=0, second=0, microsecond=0)] += 1
    first, last = min(hours), max(hours)
    counts = [hours.get(first + timedelta(hours=i), 0)
              for i in range(int((last - first).total_seconds() // 3600) + 1)]
    return RowsOverTime(unit="hour", start=first.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                        counts=counts, null_rows=0)


async def test_build_and_verify_a_stream_view(world: DemoWorld) -> None:
    app = make_app(world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        await pilot.press("5")
        table = app.query_one("#views-table", DataTable)
        table.move_cursor(row=2)  # s3_event_stream_with_fraud_6B
        await wait_idle(pilot)
        assert str(app.query_one("#view-timeline", Static).render()) == \
            "view MISSING: no rows to draw"
        await pilot.press("b")
        assert isinstance(app.screen, ConfirmScreen)
        body = str(app.screen.query_one("#confirm-body").render())
        assert "under stream_view/ts_utc/output_id=s3_event_stream_with_fraud_6B/, each only " \
               "if absent:" in body
        assert "+ part-*.parquet\n" in body and "+ _stream_view_manifest.json\n" in body
        assert body.count("+ _stream_sort_receipt.json (last)") == 1
        assert "\n(last)" not in body
        await pilot.press("tab", "enter")
        await wait_idle(pilot)
        states = {r[0]: r[1] for r in rows(app, "views-table")}
        assert states["s3_event_stream_with_fraud_6B"] == "VALID"
        # The first rows show as soon as the view is built, without moving the cursor.
        assert app.query_one(StreamViewsPane).selected_output() == \
            "s3_event_stream_with_fraud_6B"
        preview = app.query_one("#view-rows", DataTable)
        assert preview.row_count == 20
        assert str(preview.ordered_columns[0].label) == "ts_utc"
        # Rows over time: the picture of the rows per hour, counted again here from the parts.
        pane = app.query_one(StreamViewsPane)
        assert str(app.query_one("#view-timeline", Static).render()).splitlines() == \
            picture_lines(_hourly(world.root, "s3_event_stream_with_fraud_6B"),
                          pane.size.width - 4)
        # Every first-row value is on screen whole, the first time it is shown.
        screen = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        first = [str(cell) for cell in preview.get_row_at(0)]
        assert first[0].startswith("20") and first[0] in screen
        assert all(c.width >= len(v) for c, v in zip(preview.ordered_columns, first,
                                                       strict=True))
        # A missing value reads NULL, as in SQL tools, never Python's None.
        import pyarrow.parquet as pq

        view = Path(world.root) / "stream_view/ts_utc/output_id=s3_event_stream_with_fraud_6B"
        part = pq.read_table(sorted(view.glob("part-*.parquet"))[0]).slice(0, 20).to_pylist()
        names = [str(c.label) for c in preview.ordered_columns]
        nulls = {(i, n) for i, row in enumerate(part) for n in names if row[n] is None}
        shown = {(i, n) for i in range(20) for n, v in zip(names, preview.get_row_at(i),
                                                            strict=True) if str(v) == "NULL"}
        assert nulls and shown == nulls
        await pilot.press("c")
        await wait_idle(pilot)
        assert app.cli_log[-1] == (f"oracle-tui stream-view verify {world.root} --output-id "
                                   "s3_event_stream_with_fraud_6B")
        assert not isinstance(app.screen, ErrorScreen)
    folder = Path(world.root) / "stream_view/ts_utc/output_id=s3_event_stream_with_fraud_6B"
    # What the dialog said it would write, and nothing else.
    assert {p.name if not p.name.startswith("part-") else "part-*.parquet"
            for p in folder.iterdir()} == {"part-*.parquet", "_stream_view_manifest.json",
                                           "_stream_sort_receipt.json"}
    receipt = folder / "_stream_sort_receipt.json"
    assert json.loads(receipt.read_text())["sorted_stats"]["row_count"] == 4000


async def test_tombstone_needs_the_typed_pack_id(sealed_world: DemoWorld) -> None:
    app = make_app(sealed_world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        pack_id = app.report.seal.oracle_pack_id  # type: ignore[union-attr]
        await pilot.press("T")
        screen = app.screen
        assert isinstance(screen, TombstoneScreen) and screen.token == pack_id[:12]
        await wait_idle(pilot)
        assert screen.focused is not None and screen.focused.id == "reason"
        await pilot.press(*"rng", "space", *"defect")  # the first keystrokes land there
        assert screen.query_one("#reason", Input).value == "rng defect"
        screen.query_one("#authority", Input).value = "ops"
        screen.query_one("#token", Input).value = "wrong"
        screen.query_one("#yes", Button).press()
        await wait_idle(pilot)
        assert isinstance(app.screen, TombstoneScreen)  # refused: still asking
        assert not (Path(sealed_world.root) / "_TOMBSTONE.json").exists()
        screen.query_one("#token", Input).value = pack_id[:12]
        screen.query_one("#yes", Button).press()
        await wait_idle(pilot)
        assert app.report.seal.lifecycle == "TOMBSTONED"  # type: ignore[union-attr]
    assert (Path(sealed_world.root) / "_TOMBSTONE.json").exists()


async def test_a_tombstoned_pack_is_not_offered_another_tombstone(
        sealed_world: DemoWorld) -> None:
    """T on a tombstoned pack says whose tombstone it is; no dialog offers to write one."""
    from oracle_tui.core.tombstone import tombstone_pack

    tombstone_pack(sealed_world.root, reason="superseded", authority="ops")
    before = (Path(sealed_world.root) / "_TOMBSTONE.json").read_bytes()
    app = make_app(sealed_world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        await pilot.press("T")
        await wait_idle(pilot)
        assert not isinstance(app.screen, TombstoneScreen)
        assert [str(n.message) for n in app._notifications][-1] == \
            "already tombstoned by ops: superseded; the record is never changed"
    assert (Path(sealed_world.root) / "_TOMBSTONE.json").read_bytes() == before


async def test_findings_filter_sort_jump_copy_export(world: DemoWorld, tmp_path: Path) -> None:
    app = make_app(world.root, export_dir=str(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        await pilot.press("slash")
        assert app.query_one("#panes").active == "findings"
        await pilot.press(*"labels")
        assert [r[2] for r in rows(app, "findings-table")] == ["s4_event_labels_6B"]
        await pilot.press("enter")  # leave the filter
        await pilot.press("y")
        assert app.clipboard.startswith("STREAM_VIEW_MISSING s4_event_labels_6B: no stream view")
        await pilot.press("enter")  # jump to where the subject lives
        assert app.query_one("#panes").active == "streams"
        await pilot.press("6")
        app.query_one("#findings-filter", Input).value = ""
        await pilot.pause()
        pane = app.query_one("FindingsPane")
        pane.sort_column = 2  # type: ignore[attr-defined]
        pane.refresh_rows()  # type: ignore[attr-defined]
        subjects = [r[2] for r in rows(app, "findings-table")]
        assert subjects == sorted(subjects)
        await pilot.press("e")
        exported = list(tmp_path.glob("oracle-tui-report-*.json"))
        assert len(exported) == 1
        assert json.loads(exported[0].read_text())["verdict"] == "WARN"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)


@pytest.mark.s3
async def test_s3_root(s3_world: DemoWorld) -> None:
    app = make_app(s3_world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        assert app.report is not None and app.report.verdict == "WARN"
        assert [r[1] for r in rows(app, "outputs-table")] == ["READABLE"] * 4
        assert app.overview is not None and app.overview.exists
        assert app.overview.run_receipt is not None
        assert app.overview.run_receipt["run_id"] == s3_world.run_id
        assert app.report.files_listed == 37


async def test_cancelled_build_leaves_no_view(world: DemoWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    from oracle_tui.core.views import sort as range_sort

    real = range_sort.sha256_file
    entered, release = threading.Event(), threading.Event()

    def held(path: Any) -> str:
        entered.set()  # the first part is sorted: cancel while the build is held here
        release.wait(60)
        return real(path)

    monkeypatch.setattr(range_sort, "sha256_file", held)
    seen: list[Any] = []
    app = make_app(world.root)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await wait_idle(pilot)
        await pilot.press("5")
        await pilot.press("b", "tab", "enter")
        assert await _wait_for(entered)
        assert app.job_label == "building stream view"
        await pilot.press("escape")
        release.set()
        await wait_idle(pilot)
        assert any(isinstance(m, JobCancelled) for m in seen)
    # The dialog promised "keeps nothing": not even an empty folder.
    assert not (Path(world.root) / "stream_view").exists()


async def test_outputs_pane_lists_damaged_files(sealed_world: DemoWorld) -> None:
    part = sorted(Path(sealed_world.root).glob("data/**/s4_event_labels_6B/**/part-*.parquet"))[0]
    data = bytearray(part.read_bytes())
    data[10] ^= 0xFF
    part.write_bytes(bytes(data))
    (Path(sealed_world.root) / "logs" / "late.log").write_text("x")
    app = make_app(sealed_world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        await pilot.press("d")
        await wait_idle(pilot)
        listed = {(r[0], r[1]) for r in rows(app, "files-table")}
        rel = part.relative_to(sealed_world.root).as_posix()
        # Long paths lose their middle, never their file name; the full path shows below.
        assert listed == {(elide_middle(rel), "DIGEST_MISMATCH"),
                          ("logs/late.log", "UNEXPECTED_FILE")}
        assert elide_middle(rel).endswith("part-00000.parquet") and len(elide_middle(rel)) < 60
        assert "1 mismatched" in str(app.query_one("#digest-label").render())
        detail = str(app.query_one("#file-detail").render())
        assert detail == f"file: {rel}"


async def test_every_footer_key_fits_in_100_columns(world: DemoWorld) -> None:
    from textual.widgets import Footer

    app = make_app(world.root)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_idle(pilot)
        footer = app.query_one(Footer)
        keys = [(str(k.render()), k.region) for k in footer.walk_children()
                if type(k).__name__ == "FooterKey"]
        labels = " ".join(label for label, _ in keys)
        for wanted in ("Quit", "Help", "Recheck", "Digests", "Seal", "Build", "Verify",
                       "Tombstone", "Filter", "Copy", "Export"):
            assert wanted in labels, wanted
        assert max(region.right for _, region in keys) <= 100


async def test_seal_without_a_run_receipt_names_it(world: DemoWorld) -> None:
    (Path(world.root) / "run_receipt.json").unlink()
    app = make_app(world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        await pilot.press("s")
        await wait_idle(pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert app.screen.code == "RUN_RECEIPT_MISSING"
    assert not (Path(world.root) / "_SEALED.json").exists()


async def test_equivalent_cli_keeps_where_profile_and_catalogue_came_from(
        world: DemoWorld, tmp_path: Path) -> None:
    from oracle_tui.core.interface_pack import builtin_pack_dir

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "mine.yaml").write_text("profile_id: mine\n")
    pack_dir = str(builtin_pack_dir())
    app = make_app(world.root, profile="mine", profiles_dir=str(profiles),
                   interface_pack=pack_dir)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        await pilot.press("r")
        await wait_idle(pilot)
        assert app.cli_log[-1] == (f"oracle-tui check {world.root} --profile mine "
                                   f"--profiles-dir {profiles} --interface-pack {pack_dir}")
    from oracle_tui.core.requests import TombstoneRequest, VerifyRequest, command_line

    tomb = TombstoneRequest(at=app.address(), reason="r", authority="a")
    assert command_line(tomb.argv()) == (f"oracle-tui tombstone {world.root} --reason r "
                                         f"--authority a --yes --profile mine "
                                         f"--profiles-dir {profiles}")
    assert app.cli_log[-2] == (f"oracle-tui check {world.root} --quick --profile mine "
                               f"--profiles-dir {profiles} --interface-pack {pack_dir}")
    scoped = make_app(world.root, scenario_id="baseline_v1")
    verify = VerifyRequest(at=scoped.address(), output_id="X")
    assert command_line(verify.argv()) == (
        f"oracle-tui stream-view verify {world.root} --output-id X --scenario-id baseline_v1")
    tomb = TombstoneRequest(at=scoped.address(), reason="r", authority="a")
    assert command_line(tomb.argv()) == (f"oracle-tui tombstone {world.root} --reason r "
                                         "--authority a --yes")
    # And the command really runs with those options.
    from tests.conftest import run_cli_process

    res = run_cli_process(*app.cli_log[-1].split()[1:], "--json")
    assert res.code in (0, 1), res.err
    assert json.loads(res.out)["root"] == world.root


async def test_build_progress_bar_shows_a_real_percentage(world: DemoWorld) -> None:
    from textual.widgets import ProgressBar

    from oracle_tui.tui.jobs import JobProgress

    seen: list[Any] = []
    shown: list[float | None] = []
    app = make_app(world.root)

    def hook(message: Any) -> None:
        seen.append(message)
        if isinstance(message, JobProgress):
            shown.append(app.query_one("#job-progress", ProgressBar).percentage)

    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        await wait_idle(pilot)
        await pilot.press("5")
        app.query_one("#views-table", DataTable).move_cursor(row=2)
        await pilot.press("b", "tab", "enter")
        await wait_idle(pilot)
    # The bar (read as each next progress message arrives) showed real fractions.
    assert any(p is not None and 0 < p < 1 for p in shown)
    build = [(m.done, m.total) for m in seen
             if isinstance(m, JobProgress) and m.label == "building stream view"]
    assert build and build[-1] == (1000, 1000)
    assert all(total == 1000 for _, total in build)
    assert [d for d, _ in build] == sorted(d for d, _ in build)
    assert any(0 < d < 1000 for d, _ in build)  # a percentage between, not only --% then done


async def test_the_gates_pane_starts_on_the_failing_gate_and_ctrl_c_says_how_to_quit(
        world: DemoWorld) -> None:
    flag = next(Path(world.root).glob("data/layer3/6B/validation/*/_passed.flag"))
    flag.write_text("sha256_hex = " + "0" * 64 + "\n")
    app = make_app(world.root, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        await pilot.press("2")
        table = app.query_one("#gates-table", DataTable)
        assert str(table.get_row_at(table.cursor_row)[0]) == "gate.layer3.6B.validation"
        await pilot.press("ctrl+c")
        await pilot.pause()
        toasts = [str(n.message) for n in app._notifications]
        assert toasts[-1] == "Press ctrl+q to quit the app"


async def test_an_unsealed_pack_says_what_its_digests_and_views_rest_on(
        world: DemoWorld) -> None:
    """Outputs says the parts were re-hashed against the engine's evidence (as check says);
    a view that is missing shows, where its rows would be, the key that builds it."""
    app = make_app(world.root)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot)
        assert str(app.query_one("#digest-label").render()) == (
            "digests: parts re-hashed against the engine's evidence, 0 mismatched (no "
            "content index until the pack is sealed)")
        await pilot.press("5")
        await wait_idle(pilot)
        preview = app.query_one("#view-rows", DataTable)
        assert [str(c.label) for c in preview.ordered_columns] == ["no rows shown"]
        assert str(preview.get_row_at(0)[0]) == "view MISSING: press b to build it"
