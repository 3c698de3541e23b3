"""Operator-supplied files and the interface pack: regular files of bounded size, YAML
without duplicate keys or alias bombs, ids and templates that name one thing each."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.errors import OracleError
from oracle_tui.core.interface_pack import builtin_pack_dir, load_interface_pack
from oracle_tui.core.profiles import builtin_profiles_dir, load_profile
from tests.conftest import run_cli_process


def _pack_copy(tmp_path: Path) -> Path:
    pack = tmp_path / "pack"
    shutil.copytree(builtin_pack_dir(), pack)
    return pack


@pytest.mark.parametrize("name", ["local", "dev", "prod"])
def test_the_shipped_profiles_name_every_key_once(name: str) -> None:
    text = (builtin_profiles_dir() / f"{name}.yaml").read_text()
    keys = [line.split(":", 1)[0].strip() for line in text.splitlines()
            if line.startswith("  ") and not line.startswith("    ") and ":" in line]
    assert len(keys) == len(set(keys)), keys


def test_a_profile_naming_a_key_twice_is_refused_with_the_key_and_line(tmp_path: Path) -> None:
    text = (builtin_profiles_dir() / "local.yaml").read_text()
    text = text.replace("wiring:\n", "wiring:\n  stream_view_executor: tcp://10.0.0.1:8786\n", 1)
    (tmp_path / "twice.yaml").write_text(text)
    with pytest.raises(OracleError) as exc:
        load_profile("twice", tmp_path, env={})
    assert exc.value.code == "PROFILE_INVALID"
    assert "duplicate key 'stream_view_executor' on line" in exc.value.message
    res = run_cli_process("check", "/nonexistent", "--profile", "twice",
                          "--profiles-dir", str(tmp_path))
    assert res.code == 2 and "duplicate key 'stream_view_executor'" in res.err


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    (tmp_path / "bomb.yaml").write_text("\n".join(lines) + "\n")
    with pytest.raises(OracleError) as exc:
        load_profile("bomb", tmp_path, env={})
    assert exc.value.code == "PROFILE_INVALID" and "aliases" in exc.value.message


@pytest.mark.parametrize("kind", ["fifo", "device", "directory", "huge"])
def test_an_interface_pack_file_that_is_no_regular_file_is_refused(tmp_path: Path,
                                                                    kind: str) -> None:
    pack = _pack_copy(tmp_path)
    target = pack / "engine_outputs.catalogue.yaml"
    target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        target.symlink_to("/dev/zero")
    elif kind == "directory":
        target.mkdir()
    else:
        with target.open("wb") as fh:
            fh.truncate(64 * 1024 * 1024)
    with pytest.raises(OracleError) as exc:
        load_interface_pack(pack)
    assert exc.value.code == "INTERFACE_PACK_INVALID"
    assert ("not a regular file" in exc.value.message) == (kind != "huge")


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_locate_verify_never_hangs_on_a_fifo_or_a_device(world: DemoWorld, tmp_path: Path,
                                                        kind: str) -> None:
    path = tmp_path / "locator.json"
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    res = run_cli_process("locate", world.root, "--verify", str(path))
    assert res.code == 1
    assert res.err.startswith("oracle-tui: LOCATOR_INVALID: locator file ")
    assert "not a regular file" in res.err


@pytest.mark.parametrize(("file", "old", "new", "words"), [
    ("engine_outputs.catalogue.yaml", "- output_id: s4_event_labels_6B",
     "- output_id: s3_event_stream_with_fraud_6B", "s3_event_stream_with_fraud_6B more than once"),
    ("engine_gates.map.yaml", "gate_id: gate.layer1.3A.validation",
     "gate_id: gate.layer1.1A.validation", "gate.layer1.1A.validation more than once"),
    ("engine_outputs.catalogue.yaml", "s4_event_labels_6B/seed=", "s3_event_stream_with_fraud_6B/seed=",
     "path templates"),
    ("engine_outputs.catalogue.yaml", "- output_id: s4_event_labels_6B",
     "- output_id: s4 labels", "'s4 labels', which is not an id"),
])
def test_an_ambiguous_interface_pack_is_a_config_error(world: DemoWorld, tmp_path: Path, file: str,
                                                       old: str, new: str, words: str) -> None:
    pack = _pack_copy(tmp_path)
    path = pack / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    res = run_cli_process("check", world.root, "--interface-pack", str(pack))
    assert res.code == 2
    assert res.err.startswith("oracle-tui: INTERFACE_PACK_INVALID: ")
    assert words in res.err


def test_two_outputs_claiming_the_same_files_is_a_config_error(world: DemoWorld,
                                                               tmp_path: Path) -> None:
    pack = _pack_copy(tmp_path)
    path = pack / "engine_outputs.catalogue.yaml"
    text = path.read_text()
    # Another template that matches the same parts: not equal as text, overlapping on disk.
    text = text.replace("s4_event_labels_6B/seed={seed}/parameter_hash={parameter_hash}/"
                        "manifest_fingerprint={manifest_fingerprint}/scenario_id={scenario_id}/"
                        "part-*.parquet",
                        "s3_event_stream_with_fraud_6B/seed={seed}/parameter_hash="
                        "{parameter_hash}/manifest_fingerprint={manifest_fingerprint}/"
                        "scenario_id={scenario_id}/part-0*.parquet", 1)
    path.write_text(text)
    res = run_cli_process("check", world.root, "--interface-pack", str(pack), "--json")
    assert res.code == 2
    assert "INTERFACE_PACK_INVALID" in res.out
