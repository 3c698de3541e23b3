"""sha256 of stored objects: large buffers, threads (hashlib releases the GIL)."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from oracle_tui.core import prehash
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
    view = memoryview(bytearray(CHUNK))
    while True:
        check_cancel(cancel)
        n = fh.readinto(view)
        if not n:
            return
        yield view[:n]


def hash_object(store: Store, key: str, cancel: threading.Event | None = None,
                copy_to: Callable[[memoryview], object] | None = None) -> tuple[int, str]:
    """(size, sha256 hex) of one object; with ``copy_to`` (a file's ``write``), its bytes
    are copied there as they are hashed: a download checked in the same read."""
    with store.open_read(key) as fh:
        if copy_to is None and (ahead := _hashed_ahead(store, key, fh, cancel)) is not None:
            return ahead
        h = hashlib.sha256()
        size = 0
        for chunk in _chunks_of(fh, cancel):
            h.update(chunk)
            size += len(chunk)
            if copy_to is not None:
                copy_to(chunk)
    return size, h.hexdigest()


def _hashed_ahead(store: Store, key: str, fh: ReadStream, cancel: threading.Event | None
                  ) -> tuple[int, str] | None:
    """The head start's digest of the file open as ``fh``, when the helper hashed this very
    file (same identity now) of this very root (core/prehash.py); else None."""
    ahead = prehash.current()
    fileno = getattr(fh, "fileno", None)
    if (ahead is None or store.remote or fileno is None
            or ahead.root != os.path.abspath(store.root_uri)):
        return None
    answer = ahead.answer(key, cancel)
    check_cancel(cancel)
    if answer is None:
        return None
    now = prehash.identity(os.fstat(fileno()))
    return (now[2], answer[1]) if answer[0] == now else None


def hash_objects(
    store: Store,
    keys: Sequence[str],
    *,
    threads: int = DEFAULT_THREADS,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> dict[str, tuple[int, str] | OracleError]:
    """Hash every key; a per-key OracleError is returned in place of its digest."""
    results: dict[str, tuple[int, str] | OracleError] = {}
    total = len(keys)
    done = 0
    lock = threading.Lock()

    def one(key: str) -> None:
        nonlocal done
        try:
            res: tuple[int, str] | OracleError = hash_object(store, key, cancel)
        except OracleError as exc:
            res = exc
        with lock:
            results[key] = res
            done += 1
            progress(done, total)

    progress(0, total)
    with ThreadPoolExecutor(max_workers=in_flight(store, threads)) as pool:
        for fut in [pool.submit(one, k) for k in keys]:
            fut.result()
    check_cancel(cancel)
    return results
