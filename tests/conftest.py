"""Shared fixtures: real demo worlds on disk, the upstream interface pack, CLI runners."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from oracle_tui.cli import main as cli_main
from oracle_tui.core.demo import DemoWorld, generate_demo_world

REPO = Path(__file__).resolve().parent.parent
UPSTREAM = Path(os.environ.get(
    "ORACLE_UPSTREAM_PACK", REPO.parent / "shared" / "reference" / "upstream-interface-pack"))
CLI = [sys.executable, "-m", "oracle_tui.entry"]  # the installed command's own entry point


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


CliRunner = Callable[..., CliResult]
"""The ``cli`` fixture: cli("check", root, "--json") -> CliResult."""


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Iterator[CliRunner]:
    """Run the CLI in-process: cli("check", root, "--json") -> CliResult."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = cli_main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    yield run


def run_cli_here(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """Run the CLI in this process with its output captured (no fixture needed): the same
    main() as the real command, without a new interpreter's start-up for every case.
    ``env``: variables set for this call only."""
    import contextlib
    import io
    from unittest import mock

    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env or {}), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        try:
            code = cli_main(list(args))
        except SystemExit as exc:  # argparse's own exits (usage errors)
            code = int(exc.code or 0)
    return CliResult(code, out.getvalue(), err.getvalue())


def run_cli_process(*args: str, env: dict[str, str] | None = None,
                    timeout: float = 120) -> CliResult:
    """Run the CLI as a real process (stdin closed, like CI)."""
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def s3_lists(s3env: S3Env, run: Callable[[], Any]) -> tuple[int, int]:
    """(listing pages, one-key probes) that ``run`` asked the loopback S3 server for: a
    command's listing of its root, and its probe that the root exists (issue 26's budget)."""
    if s3env.server is None:
        pytest.skip("the request count needs the loopback server of this run")
    requests: list[tuple[str, str, str]] = s3env.server.honest.requests  # type: ignore[attr-defined]
    before = len(requests)
    run()
    lists = [q for m, _, q in requests[before:] if m == "GET" and "list-type=2" in q]
    probes = sum("max-keys=1&" in q + "&" for q in lists)
    return len(lists) - probes, probes


# -- S3: a real HTTP endpoint on loopback (or any endpoint given by the environment) -------

DUMMY_KEY_ID = "AKIDTESTONLY0000DUMMY"
DUMMY_SECRET = "dummy-secret-for-tests-only-9f3b2c"


@dataclass
class S3Env:
    endpoint: str
    ignoring_endpoint: str | None
    server: object | None
    fault_endpoints: dict[int, str] | None = None
    read_fault_endpoints: dict[str, str] | None = None

    def bulk_put(self, bucket: str, items: dict[str, bytes]) -> None:
        """Seed many objects fast: straight into the in-process moto backend when it is ours
        (the code under test still reads them over HTTP), else through the client."""
        if self.server is not None:
            from moto.core import DEFAULT_ACCOUNT_ID
            from moto.s3.models import s3_backends

            backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
            for key, body in items.items():
                backend.put_object(bucket, key, body)
            return
        client: Any = self.client()
        for key, body in items.items():
            client.put_object(Bucket=bucket, Key=key, Body=body)

    def client(self, endpoint: str | None = None) -> object:
        import boto3

        return boto3.session.Session().client("s3", endpoint_url=endpoint or self.endpoint,
                                              region_name="us-east-1")


@pytest.fixture(scope="session")
def s3env() -> Iterator[S3Env]:
    """ORACLE_TEST_S3_ENDPOINT (with credentials in the usual variables) runs the same tests
    against MinIO or AWS; otherwise a moto server is started on loopback for this worker."""
    external = os.environ.get("ORACLE_TEST_S3_ENDPOINT")
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                            "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")}
    if external:
        yield S3Env(external, None, None)
        return
    from tests.s3server import LoopbackS3

    server = LoopbackS3().start()
    os.environ.update({"AWS_ACCESS_KEY_ID": DUMMY_KEY_ID, "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": server.endpoint})
    try:
        yield S3Env(server.endpoint, server.ignoring_endpoint, server, server.fault_endpoints,
                    server.read_fault_endpoints)
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def s3_bucket(s3env: S3Env) -> str:
    import uuid

    name = f"oracle-test-{uuid.uuid4().hex[:12]}"
    s3env.client().create_bucket(Bucket=name)  # type: ignore[attr-defined]
    return name


@pytest.fixture
def s3_world(s3env: S3Env, s3_bucket: str, _pristine_world: DemoWorld) -> DemoWorld:
    """The small demo world uploaded to s3://<fresh bucket>/worlds/w1/."""
    from oracle_tui.core.demo import upload_tree
    from oracle_tui.core.storage.s3 import S3Store

    root = f"s3://{s3_bucket}/worlds/w1/"
    upload_tree(Path(_pristine_world.root), S3Store.from_uri(root))
    return _pristine_world.model_copy(update={"root": root})


def forget_release(root: str) -> None:
    """Drop engine_release from a local world's run receipt, for tests where several seal
    inputs must compete (a receipt that records a release admits only that one)."""
    import json as _json

    path = Path(root) / "run_receipt.json"
    receipt = _json.loads(path.read_text())
    receipt.pop("engine_release", None)
    path.write_text(_json.dumps(receipt, indent=2))
