"""Small objects of a remote store fetched together, then read from memory.

A check reads its control documents, gate flags and bundle members one after another, each
read deciding the next; on S3 each is a round trip, and forty of them are most of a check's
time at a region's latency. A job that knows which small objects it will read fetches them
at once (REMOTE_IN_FLIGHT requests in flight) into a :class:`Prefetched` store, and every
later read of one of them returns those bytes: the same bytes a read would have returned a
moment later, and one read per object instead of two where a document is parsed twice.
Everything else is the inner store's.
"""

from __future__ import annotations

import builtins
import io
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from oracle_tui.core.errors import OracleError, TooLarge
from oracle_tui.core.storage.base import (
    ObjectInfo,
    ReadStream,
    S3Access,
    Store,
    in_flight,
)
from oracle_tui.core.storage.settings import StoreSpec

# Objects above this size are never held (a large member streams as it always did), and a
# store holds at most PREFETCH_TOTAL bytes: the memory this costs is bounded.
PREFETCH_MAX = 8 << 20
PREFETCH_TOTAL = 256 << 20


class Prefetched:
    """A store whose small objects named to :meth:`fetch` are read once, together."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.root_uri = inner.root_uri
        self.remote = inner.remote
        self._held: dict[str, bytes] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def fetch(self, objects: Iterable[ObjectInfo], threads: int = 1,
              cancel: threading.Event | None = None) -> int:
        """Hold these objects' bytes (those small enough, within the total); a read that
        fails is left to the later read, which reports it where it belongs. Returns how
        many objects are held now."""
        todo: list[str] = []
        for obj in objects:
            if obj.key in self._held or obj.size > PREFETCH_MAX or \
                    self._bytes + obj.size > PREFETCH_TOTAL:
                continue
            todo.append(obj.key)
            self._bytes += obj.size

        def one(key: str) -> None:
            if cancel is not None and cancel.is_set():
                return
            try:
                data = self.inner.read_bytes(key, PREFETCH_MAX)
            except OracleError:
                return
            with self._lock:
                self._held[key] = data

        if todo:
            with ThreadPoolExecutor(max_workers=min(len(todo), in_flight(self.inner,
                                                                           threads))) as pool:
                list(pool.map(one, todo))
        return len(self._held)

    # -- reads: held bytes first ------------------------------------------------------------
    def read_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        data = self._held.get(key)
        if data is None:
            return self.inner.read_bytes(key, max_bytes)
        if max_bytes is not None and len(data) > max_bytes:
            raise TooLarge(key, max_bytes)
        return data

    def open_read(self, key: str) -> ReadStream:
        data = self._held.get(key)
        return self.inner.open_read(key) if data is None else io.BytesIO(data)

    def read_tail(self, key: str, nbytes: int) -> bytes:
        data = self._held.get(key)
        return self.inner.read_tail(key, nbytes) if data is None else data[-nbytes:]

    # -- everything else is the inner store's ------------------------------------------------
    def local_path(self, key: str) -> Path | None:
        return self.inner.local_path(key)

    def remove_stale_temps(self, directory_key: str = "") -> builtins.list[str]:
        return self.inner.remove_stale_temps(directory_key)

    def root_exists(self) -> bool:
        return self.inner.root_exists()

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self.inner.list(prefix)

    def head(self, key: str) -> ObjectInfo | None:
        return self.inner.head(key)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        return self.inner.put_if_absent(key, data)

    def put_file_if_absent(self, key: str, path: str) -> bool:
        return self.inner.put_file_if_absent(key, path)

    def ensure_conditional_writes(self) -> None:
        self.inner.ensure_conditional_writes()

    def uri(self, key: str) -> str:
        return self.inner.uri(key)

    def spec(self) -> StoreSpec:
        return self.inner.spec()

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def s3_access(self) -> S3Access | None:
        return self.inner.s3_access()
