"""Path safety: nothing is followed outside the root, nothing hangs."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.errors import OracleError
from oracle_tui.core.interface_pack import load_interface_pack
from oracle_tui.core.locators import locator_for, validate_locator
from oracle_tui.core.storage import open_store
from tests.reliability.helpers import check, fails, rechain

BAD_PATHS = ["../escape.json", "/etc/passwd", "~/x.json", "data\\x.json", "data/\x00x.json",
             "data/x\n.json", "data/./x.json", "data//x.json"]


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_unsafe_paths_in_the_content_index(sealed_world: DemoWorld, bad: str) -> None:
    def add(index: dict[str, Any]) -> None:
        index["files"].append({"path": bad, "size": 1, "sha256": "0" * 64})
        index["files"].sort(key=lambda e: e["path"])

    rechain(sealed_world.root, add)
    code, doc = check(sealed_world.root, "--verify-digests")
    assert code == 1
    assert {c for c, _ in fails(doc)} == {"PATH_UNSAFE"}


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_unsafe_paths_in_a_gate_index(world: DemoWorld, bad: str) -> None:
    index = next(Path(world.root).glob("data/layer3/6B/validation/*/index.json"))
    doc = json.loads(index.read_text())
    doc.append({"path": bad, "sha256_hex": "0" * 64})
    index.write_text(json.dumps(doc))
    code, report = check(world.root, "--output-id", "s2_event_stream_baseline_6B")
    assert code == 1
    assert ("PATH_UNSAFE", index.relative_to(world.root).as_posix()) in fails(report)


@pytest.mark.parametrize("bad,code_", [(p, "PATH_UNSAFE") for p in BAD_PATHS[2:]]
                         + [("/etc/part-*.parquet", "LOCATOR_INVALID"),
                            ("../../part-*.parquet", "PATH_UNSAFE")])
def test_unsafe_locators(world: DemoWorld, bad: str, code_: str) -> None:
    pack = load_interface_pack()
    loc = locator_for(pack, world.world_key, "arrival_events_5B")
    with pytest.raises(OracleError) as exc:
        validate_locator(open_store(world.root), pack, world.world_key, dict(loc, path=bad))
    assert exc.value.code == code_


def test_symlinked_file_and_directory_leaving_the_root(world: DemoWorld, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not read")
    flag = next(Path(world.root).glob("data/layer3/6B/validation/*/_passed.flag"))
    flag.unlink()
    os.symlink(outside / "secret.txt", flag)  # a gate flag that points away
    os.symlink(outside, Path(world.root) / "data" / "linked_dir")
    code, doc = check(world.root, "--output-id", "s2_event_stream_baseline_6B")
    assert code == 1
    assert ("PATH_UNSAFE", flag.relative_to(world.root).as_posix()) in fails(doc)
    assert ("PATH_UNSAFE", "data/linked_dir") in fails(doc)
    assert "do not read" not in json.dumps(doc)


@pytest.mark.parametrize("target", ["run_receipt.json", "flag", "index"])
def test_fifo_where_a_file_should_be_does_not_hang(world: DemoWorld, target: str) -> None:
    bundle = next(Path(world.root).glob("data/layer3/6B/validation/*"))
    path = {"run_receipt.json": Path(world.root) / "run_receipt.json",
            "flag": bundle / "_passed.flag", "index": bundle / "index.json"}[target]
    path.unlink()
    os.mkfifo(path)
    code, doc = check(world.root)  # run_cli_process has a timeout: a hang fails the test
    assert code == 1
    assert ("PATH_UNSAFE", path.relative_to(world.root).as_posix()) in fails(doc)
