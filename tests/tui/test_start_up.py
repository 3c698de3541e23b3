"""The inspector's start-up (issue 37): the first screen is drawn before the catalogue is
parsed, a catalogue that cannot be read still ends the command with its one-line error, and
the garbage collector paused for the start-up runs again once the first screen is up."""

from __future__ import annotations

import fcntl
import gc
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import textwrap
from pathlib import Path
from typing import Any

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.interface_pack import builtin_pack_dir
from oracle_tui.tui.app import make_app
from oracle_tui.tui.jobs import CheckDone, OverviewReady
from oracle_tui.tui.pilot import wait_idle


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
    main, tty = pty.openpty()
    fcntl.ioctl(tty, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "oracle_tui.entry", "inspect", world.root, "--interface-pack",
         str(_broken_pack(tmp_path))],
        stdin=tty, stdout=tty, stderr=tty, env={**env, "TERM": "xterm-256color"})
    os.close(tty)
    out = b""
    while True:
        ready, _, _ = select.select([main], [], [], 120)
        if not ready:
            proc.kill()
            raise AssertionError(f"inspect never ended; it wrote {out[-400:]!r}")
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the child closed its end
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    assert proc.wait(timeout=60) == 2
    text = out.decode(errors="replace")
    # The last thing written, once the app has left the terminal as it found it: one line.
    last = re.search(r"oracle-tui: [^\x1b]*$", text)
    assert last is not None, text[-400:]
    assert last.group().startswith("oracle-tui: INTERFACE_PACK_INVALID: interface pack in ")
    assert "unknown verification kind 'md5_bundle'" in last.group()
    assert last.group().rstrip().count("\n") == 0 and "Traceback" not in text


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
