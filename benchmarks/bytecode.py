"""Start-up benchmarks time the package as installed: with its bytecode written.

`pip install` compiles a package's modules; an editable checkout writes them on first import,
unless PYTHONDONTWRITEBYTECODE is set (it is on this project's machines), in which case
every fresh process would compile each changed module again and the benchmark would time
the compiler."""

from __future__ import annotations

import compileall
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "oracle_tui"


def compile_package() -> None:
    compileall.compile_dir(str(PACKAGE), quiet=1)
