"""sha256 of stored objects: large buffers, threads (hashlib releases the GIL)."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from oracle_tui.core.errors import OracleError
from oracle_tui.core.progress import Progress, check_cancel, no_progress
from oracle_tui.core.storage.base import ReadStream, Store, in_flight

CHUNK = 4 * 1024 * 1024
DEFAULT_THREADS = 2


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """sha256 of a local file outside any store (staged view parts, generated files)."""
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        view = memoryview(bytearray(CHUNK))
        while n := fh.readinto(view):
            h.update(view[:n])
    return h.hexdigest()


def iter_chunks(store: Store, key: str, cancel: threading.Event | None = None
                ) -> Iterator[memoryview]:
    """Stream an object in large chunks. Each view is valid until the next one is yielded."""
    with store.open_read(key) as fh:
        yield from _chunks_of(fh, cancel)


def _chunks_of(fh: ReadStream, cancel: threading.Event | None) -> Iterator[memoryview]:
    view = memoryview(bytearray(_buffer_size(fh)))
    while True:
        check_cancel(cancel)
        n = fh.readinto(view)
        if not n:
            return
        yield view[:n]


def _buffer_size(fh: ReadStream) -> int:
    """CHUNK, or less for a file known to be smaller: a fresh 4 MiB buffer is zeroed for
    every object, which on a pack of 20,000 small files was most of the re-hash."""
    fileno = getattr(fh, "fileno", None)
    if fileno is None:
        return CHUNK
    try:
        return min(CHUNK, os.fstat(fileno()).st_size + 1)  # +1: the end is seen in one read
    except (OSError, ValueError):
        return CHUNK


def hash_object(store: Store, key: str, cancel: threading.Event | None = None,
                copy_to: Callable[[memoryview], object] | None = None) -> tuple[int, str]:
    """(size, sha256 hex) of one object; with ``copy_to`` (a file's ``write``), its bytes
    are copied there as they are hashed: a download checked in the same read."""
    h = hashlib.sha256()
    size = 0
    with store.open_read(key) as fh:
        for chunk in _chunks_of(fh, cancel):
            h.update(chunk)
            size += len(chunk)
            if copy_to is not None:
                copy_to(chunk)
    return size, h.hexdigest()


class _Stop(threading.Event):
    """Set by the job itself (an interrupt, a failed worker), or by the caller's cancel."""

    def __init__(self, outer: threading.Event | None) -> None:
        super().__init__()
        self._outer = outer

    def is_set(self) -> bool:
        return super().is_set() or (self._outer is not None and self._outer.is_set())


def hash_objects(
    store: Store,
    keys: Sequence[str],
    *,
    threads: int = DEFAULT_THREADS,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> dict[str, tuple[int, str] | OracleError]:
    """Hash every key; a per-key OracleError is returned in place of its digest. Each
    worker takes the next key as it is free (no task object per key: a pack of 20,000
    small files spent more on those than on hashing)."""
    results: dict[str, tuple[int, str] | OracleError] = {}
    total = len(keys)
    lock = threading.Lock()
    todo = iter(keys)
    failed: list[BaseException] = []  # the first unexpected error stops every worker
    stop = _Stop(cancel)  # the caller's cancel, or this job's own end

    def fail(exc: BaseException) -> None:
        with lock:
            failed.append(exc)
        stop.set()

    def work() -> None:
        while True:
            with lock:
                key = None if failed else next(todo, None)
            if key is None:
                return
            try:
                try:
                    res: tuple[int, str] | OracleError = hash_object(store, key, stop)
                except OracleError as exc:
                    res = exc
                with lock:
                    results[key] = res
                    progress(len(results), total)
            except BaseException as exc:  # Cancelled, a bug, a failing progress callback:
                fail(exc)  # raised in the caller
                return

    progress(0, total)
    workers = [threading.Thread(target=work, name="hash", daemon=True)
               for _ in range(min(in_flight(store, threads), max(1, total)))]
    for worker in workers:
        worker.start()
    try:
        for worker in workers:
            worker.join()
    except BaseException as exc:  # Ctrl-C in the caller: every worker stops within a chunk
        fail(exc)
        for worker in workers:  # none left running while the interpreter exits
            worker.join()
        raise
    if failed:
        raise failed[0]
    check_cancel(cancel)
    unanswered = [key for key in keys if key not in results]
    if unanswered:  # never a partial answer that reads as a whole one
        raise OracleError("INTERNAL_ERROR", f"{len(unanswered)} of {total} objects were not "
                                            f"hashed (first: {unanswered[0]})", unanswered[0])
    return results
