"""The `oracle-tui` command's entry point: as light as a module can be, so that Ctrl-C
during the start-up imports is `interrupted` (exit 130) like Ctrl-C anywhere else, never
a traceback."""

from __future__ import annotations

import os
import signal
import sys

from oracle_tui import startup
from oracle_tui.stopped import INTERRUPTED, say_stopped


def main() -> int:
    # numpy's BLAS would start a spinning thread per core on import; nothing here does linear
    # algebra, and on a small machine those threads take CPU from the re-hash.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    startup.pause()  # resumed by the command once it has started (oracle_tui.startup)
    # Until the CLI installs its own handlers: a signal during the imports is remembered, so
    # whatever it breaks on its way (an extension's import can turn it into its own error)
    # ends as the operator's interrupt, never a traceback.
    seen: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        seen.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    # An interrupt raised where Python cannot deliver it (a finalizer, a weakref callback)
    # has been noted by whichever handler raised it, and the command reports it; it is not
    # printed as "Exception ignored" with a traceback.
    printing = sys.unraisablehook

    def unraisable(info: sys.UnraisableHookArgs) -> None:
        if not issubclass(info.exc_type, KeyboardInterrupt):
            printing(info)

    sys.unraisablehook = unraisable
    interrupted = False
    rc = INTERRUPTED
    try:
        from oracle_tui.cli import main as run

        rc = run()
    except KeyboardInterrupt:
        interrupted = True  # said below, once no signal can cut the saying short
    except BaseException:
        if not seen:
            raise
        interrupted = True
    finally:
        # The command has ended: a Ctrl-C or SIGTERM from now on would only cut the clean-up
        # short (temp folders removed at exit) or kill the process without a word.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if interrupted:
        rc = _say_interrupted(seen)
        # CPython 3.11 remembers a KeyboardInterrupt that left code run from a string (the
        # imports of dataclasses and pydantic run such code) even once it is caught, and
        # under `python -m` would end the process by SIGINT after our words and exit code.
        # Running a string that returns clears that memory.
        exec("pass")
    startup.finish()
    return rc


def _say_interrupted(seen: list[int]) -> int:
    """A SIGTERM, whether it came during the imports (``seen``) or to the CLI's own handler,
    even as the command returned; else a Ctrl-C."""
    interrupts = getattr(sys.modules.get("oracle_tui.cli"), "_Interrupts", None)
    return say_stopped(bool(seen and seen[-1] == signal.SIGTERM) or (
        interrupts is not None and interrupts.seen and interrupts.signal_name == "SIGTERM"))


if __name__ == "__main__":
    raise SystemExit(main())
