"""Disk full while sealing or building: STORAGE_FULL (exit 3, retry), nothing half-written.

A real, small tmpfs is mounted for the pack (root only; skipped where mounting is refused).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from oracle_tui.core.demo import DemoWorld
from tests.conftest import run_cli_process

OUT = "s3_event_stream_with_fraud_6B"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(disk: Path, leave: int) -> None:
    free = shutil.disk_usage(disk).free
    with open(disk / "filler.bin", "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_seal_on_a_full_disk(small_disk: Path, _pristine_world: DemoWorld) -> None:
    root = small_disk / "world"
    shutil.copytree(_pristine_world.root, root)
    _fill(small_disk, leave=4096)  # less than the content index needs
    before = _files(root)
    res = run_cli_process("seal", str(root), "--scenario-id", "baseline_v1",
                          "--engine-release", "demo-1.0", "--yes")
    assert res.code == 3, res.err
    assert res.err.strip().splitlines()[-1].startswith("oracle-tui: STORAGE_FULL:")
    assert "Traceback" not in res.err
    assert _files(root) == before  # no temp file, no control file
    (small_disk / "filler.bin").unlink()
    res = run_cli_process("seal", str(root), "--scenario-id", "baseline_v1",
                          "--engine-release", "demo-1.0", "--yes")
    assert res.code == 0, res.err  # with space again, the retry completes


def test_view_build_on_a_full_disk(small_disk: Path, _pristine_world: DemoWorld,
                                   tmp_path: Path) -> None:
    root = small_disk / "world"
    shutil.copytree(_pristine_world.root, root)
    _fill(small_disk, leave=8192)  # the view's parts need ~45 KB
    before = _files(root)
    res = run_cli_process("stream-view", "build", str(root), "--output-id", OUT,
                          "--temp-dir", str(tmp_path / "spill"))
    assert res.code == 3, res.err
    assert res.err.strip().splitlines()[-1].startswith("oracle-tui: STORAGE_FULL:"), res.err
    assert _files(root) == before
