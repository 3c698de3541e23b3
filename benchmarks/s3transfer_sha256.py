"""The baseline of bench_s3_rehash.py: what an operator without oracle-tui would run. Lists
``s3://BUCKET/PREFIX``, downloads every object into FOLDER with the AWS CLI's transfer engine
(s3transfer's TransferManager, default configuration: 10 requests in flight, ranged GETs of
8 MiB parts above 8 MiB), then sha256 of each file, two at a time (as `sha256sum` under
`xargs -P2` would). Endpoint and credentials from the environment (AWS_ENDPOINT_URL).

    python benchmarks/s3transfer_sha256.py s3://BUCKET/PREFIX FOLDER
"""

from __future__ import annotations

import hashlib
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config
from s3transfer.manager import TransferConfig, TransferManager


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        buf = memoryview(bytearray(1 << 20))
        while n := fh.readinto(buf):
            h.update(buf[:n])
    return h.hexdigest()


def main() -> int:
    uri, folder = sys.argv[1], Path(sys.argv[2])
    bucket, _, prefix = uri[len("s3://"):].partition("/")
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                      config=Config(s3={"addressing_style": "path"}))
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix + "/") for o in page.get("Contents", [])]
    paths = [folder / k for k in keys]
    with TransferManager(s3, TransferConfig()) as manager:
        for key, path in zip(keys, paths, strict=True):
            path.parent.mkdir(parents=True, exist_ok=True)
            manager.download(bucket, key, str(path))
    with ThreadPoolExecutor(max_workers=2) as pool:
        digests = list(pool.map(sha256_file, paths))
    print(f"{len(digests)} objects hashed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
