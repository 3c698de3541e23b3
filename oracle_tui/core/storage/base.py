"""The storage protocol: the only thing in the core that knows where bytes live."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

from oracle_tui.core.errors import OracleError
from oracle_tui.core.storage.settings import StoreSpec

# Keys under this prefix are conditional-write probes (S3), never part of a pack's content.
PROBE_PREFIX = "_oracle_write_probe/"
PROBE_BODY = b"oracle-tui conditional-write probe\n"
PROBE_KEY_RE = r"^_oracle_write_probe/[0-9a-f]{32}$"
# A local writer's temporary file, beside its target until the atomic rename: the writer's
# pid (a dead writer's leftovers are removed) and a random part. Never an output's name.
TEMP_PREFIX = ".oracle-tui-tmp-"
TEMP_RE = re.compile(r"^\.oracle-tui-tmp-(\d+)-[0-9a-f]{32}$")


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One object under a root. ``key`` is '/'-separated and relative to the root."""

    key: str
    size: int
    etag: str | None = None
    # "file" for a regular file/object; anything else (symlink, fifo, dir...) is never read.
    kind: str = "file"


# A folder that holds nothing (local: an empty directory; S3: a "key/" marker with no key
# under it), listed with a trailing "/" so that check can report one where a file belongs.
EMPTY_FOLDER = "empty folder"


def require_regular(obj: ObjectInfo) -> None:
    """Refuse what is not a readable regular file with the code that names why."""
    if obj.kind == "file":
        return
    if obj.kind == "unreadable":
        raise OracleError("ACCESS_DENIED", f"permission denied: {obj.key}", obj.key)
    raise OracleError("PATH_UNSAFE", f"{obj.key} is a {obj.kind}, never followed", obj.key)


@dataclass(frozen=True)
class S3Access:
    """How DuckDB's httpfs reaches a remote store: the same endpoint, region and URL style as
    the store, and the credentials the AWS chain resolved (None: it found none)."""

    endpoint: str  # host[:port], or "" for AWS itself
    use_ssl: bool
    region: str
    path_style: bool
    key_id: str | None = None
    secret: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)


class ReadStream(Protocol):
    """What reading an object yields: a binary stream that fills caller-owned buffers."""

    def readinto(self, buffer: bytearray | memoryview, /) -> int | None: ...

    def close(self) -> None: ...

    def __enter__(self) -> ReadStream: ...

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None, /) -> None: ...


# Requests one job keeps in flight to a remote store, whatever its CPU threads: each costs a
# round trip (tens of milliseconds in a region) before its first byte, and waiting is not
# work. Matches the S3 client's connection pool (storage/s3.py).
REMOTE_IN_FLIGHT = 16


def in_flight(store: Store, threads: int) -> int:
    """Workers for a job of many reads on ``store``: its threads locally, at least
    REMOTE_IN_FLIGHT on a remote store."""
    return max(1, threads, REMOTE_IN_FLIGHT if store.remote else 1)


class Store(Protocol):
    """A pack root. Keys are relative to it; nothing outside it is ever listed or read."""

    root_uri: str
    # True for object stores reached over the network (DuckDB needs httpfs and a secret).
    remote: bool

    def local_path(self, key: str) -> Path | None:
        """The object as a local file path, or None where objects are not local files."""
        ...

    def remove_stale_temps(self, directory_key: str = "") -> list[str]:
        """Delete our own temporary files left by dead writers; a no-op where writes are
        atomic (S3). Returns the keys removed."""
        ...

    def root_exists(self) -> bool: ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in ascending key order."""
        ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def read_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        """Whole object; OracleError(OBJECT_MISSING) if absent, PATH_UNSAFE if not a file."""
        ...

    def open_read(self, key: str) -> ReadStream: ...

    def read_tail(self, key: str, nbytes: int) -> bytes:
        """The last ``nbytes`` of an object (all of it when shorter): one ranged read."""
        ...

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Create ``key`` with ``data`` unless it exists. True if this call created it."""
        ...

    def put_file_if_absent(self, key: str, path: str) -> bool:
        """put_if_absent for a finished local file (large view parts); the file is handed over."""
        ...

    def ensure_conditional_writes(self) -> None:
        """Raise CONDITIONAL_WRITE_UNSUPPORTED unless put_if_absent is really create-only."""
        ...

    def uri(self, key: str) -> str: ...

    def spec(self) -> StoreSpec:
        """What another process needs to open this store (picklable, no credentials)."""
        ...

    def delete(self, key: str) -> None:
        """Remove one object (absent is fine). Only for oracle-tui's own scratch objects:
        nothing of a pack or a view is ever deleted."""
        ...

    def s3_access(self) -> S3Access | None:
        """How DuckDB reaches this store over S3; None for a local store."""
        ...
