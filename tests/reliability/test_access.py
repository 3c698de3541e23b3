"""A user who cannot read part of the root: ACCESS_DENIED, never skipped, nothing written.

Runs the real CLI as an unprivileged user (uid 65534) against a world whose one folder or
file root keeps to itself. Root reads everything, so these cases need another user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from oracle_tui.core.demo import DemoWorld
from tests.conftest import CLI
from tests.reliability.helpers import (
    why_another_user_cannot_run_this_checkout,
    world_for_another_user,
)

NOBODY = 65534
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")


def _as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], user=NOBODY,
                          group=NOBODY, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, cwd="/",
                          env={**os.environ, "HOME": "/nonexistent"})


@pytest.fixture
def shared_world(_pristine_world: DemoWorld) -> Iterator[Path]:
    """A copy of the demo world in a folder the unprivileged user can reach and read."""
    why_not = why_another_user_cannot_run_this_checkout(NOBODY)
    if why_not is not None:
        pytest.skip(why_not)
    with world_for_another_user(_pristine_world.root) as root:
        yield root


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


@pytest.mark.parametrize("what", ["folder", "file"])
def test_unreadable_path_is_access_denied_in_check_and_seal(shared_world: Path,
                                                            what: str) -> None:
    logs = shared_world / "logs"
    target = logs if what == "folder" else logs / "engine.log"
    target.chmod(0o700 if what == "folder" else 0o600)
    subject = "logs/" if what == "folder" else "logs/engine.log"
    res = _as_nobody("check", str(shared_world), "--json")
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    fails = {(f["code"], f["subject"]) for f in doc["findings"] if f["severity"] == "FAIL"}
    assert fails == {("ACCESS_DENIED", subject)}
    assert {o["status"] for o in doc["outputs"]} == {"BLOCKED"}  # the pack is not all read
    before = _files(shared_world)
    res = _as_nobody("seal", str(shared_world), "--scenario-id", "baseline_v1",
                     "--engine-release", "demo-1.0", "--yes")
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]  # after the plan it refuses
    assert last.startswith("oracle-tui: ACCESS_DENIED: seal refused"), res.stderr
    assert "Traceback" not in res.stderr
    assert _files(shared_world) == before  # nothing written


def test_root_itself_unreadable_is_access_denied(shared_world: Path) -> None:
    shared_world.chmod(0o711)  # can be entered, not listed
    res = _as_nobody("check", str(shared_world), "--json")
    assert res.returncode == 1
    doc = json.loads(res.stdout)
    assert [(f["code"], f["severity"]) for f in doc["findings"]] == [("ACCESS_DENIED", "FAIL")]
    assert doc["seal"]["lifecycle"] == "UNKNOWN" and doc["outputs"] == []


def test_a_root_this_user_cannot_enter_is_access_denied_on_the_first_screen(
        shared_world: Path) -> None:
    """The inspector's first look at a root the user may not enter: ACCESS_DENIED, as the
    check says it, never an internal error (the store's look at one file raised
    PermissionError)."""
    shared_world.chmod(0o700)
    code = (f"from oracle_tui.core.pack import open_store\n"
            f"from oracle_tui.core.profiles import load_profile\n"
            f"from oracle_tui.core.overview import pack_overview\n"
            f"o = pack_overview(open_store({str(shared_world)!r}, profile=load_profile('local')))\n"
            f"print(o.exists, o.problem[0])\n")
    res = subprocess.run([sys.executable, "-c", code], user=NOBODY, group=NOBODY,
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                         cwd="/", env={**os.environ, "HOME": "/nonexistent"})
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "ACCESS_DENIED"]
    check = _as_nobody("check", str(shared_world), "--json")
    assert check.returncode == 1
    assert [f["code"] for f in json.loads(check.stdout)["findings"]] == ["ACCESS_DENIED"]


def test_a_view_root_this_user_cannot_enter_is_access_denied_not_missing(
        shared_world: Path) -> None:
    """Views kept in their own root (ORACLE_STREAM_VIEW_ROOT) that this user may not enter:
    ACCESS_DENIED, never "no stream view at …" (a claim about a folder nobody looked in)."""
    views = shared_world.parent / "views"
    (views / "ts_utc").mkdir(parents=True)
    views.chmod(0o700)
    res = subprocess.run([*CLI, "check", str(shared_world),
                          "--json", "--quick"], user=NOBODY, group=NOBODY, capture_output=True,
                         text=True, timeout=120, stdin=subprocess.DEVNULL, cwd="/",
                         env={**os.environ, "HOME": "/nonexistent",
                              "ORACLE_STREAM_VIEW_ROOT": str(views)})
    doc = json.loads(res.stdout)
    codes = {(f["code"], f["severity"]) for f in doc["findings"]}
    assert ("ACCESS_DENIED", "FAIL") in codes
    assert not any(code == "STREAM_VIEW_MISSING" for code, _ in codes)
    assert res.returncode == 1


def test_a_view_folder_this_user_cannot_read_is_no_missing_view(shared_world: Path) -> None:
    """A view built into its own root, its folder then closed to this user: check fails
    on ACCESS_DENIED for that output (it once said "no stream view" and PASS), verify
    does not call it MISSING."""
    views = shared_world.parent / "views"
    views.mkdir()
    views.chmod(0o755)
    env = {**os.environ, "ORACLE_STREAM_VIEW_ROOT": str(views)}
    build = subprocess.run([*CLI, "stream-view", "build",
                            str(shared_world), "--output-id", "s4_event_labels_6B"],
                           capture_output=True, text=True, timeout=300, env=env)
    assert build.returncode == 0, build.stderr
    for path in [views, *views.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    folder = views / "ts_utc" / "output_id=s4_event_labels_6B"
    folder.chmod(0o700)

    def as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], user=NOBODY,
                              group=NOBODY, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL, cwd="/",
                              env={**env, "HOME": "/nonexistent"})

    check = as_nobody("check", str(shared_world), "--json")
    doc = json.loads(check.stdout)
    assert check.returncode == 1 and doc["verdict"] == "FAIL"
    fails = [(f["code"], f["subject"]) for f in doc["findings"] if f["severity"] == "FAIL"]
    assert fails == [("ACCESS_DENIED", "s4_event_labels_6B")]
    assert "STREAM_VIEW_MISSING" not in {(f["code"]) for f in doc["findings"]
                                         if f["subject"] == "s4_event_labels_6B"}
    verify = as_nobody("stream-view", "verify", str(shared_world), "--output-id",
                       "s4_event_labels_6B", "--json")
    assert verify.returncode == 1
    assert json.loads(verify.stdout)["state"] != "MISSING"


def test_a_root_behind_a_folder_this_user_cannot_search_is_access_denied(
        shared_world: Path) -> None:
    """Not "no pack at …": the pack may well be there."""
    hide = shared_world.parent / "hide"
    hide.mkdir()
    shared_world.rename(hide / "world")
    hide.chmod(0o700)
    try:
        res = _as_nobody("check", str(hide / "world"), "--json")
        doc = json.loads(res.stdout)
        assert res.returncode == 1
        assert [f["code"] for f in doc["findings"]] == ["ACCESS_DENIED"]
        assert doc["seal"]["lifecycle"] == "UNKNOWN"
    finally:
        hide.chmod(0o755)
        (hide / "world").rename(shared_world)
