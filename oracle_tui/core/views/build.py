"""Stream views (docs/contract.md §6): one ts_utc-sorted copy of an output, and a receipt
proving it.

Build = plan (``view_plan``: key form, constants, boundaries, and the source's stats: row
count, min/max key, two order-invariant sums of 64-bit row hashes), route every row into the
spill file of its key range, sort each range into one part with the part's own stats
(``range_sort``; here or on a Dask cluster), then publish. The receipt is written last and
create-if-absent; parts are published create-only before it, so a view without a receipt is
never valid.
"""


from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeAlias

import duckdb
from pydantic import BaseModel

from oracle_tui.core import contracts
from oracle_tui.core.duck import (
    DUCKDB_VERSION,
    connect,
    duck_error,
    sql_str,
)
from oracle_tui.core.duck import (
    close as close_connection,
)
from oracle_tui.core.engine import DEFAULT_ENGINE, EngineOptions
from oracle_tui.core.errors import OracleError
from oracle_tui.core.jsonio import canonical_json
from oracle_tui.core.pack import OpenedPack
from oracle_tui.core.progress import Cancelled, Progress, check_cancel, no_progress
from oracle_tui.core.proven_parts import copies_folder
from oracle_tui.core.readability import decide
from oracle_tui.core.report import EXCEPT_PARTS
from oracle_tui.core.storage.base import TEMP_PREFIX
from oracle_tui.core.storage.folders import ensure_folder, new_temp_folder
from oracle_tui.core.timeline import from_hour_counts, iso_us
from oracle_tui.core.timeutil import utc_now
from oracle_tui.core.views.documents import (
    MANIFEST as VIEW_MANIFEST,
)
from oracle_tui.core.views.documents import (
    MANIFEST_EXT_SCHEMA,
    PARTITION_GRANULARITY,
    RECEIPT,
    RECEIPT_SCHEMA,
    TIE_BREAK,
    PlatformStats,
    engine_run_root,
    platform_source_digest,
    read_view_state,
    source_digest,
    stream_view_id,
    view_objects,
)
from oracle_tui.core.views.plan import (
    SourceProfile,
    bounds_of_sample,
    platform_reads_file_values,
    platform_source_stats,
    profile_source,
    range_bounds,
    require_valid_instants,
    row_count,
    sort_plan,
)
from oracle_tui.core.views.sort import (
    HASH_FUNCTION,
    PART_FORMAT,
    RawStats,
    RoutePlan,
    SortedPart,
    epoch_us_of,
    raw_stats,
    route,
    routed_files,
    rows_over_time,
    scan_sql,
    sort_range,
)
from oracle_tui.core.views.target import (
    ViewTarget,
    checked,
    expect_of,
    prove_sources_in_place,
    proven_sources,
    readability_check,
    resolve_target,
    view_state_of,
)

DEFAULT_ROWS_PER_PART = 4_000_000
# Part names have five digits (part-00000.parquet): name order is part order up to here.
MAX_PARTS = 99_999


class BuildResult(BaseModel):
    status: str  # BUILT | ALREADY_VALID
    output_id: str
    location: str
    receipt: dict[str, Any]
    notice: str | None = None  # e.g. --threads lowered to what the memory limit carries



# The source's stats, and the non-empty parts in range order as local files.
SortedPartPaths: TypeAlias = list[tuple[SortedPart, Path]]
SortedParts: TypeAlias = tuple[RawStats, SortedPartPaths]


RunnerBody: TypeAlias = Callable[[duckdb.DuckDBPyConnection, RoutePlan, RawStats | None,
                                   Path, str, "_Phases", threading.Event | None], SortedParts]


@dataclass(frozen=True)
class _Runner:
    """Routes and sorts a planned build, in this process or on a cluster."""

    executor: str  # where, for the receipt and the output: "this process", "dask tcp://…"
    # Whether it takes the source's stats itself (a cluster's tasks, as they route); if
    # not, the build's planning scan takes them in the same read.
    takes_stats: bool
    run: RunnerBody


# -- build --------------------------------------------------------------------------------------

