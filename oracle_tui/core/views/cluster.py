"""Stream-view builds on a Dask cluster: the route and sort tasks of :mod:`range_sort` run on
workers, which read the sources and write range files and parts to a scratch folder; the
client (this process) fetches each part, checks its digest and leaves publishing to the
builder, exactly as for a build in this process. Parts are byte-identical either way.

Scratch lives outside every view folder (the stream producer reads every ``*.parquet``
under a view), in a folder of its own per build, removed afterwards, also after a failure
or a cancel; a rerun never reads another build's scratch.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from oracle_tui.core.duck import close as close_connection
from oracle_tui.core.duck import connect, duck_error, object_uri
from oracle_tui.core.engine import budget
from oracle_tui.core.errors import OracleError
from oracle_tui.core.hashing import hash_object
from oracle_tui.core.paths import is_within
from oracle_tui.core.progress import Cancelled
from oracle_tui.core.storage import Store, StoreSpec, open_spec
from oracle_tui.core.views.sort import (
    RawStats,
    RoutePlan,
    SortedPart,
    raw_stats,
    route,
    routed_files,
    scan_sql,
    sort_range,
)

SCRATCH_FOLDER = "_oracle_tui_scratch/"
STALE_AFTER = dt.timedelta(hours=24)
# Source files per routing task: enough work per task to hide its start-up, enough tasks
# to keep every worker busy.
FILES_PER_ROUTE_TASK = 8


@dataclass(frozen=True)
class ClusterJob:
    """What every task needs, sent to workers by pickle: store specs, never credentials."""

    source: StoreSpec
    scratch: StoreSpec
    plan: RoutePlan
    memory_limit: str
    threads: int | None


# -- on a worker ----------------------------------------------------------------------------

def _on_worker(job: ClusterJob, stores: list[Store], body: Callable[
        [duckdb.DuckDBPyConnection, Path], Any]) -> Any:
    access = next((a for a in (s.s3_access() for s in stores) if a is not None), None)
    if access is not None and access.key_id is None:
        import socket

        raise OracleError("CREDENTIALS_MISSING", f"the Dask worker on {socket.gethostname()} "
                                                 "found no AWS credentials (the client that "
                                                 "started the build did): give the workers "
                                                 "credentials the standard way (environment, "
                                                 "shared files, instance role)")
    with tempfile.TemporaryDirectory(prefix="oracle-tui-task-") as tmp:
        # The worker's own cores against the limit it is given.
        plan = budget(job.memory_limit, job.threads)
        con = connect(stores=stores, memory_limit=plan.engine_limit,
                      temp_dir=str(Path(tmp) / "spill"), threads=plan.threads)
        try:
            return body(con, Path(tmp))
        except duckdb.Error as exc:
            raise duck_error(exc, job.memory_limit) from None
        finally:
            close_connection(con)


def route_task(job: ClusterJob, group: int, first: int, count: int
               ) -> tuple[RawStats, list[list[str]]]:
    """Route source files ``first``..``first+count``; returns their stats and, per range,
    the scratch keys of the routed files."""
    source, scratch = open_spec(job.source), open_spec(job.scratch)

    def body(con: duckdb.DuckDBPyConnection, tmp: Path) -> tuple[RawStats, list[list[str]]]:
        stats = raw_stats(con, scan_sql(job.plan.uris[first:first + count]), job.plan.plan[0],
                          job.plan.columns)
        route(con, job.plan, first, count, tmp / "routes")
        keys: list[list[str]] = []
        for r in range(job.plan.ranges):
            keys.append([])
            for j, path in enumerate(routed_files(tmp / "routes", r)):
                key = f"routes/r{r:05d}/g{group:05d}-{j:04d}.parquet"
                _put_new(scratch, key, path)
                keys[r].append(key)
        return stats, keys

    return _on_worker(job, [source], body)  # type: ignore[no-any-return]


def sort_task(job: ClusterJob, range_no: int, keys: list[str]) -> tuple[SortedPart, str]:
    """Sort one range from its routed files in scratch into ``parts/r<range>.parquet``."""
    scratch = open_spec(job.scratch)

    def body(con: duckdb.DuckDBPyConnection, tmp: Path) -> tuple[SortedPart, str]:
        out = tmp / "part.parquet"
        part = sort_range(con, job.plan, [object_uri(scratch, k) for k in keys], out)
        key = f"parts/r{range_no:05d}.parquet"
        if part.rows:
            _put_new(scratch, key, out)
        return part, key

    return _on_worker(job, [scratch], body)  # type: ignore[no-any-return]


def _put_new(store: Store, key: str, path: Path) -> None:
    if not store.put_file_if_absent(key, str(path)):
        raise OracleError("STREAM_VIEW_PARTIAL_EXISTS",
                          f"scratch object {store.uri(key)} already exists; another build "
                          "shares this scratch folder")


# -- on the client --------------------------------------------------------------------------

@dataclass(frozen=True)
class ClusterResult:
    source: RawStats
    parts: list[tuple[SortedPart, Path]]  # non-empty parts in range order, fetched locally


def scratch_root(configured: str, view: Store, temp_dir: str | None,
                 pack: Store | None = None, view_folder: str = "") -> str:
    """The scratch folder for cluster builds: the profile's or the flag's, else beside the
    view store (the bucket's ``_oracle_tui_scratch/`` on S3; the temp folder on disk, which
    only workers on this machine can reach). Never inside the pack or the view's folder."""
    if configured:
        where = configured if configured.endswith("/") else configured + "/"
        for inside, what in ((pack.root_uri if pack is not None else "", "the pack"),
                             (view_folder, "the view's folder")):
            if inside and is_within(where, inside):
                raise OracleError("INPUT_INVALID", f"the scratch location {where[:160]!r} "
                                                   f"lies inside {what} ({inside[:160]}); give "
                                                   "one outside it")
        return where
    if view.remote:
        bucket, _, prefix = view.root_uri[len("s3://"):].partition("/")
        if not prefix:  # the bucket's root is the pack: scratch there would be inside it
            raise OracleError("INPUT_INVALID", "the views live at the root of their bucket; "
                                               "give a scratch location outside it")
        return f"s3://{bucket}/{SCRATCH_FOLDER}"
    return str(Path(temp_dir or tempfile.gettempdir()) / SCRATCH_FOLDER.rstrip("/")) + "/"


