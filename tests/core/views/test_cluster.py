"""Stream views built on a real Dask cluster (a LocalCluster of two worker processes) against
the loopback S3 server: the same bytes as a build in this process, scratch removed after a
success, a failure and a cancel."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.engine import EngineOptions
from oracle_tui.core.errors import OracleError
from oracle_tui.core.progress import Cancelled
from oracle_tui.core.views.build import build_stream_view
from oracle_tui.core.views.verify import verify_stream_view
from tests.conftest import S3Env, run_cli_here, run_cli_process

OUT = "s3_event_stream_with_fraud_6B"
VIEW = f"stream_view/ts_utc/output_id={OUT}/"
pytestmark = [pytest.mark.s3, pytest.mark.slow]


@pytest.fixture(scope="module")
def scheduler(s3env: S3Env) -> Iterator[str]:
    """Two worker processes; they inherit the test's dummy credentials and endpoint from the
    environment, as real workers take theirs from the standard chain."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=":0")
    try:
        yield str(cluster.scheduler_address)
    finally:
        cluster.close()


def _keys(s3env: S3Env, bucket: str, prefix: str) -> list[str]:
    client: Any = s3env.client()
    out: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        out += [o["Key"] for o in page.get("Contents", [])]
    return out


def _ours(receipt: dict[str, Any]) -> dict[str, Any]:
    doc = dict(receipt)
    doc.pop("built_at_utc")
    doc.pop("run")  # how each build ran: its limit, threads and executor
    return doc


