"""Every command the inspector logs as its "equivalent CLI" proves what the inspector's own
action proved: each logged argv is run through the CLI (``--json``) and its verdict, its
``verified`` words and its codes are held to the inspector's result. Writes (seal, build,
tombstone) run on a copy of the root taken just before the inspector wrote."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path
from typing import Any

from textual.widgets import Button, DataTable, Input

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.findings import Finding
from oracle_tui.core.report import CheckReport
from oracle_tui.tui.app import InspectorApp, make_app
from oracle_tui.tui.jobs import CheckDone, DiffDone, SealDone, Tombstoned, ViewBuilt, ViewVerified
from oracle_tui.tui.pilot import wait_idle
from oracle_tui.tui.screens import TombstoneScreen
from tests.conftest import run_cli_here

SIZE = (160, 45)
OUT = "s3_event_stream_with_fraud_6B"


def _argv(logged: str, root: str | None = None, instead: str | None = None) -> list[str]:
    """The logged command as argv for the CLI, on ``instead`` of ``root`` where given,
    without the program name or a redirection."""
    words = shlex.split(logged.split(" > ")[0])
    assert words[0] == "oracle-tui"
    return [instead if root is not None and w == root else w for w in words[1:]]


def _cli_json(argv: list[str]) -> tuple[int, Any]:
    res = run_cli_here(*argv, "--json")
    assert "Traceback" not in res.err, res.err
    return res.code, json.loads(res.out)


def _codes(findings: list[Any]) -> list[tuple[str, str, str]]:
    rows = [(f.code, f.severity.value, f.subject) if isinstance(f, Finding)
            else (f["code"], f["severity"], f["subject"]) for f in findings]
    return sorted(rows)


def _same_check(report: CheckReport, doc: dict[str, Any]) -> None:
    assert (doc["verdict"], doc["verified"], doc["digests_rehashed"]) == (
        report.verdict, report.verified, report.digests_rehashed)
    assert _codes(doc["findings"]) == _codes(report.findings)


def _checks(seen: list[Any]) -> list[CheckReport]:
    return [m.report for m in seen if isinstance(m, CheckDone)]


async def _settle(app: InspectorApp, pilot: Any) -> None:
    await wait_idle(pilot)


async def test_checks_and_export_prove_what_their_logged_commands_prove(
        world: DemoWorld, tmp_path: Path) -> None:
    seen: list[Any] = []
    app = make_app(world.root, export_dir=str(tmp_path))
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await _settle(app, pilot)
        await pilot.press("r")  # the quick re-check, then its re-hash
        await _settle(app, pilot)
        await pilot.press("e")
        await _settle(app, pilot)
        log = list(app.cli_log)
    quick, full = _checks(seen)[-2:]
    assert (quick.digests_rehashed, full.digests_rehashed) == (False, True)
    assert log[-3:] == [f"oracle-tui check {world.root} --quick",
                        f"oracle-tui check {world.root}", log[-1]]
    for logged, report in ((log[-3], quick), (log[-2], full)):
        code, doc = _cli_json(_argv(logged))
        _same_check(report, doc)
        assert code == report.exit_code
    exported = json.loads(next(tmp_path.glob("oracle-tui-report-*.json")).read_text())
    assert log[-1].startswith(f"oracle-tui check {world.root} --json > oracle-tui-report-")
    _, doc = _cli_json(_argv(log[-1])[:-1])  # the logged command already says --json
    assert (doc["verdict"], doc["verified"]) == (exported["verdict"], exported["verified"])
    assert _codes(doc["findings"]) == _codes(exported["findings"])


async def test_seal_build_and_verify_prove_what_their_logged_commands_prove(
        world: DemoWorld, tmp_path: Path) -> None:
    twin = str(tmp_path / "twin")
    shutil.copytree(world.root, twin)
    seen: list[Any] = []
    app = make_app(world.root)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await _settle(app, pilot)
        await pilot.press("s", "enter")
        await _settle(app, pilot)
        await pilot.press("tab", "enter")
        await _settle(app, pilot)
        logged_seal = next(line for line in app.cli_log if " seal " in line)
        # The twin is sealed by the logged command while it is still the same bytes.
        code, sealed = _cli_json(_argv(logged_seal, world.root, twin))
        tui_seal = next(m.result for m in seen if isinstance(m, SealDone))
        assert code == 0 and (sealed["status"], sealed["content_files"]) == (
            tui_seal.status, tui_seal.content_files)
        shutil.rmtree(twin)
        shutil.copytree(world.root, twin)  # sealed, as the inspector left it
        await pilot.press("5")
        table = app.query_one("#views-table", DataTable)
        table.move_cursor(row=table.get_row_index(OUT))
        await pilot.press("b")
        await pilot.press("tab", "enter")
        await _settle(app, pilot)
        await pilot.press("c")
        await _settle(app, pilot)
        log = list(app.cli_log)
    built = next(m.result for m in seen if isinstance(m, ViewBuilt))
    logged_build = next(line for line in log if " stream-view build " in line)
    code, doc = _cli_json(_argv(logged_build, world.root, twin))
    assert code == 0 and doc["status"] == built.status == "BUILT"
    for field in ("row_count", "min_ts", "max_ts"):
        assert doc["receipt"]["view"][field] == built.receipt["view"][field]
    assert [p["sha256"] for p in doc["receipt"]["parts"]] == [
        p["sha256"] for p in built.receipt["parts"]]
    verified = next(m.state for m in seen if isinstance(m, ViewVerified))
    assert log[-1] == f"oracle-tui stream-view verify {world.root} --output-id {OUT}"
    code, doc = _cli_json(_argv(log[-1]))
    assert (doc["state"], doc["not_verified"]) == (verified.state, verified.not_verified)
    assert _codes(doc["findings"]) == _codes(verified.findings)
    assert code == verified.exit_code == 0


async def test_tombstone_proves_what_its_logged_command_proves(
        sealed_world: DemoWorld, tmp_path: Path) -> None:
    twin = str(tmp_path / "twin")
    shutil.copytree(sealed_world.root, twin)
    seen: list[Any] = []
    app = make_app(sealed_world.root)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await _settle(app, pilot)
        assert app.report is not None
        pack_id = app.report.seal.oracle_pack_id or ""
        await pilot.press("T")
        screen = app.screen
        assert isinstance(screen, TombstoneScreen)
        await _settle(app, pilot)
        screen.query_one("#reason", Input).value = "rng defect"
        screen.query_one("#authority", Input).value = "ops"
        screen.query_one("#token", Input).value = pack_id[:12]
        screen.query_one("#yes", Button).press()
        await _settle(app, pilot)
        log = list(app.cli_log)
        after = _checks(seen)[-1]
    logged = next(line for line in log if " tombstone " in line)
    code, doc = _cli_json(_argv(logged, sealed_world.root, twin))
    tui = next(m.result for m in seen if isinstance(m, Tombstoned))
    assert code == 0 and (doc["status"], doc["oracle_pack_id"]) == (tui.status,
                                                                    tui.oracle_pack_id)
    code, twin_check = _cli_json(["check", twin] + (["--quick"] if not after.digests_rehashed
                                                    else []))
    assert (twin_check["verdict"], twin_check["seal"]["lifecycle"]) == (
        after.verdict, after.seal.lifecycle) == ("FAIL", "TOMBSTONED")


async def test_diff_proves_what_its_logged_command_proves(world: DemoWorld,
                                                          _pristine_world: DemoWorld) -> None:
    seen: list[Any] = []
    app = make_app(world.root, against=_pristine_world.root)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await _settle(app, pilot)
        log = list(app.cli_log)
    report = next(m.report for m in seen if isinstance(m, DiffDone))
    logged = next(line for line in log if " diff " in line)
    assert logged == f"oracle-tui diff {world.root} {_pristine_world.root}"
    code, doc = _cli_json(_argv(logged))
    assert (doc["result"], doc["verified"]) == (report.result, report.verified)
    assert code == report.exit_code == 0