def build_stream_view(
    pack: str | OpenedPack,
    output_id: str,
    *,
    engine: EngineOptions = DEFAULT_ENGINE,
    rows_per_part: int = DEFAULT_ROWS_PER_PART,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> BuildResult:
    """Sort one output into its view (write-once). ``engine.executor``: None for the
    profile's (``stream_view_executor``), "" or "local" for this process,
    ``tcp://host:8786`` for a Dask scheduler; ``engine.scratch``: where a cluster build keeps
    its intermediate files."""
    target = resolve_target(pack, output_id)
    runner = _runner_for(target, engine)
    location = target.view_store.uri(target.prefix)
    # No PASS, no read: the one decision, before anything is read or written. The parts are
    # proven as they are copied for the sort (or hashed, when the view already stands).
    report = readability_check(target, output_id, cancel, rehash=EXCEPT_PARTS)
    decide(report, output_id, include_view=False).require("build")
    target = checked(target, report, output_id)
    target.view_store.remove_stale_temps(target.prefix.rstrip("/"))
    state = view_state_of(report, output_id, location)
    if state.state == "VALID":  # footers agree; a rerun also proves every part's bytes
        listed = (view_objects(target.opened.listing(), target.prefix)
                  if target.view_store is target.store else None)  # the check's listing
        state = read_view_state(target.view_store, target.prefix, expect_of(target, output_id),
                                verify_digests=True, view_objects=listed)
    if state.state == "VALID":
        assert state.receipt is not None
        prove_sources_in_place(target, "build", engine.budget().threads, cancel)
        return BuildResult(status="ALREADY_VALID", output_id=output_id, location=location,
                           receipt=state.receipt)
    if state.findings:
        first = state.findings[0]
        raise OracleError(first.code, f"{first.detail}; nothing was overwritten", output_id)
    if not target.source_keys:
        raise OracleError("OUTPUT_MISSING", f"{output_id} has no parts", output_id)
    receipt = build_into(target, output_id, engine, rows_per_part, progress, cancel, runner)
    return BuildResult(status="BUILT", output_id=output_id, location=location, receipt=receipt,
                       notice=engine.budget().notice)



def _runner_for(t: ViewTarget, engine: EngineOptions) -> _Runner:
    executor = engine.executor
    chosen = t.profile.wiring("stream_view_executor") if executor is None else executor
    if chosen in ("", "local"):
        return _LOCAL
    if not chosen.startswith(("tcp://", "tls://")):
        raise OracleError("INPUT_INVALID", f"executor {chosen[:60]!r} is neither 'local' nor a "
                                           "Dask scheduler address (tcp://host:8786)")
    scratch = engine.scratch
    where = t.profile.wiring("stream_view_scratch") if scratch is None else scratch
    return _cluster_runner(chosen, t, engine, where)


def build_into(target: ViewTarget, output_id: str, engine: EngineOptions, rows_per_part: int,
               progress: Progress, cancel: threading.Event | None,
               runner: _Runner | None = None) -> dict[str, Any]:
    """Sort ``output_id`` into ``target``'s view folder and publish it create-only (receipt
    last); returns oracle-tui's receipt. Used by a build and by verify's --deep rebuild."""
    temp_dir, memory_limit = engine.temp_dir, engine.memory_limit
    view_folder = target.view_store.local_path(target.prefix.rstrip("/"))
    local_view = view_folder is not None
    staging = view_folder or new_temp_folder("oracle-tui-view-", temp_dir, "the temp folder")
    created = [d for d in (staging, *staging.parents) if not d.exists()]
    ensure_folder(staging, "the view's folder")
    spill = temp_dir or str(new_temp_folder("oracle-tui-spill-", None, "the temp folder"))
    staged: list[tuple[str, Path]] = []
    sources: Path | None = None
    try:
        sources = copies_folder(temp_dir)
        allowed = engine.budget()
        phases = _Phases(progress)
        phases.enter("stage")
        uris = proven_sources(target, sources, "build", threads=max(2, allowed.threads),
                              progress=lambda done, total: phases.within(done / max(1, total)),
                              cancel=cancel)
        con = connect(stores=[target.store], memory_limit=allowed.engine_limit, temp_dir=spill,
                      threads=allowed.threads)
        job = _SortJob(target=target, output_id=output_id, uris=uris, staging=staging,
                       rows_per_part=rows_per_part, spill=spill, runner=runner or _LOCAL)
        watcher = _watch(con, cancel, phases)
        try:
            receipt, platform, staged = _sort_and_write(con, job, phases, cancel)
            receipt["run"] = {**allowed.record(), "executor": job.runner.executor}
        except duckdb.InterruptException as exc:
            raise Cancelled() from exc
        except duckdb.Error as exc:
            raise duck_error(exc, memory_limit) from exc
        finally:
            watcher.set()
            close_connection(con)
        check_cancel(cancel)
        # The documents are made and held to their schemas before anything is published: a
        # build that cannot write a valid receipt leaves no part behind.
        manifest, upstream = _platform_documents(target, output_id, receipt, platform)
        contracts.require(contracts.VIEW_MANIFEST, manifest, "INTERNAL_ERROR", VIEW_MANIFEST)
        contracts.require(contracts.VIEW_RECEIPT, upstream, "INTERNAL_ERROR", RECEIPT)
        for name, path in staged:
            if not target.view_store.put_file_if_absent(target.prefix + name, str(path)):
                raise OracleError("STREAM_VIEW_PARTIAL_EXISTS",
                                  f"{name} appeared while building; nothing was overwritten",
                                  output_id)
        if not target.view_store.put_if_absent(target.prefix + VIEW_MANIFEST,
                                               canonical_json(manifest)):
            raise OracleError("STREAM_VIEW_PARTIAL_EXISTS", "a view manifest appeared while "
                                                            "building", output_id)
        if not target.view_store.put_if_absent(target.prefix + RECEIPT, canonical_json(upstream)):
            raise OracleError("STREAM_VIEW_PARTIAL_EXISTS", "a receipt appeared while building",
                              output_id)
        return receipt
    finally:
        for _, path in staged:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        # Parts sorted but not published (a failure after the sort) and a sort that failed
        # mid-write (disk full, cancel) leave this process's temp files behind: all go.
        for path in staging.glob(f"{TEMP_PREFIX}{os.getpid()}-*"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        # Folders this build created and left empty (a refusal, a cancel, a failure) go too:
        # a build that keeps nothing leaves no trace. rmdir never removes a non-empty folder.
        for folder in ([staging] if not local_view else created):
            with contextlib.suppress(OSError):
                folder.rmdir()
        if sources is not None:
            shutil.rmtree(sources, ignore_errors=True)
        if temp_dir is None:
            # This build's own spill folder, whole (DuckDB leaves folders in it too): an
            # operator's --temp-dir is never removed, only the tool's files in it.
            shutil.rmtree(spill, ignore_errors=True)


def _platform_documents(t: ViewTarget, output_id: str, receipt: dict[str, Any],
                        platform: _PlatformBlocks) -> tuple[dict[str, Any], dict[str, Any]]:
    """The platform's view manifest and receipt (its field names and meanings), oracle-tui's
    receipt kept whole under ``extensions.oracle_tui``."""
    root = engine_run_root(t.store)
    view_root = t.view_store.uri(t.prefix).rstrip("/")
    sort_keys = list(receipt["sort_keys"])
    view_id = stream_view_id(root, t.world_key.scenario_id, output_id, sort_keys)
    created = str(receipt["built_at_utc"])
    manifest = {
        "stream_view_id": view_id,
        "engine_run_root": root,
        "stream_view_root": view_root,
        "engine_run_id": t.run_id,
        "scenario_id": t.world_key.scenario_id,
        "output_id": output_id,
        "world_key": t.world_key.model_dump(),
        "output_ids": [output_id],
        "sort_keys": sort_keys,
        "partition_granularity": PARTITION_GRANULARITY,
        "created_utc": created,
        "extensions": {"oracle_tui": {"schema": MANIFEST_EXT_SCHEMA}},
    }
    upstream = {
        "stream_view_id": view_id,
        "engine_run_root": root,
        "stream_view_root": view_root,
        "output_id": output_id,
        "output_ids": [output_id],
        "sort_keys": sort_keys,
        "partition_granularity": PARTITION_GRANULARITY,
        # The platform's meaning: sha256 of the sorted full locations of the source parts.
        "source_locator_digest": platform_source_digest(root, t.source_keys),
        "raw_stats": platform.raw.model_dump(),
        "sorted_stats": platform.sorted.model_dump(),
        "created_utc": created,
        "status": "OK",
        "extensions": {"oracle_tui": receipt},
    }
    return manifest, upstream


class _Phases:
    """A build's progress as one percentage: each phase has a share of the whole, and the
    running DuckDB statement reports how far it is (``query_progress``), so a long routing
    pass or range sort moves the bar instead of freezing it. Reported as (permille, 1000)."""

    # Shares of a local build at 20M rows: the sources copied while hashed, the planning
    # scan reads every column once.
    SHARES = {"stage": 8, "validate": 14, "bounds": 1, "route": 28, "sort": 49}

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.base = 0.0
        self.share = 0.0
        self.shown = 0  # never report less than before: the bar only moves forward
        # Off while a cluster works: the local connection is idle then, and its last
        # statement's progress says nothing about the tasks.
        self.follow_statements = True
        self.lock = threading.Lock()

    def _report(self, permille: int) -> None:
        with self.lock:
            if permille < self.shown:
                return
            self.shown = permille
        self.progress(permille, 1000)

    def enter(self, phase: str, part: float = 1.0) -> None:
        """Start ``phase`` (or the next ``part`` of it, for the per-range sorts)."""
        with self.lock:
            self.base += self.share
            self.share = self.SHARES[phase] * part
            done = self.base
        self._report(int(done * 10))

    def restart(self) -> None:
        """The build starts its passes over (see ``_sort_and_write``): the bar stays where
        it was until the new passes get past it."""
        with self.lock:
            self.base, self.share = 0.0, 0.0

    def finish(self) -> None:
        with self.lock:
            self.base, self.share = 100.0, 0.0
        self._report(1000)

    def statement(self, fraction: float) -> None:
        """The running local DuckDB statement is ``fraction`` done."""
        if self.follow_statements:
            self.within(fraction)

    def within(self, fraction: float) -> None:
        """The current phase is ``fraction`` done."""
        if fraction < 0:
            return
        with self.lock:
            done = self.base + self.share * min(1.0, fraction)
        self._report(int(done * 10))


def _watch(con: duckdb.DuckDBPyConnection, cancel: threading.Event | None,
           phases: _Phases | None = None) -> threading.Event:
    """Interrupt the running DuckDB statement when ``cancel`` is set, and feed its progress
    to ``phases``; returns the event that stops the watcher."""
    stop = threading.Event()
    if cancel is None and phases is None:
        return stop
    cancelled = cancel or threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if cancelled.wait(0.2):
                if not stop.is_set():
                    with contextlib.suppress(duckdb.Error):  # already closed: nothing runs
                        con.interrupt()
                return
            if phases is not None:
                with contextlib.suppress(duckdb.Error, RuntimeError):
                    phases.statement(con.query_progress() / 100)

    threading.Thread(target=watch, daemon=True, name="oracle-tui-watch").start()
    return stop


@dataclass(frozen=True)
class _SortJob:
    """One build's sort: the output, its source parts and where the sorted parts go."""

    target: ViewTarget
    output_id: str
    uris: list[str]  # the source parts, as DuckDB reads them
    staging: Path  # where sorted parts wait to be published (this process's temp names)
    rows_per_part: int
    spill: str  # DuckDB's and the routes' spill folder
    runner: _Runner


def _sort_and_write(con: duckdb.DuckDBPyConnection, job: _SortJob, phases: _Phases,
                    cancel: threading.Event | None
                    ) -> tuple[dict[str, Any], _PlatformBlocks, list[tuple[str, Path]]]:
    """Linear, range-partitioned external sort. Reads: the key column (validity, boundaries),
    the source once for its stats and once to route every row (with its file and row number,
    the tie-break) into the spill file of its key range; then each range is sorted on its
    own into one part. Ties of the first key never straddle two ranges, so parts are globally
    ordered by construction, and each sort is small whatever the output's size. Routing and
    sorting run here or on a Dask cluster (``runner``); the bytes are the same. Returns the
    receipt, the platform's stats and the parts to publish (name, local file)."""
    t, output_id, uris, runner = job.target, job.output_id, job.uris, job.runner
    rows_per_part, staging, spill = job.rows_per_part, job.staging, job.spill
    phases.enter("validate")
    rows = row_count(con, scan_sql(uris))
    chunks = max(1, -(-rows // rows_per_part))
    if chunks > MAX_PARTS:
        raise OracleError("INPUT_INVALID", f"--rows-per-part {rows_per_part:,} would cut "
                                           f"{rows:,} rows into {chunks:,} parts; a view has "
                                           f"at most {MAX_PARTS:,} (give at least "
                                           f"{-(-rows // MAX_PARTS):,})", output_id)
    profile = profile_source(con, uris, t.sort_keys,
                              whole=None if runner.takes_stats else (rows, chunks))
    plan = sort_plan(profile, t.sort_keys)
    first = plan[0]
    try:
        phases.enter("bounds")
        if profile.sample is None:
            raw_bounds = range_bounds(con, uris, first, rows, chunks)
        else:
            raw_bounds = bounds_of_sample(con, first, profile.types[first.column],
                                           profile.sample)
        if first.rank:  # ranks are epoch microseconds: the receipt shows them as instants
            bounds = [str(int(b)) for b in raw_bounds]
            raw_bounds = [iso_us(int(b)) for b in raw_bounds]
        else:  # a key without a rank is its column itself, of the type DESCRIBE gave
            typ = profile.types[first.column]
            bounds = [f"CAST({sql_str(b)} AS {typ})" for b in raw_bounds]
        rp = RoutePlan(uris=uris, plan=plan, bounds=bounds, columns=list(profile.types),
                       constants=profile.constants, categories=profile.categories,
                       text_from_rank=first.column if first.kind == "iso_string" else "")
        check_cancel(cancel)
        source_raw, sorted_parts = runner.run(con, rp, profile.stats, staging, spill, phases,
                                          cancel)
        if rp.text_from_rank and not same_rows(summed(sorted_parts), source_raw):
            # A key text that its instant does not give back (T24:00:00 is the next day's
            # 00:00): route the text itself. Parts are the same bytes either way otherwise.
            for _, path in sorted_parts:
                path.unlink(missing_ok=True)
            phases.restart()
            rp = replace(rp, text_from_rank="")
            source_raw, sorted_parts = runner.run(con, rp, source_raw, staging, spill, phases,
                                              cancel)
    except (duckdb.ConversionException, OracleError) as exc:
        if isinstance(exc, OracleError) and exc.code != "SORT_KEY_INVALID":
            raise
        # A key value that denotes no instant: name the first one (file and row).
        require_valid_instants(con, uris, plan, output_id)
        raise
    parts: list[dict[str, Any]] = []
    staged: list[tuple[str, Path]] = []
    for part, path in sorted_parts:
        name = f"part-{len(parts):05d}.parquet"
        staged.append((name, path))
        parts.append({"path": name, "size": part.size, "sha256": part.sha256,
                      "row_count": part.rows})
    view_raw = summed(sorted_parts)
    source, view = source_raw.shown(first), view_raw.shown(first)
    if not same_rows(view_raw, source_raw):
        raise OracleError("STREAM_RECEIPT_MISMATCH",
                          f"the sorted view does not hold exactly the source rows "
                          f"(source {source.row_count} rows, view {view.row_count})", output_id)
    raw_block, platform_from = platform_raw(con, uris, profile, first.column, source_raw)
    # Counted over the parts as written (the key column only): what the receipt draws is
    # what the view holds.
    timeline = rows_over_time(con, scan_sql([str(p) for _, p in staged]), first) \
        if staged else (from_hour_counts([]) if epoch_us_of(first) else None)
    phases.finish()
    return {
        "schema": RECEIPT_SCHEMA,
        "output_id": output_id,
        "sort_keys": [*t.sort_keys, *TIE_BREAK],
        "partitioning": {"layout": "flat", "prefix": t.prefix, "rows_per_part": rows_per_part,
                         "ordered_parts": True, "method": "routed range-partitioned sort",
                         "boundaries": raw_bounds, "constant_columns": list(rp.constants),
                         # What --deep needs to rebuild the same bytes (DuckDB's version is
                         # in "hash").
                         "part_format": PART_FORMAT},
        "source_locator_digest": source_digest(t.source_keys),
        "source_parts": len(t.source_keys),
        "source": source.model_dump(),
        "view": view.model_dump(),
        "hash": {"function": HASH_FUNCTION, "engine": "duckdb", "engine_version": DUCKDB_VERSION},
        "parts": parts,
        "built_at_utc": utc_now(),
        "platform_stats_from": platform_from,
        "rows_over_time": None if timeline is None else timeline.model_dump(),
    }, _PlatformBlocks(raw=raw_block, sorted=view_raw.platform()), staged


@dataclass(frozen=True)
class _PlatformBlocks:
    """The platform receipt's raw_stats and sorted_stats."""

    raw: PlatformStats
    sorted: PlatformStats


def platform_raw(con: duckdb.DuckDBPyConnection, uris: list[str], profile: SourceProfile,
                  key_column: str, source: RawStats) -> tuple[PlatformStats, str]:
    """The platform's raw_stats and where they came from. Where its sorter reads the same
    values as this build (the usual engine output), they are the build scan's; where its
    reading of the partition folders differs (a folder value that is no column of the file,
    or disagrees with it), they are taken by a scan of the platform's own, and its
    sorted_stats over this view will differ from them: the view holds the files' values."""
    if platform_reads_file_values(con, uris, profile):
        return source.platform(), "build scan"
    return platform_source_stats(con, uris, key_column), "platform scan"


def summed(parts: SortedPartPaths) -> RawStats:
    """The view's stats: its parts' stats added up."""
    view = RawStats()
    for part, _ in parts:
        view = view.plus(part.stats)
    return view


def same_rows(view: RawStats, source: RawStats) -> bool:
    """Do the two hold exactly the same rows (count and both hash sums)?"""
    return (view.rows, view.hash_sum, view.hash_sum_salted) == (
        source.rows, source.hash_sum, source.hash_sum_salted)


def _run_here(con: duckdb.DuckDBPyConnection, rp: RoutePlan, source: RawStats | None,
              staging: Path, spill: str, phases: _Phases, cancel: threading.Event | None
              ) -> SortedParts:
    """Route and sort in this process, on the build's own connection (its progress and
    cancel watcher see every statement); the source's stats unless the plan took them."""
    routes = Path(spill or tempfile.gettempdir()) / f"oracle-tui-routes-{uuid.uuid4().hex}"
    try:
        phases.enter("route")
        if source is None:
            source = raw_stats(con, scan_sql(rp.uris), rp.plan[0], rp.columns)
        route(con, rp, 0, len(rp.uris), routes)
        out: list[tuple[SortedPart, Path]] = []
        for i in range(rp.ranges):
            check_cancel(cancel)
            files = routed_files(routes, i)
            if not files:
                continue
            phases.enter("sort", 1 / max(1, rp.ranges - 1))
            path = staging / f"{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}"
            part = sort_range(con, rp, [str(f) for f in files], path)
            if not part.rows:
                path.unlink()
                continue
            out.append((part, path))
        return source, out
    finally:
        shutil.rmtree(routes, ignore_errors=True)


_LOCAL = _Runner(executor="this process", takes_stats=False, run=_run_here)


def _cluster_runner(address: str, t: ViewTarget, engine: EngineOptions,
                    scratch_uri: str) -> _Runner:
    """Route and sort as Dask tasks; scratch in a folder of this build's own, removed after."""
    from oracle_tui.core.views import cluster as cluster

    def run(con: duckdb.DuckDBPyConnection, rp: RoutePlan, source: RawStats | None,
            staging: Path, spill: str, phases: _Phases, cancel: threading.Event | None
            ) -> SortedParts:  # the workers take the source's stats as they route
        base = t.profile.open_store(cluster.scratch_root(
            scratch_uri, t.view_store, engine.temp_dir, t.store, t.view_store.uri(t.prefix)))
        cluster.remove_stale_scratch(base)
        build = cluster.build_id()
        scratch = t.profile.open_store(base.uri(build) + "/")
        cluster.mark_scratch(scratch, build)
        # The workers read the copies this build proved, put in its scratch, never the
        # pack's parts (which could change between the proof and their read).
        rp = replace(rp, uris=cluster.put_sources(scratch, rp.uris))
        job = cluster.ClusterJob(source=scratch.spec(), scratch=scratch.spec(), plan=rp,
                                 memory_limit=engine.memory_limit, threads=engine.threads)

        def on_step(step: str, done: int, total: int) -> None:
            if done == 0:
                phases.enter("route" if step == "route" else "sort")
            else:
                phases.within(done / max(1, total))

        phases.follow_statements = False

        try:
            result = cluster.run_on_cluster(
                address, job, scratch,
                lambda: staging / f"{TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}",
                on_step, cancel)
        finally:
            cluster.remove_scratch(scratch)
        return result.source, result.parts

    return _Runner(executor=f"dask {address}", takes_stats=True, run=run)


