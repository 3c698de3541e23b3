"""hash_objects: every key answered or the whole job raised; never a partial answer that a
caller would read as whole (a check compares only what it was given back)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.errors import OracleError
from oracle_tui.core.hashing import hash_objects
from oracle_tui.core.progress import Cancelled
from oracle_tui.core.storage.local import LocalStore


def _files(root: Path, n: int) -> list[str]:
    for i in range(n):
        (root / f"f{i:03d}.bin").write_bytes(bytes([i % 251]) * (i * 37 + 1))
    return [f"f{i:03d}.bin" for i in range(n)]


@pytest.mark.parametrize("threads", [1, 2, 5])
def test_every_key_is_answered_with_its_own_digest(tmp_path: Path, threads: int) -> None:
    keys = [*_files(tmp_path, 40), "missing.bin"]
    seen: list[tuple[int, int]] = []
    got = hash_objects(LocalStore(tmp_path), keys, threads=threads,
                       progress=lambda done, total: seen.append((done, total)))
    assert set(got) == set(keys)
    for key in keys[:-1]:
        data = (tmp_path / key).read_bytes()
        assert got[key] == (len(data), hashlib.sha256(data).hexdigest())
    missing = got["missing.bin"]
    assert isinstance(missing, OracleError) and missing.code == "OBJECT_MISSING"
    assert [d for d, _ in seen] == list(range(len(keys) + 1))  # rising, once per key


def test_a_failing_progress_callback_fails_the_job_not_some_of_its_keys(tmp_path: Path) -> None:
    keys = _files(tmp_path, 30)
    calls = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if done == 3:
            raise RuntimeError("the screen went away")

    with pytest.raises(RuntimeError, match="the screen went away"):
        hash_objects(LocalStore(tmp_path), keys, threads=2, progress=progress)


def test_a_cancel_midway_raises_cancelled(tmp_path: Path) -> None:
    keys = _files(tmp_path, 30)
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done == 5:
            cancel.set()

    with pytest.raises(Cancelled):
        hash_objects(LocalStore(tmp_path), keys, threads=2, progress=progress, cancel=cancel)


def test_a_check_whose_progress_fails_is_no_pass(sealed_world: DemoWorld) -> None:
    """Through the API: a tampered file is never passed over because the caller's progress
    callback failed part-way (a rewrite of the workers once returned the keys hashed so far,
    and the check compared only those: PASS)."""
    log = Path(sealed_world.root) / "logs" / "engine.log"
    data = bytearray(log.read_bytes())
    data[10] ^= 1
    log.write_bytes(bytes(data))
    state = {"n": 0}

    def progress(done: int, total: int) -> None:
        state["n"] += 1
        if state["n"] > 2:
            raise RuntimeError("the screen went away")

    report = run_check(sealed_world.root, verify_digests=True, progress=progress)
    assert report.verdict == "FAIL"
    assert ("INTERNAL_ERROR", "content_digests") in {(f.code, f.subject) for f in report.findings}
