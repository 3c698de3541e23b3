"""The `oracle-tui` command's entry point: as light as a module can be, so that Ctrl-C
during the start-up imports is `interrupted` (exit 130) like Ctrl-C anywhere else, never
a traceback."""

from __future__ import annotations

import sys

INTERRUPTED = 130


def main() -> int:
    try:
        from oracle_tui.cli import main as run

        return run()
    except KeyboardInterrupt:
        sys.stderr.write("oracle-tui: interrupted\n")
        return INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