def test_cluster_build_is_byte_identical_to_a_local_build(
        s3env: S3Env, s3_bucket: str, s3_world: DemoWorld, world: DemoWorld,
        scheduler: str) -> None:
    steps: list[tuple[int, int]] = []
    remote = build_stream_view(s3_world.root, OUT, engine=EngineOptions(executor=scheduler, memory_limit="256MB", threads=1), rows_per_part=900, progress=lambda d, t: steps.append((d, t)))
    local = build_stream_view(world.root, OUT, engine=EngineOptions(memory_limit="1GB", threads=2), rows_per_part=900)
    assert remote.status == local.status == "BUILT"
    assert _ours(remote.receipt) == _ours(local.receipt)
    assert remote.receipt["run"] == {"memory_limit": "256MB", "threads": 1,
                                     "executor": f"dask {scheduler}"}
    assert local.receipt["run"] == {"memory_limit": "1GB", "threads": 2,
                                    "executor": "this process"}
    assert len(remote.receipt["parts"]) == 5
    assert remote.receipt["view"]["row_count"] == 4000
    # The bytes in the bucket are the bytes on disk, part by part.
    client: Any = s3env.client()
    prefix = f"worlds/w1/{VIEW}"
    for part in local.receipt["parts"]:
        body = client.get_object(Bucket=s3_bucket, Key=prefix + part["path"])["Body"].read()
        on_disk = (Path(world.root) / VIEW / part["path"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == part["sha256"]
        assert body == on_disk
    assert sorted(k[len(prefix):] for k in _keys(s3env, s3_bucket, prefix)) == sorted(
        [*(p["path"] for p in local.receipt["parts"]), "_stream_sort_receipt.json",
         "_stream_view_manifest.json"])
    # No scratch is left; progress reached the end without going back.
    assert _keys(s3env, s3_bucket, "_oracle_tui_scratch/") == []
    assert steps[-1] == (1000, 1000)
    assert [d for d, _ in steps] == sorted(d for d, _ in steps)
    state = verify_stream_view(s3_world.root, OUT, deep=True)
    assert (state.state, state.findings) == ("VALID", [])


def test_cluster_build_from_the_cli_with_a_local_scratch(world: DemoWorld, scheduler: str,
                                                          tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    res = run_cli_process("stream-view", "build", world.root, "--output-id", OUT,
                          "--executor", scheduler, "--scratch", str(scratch), "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["status"] == "BUILT"
    assert doc["receipt"]["view"]["row_count"] == 4000
    assert not scratch.exists() or list(scratch.rglob("*")) == []


def test_a_failing_task_reports_its_code_and_leaves_no_scratch(
        world: DemoWorld, scheduler: str, tmp_path: Path) -> None:
    # The scratch "folder" is a file: claiming the build's folder in it fails first, with
    # the code of a location that cannot hold files.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(OracleError) as err:
        build_stream_view(world.root, OUT, engine=EngineOptions(executor=scheduler, scratch=str(blocker)), rows_per_part=900)
    assert err.value.code == "INPUT_INVALID"
    assert ".oracle-tui-scratch there: Not a directory" in err.value.message
    assert blocker.read_text() == "x"
    assert not (Path(world.root) / "stream_view").exists()


def test_workers_out_of_memory_is_memory_limit_exceeded(
        s3env: S3Env, s3_bucket: str, s3_world: DemoWorld, scheduler: str) -> None:
    with pytest.raises(OracleError) as err:
        build_stream_view(s3_world.root, OUT, engine=EngineOptions(executor=scheduler, memory_limit="1MB", threads=1), rows_per_part=900)
    assert err.value.code == "MEMORY_LIMIT_EXCEEDED"
    assert _keys(s3env, s3_bucket, "_oracle_tui_scratch/") == []
    assert _keys(s3env, s3_bucket, f"worlds/w1/{VIEW}") == []


def test_a_cancelled_cluster_build_keeps_nothing(
        s3env: S3Env, s3_bucket: str, s3_world: DemoWorld, scheduler: str) -> None:
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done > 0:  # routing has started on the cluster
            cancel.set()

    with pytest.raises(Cancelled):
        build_stream_view(s3_world.root, OUT, engine=EngineOptions(executor=scheduler), rows_per_part=900, progress=progress, cancel=cancel)
    assert _keys(s3env, s3_bucket, "_oracle_tui_scratch/") == []
    assert _keys(s3env, s3_bucket, f"worlds/w1/{VIEW}") == []


def test_a_killed_cluster_build_leaves_nothing_a_rerun_trips_on(
        world: DemoWorld, scheduler: str, tmp_path: Path) -> None:
    import os
    import pty
    import re
    import subprocess
    import sys

    scratch = tmp_path / "scratch"
    cmd = [sys.executable, "-m", "oracle_tui.cli", "stream-view", "build", world.root,
           "--output-id", OUT, "--executor", scheduler, "--scratch", str(scratch),
           "--rows-per-part", "300"]
    # On a terminal the CLI draws its progress: read it as it comes and kill the client as
    # soon as routing runs on the cluster (the phases before it are 7% of the bar).
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=slave)
    os.close(slave)
    drawn = b""
    try:
        while not any(int(p) >= 7 for p in re.findall(rb"(\d+)%", drawn)):
            try:
                chunk = os.read(master, 4096)  # blocks until the CLI writes
            except OSError:  # the CLI exited: the build was faster than the reading
                break
            if not chunk:
                break
            drawn += chunk
        proc.kill()
    finally:
        proc.wait()
        os.close(master)
    view = Path(world.root) / VIEW
    assert not (view / "_stream_sort_receipt.json").exists() or proc.returncode == 0
    again = run_cli_process("stream-view", "build", world.root, "--output-id", OUT,
                            "--executor", scheduler, "--scratch", str(scratch),
                            "--rows-per-part", "300", "--json")
    assert again.code == 0, again.err
    assert json.loads(again.out)["status"] in ("BUILT", "ALREADY_VALID")
    assert verify_stream_view(world.root, OUT).state == "VALID"
    # Only the killed build's own folder can remain; the rerun cleaned up after itself.
    leftover = list(scratch.iterdir()) if scratch.exists() else []
    assert len(leftover) <= 1


def test_an_unreachable_scheduler_is_executor_unreachable(world: DemoWorld,
                                                          tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    res = run_cli_here("stream-view", "build", world.root, "--output-id", OUT, "--executor",
                       f"tcp://127.0.0.1:{port}", "--scratch", str(tmp_path / "scratch"))
    assert res.code == 3  # retryable: start the scheduler and run again
    assert res.err.strip().startswith(
        f"oracle-tui: EXECUTOR_UNREACHABLE: cannot reach the Dask scheduler at "
        f"tcp://127.0.0.1:{port}"), res.err
    assert not (Path(world.root) / "stream_view").exists()


def test_a_missing_httpfs_extension_is_its_own_code(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    import duckdb

    from oracle_tui.core import duck
    from oracle_tui.core.codes import code_info

    monkeypatch.setattr(duck, "_httpfs_path", lambda: tmp_path / "httpfs.duckdb_extension")
    con = duckdb.connect(":memory:")
    with pytest.raises(OracleError) as exc:
        duck.load_httpfs(con)
    assert exc.value.code == "ENGINE_EXTENSION_MISSING"
    assert code_info("ENGINE_EXTENSION_MISSING").retry.value == "terminal"
