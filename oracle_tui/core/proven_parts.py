"""The bytes a door parses are the bytes it proved (docs/readability.md, "What each door
proves").

A source part is copied into a private folder while it is hashed, and the copy is held to
every digest the pack states for it (the content index, the engine's gate-verified evidence,
an instance proof) before DuckDB or Arrow parses a byte of it. A part that is swapped or
rewritten during the copy hashes to something else and is refused; one rewritten after the
copy cannot reach the parser, which reads only the copy. Cost: one read of the source and
one local write (measured in docs/performance.md).
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from oracle_tui.core.errors import OracleError
from oracle_tui.core.hashing import DEFAULT_THREADS, iter_chunks
from oracle_tui.core.progress import Progress, check_cancel, no_progress
from oracle_tui.core.report import OutputResult
from oracle_tui.core.storage.base import Store, in_flight
from oracle_tui.core.storage.folders import new_temp_folder, write_error


def copies_folder(temp_dir: str | None) -> Path:
    """A new private folder for proven copies under ``temp_dir`` (else the system's temp
    folder). The caller removes it when done; it is also removed when the process ends, so
    an interrupt during that cleanup leaves nothing of the tool's behind."""
    folder = new_temp_folder("oracle-tui-src-", temp_dir, "the temp folder")
    atexit.register(shutil.rmtree, folder, True)
    return folder


def stated_digests(out: OutputResult, key: str) -> list[tuple[str, str]]:
    """(who states it, sha256) for every digest the checked pack states for one part."""
    stated = (("the content index", out._sealed.get(key)),
              ("the engine's evidence", getattr(out._evidence.get(key), "sha256", None)),
              ("its instance proof", getattr(out._pinned.get(key), "sha256", None)))
    return [(who, want) for who, want in stated if isinstance(want, str) and want]


def require_stated(out: OutputResult, key: str, digest: str, door: str) -> None:
    """Raise DIGEST_MISMATCH unless ``digest`` is every digest the pack states for ``key``."""
    for who, want in stated_digests(out, key):
        if want != digest:
            raise OracleError("DIGEST_MISMATCH", f"{door} refused: {key} hashes to {digest}, "
                                                 f"{who} says {want}", key)


def mirrored(folder: Path, store: Store, key: str) -> Path:
    """Where ``key``'s copy lies under ``folder``: the root's own path below it, so every
    ``name=value`` folder of the original location (which the platform's reader turns into
    columns) is there in the copy too, and no other."""
    root = store.root_uri.removeprefix("s3://").strip("/")
    return folder.joinpath(*[s for s in f"{root}/{key}".split("/") if s not in ("", ".", "..")])


def stage_proven_parts(store: Store, out: OutputResult, folder: Path, *, door: str,
                       threads: int = DEFAULT_THREADS, progress: Progress = no_progress,
                       cancel: threading.Event | None = None) -> list[Path]:
    """Copy the parts of ``out`` (as the check found them, in listing order) into
    ``folder`` while hashing them; every copy is held to the digests the pack states.
    Returns the copies in that order. A mismatch raises DIGEST_MISMATCH before any caller
    reads a copy."""
    keys = list(out._files)
    done = 0
    lock = threading.Lock()

    def one(key: str) -> Path:
        nonlocal done
        path = mirrored(folder, store, key)
        digest = _copy_hashed(store, key, path, cancel)
        require_stated(out, key, digest, door)
        with lock:
            done += 1
            progress(done, len(keys))
        return path

    progress(0, len(keys))
    with ThreadPoolExecutor(max_workers=in_flight(store, threads)) as pool:
        futures = [pool.submit(one, k) for k in keys]
        try:
            paths = [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    check_cancel(cancel)
    return paths


def _copy_hashed(store: Store, key: str, path: Path, cancel: threading.Event | None) -> str:
    h = hashlib.sha256()
    write: Callable[[memoryview], object]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # "x": the staging folder is this command's own and new; a file already there is
        # not one it made.
        with open(path, "xb") as dst:
            write = dst.write
            for chunk in iter_chunks(store, key, cancel):
                h.update(chunk)
                write(chunk)
    except OSError as exc:
        raise write_error(exc, str(path)) from exc
    return h.hexdigest()
