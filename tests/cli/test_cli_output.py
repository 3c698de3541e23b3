"""The text report piped into a file keeps every value whole (no 80-column cut)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld


def test_piped_check_prints_every_gate_id_and_output_path_whole(world: DemoWorld,
                                                                tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    with open(out, "w") as fh:
        proc = subprocess.run([sys.executable, "-m", "oracle_tui.cli", "check", world.root],
                              stdout=fh, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    report = run_check(world.root)
    assert report.gates and report.outputs
    for gate in report.gates:
        assert gate.gate_id in text
    for output in report.outputs:
        assert output.path in text, output.path  # ~200 characters, on one line
    assert world.root in text
    assert "…" not in text.replace("… and", "")  # nothing elided
