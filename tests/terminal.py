"""Running the real command in a pseudo-terminal, as an operator's shell would."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios

CLI = [sys.executable, "-m", "oracle_tui.entry"]


def run_in_terminal(args: list[str], *, columns: int, rows: int = 50,
                    env: dict[str, str] | None = None, whole: bool = False,
                    timeout: float = 120) -> tuple[int, bytes]:
    """``oracle-tui ARGS`` with its stdout on a terminal of ``rows``×``columns`` (with
    ``whole``, its stdin and stderr too, as a TUI needs): its exit status and all it wrote
    there. Fails the test when it writes nothing for ``timeout`` seconds."""
    main, tty = pty.openpty()
    fcntl.ioctl(tty, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    base = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    other = tty if whole else subprocess.DEVNULL
    proc = subprocess.Popen([*CLI, *args], stdin=other, stdout=tty, stderr=other,
                            env={**base, "TERM": "xterm-256color", **(env or {})})
    os.close(tty)
    out = b""
    try:
        while True:
            ready, _, _ = select.select([main], [], [], timeout)
            if not ready:
                proc.kill()
                raise AssertionError(f"{args[0]} never ended; it wrote {out[-400:]!r}")
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the child closed its end
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(main)
    return proc.wait(timeout=timeout), out
