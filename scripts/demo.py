"""`python3 scripts/demo.py`: set up, generate the demo world (once), open the inspector."""

from __future__ import annotations

import sys

from bootstrap import BIN, REPO, ensure_env, run

WORLD = REPO / "runs" / "demo-world"


def main() -> int:
    ensure_env(dev=False)  # the tool alone: the test command adds its own tools
    cli = str(BIN / "oracle-tui")
    if not (WORLD / "run_receipt.json").exists():
        rc = run([cli, "demo", "--out", str(WORLD)])
        if rc:
            return rc
    return run([cli, "inspect", str(WORLD), *sys.argv[1:]])


if __name__ == "__main__":
    raise SystemExit(main())
