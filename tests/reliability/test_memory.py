"""DuckDB out of memory is a code that says memory, with the limit, never a tampering code."""

from __future__ import annotations

from pathlib import Path

import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.engine import EngineOptions
from oracle_tui.core.errors import OracleError
from oracle_tui.core.views.build import build_stream_view
from tests.conftest import run_cli_process


def test_sort_out_of_memory_names_the_limit(world: DemoWorld) -> None:
    # The command line refuses a limit no job can run in, before any work...
    res = run_cli_process("stream-view", "build", world.root, "--output-id",
                          "s3_event_stream_with_fraud_6B", "--memory-limit", "1MB")
    assert res.code == 2 and res.err.startswith(
        "oracle-tui: INPUT_INVALID: usage error: argument --memory-limit: memory limit '1MB' "
        "is not between 64MB and 1TiB"), res.err
    # ...and the engine, given one anyway (the API), says memory, with the limit.
    with pytest.raises(OracleError) as exc:
        build_stream_view(world.root, "s3_event_stream_with_fraud_6B",
                          engine=EngineOptions(memory_limit="1MB"))
    assert exc.value.code == "MEMORY_LIMIT_EXCEEDED"
    assert exc.value.message.startswith("the sort needed more than the memory limit 1MB")
    assert not (Path(world.root) / "stream_view").exists()
    res = run_cli_process("explain", "MEMORY_LIMIT_EXCEEDED")
    assert "--memory-limit" in res.out
