"""`python3 scripts/test.py`: set up, then lint (ruff), type-check (mypy) and run pytest."""

from __future__ import annotations

import sys
from pathlib import Path

from bootstrap import ensure_env, run


def main() -> int:
    py = str(ensure_env())
    steps = [
        [py, "-m", "ruff", "check", "oracle_tui", "tests", "benchmarks", "scripts"],
        [py, "-m", "mypy"],
        [str(Path(py).parent / "lint-imports")],  # the core stays headless (pyproject)
        [py, "-m", "pytest", "-n", "2", "-q", *sys.argv[1:]],
    ]
    for step in steps:
        shown = step[1:] if step[0] == py else [Path(step[0]).name, *step[1:]]
        print("+", " ".join(shown), file=sys.stderr, flush=True)
        rc = run(step)
        if rc:
            return rc
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
