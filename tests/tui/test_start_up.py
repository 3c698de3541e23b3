"""The inspector's start-up (issue 37): the first screen is drawn before the catalogue is
parsed, a catalogue that cannot be read still ends the command with its one-line error, and
the garbage collector paused for the start-up runs again once the first screen is up."""

from __future__ import annotations

import gc
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.interface_pack import builtin_pack_dir
from oracle_tui.tui.app import make_app
from oracle_tui.tui.jobs import CheckDone, OverviewReady
from oracle_tui.tui.pilot import wait_idle
from tests.terminal import run_in_terminal


async def test_the_overview_is_drawn_before_the_catalogue_is_parsed(
        world: DemoWorld, upstream_pack_dir: Path) -> None:
    parsed_at_overview: list[bool] = []
    seen: list[Any] = []
    app = make_app(world.root, interface_pack=str(upstream_pack_dir), read_only=True)

    def hook(message: Any) -> None:
        seen.append(message)
        if isinstance(message, OverviewReady):
            parsed_at_overview.append(app._interface_pack is not None)

    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        await wait_idle(pilot)
        assert parsed_at_overview == [False]
        # Then parsed, once, and the check judged the pack by it (the upstream catalogue's
        # 340 outputs, not the built-in pack's).
        assert app._interface_pack is not None
        assert len(app.interface_pack.outputs) == 340
        report = next(m.report for m in seen if isinstance(m, CheckDone))
        assert report.verdict in ("PASS", "WARN", "FAIL")
        assert app.query_one("#panes").active == "overview"


def _broken_pack(tmp_path: Path) -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(builtin_pack_dir(), pack)
    gmap = pack / "engine_gates.map.yaml"
    gmap.write_text(gmap.read_text().replace("kind: sha256_bundle_digest", "kind: md5_bundle"))
    return pack


def test_a_catalogue_that_cannot_be_read_ends_inspect_with_one_line(
        world: DemoWorld, tmp_path: Path) -> None:
    """As an operator runs it, in a terminal: the first screen may show, then the command
    ends with the catalogue's reason code (exit 2), as `check` does with the same folder."""
    code, out = run_in_terminal(["inspect", world.root, "--interface-pack",
                                 str(_broken_pack(tmp_path))], columns=100, rows=30, whole=True)
    assert code == 2
    text = out.decode(errors="replace")
    # The last thing written, once the app has left the terminal as it found it: one line.
    last = re.search(r"oracle-tui: [^\x1b]*$", text)
    assert last is not None, text[-400:]
    assert last.group().startswith("oracle-tui: INTERFACE_PACK_INVALID: interface pack in ")
    assert "unknown verification kind 'md5_bundle'" in last.group()
    assert last.group().rstrip().count("\n") == 0 and "Traceback" not in text


async def test_a_session_left_before_the_catalogue_was_read_still_ends_on_it(
        world: DemoWorld, tmp_path: Path) -> None:
    """The operator quits on the first screen (or its first look failed): the catalogue was
    never parsed, and is parsed once the session ends, so that inspect ends with its code."""
    from oracle_tui.core.errors import OracleError

    app = make_app(world.root, interface_pack=str(_broken_pack(tmp_path)), read_only=True)

    def hook(message: Any) -> None:
        if isinstance(message, OverviewReady):
            app.exit()  # before the first screen is drawn: the first check never goes on

    async with app.run_test(size=(100, 30), message_hook=hook):
        pass  # the app exits as its Overview arrives
    assert app._interface_pack is None and app.report is None
    with pytest.raises(OracleError) as exc:
        app.settle_interface_pack()
    assert exc.value.code == "INTERFACE_PACK_INVALID"
    assert "unknown verification kind 'md5_bundle'" in exc.value.message
    valid = make_app(world.root, read_only=True)  # a readable catalogue: nothing to say
    valid.settle_interface_pack()
    assert valid.interface_pack.source


def test_the_collector_runs_again_once_the_first_screen_is_up(world: DemoWorld) -> None:
    code = f"""
    import asyncio, gc
    from oracle_tui import startup
    from oracle_tui.tui.app import make_app
    from oracle_tui.tui.jobs import OverviewReady

    startup.pause()  # as the entry point does
    assert not gc.isenabled()
    app = make_app({world.root!r}, read_only=True)

    async def main():
        async with app.run_test(size=(100, 30)) as pilot:
            while not app._first_screen_drawn.is_set():
                await pilot.pause()
            print(gc.isenabled(), gc.get_freeze_count() > 0)
            app.exit()

    asyncio.run(main())
    """
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["True", "True"]


def test_the_collector_is_not_held_off_by_a_store_that_never_answers(tmp_path: Path) -> None:
    """The first look waits on an S3 endpoint that accepts and never answers: the collector
    runs again all the same (it would otherwise stay off, and what the session makes
    meanwhile would never be collected)."""
    import socket

    (tmp_path / "slow.yaml").write_text(
        "profile_id: slow\npolicy: {strict_seal: false}\nwiring:\n  object_store:\n"
        "    endpoint: ${OBJECT_STORE_ENDPOINT:-}\n    region: us-east-1\n"
        "    max_attempts: 1\n    connect_timeout: 60\n    read_timeout: 60\n")
    code = f"""
    import asyncio, gc, os
    from oracle_tui import startup
    from oracle_tui.tui.app import make_app

    startup.pause()
    app = make_app("s3://bucket/w/", profile="slow", profiles_dir={str(tmp_path)!r},
                   read_only=True)

    async def main():
        async with app.run_test(size=(100, 30)) as pilot:
            while not gc.isenabled():
                await pilot.pause()
            print(app.overview is None, gc.get_freeze_count() > 0, flush=True)
            os._exit(0)  # the first look is still waiting on the silent endpoint

    asyncio.run(main())
    """
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        env = {**os.environ, "OBJECT_STORE_ENDPOINT": f"http://127.0.0.1:"
               f"{silent.getsockname()[1]}", "AWS_ACCESS_KEY_ID": "dummy",
               "AWS_SECRET_ACCESS_KEY": "dummy-secret", "AWS_DEFAULT_REGION": "us-east-1"}
        res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                             capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["True", "True"]


def test_only_a_pause_taken_here_is_resumed() -> None:
    from oracle_tui import startup

    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    startup.resume()  # nothing was paused: a program's collector is left as it had it
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    gc.disable()
    try:
        startup.pause()  # already off (the program's choice): not ours to turn on again
        startup.resume()
        assert not gc.isenabled() and gc.get_freeze_count() == frozen
    finally:
        gc.enable()
