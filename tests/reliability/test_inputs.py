"""Operator input, credentials in URLs, users without a passwd entry.

Bad values are refused before anything is written (INPUT_INVALID, exit 2); credentials
inside an endpoint or root URI are SECRET_IN_CONFIG (exit 2) and never printed; `seal` and
`tombstone` work for a user the system has no name for (containers with arbitrary UIDs).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from oracle_tui.core.demo import DemoWorld
from tests.conftest import CLI, run_cli_here, run_cli_process
from tests.reliability.helpers import (
    why_another_user_cannot_run_this_checkout,
    world_for_another_user,
)

PASSWORD = "hunter2-NOT-A-REAL-PASSWORD"


def _files(root: str) -> list[tuple[str, int]]:
    return sorted((p.relative_to(root).as_posix(), p.stat().st_size)
                  for p in Path(root).rglob("*") if p.is_file())


@pytest.mark.parametrize("release", ["", "   ", "r" * 257, "1.0\n2.0", "1.0\x07"])
def test_engine_release_is_checked_before_sealing(world: DemoWorld, release: str) -> None:
    before = _files(world.root)
    res = run_cli_here("seal", world.root, "--scenario-id", "baseline_v1",
                          "--engine-release", release, "--yes")
    assert res.code == 2
    assert res.err.startswith("oracle-tui: INPUT_INVALID: the engine release"), res.err
    assert _files(world.root) == before


@pytest.mark.parametrize("reason,authority,what", [
    ("r" * 10_000, "ops", "the reason"),
    ("rng defect", "a" * 300, "the authority"),
    ("", "ops", "the reason"),
    ("rng\x1b[31m defect", "ops", "the reason"),
    ("rng defect", " ", "the authority"),
])
def test_tombstone_input_is_checked_before_writing(sealed_world: DemoWorld, reason: str,
                                                   authority: str, what: str) -> None:
    before = _files(sealed_world.root)
    res = run_cli_here("tombstone", sealed_world.root, "--reason", reason,
                          "--authority", authority, "--yes")
    assert res.code == 2
    assert res.err.startswith(f"oracle-tui: INPUT_INVALID: {what}"), res.err
    assert _files(sealed_world.root) == before


def test_longest_accepted_reason_reads_back(sealed_world: DemoWorld) -> None:
    res = run_cli_here("tombstone", sealed_world.root, "--reason", "r" * 4096,
                          "--authority", "a" * 256, "--yes")
    assert res.code == 0, res.err
    res = run_cli_here("check", sealed_world.root, "--json")
    doc = json.loads(res.out)
    assert doc["seal"]["tombstone"]["reason"] == "r" * 4096  # our reader accepts what we wrote


@pytest.mark.parametrize("limit", ["lots", "2 parsecs", "-1GB", "1e9", "2G"])
def test_memory_limit_is_input_invalid(world: DemoWorld, limit: str) -> None:
    res = run_cli_here("stream-view", "build", world.root, "--output-id",
                          "s4_event_labels_6B", f"--memory-limit={limit}")
    assert res.code == 2
    assert res.err.startswith("oracle-tui: INPUT_INVALID: usage error: argument "
                              "--memory-limit: memory limit"), res.err
    assert not (Path(world.root) / "stream_view").exists()


@pytest.mark.parametrize("argv", [
    ["stream-view", "build", "/no/such/root", "--output-id", "x", "--memory-limit", "2G"],
    ["diff", "/no/a", "/no/b", "--memory-limit", "2G"],
    ["check", "/no/such/root", "--threads", "0"],
    ["diff", "/no/a", "/no/b", "--rows", "-1"],
    ["stream-view", "build", "/no/such/root", "--output-id", "x", "--executor", "tcp://host"],
    ["stream-view", "build", "/no/such/root", "--output-id", "x", "--executor", "http://h:1"],
])
def test_bad_option_values_are_usage_errors_before_any_pack_is_opened(argv: list[str]) -> None:
    res = run_cli_here(*argv)
    assert res.code == 2 and res.out == ""
    assert res.err.startswith("oracle-tui: INPUT_INVALID: usage error: argument --"), res.err


def test_credentials_in_a_profile_endpoint(world: DemoWorld, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "creds.yaml").write_text(
        "profile_id: creds\nwiring:\n  object_store:\n"
        f"    endpoint: http://admin:{PASSWORD}@127.0.0.1:9/\n")
    res = run_cli_process("check", "s3://bucket/w/", "--profile", "creds",
                          "--profiles-dir", str(profiles))
    assert res.code == 2 and "SECRET_IN_CONFIG" in res.err + res.out
    assert PASSWORD not in res.err + res.out


def test_credentials_resolved_into_an_endpoint(world: DemoWorld) -> None:
    res = run_cli_process("check", "s3://bucket/w/", "--profile", "dev",
                          env={"OBJECT_STORE_ENDPOINT": f"https://key:{PASSWORD}@s3.invalid",
                               "ORACLE_ROOT": "s3://bucket/w/"})
    assert res.code == 2 and "SECRET_IN_CONFIG" in res.err + res.out
    assert PASSWORD not in res.err + res.out


@pytest.mark.parametrize("root", [f"s3://AKIAIOSFODNN7EXAMPLE:{PASSWORD}@bucket/w/",
                                  f"s3://user:{PASSWORD}@bucket/w/"])
def test_credentials_in_a_root_uri(root: str) -> None:
    for args in (("check", root), ("check", root, "--json"), ("locate", root, "--output-id",
                                                             "arrival_events_5B")):
        res = run_cli_process(*args)
        assert res.code == 2 and "SECRET_IN_CONFIG" in res.err + res.out, res.err
        assert PASSWORD not in res.err + res.out


NO_NAME_UID = 4242


@pytest.fixture
def owned_world(_pristine_world: DemoWorld) -> Iterator[Path]:
    if os.geteuid() == 0:
        why_not = why_another_user_cannot_run_this_checkout(NO_NAME_UID)
        if why_not is not None:
            pytest.skip(why_not)
    with world_for_another_user(_pristine_world.root, uid=NO_NAME_UID) as root:
        yield root


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as an unnamed uid")
def test_seal_and_tombstone_as_a_user_without_a_passwd_entry(owned_world: Path) -> None:
    import pwd

    with pytest.raises(KeyError):
        pwd.getpwuid(NO_NAME_UID)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("USER", "LOGNAME", "LNAME",
                                                                 "USERNAME")}
        return subprocess.run([*CLI, *args],
                              user=NO_NAME_UID, group=NO_NAME_UID, capture_output=True,
                              text=True, timeout=120, stdin=subprocess.DEVNULL, cwd="/",
                              env={**env, "HOME": "/nonexistent"})

    probe = run("explain", "INPUT_INVALID")
    if probe.returncode != 0:
        pytest.skip(f"the unnamed uid cannot run this checkout: {probe.stderr[-200:]}")
    res = run("seal", str(owned_world), "--scenario-id", "baseline_v1",
              "--engine-release", "demo-1.0", "--yes")
    assert res.returncode == 0, res.stderr
    res = run("tombstone", str(owned_world), "--reason", "rng defect", "--authority", "ops",
              "--yes")
    assert res.returncode == 0, res.stderr
    record = json.loads((owned_world / "_TOMBSTONE.json").read_text())
    assert record["tombstoned_by"] == f"uid:{NO_NAME_UID}"
