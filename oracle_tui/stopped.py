"""The one line and exit status of a command a signal stopped: the entry point says it for a
signal that came while the modules loaded, the CLI for one that came while a command ran."""

from __future__ import annotations

import sys

INTERRUPTED = 130  # Ctrl-C, as a shell reports a command SIGINT ended
TERMINATED = 143  # SIGTERM, as a shell reports a command SIGTERM ended


def say_stopped(terminated: bool) -> int:
    if terminated:
        sys.stderr.write("oracle-tui: terminated\n")
        return TERMINATED
    sys.stderr.write("oracle-tui: interrupted\n")
    return INTERRUPTED
