"""A command's start-up: the cyclic garbage collector paused while the modules load.

Start-up makes a few hundred thousand objects that live as long as the process (classes,
pydantic's validators, Textual's styles and widgets), and the collector would walk them
again and again while they are made: 10-15% of the time to the inspector's first screen
(docs/performance.md). `pause` stops it from the entry point on; `resume` moves everything
made so far out of its sight (`gc.freeze`) and starts it again, once the command has
started (in the inspector: once the Overview is drawn, or a second after the app is
mounted, whichever comes first). Only a
pause taken here is resumed: a program that imports oracle-tui keeps its collector as it
had it.
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Idempotent: the first call after `pause` freezes and re-enables, later ones do
    nothing."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()


def finish() -> None:
    """The command has ended: what it made is about to be freed with the process, and the
    collector's last passes at exit would only walk all of it once more (20 ms and more after
    a check; docs/performance.md). Out of its sight, and off."""
    gc.freeze()
    gc.disable()
