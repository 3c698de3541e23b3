"""DuckDB out of memory is a code that says memory, with the limit, never a tampering code."""

from __future__ import annotations

from pathlib import Path

from oracle_tui.core.demo import DemoWorld
from tests.conftest import run_cli_process


def test_sort_out_of_memory_names_the_limit(world: DemoWorld) -> None:
    res = run_cli_process("stream-view", "build", world.root, "--output-id",
                          "s3_event_stream_with_fraud_6B", "--memory-limit", "1MB")
    assert res.code == 1, res.err
    line = res.err.strip().splitlines()[-1]
    assert line.startswith("oracle-tui: MEMORY_LIMIT_EXCEEDED: the sort needed more than the "
                           "memory limit 1MB"), line
    assert not (Path(world.root) / "stream_view").exists()
    res = run_cli_process("explain", "MEMORY_LIMIT_EXCEEDED")
    assert "--memory-limit" in res.out
