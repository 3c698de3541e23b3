"""Many threads, one memory bound: a build derives the threads its limit carries, says so,
and its whole process stays within the limit + 300 MB whatever --threads asks for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from oracle_tui.core.engine import budget
from tests.conftest import REPO

OUT = "s3_event_stream_with_fraud_6B"
HEADROOM_MIB = 300 * 10**6 // 2**20


@pytest.fixture(scope="module")
def big_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1.5M rows of the engine's event stream (the benchmark's recipe), written once."""
    out = tmp_path_factory.mktemp("threads") / "world"
    maker = REPO / "benchmarks" / "make_big_world.py"
    subprocess.run([sys.executable, str(maker), "--rows", "1500000", "--files", "8",
                    "--out", str(out)], check=True, capture_output=True, timeout=300)
    return out


def _build_peak(root: Path, limit: str, threads: int, tmp: Path) -> tuple[dict[str, object], int]:
    """Run the CLI build in a fresh process and return its JSON and its peak RSS (MiB)."""
    helper = ("import json, resource, subprocess, sys; "
              "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
              "print(json.dumps({'rc': p.returncode, 'out': p.stdout, 'err': p.stderr, "
              "'rss': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024}))")
    cmd = [sys.executable, "-m", "oracle_tui.cli", "stream-view", "build", str(root),
           "--output-id", OUT, "--memory-limit", limit, "--threads", str(threads),
           "--temp-dir", str(tmp), "--json"]
    doc = json.loads(subprocess.run([sys.executable, "-c", helper, *cmd], capture_output=True,
                                    text=True, check=True, timeout=600).stdout)
    assert doc["rc"] == 0, doc["err"]
    return json.loads(doc["out"]), int(doc["rss"])


@pytest.mark.parametrize(("limit", "threads"), [("256MB", 32), ("1GB", 32)])
def test_threads_above_what_the_limit_carries_are_lowered(big_world: Path, tmp_path: Path,
                                                          limit: str, threads: int) -> None:
    import shutil

    shutil.rmtree(big_world / "stream_view", ignore_errors=True)
    result, peak = _build_peak(big_world, limit, threads, tmp_path / "spill")
    carried = budget(limit, threads).threads
    assert carried < threads
    assert result["notice"] == (f"--threads {threads} lowered to {carried}: a memory limit of "
                                f"{limit} carries {carried} thread(s) within the limit + 300 MB")
    assert result["receipt"]["run"] == {"memory_limit": limit, "threads": carried,
                                        "executor": "this process"}
    limit_mib = {"256MB": 256 * 10**6, "1GB": 10**9}[limit] // 2**20
    assert peak <= limit_mib + HEADROOM_MIB, (peak, limit_mib + HEADROOM_MIB)


def test_the_thread_budget_follows_the_limit() -> None:
    assert budget("256MB", 32).threads == 4
    assert budget("1GB", 32).threads == 8
    assert budget("4GB", 64).threads == 22
    assert budget("4GB", 2).threads == 2 and budget("4GB", 2).notice is None
    assert budget("1MB", 8).threads == 1
