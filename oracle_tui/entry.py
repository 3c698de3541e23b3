"""The `oracle-tui` command's entry point: as light as a module can be, so that Ctrl-C
during the start-up imports is `interrupted` (exit 130) like Ctrl-C anywhere else, never
a traceback."""

from __future__ import annotations

import os
import signal
import sys

from oracle_tui import startup

INTERRUPTED = 130


def main() -> int:
    # numpy's BLAS would start a spinning thread per core on import; nothing here does linear
    # algebra, and on a small machine those threads take CPU from the re-hash.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    startup.pause()  # resumed by the command once it has started (oracle_tui.startup)
    interrupted = False
    rc = INTERRUPTED
    try:
        from oracle_tui.cli import main as run

        rc = run()
    except KeyboardInterrupt:
        interrupted = True  # said below, once no signal can cut the saying short
    finally:
        # The command has ended: a Ctrl-C or SIGTERM from now on would only cut the clean-up
        # short (temp folders removed at exit) or kill the process without a word.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if interrupted:
        rc = _say_interrupted()
    startup.finish()
    return rc


def _say_interrupted() -> int:
    """The CLI's own words once it is loaded (a SIGTERM is `terminated`, 143, even when it
    arrived as the command returned); before that only Ctrl-C can be caught."""
    cli = sys.modules.get("oracle_tui.cli")
    if cli is not None:
        said: int = cli._interrupted()
        return said
    sys.stderr.write("oracle-tui: interrupted\n")
    return INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
