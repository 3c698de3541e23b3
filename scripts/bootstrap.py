"""Create .venv and install oracle-tui with its dev extras, once (stdlib only).

Used by scripts/demo.py and scripts/test.py so that a fresh machine needs only Python 3.11+
and pip. Re-installs when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".oracle-tui-installed"


def python() -> Path:
    return BIN / ("python.exe" if os.name == "nt" else "python")


def ensure_env() -> Path:
    want = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == want and python().exists():
        return python()
    if not python().exists():
        print("creating .venv …", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing oracle-tui and its dependencies into .venv …", file=sys.stderr)
    pip = [str(python()), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{REPO}[dev]"], check=True)
    STAMP.write_text(want)
    return python()


def run(args: list[str]) -> int:
    return subprocess.call(args, cwd=REPO)
