"""Paths longer than PATH_MAX (or a name longer than NAME_MAX): PATH_UNSAFE, never a crash."""

from __future__ import annotations

import os
from pathlib import Path

from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.paths import unsafe_reason
from tests.reliability.helpers import check, fails, rechain


def _deep_tree(base: Path, total: int) -> str:
    """Nested folders whose full path exceeds ``total`` bytes, made one level at a time."""
    name = "d" * 200
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    rel = []
    try:
        while len(str(base)) + sum(len(r) + 1 for r in rel) < total:
            os.mkdir(name, dir_fd=fd)
            nxt = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nxt
            rel.append(name)
        with open(os.open("deep.log", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as fh:
            fh.write("x")
    finally:
        os.close(fd)
    return "/".join(rel)


def test_a_folder_deeper_than_path_max_under_the_root(sealed_world: DemoWorld) -> None:
    rel = _deep_tree(Path(sealed_world.root) / "logs", 4200)
    report = run_check(sealed_world.root)
    codes = {f.code for f in report.findings if f.severity.value == "FAIL"}
    # Never followed, and (added after sealing) not in the content index either.
    assert codes == {"PATH_UNSAFE", "UNEXPECTED_FILE"}, [(f.code, f.subject[:40])
                                                         for f in report.findings]
    unsafe = [f.subject for f in report.findings if f.code == "PATH_UNSAFE"]
    assert len(unsafe) == 1 and f"logs/{rel}".startswith(unsafe[0].rstrip("/"))


def test_content_index_naming_a_too_long_path(sealed_world: DemoWorld) -> None:
    long_key = "logs/" + "/".join(["x" * 200] * 25) + "/f.log"
    assert unsafe_reason(long_key) is not None
    rechain(sealed_world.root, lambda idx: idx["files"].append(
        {"path": long_key, "size": 1, "sha256": "0" * 64}) or idx["files"].sort(
        key=lambda e: e["path"]))
    rc, doc = check(sealed_world.root)
    assert rc == 1 and ("PATH_UNSAFE", "_oracle_content_index.json") in fails(doc)


def test_a_name_longer_than_name_max(sealed_world: DemoWorld) -> None:
    rechain(sealed_world.root, lambda idx: idx["files"].append(
        {"path": "logs/" + "n" * 300, "size": 1, "sha256": "0" * 64}))
    rc, doc = check(sealed_world.root)
    assert rc == 1 and ("PATH_UNSAFE", "_oracle_content_index.json") in fails(doc)


def test_a_root_longer_than_path_max() -> None:
    from tests.conftest import run_cli_process

    res = run_cli_process("check", "/tmp/" + "r" * 5000)
    assert res.code == 1 and "PATH_UNSAFE" in res.out + res.err
    assert "Traceback" not in res.err
