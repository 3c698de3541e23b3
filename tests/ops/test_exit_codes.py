"""One exit-code rule for every operation (core/outcome.py): the same finding gives the same
exit code whether check, diff, stream-view verify, stream-view build or seal met it."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from oracle_tui.core.demo import DemoWorld
from tests.conftest import DUMMY_KEY_ID, DUMMY_SECRET, S3Env, run_cli_here

OUT = "arrival_events_5B"

# Each operation as argv over the root that holds the trouble; ``other`` is a readable world
# (diff's other side).
OPERATIONS: dict[str, Callable[[str, str], list[str]]] = {
    "check": lambda root, other: ["check", root],
    "diff": lambda root, other: ["diff", other, root],
    "verify": lambda root, other: ["stream-view", "verify", root, "--output-id", OUT],
    "build": lambda root, other: ["stream-view", "build", root, "--output-id", OUT],
    "seal": lambda root, other: ["seal", root, "--scenario-id", "baseline_v1",
                                 "--engine-release", "demo-1.0", "--yes"],
}


def _fast_profile(folder: Path) -> list[str]:
    """A profile whose object store is wherever OBJECT_STORE_ENDPOINT says, tried twice."""
    (folder / "fast.yaml").write_text(
        "profile_id: fast\npolicy: {strict_seal: false}\nwiring:\n  object_store:\n"
        "    endpoint: ${OBJECT_STORE_ENDPOINT:-}\n    region: us-east-1\n"
        "    max_attempts: 2\n    connect_timeout: 2\n    read_timeout: 5\n")
    return ["--profile", "fast", "--profiles-dir", str(folder)]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_everywhere(root: str, other: str, extra: list[str], env: dict[str, str],
                    skip: tuple[str, ...] = ()) -> dict[str, tuple[int, str]]:
    """Each operation's exit code and the code its output names first."""
    found = {}
    for name, argv in OPERATIONS.items():
        if name in skip:
            continue
        res = run_cli_here(*argv(root, other), *extra, env=env)
        assert "Traceback" not in res.err, (name, res.err)
        found[name] = (res.code, res.out + res.err)
    return found


def _codes(found: dict[str, tuple[int, str]]) -> dict[str, int]:
    return {name: code for name, (code, _) in found.items()}


def test_missing_credentials_are_a_configuration_error_everywhere(world: DemoWorld) -> None:
    found = _run_everywhere("s3://bucket/w1/", world.root, [],
                            {"AWS_PROFILE": "no-such-profile-here"})
    assert _codes(found) == dict.fromkeys(OPERATIONS, 2)
    assert all("CREDENTIALS_MISSING" in text for _, text in found.values())


def test_an_endpoint_that_does_not_answer_is_retryable_everywhere(world: DemoWorld,
                                                                  tmp_path: Path) -> None:
    env = {"OBJECT_STORE_ENDPOINT": f"http://127.0.0.1:{_closed_port()}",
           "AWS_ACCESS_KEY_ID": DUMMY_KEY_ID, "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
           "AWS_DEFAULT_REGION": "us-east-1"}
    found = _run_everywhere("s3://some-bucket/w/", world.root, _fast_profile(tmp_path), env)
    assert _codes(found) == dict.fromkeys(OPERATIONS, 3)
    assert all("STORAGE_TIMEOUT" in text for _, text in found.values())


@pytest.mark.s3
def test_throttled_storage_is_retryable_everywhere(s3env: S3Env, world: DemoWorld,
                                                   tmp_path: Path) -> None:
    if not s3env.fault_endpoints:
        pytest.skip("needs the loopback server's fault endpoints")
    env = {"OBJECT_STORE_ENDPOINT": s3env.fault_endpoints[503]}
    found = _run_everywhere("s3://some-bucket/w/", world.root, _fast_profile(tmp_path), env)
    assert _codes(found) == dict.fromkeys(OPERATIONS, 3)
    assert all("STORAGE_THROTTLED" in text for _, text in found.values())


def test_an_unknown_output_id_is_a_usage_error_everywhere(world: DemoWorld,
                                                          _pristine_world: DemoWorld) -> None:
    found = {}
    for name, argv in (("check", ["check", world.root]),
                       ("diff", ["diff", _pristine_world.root, world.root]),
                       ("verify", ["stream-view", "verify", world.root]),
                       ("build", ["stream-view", "build", world.root])):
        res = run_cli_here(*argv, "--output-id", "no_such_output_6B")
        found[name] = (res.code, res.out + res.err)
    assert _codes(found) == {"check": 2, "diff": 2, "verify": 2, "build": 2}
    assert all("OUTPUT_UNKNOWN" in text for _, text in found.values())


def test_a_fail_finding_is_one_everywhere(world: DemoWorld, _pristine_world: DemoWorld) -> None:
    part = sorted(Path(world.root).glob("data/**/arrival_events/**/part-*.parquet"))[1]
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01
    part.write_bytes(bytes(data))
    found = _run_everywhere(world.root, _pristine_world.root, [], {})
    assert _codes(found) == dict.fromkeys(OPERATIONS, 1)
    assert all("DIGEST_MISMATCH" in text for _, text in found.values())
