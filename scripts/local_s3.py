"""`python scripts/local_s3.py [--bucket NAME]`: a throwaway S3-compatible server for a try-out.

Starts moto's server on a free loopback port in the background, waits until *that* server
answers (a port someone else holds is never used: moto's own process must be alive and
answering), creates the bucket, and prints shell lines to evaluate:

    eval "$(python scripts/local_s3.py --bucket worlds)"

which set OBJECT_STORE_ENDPOINT (and placeholder credentials: the local server does not check
them) and say how to stop it. Needs `moto[server]` in the environment.
"""

from __future__ import annotations

import argparse
import shlex
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


def answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + "/", timeout=2) as response:
            return int(response.status) < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
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
            if answers(endpoint):
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
    log = Path(tempfile.mkdtemp(prefix="oracle-tui-s3-")) / "moto.log"
    server, endpoint = start(log)
    if args.bucket:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="any", aws_secret_access_key="any").create_bucket(
            Bucket=args.bucket)
    print(f"export OBJECT_STORE_ENDPOINT={shlex.quote(endpoint)}")
    print("export AWS_ACCESS_KEY_ID=any AWS_SECRET_ACCESS_KEY=any AWS_DEFAULT_REGION=us-east-1")
    print(f"export ORACLE_TUI_S3_PID={server.pid}")
    print(f"echo 'local S3 at {endpoint} (pid {server.pid}; stop it: kill {server.pid})' >&2")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