def build_id() -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{uuid.uuid4().hex[:12]}"


BUILD_ID_RE = re.compile(r"^(\d{8}T\d{6}Z)-[0-9a-f]{12}$")
# Written first into every build's scratch folder: what cleanup recognises as ours, by its
# bytes (naming the build), never by its name alone.
SCRATCH_MARK = ".oracle-tui-scratch"
# The only files a build writes into its scratch: cleanup deletes these and nothing else.
SCRATCH_FILE_RE = re.compile(r"^(routes/r\d{5}/g\d{5}-\d{4}|parts/r\d{5}|sources/\d{5})"
                             r"\.parquet$")


def scratch_mark_body(build: str) -> bytes:
    return (f"oracle-tui cluster build scratch of build {build}; removed when the build "
            "ends\n").encode()


def mark_scratch(scratch: Store, build: str) -> None:
    """Claim a build's (new, uniquely named) scratch folder before anything goes in it."""
    if not scratch.put_if_absent(SCRATCH_MARK, scratch_mark_body(build)):
        raise OracleError("STREAM_VIEW_PARTIAL_EXISTS", f"scratch folder {scratch.root_uri} "
                                                        "already holds a build's mark")


def put_sources(scratch: Store, paths: list[str]) -> list[str]:
    """Put a build's proven source copies into its scratch (``sources/NNNNN.parquet``, in
    order); returns what the workers read. Every worker reads the same bytes the build
    hashed, wherever it runs."""
    uris = []
    for i, path in enumerate(paths):
        key = f"sources/{i:05d}.parquet"
        _put_new(scratch, key, Path(path))
        uris.append(object_uri(scratch, key))
    return uris


def remove_stale_scratch(scratch: Store) -> int:
    """Scratch of builds that started more than a day ago (killed clients): removed, so a
    crash never leaves scratch behind for good. Younger folders may belong to live builds.
    Only folders this tool made are touched (a build id as their name, and a mark inside
    whose bytes are this tool's for that build id), and in them only the files a build
    writes (SCRATCH_FILE_RE): an operator's own files, whatever their names, stay, and so
    does a folder that holds one."""
    now = dt.datetime.now(dt.UTC)
    folders: dict[str, list[str]] = {}
    for obj in scratch.list(""):
        folder, _, rest = obj.key.partition("/")
        if rest and obj.kind == "file" and BUILD_ID_RE.match(folder):
            folders.setdefault(folder, []).append(obj.key)
    removed = 0
    for folder, keys in folders.items():
        m = BUILD_ID_RE.match(folder)
        assert m is not None
        started = dt.datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        mark = f"{folder}/{SCRATCH_MARK}"
        if now - started <= STALE_AFTER or mark not in keys:
            continue
        try:
            body = scratch.read_bytes(mark, 4096)
        except OracleError:
            continue
        if body != scratch_mark_body(folder):
            continue  # a file of that name, not this tool's mark: nothing here is ours
        ours = [k for k in keys if SCRATCH_FILE_RE.match(k[len(folder) + 1:])]
        for key in ours:
            scratch.delete(key)
            removed += 1
        if len(ours) == len(keys) - 1:  # nothing but the mark is left: the folder goes
            scratch.delete(mark)
            removed += 1
    return removed


