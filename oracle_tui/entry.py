"""The `oracle-tui` command's entry point: as light as a module can be, so that Ctrl-C
during the start-up imports is `interrupted` (exit 130) like Ctrl-C anywhere else, never
a traceback."""

from __future__ import annotations

import signal
import sys

from oracle_tui import startup

INTERRUPTED = 130


def main() -> int:
    startup.pause()  # resumed by the command once it has started (oracle_tui.startup)
    try:
        from oracle_tui.cli import main as run

        rc = run()
    except KeyboardInterrupt:
        rc = INTERRUPTED
        sys.stderr.write("oracle-tui: interrupted\n")
    # The command has ended: a Ctrl-C from now on would only cut the clean-up short (temp
    # folders removed at exit) or kill the process without a word.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
