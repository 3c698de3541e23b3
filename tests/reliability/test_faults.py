"""Seal states, crashes, races and storage faults: nothing half-valid ever passes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld
from tests.conftest import S3Env, forget_release, run_cli_process
from tests.reliability.helpers import check, codes, edit_binding, fails, part, rel


def test_seal_absent_strict_and_seal_with_a_wrong_manifest_digest(sealed_world: DemoWorld) -> None:
    seal = Path(sealed_world.root) / "_SEALED.json"
    edit_binding(sealed_world.root, lambda b: b.update(manifest_sha256="f" * 64))
    code, report = check(sealed_world.root)
    assert code == 1 and fails(report) == {("SEAL_MISMATCH", "_oracle_tui_seal_binding.json")}
    seal.unlink()
    code, report = check(sealed_world.root, "--strict-seal")
    assert code == 1 and fails(report) == {("PACK_NOT_SEALED", "_SEALED.json")}


def test_modification_after_seal_is_found_by_content_not_mtime(sealed_world: DemoWorld) -> None:
    p = part(sealed_world.root, 0, "s2_event_stream_baseline_6B")
    st = p.stat()
    data = bytearray(p.read_bytes())
    data[1000] ^= 0xFF
    p.write_bytes(bytes(data))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns - 10**9))  # back-dated, same size
    code, report = check(sealed_world.root, "--verify-digests")
    assert code == 1 and fails(report) == {("DIGEST_MISMATCH", rel(sealed_world.root, p))}


def test_twelve_racing_sealers(world: DemoWorld) -> None:
    forget_release(world.root)
    procs = [subprocess.Popen([sys.executable, "-m", "oracle_tui.cli", "seal", world.root,
                               "--scenario-id", "baseline_v1", "--engine-release",
                               f"r{i % 3}", "--yes"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
             for i in range(12)]
    results = [(p.wait(timeout=180), p.stderr.read() if p.stderr else "") for p in procs]
    winner = json.loads((Path(world.root) / "_oracle_pack_manifest.json").read_text())[
        "engine_release"]
    for i, (rc, err) in enumerate(results):
        if f"r{i % 3}" == winner:
            assert rc == 0, err
        else:
            assert rc == 1 and "MANIFEST_MISMATCH" in err, err
    report = run_check(world.root, strict_seal=True, verify_digests=True)
    assert (report.verdict, report.actionable()) == ("PASS", [])


KILL_BUILD = r"""
import os, signal, sys
import duckdb
from oracle_tui.core.views import build as stream_view
point, n = sys.argv[1], int(sys.argv[2])
count = {"n": 0}
if point == "copy":
    real = duckdb.DuckDBPyConnection.execute
    def execute(self, sql, *a, **k):
        if sql.startswith("COPY"):
            count["n"] += 1
            if count["n"] == n:
                os.kill(os.getpid(), signal.SIGKILL)
        return real(self, sql, *a, **k)
    duckdb.DuckDBPyConnection.execute = execute
else:
    from oracle_tui.core.storage.local import LocalStore
    real_put = LocalStore.put_file_if_absent
    def put(self, key, path):
        count["n"] += 1
        if count["n"] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_put(self, key, path)
    LocalStore.put_file_if_absent = put
stream_view.build_stream_view(sys.argv[3], "s3_event_stream_with_fraud_6B", rows_per_part=1000)
"""


@pytest.mark.parametrize("point,n", [("copy", 1), ("copy", 3), ("publish", 1), ("publish", 3)])
def test_killed_stream_view_build_never_leaves_a_valid_looking_view(world: DemoWorld, point: str,
                                                                     n: int) -> None:
    proc = subprocess.run([sys.executable, "-c", KILL_BUILD, point, str(n), world.root],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    out = "s3_event_stream_with_fraud_6B"
    state = {s.output_id: s for s in run_check(world.root).stream_views}[out]
    assert state.state != "VALID"
    rebuild = run_cli_process("stream-view", "build", world.root, "--output-id", out,
                              "--rows-per-part", "1000")
    if point == "copy" or n == 1:
        # Only temporary files of a dead process existed: they are cleared, the build runs.
        assert rebuild.code == 0, rebuild.err
        assert run_cli_process("stream-view", "verify", world.root, "--output-id", out).code == 0
    else:
        # Published parts without a receipt: refused, never overwritten, never valid.
        assert rebuild.code == 1 and "STREAM_VIEW_PARTIAL_EXISTS" in rebuild.err
        assert state.state == "PARTIAL"


@pytest.mark.s3
@pytest.mark.parametrize("mode,code_,exit_", [("500", "STORAGE_TIMEOUT", 3),
                                              ("drop", "STORAGE_TIMEOUT", 3),
                                              ("403", "ACCESS_DENIED", 1)])
def test_storage_errors_mid_read_never_pass(s3env: S3Env, s3_world: DemoWorld, tmp_path: Path, mode: str,
                                            code_: str, exit_: int) -> None:
    if not s3env.read_fault_endpoints:
        pytest.skip("needs the loopback server's fault endpoints")
    (tmp_path / "fast.yaml").write_text(
        "profile_id: fast\nwiring:\n  object_store:\n    endpoint: ${OBJECT_STORE_ENDPOINT}\n"
        "    region: us-east-1\n    max_attempts: 2\n    read_timeout: 5\n")
    t0 = time.monotonic()
    res = run_cli_process("check", s3_world.root, "--json", "--profile", "fast",
                          "--profiles-dir", str(tmp_path),
                          env={"OBJECT_STORE_ENDPOINT": s3env.read_fault_endpoints[mode]})
    assert time.monotonic() - t0 < 60
    doc = json.loads(res.out)
    assert res.code == exit_ and doc["verdict"] == "FAIL"
    assert code_ in codes(doc)


def test_exception_in_any_step_fails_closed(sealed_world: DemoWorld, monkeypatch: Any) -> None:
    from oracle_tui.core import check as check_mod
    from oracle_tui.core.listing import Listing
    from oracle_tui.core.pack import OpenedPack

    def boom(*a: Any, **k: Any) -> Any:
        raise RuntimeError("injected")

    targets = [(OpenedPack, "run_receipt", "run_receipt"),
               (check_mod, "resolve_world_key", "world_key"),
               (check_mod, "read_model", "lifecycle"),
               (check_mod, "verify_gate", "gate gate.layer1.1A.validation"),
               (check_mod, "hash_objects", "content_digests"),
               (check_mod, "render_template", "outputs_and_gates"),
               (Listing, "of", "listing")]
    for obj, name, step in targets:
        with monkeypatch.context() as m:
            m.setattr(obj, name, boom)
            report = run_check(sealed_world.root, verify_digests=True)
        assert report.verdict == "FAIL", name
        internal = [f for f in report.findings if f.code == "INTERNAL_ERROR"]
        assert internal and internal[0].subject == step, (name, internal)
        assert "RuntimeError: injected" in internal[0].detail