def remove_scratch(scratch: Store) -> None:
    for obj in list(scratch.list("")):
        with contextlib.suppress(OracleError, OSError):
            scratch.delete(obj.key)
    if not scratch.remote:  # folders are not objects: remove the emptied ones too
        folder = Path(scratch.root_uri)
        for d in sorted((p for p in folder.rglob("*") if p.is_dir()), reverse=True):
            with contextlib.suppress(OSError):
                d.rmdir()
        with contextlib.suppress(OSError):
            folder.rmdir()


def run_on_cluster(address: str, job: ClusterJob, scratch: Store, new_temp: Callable[[], Path],
                   on_step: Callable[[str, int, int], None],
                   cancel: threading.Event | None) -> ClusterResult:
    """Route on the cluster, then sort every non-empty range there; fetch each part into
    a new temp file and check it against the digest its task reported."""
    from distributed import Client

    _require_reachable(address)
    try:
        client = Client(address, timeout="30s",  # type: ignore[no-untyped-call]
                        set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise OracleError("EXECUTOR_UNREACHABLE",
                          f"cannot reach the Dask scheduler at {address}: "
                          f"{str(exc).splitlines()[0][:160]}") from None
    try:
        n = len(job.plan.uris)
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        per_task = max(1, min(FILES_PER_ROUTE_TASK, -(-n // (2 * workers))))
        groups = [(g, first, min(per_task, n - first))
                  for g, first in enumerate(range(0, n, per_task))]
        routed = _gather(client, [client.submit(route_task, job, *g, pure=False)
                                  for g in groups], "route", on_step, cancel)
        source = RawStats()
        per_range: list[list[str]] = [[] for _ in range(job.plan.ranges)]
        for stats, keys in routed:
            source = source.plus(stats)
            for r, ks in enumerate(keys):
                per_range[r].extend(ks)
        todo = [(r, ks) for r, ks in enumerate(per_range) if ks]
        sorted_parts = _gather(client, [client.submit(sort_task, job, r, ks, pure=False)
                                        for r, ks in todo], "sort", on_step, cancel)
        fetched: list[tuple[SortedPart, Path]] = []
        for part, key in sorted_parts:
            if not part.rows:
                continue
            path = new_temp()
            with open(path, "wb") as dst:
                _, digest = hash_object(scratch, key, cancel, copy_to=dst.write)
            if digest != part.sha256:
                raise OracleError("STREAM_RECEIPT_MISMATCH", f"scratch part {key} changed "
                                                             "between its sort and its fetch")
            fetched.append((part, path))
        return ClusterResult(source=source, parts=fetched)
    finally:
        client.close()  # type: ignore[no-untyped-call]


def _require_reachable(address: str) -> None:
    """Refuse at once when nothing listens at the scheduler's address (the Dask client would
    retry for its whole timeout)."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(address)
    try:
        with socket.create_connection((url.hostname or "", url.port or 8786), timeout=10):
            pass
    except (OSError, ValueError) as exc:
        raise OracleError("EXECUTOR_UNREACHABLE",
                          f"cannot reach the Dask scheduler at {address}: {exc}") from None


def _gather(client: Any, futures: list[Any], step: str,
            on_step: Callable[[str, int, int], None],
            cancel: threading.Event | None) -> list[Any]:
    """Results in submission order; progress as tasks finish; a cancel or a failed task
    stops them all. A task's OracleError arrives here with its code (it pickles with it)."""
    finished = threading.Event()
    for fut in futures:
        fut.add_done_callback(lambda _f: finished.set())
    on_step(step, 0, len(futures))
    reported = 0
    try:
        while True:
            done = [f for f in futures if f.done()]
            for fut in done:
                if fut.status == "error":
                    raise fut.exception()
                if fut.status == "cancelled":
                    raise OracleError("SORT_ENGINE_ERROR", f"a {step} task was cancelled by "
                                                           "the cluster")
            if len(done) != reported:
                reported = len(done)
                on_step(step, reported, len(futures))
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            if len(done) == len(futures):
                return [f.result() for f in futures]
            # Woken by the next finished task; the timeout only bounds how late a cancel
            # is seen.
            finished.wait(0.25)
            finished.clear()
    except BaseException:
        client.cancel(futures)
        raise

