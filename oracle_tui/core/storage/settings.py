"""Object-store wiring, as the profile gives it (kept free of boto3 so it imports fast)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class S3Settings:
    """Wiring from the profile. An empty endpoint lets boto3 apply AWS_ENDPOINT_URL or AWS."""

    endpoint: str = ""
    region: str = ""
    path_style: bool = True
    max_attempts: int = 5
    connect_timeout: float = 5.0
    read_timeout: float = 30.0


@dataclass(frozen=True)
class StoreSpec:
    """How another process (a Dask worker) opens the same store: the root and the profile's
    wiring, never credentials (each process takes those from its own AWS chain)."""

    root: str
    s3: S3Settings | None = None
