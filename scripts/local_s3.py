"""`python scripts/local_s3.py [--bucket NAME]`: a throwaway S3-compatible server for a try-out.

Starts moto's server on a free loopback port in the background, waits until *that* server
answers (a port someone else holds is never used: moto's own process must be alive and its
own API path must answer), creates the bucket (a name S3 accepts, else nothing starts),
and prints shell lines to evaluate:

    eval "$(python scripts/local_s3.py --bucket worlds)"

which set OBJECT_STORE_ENDPOINT (and placeholder credentials: the local server does not check
them) and say how to stop it. Needs `moto[server]` in the environment.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ATTEMPTS = 5
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")  # S3's rule for a bucket name


def bucket_name_ok(name: str) -> bool:
    """S3's naming rules: 3-63 of [a-z0-9.-], ends alphanumeric, no '..', not an IP address,
    none of the reserved prefixes and suffixes."""
    return (BUCKET.fullmatch(name) is not None and ".." not in name
            and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name) is None
            and not name.startswith(("xn--", "sthree-"))
            and not name.endswith(("-s3alias", "--ol-s3")))


def listens(pid: int, port: int) -> bool | None:
    """Whether process ``pid`` holds the listening socket on ``port`` (Linux: /proc), so an
    answer on the port is its; None where the system does not say."""
    try:
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as fh:
                for line in fh.readlines()[1:]:
                    fields = line.split()
                    if fields[1].rsplit(":", 1)[1] == f"{port:04X}" and fields[3] == "0A":
                        inodes.add(fields[9])
    except OSError:
        return None  # no /proc: the system does not say
    try:
        held = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    except OSError:
        return False  # the process is gone (or going): it holds nothing
    return any(f"socket:[{inode}]" in held for inode in inodes)


def moto_answers(endpoint: str) -> bool:
    """True when moto itself answers there: its own API path, which another server on the
    port (someone else's, or one that won the race for it) does not serve."""
    try:
        with urllib.request.urlopen(endpoint + "/moto-api/data.json", timeout=2) as response:
            return int(response.status) == 200 and response.read(1) == b"{"
    except OSError:  # refused, reset, or an HTTP error from a server that is not moto
        return False


def start(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """moto's server on a free port, once it answers; another port if it lost the race."""
    for _ in range(ATTEMPTS):
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        with open(log, "ab") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)  # outlives this script; stopped with kill PID
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and server.poll() is None:
            if moto_answers(endpoint) and server.poll() is None and \
                    listens(server.pid, port) is not False:  # the answer is our server's
                return server, endpoint
            time.sleep(0.1)  # a start-up poll, not a test: bounded by the deadline above
        if server.poll() is None:
            server.kill()
    raise SystemExit(f"local_s3: moto's server did not start (log: {log})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bucket", help="a bucket to create on it")
    args = parser.parse_args()
    try:
        import boto3
        import moto.server  # noqa: F401  (present, or say what to install)
    except ImportError:
        print("local_s3: needs moto's server: pip install 'moto[server]'", file=sys.stderr)
        return 2
    if args.bucket is not None and not bucket_name_ok(args.bucket):
        print(f"local_s3: {args.bucket!r} is not a bucket name (3-63 characters: lower-case "
              "letters, digits, '.' and '-', starting and ending with a letter or digit)",
              file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="oracle-tui-s3-"))
    try:
        server, endpoint = start(folder / "moto.log")
    except SystemExit:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if args.bucket:
        try:
            boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                         aws_access_key_id="any", aws_secret_access_key="any").create_bucket(
                Bucket=args.bucket)
        except Exception as exc:  # the server goes with the failure: nothing left running
            server.kill()
            shutil.rmtree(folder, ignore_errors=True)
            print(f"local_s3: could not create bucket {args.bucket}: "
                  f"{str(exc).splitlines()[0]}", file=sys.stderr)
            return 1
    print(f"export OBJECT_STORE_ENDPOINT={shlex.quote(endpoint)}")
    print("export AWS_ACCESS_KEY_ID=any AWS_SECRET_ACCESS_KEY=any AWS_DEFAULT_REGION=us-east-1")
    print(f"export ORACLE_TUI_S3_PID={server.pid}")
    print(f"echo 'local S3 at {endpoint} (pid {server.pid}; stop it: kill {server.pid}; "
          f"log: {folder / 'moto.log'})' >&2")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
