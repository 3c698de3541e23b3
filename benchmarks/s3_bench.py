"""Shared parts of the S3 benchmarks: a local S3 server (scripts/local_s3.py), uploads, and
timing a process with its peak RSS."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    endpoint: str
    host: str
    port: int
    pid: int


@contextmanager
def local_s3(bucket: str) -> Iterator[Server]:
    """moto's server on a free loopback port with ``bucket`` made, stopped afterwards."""
    out = subprocess.run([sys.executable, str(REPO / "scripts" / "local_s3.py"), "--bucket",
                          bucket], check=True, capture_output=True, text=True).stdout
    values = dict(re.findall(r"(\w+)=(\S+)", out))
    endpoint = shlex.split(values["OBJECT_STORE_ENDPOINT"])[0]
    pid = int(values["ORACLE_TUI_S3_PID"])
    host, port = endpoint.split("//", 1)[1].rsplit(":", 1)
    try:
        yield Server(endpoint, host, int(port), pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 15)


def dummy_env(endpoint: str) -> dict[str, str]:
    """The environment our CLI and the baselines run in: the endpoint and placeholder
    credentials (the local server does not check them)."""
    return {**os.environ, "OBJECT_STORE_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint}


def client(endpoint: str) -> object:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="bench",
                        aws_secret_access_key="bench", region_name="us-east-1",
                        config=Config(max_pool_connections=32,
                                      s3={"addressing_style": "path"}))


def upload_folder(endpoint: str, folder: Path, bucket: str, prefix: str) -> int:
    """Every file under ``folder`` to ``s3://bucket/prefix/…`` (straight to the server)."""
    from boto3.s3.transfer import TransferConfig
    from s3transfer.manager import TransferManager

    files = sorted(p for p in folder.rglob("*") if p.is_file())
    with TransferManager(client(endpoint), TransferConfig(max_concurrency=16)) as manager:
        for p in files:
            manager.upload(str(p), bucket, f"{prefix}/{p.relative_to(folder).as_posix()}")
    return len(files)


@dataclass
class Run:
    seconds: float
    peak_rss_mib: float
    output: str


def timed(cmd: list[str], env: dict[str, str]) -> Run:
    """Wall time and peak RSS of one process (its own ru_maxrss, by a wait4 on it)."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{shlex.join(cmd)} exited {proc.returncode}: {text[-2000:]}")
    return Run(seconds, usage.ru_maxrss / 1024, text)  # ru_maxrss: KiB on Linux
