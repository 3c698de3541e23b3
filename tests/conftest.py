"""Shared fixtures: real demo worlds on disk, the upstream interface pack, CLI runners."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from oracle_tui.cli import main as cli_main
from oracle_tui.core.demo import DemoWorld, generate_demo_world

REPO = Path(__file__).resolve().parent.parent
UPSTREAM = Path(os.environ.get(
    "ORACLE_UPSTREAM_PACK", REPO.parent / "shared" / "reference" / "upstream-interface-pack"))
CLI = [sys.executable, "-m", "oracle_tui.cli"]


@pytest.fixture(scope="session")
def upstream_pack_dir() -> Path:
    if not (UPSTREAM / "engine_outputs.catalogue.yaml").is_file():
        pytest.skip(f"upstream interface pack not found at {UPSTREAM} "
                    "(set ORACLE_UPSTREAM_PACK to its folder)")
    return UPSTREAM


@pytest.fixture(scope="session")
def _pristine_world(tmp_path_factory: pytest.TempPathFactory) -> DemoWorld:
    return generate_demo_world(tmp_path_factory.mktemp("pristine") / "world", events=4_000)


@pytest.fixture
def world(_pristine_world: DemoWorld, tmp_path: Path) -> DemoWorld:
    """A fresh copy of a small demo world that a test may break on purpose."""
    dest = tmp_path / "world"
    shutil.copytree(_pristine_world.root, dest)
    return _pristine_world.model_copy(update={"root": str(dest)})


@pytest.fixture(scope="session")
def _pristine_sealed(tmp_path_factory: pytest.TempPathFactory,
                     _pristine_world: DemoWorld) -> DemoWorld:
    from oracle_tui.core.seal import seal_pack

    dest = tmp_path_factory.mktemp("sealed") / "world"
    shutil.copytree(_pristine_world.root, dest)
    seal_pack(str(dest), scenario_id=_pristine_world.world_key.scenario_id,
              engine_release="demo-1.0")
    return _pristine_world.model_copy(update={"root": str(dest)})


@pytest.fixture
def sealed_world(_pristine_sealed: DemoWorld, tmp_path: Path) -> DemoWorld:
    dest = tmp_path / "sealed"
    shutil.copytree(_pristine_sealed.root, dest)
    return _pristine_sealed.model_copy(update={"root": str(dest)})


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Iterator[object]:
    """Run the CLI in-process: cli("check", root, "--json") -> CliResult."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = cli_main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    yield run


def run_cli_process(*args: str, env: dict[str, str] | None = None,
                    timeout: float = 120) -> CliResult:
    """Run the CLI as a real process (stdin closed, like CI)."""
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
