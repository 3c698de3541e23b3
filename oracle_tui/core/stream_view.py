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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeAlias

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from oracle_tui.core import contracts
from oracle_tui.core.codes import Severity, code_info
from oracle_tui.core.duck import (
    DUCKDB_VERSION,
    connect,
    duck_error,
    object_uri,
    sql_str,
)
from oracle_tui.core.engine import DEFAULT_ENGINE, EngineOptions
from oracle_tui.core.errors import OracleError
from oracle_tui.core.findings import Finding, make_finding
from oracle_tui.core.hashing import hash_object, sha256_bytes
from oracle_tui.core.interface_pack import InterfacePack, render_template
from oracle_tui.core.jsonio import canonical_json
from oracle_tui.core.pack import OpenedPack, opened
from oracle_tui.core.profiles import Profile
from oracle_tui.core.progress import Cancelled, Progress, check_cancel, no_progress
from oracle_tui.core.range_sort import (
    HASH_FUNCTION,
    KNOWN_HASH_FUNCTIONS,
    PART_FORMAT,
    RawStats,
    RoutePlan,
    SortedPart,
    SortKey,
    iso_us,
    raw_stats,
    route,
    routed_files,
    row_hashes,
    scan_sql,
    sort_range,
)
from oracle_tui.core.readability import decide
from oracle_tui.core.report import CheckReport, OutputResult
from oracle_tui.core.storage import LocalStore
from oracle_tui.core.storage.base import TEMP_PREFIX, Store
from oracle_tui.core.storage.folders import ensure_folder, new_temp_folder
from oracle_tui.core.stream_receipts import (
    MANIFEST as VIEW_MANIFEST,
)
from oracle_tui.core.stream_receipts import (
    MANIFEST_EXT_SCHEMA,
    PARTITION_GRANULARITY,
    RECEIPT,
    RECEIPT_SCHEMA,
    TIE_BREAK,
    PlatformStats,
    Receipt,
    Stats,
    ViewExpect,
    ViewState,
    engine_run_root,
    expect_view,
    platform_source_digest,
    read_view_state,
    sort_keys_for,
    source_digest,
    stream_view_id,
    view_objects,
    view_prefix,
)
from oracle_tui.core.timeutil import utc_now
from oracle_tui.core.view_plan import (
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
from oracle_tui.core.world import WorldKey

DEFAULT_ROWS_PER_PART = 4_000_000
# What `verify` says it did not prove (docs/reliability.md).
NOT_REHASHED = ("the source parts' bytes against their sealed digests (check does that; "
                "the view was compared with the source's rows as they are now)")
NOT_DEEP = ("the order of rows with equal keys (two tied rows swapped keep every sum and "
            "the key order: --deep rebuilds and compares), nor " + NOT_REHASHED)
# Part names have five digits (part-00000.parquet): name order is part order up to here.
MAX_PARTS = 99_999


class BuildResult(BaseModel):
    status: str  # BUILT | ALREADY_VALID
    output_id: str
    location: str
    receipt: dict[str, Any]
    notice: str | None = None  # e.g. --threads lowered to what the memory limit carries


# -- resolving an output ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    """One output's sources and where its view lives, resolved once per command."""

    opened: OpenedPack  # the pack as this command opened it: its one listing and receipt
    profile: Profile
    pack: InterfacePack
    store: Store
    view_store: Store
    prefix: str
    source_keys: list[str]
    sort_keys: list[str]
    world_key: WorldKey
    run_id: str


def _resolve(source: str | OpenedPack, output_id: str) -> _Target:
    """The output's parts and where its view lives, from the command's one listing."""
    pack = opened(source)
    store, catalogue, profile = pack.store, pack.interface_pack, pack.profile
    if not pack.root_exists():
        raise OracleError("PACK_NOT_FOUND", f"no pack at {store.root_uri}", store.root_uri)
    if output_id not in catalogue.outputs:
        raise OracleError("OUTPUT_UNKNOWN", f"{output_id} is not in the catalogue", output_id)
    receipt, wk = pack.run_receipt(), pack.world_key()
    rendered = render_template(catalogue.outputs[output_id].path_template,
                               wk.tokens(receipt.run_id))
    sources = [o.key for o in pack.listing().match(rendered)]
    return _Target(opened=pack, profile=profile, pack=catalogue, store=store,
                   view_store=pack.view_store(), prefix=view_prefix(profile, output_id),
                   source_keys=sources, sort_keys=sort_keys_for(profile, catalogue, output_id),
                   world_key=wk, run_id=receipt.run_id)


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
    target = _resolve(pack, output_id)
    runner = _runner_for(target, engine)
    location = target.view_store.uri(target.prefix)
    # No PASS, no read: the one decision, before anything is read or written.
    report = _readability_check(target, output_id, cancel)
    decide(report, output_id, include_view=False).require("build")
    target.view_store.remove_stale_temps(target.prefix.rstrip("/"))
    state = _view_state_of(report, output_id, location)
    if state.state == "VALID":  # footers agree; a rerun also proves every part's bytes
        listed = (view_objects(target.opened.listing(), target.prefix)
                  if target.view_store is target.store else None)  # the check's listing
        state = read_view_state(target.view_store, target.prefix, _expect(target, output_id),
                                verify_digests=True, view_objects=listed)
    if state.state == "VALID":
        assert state.receipt is not None
        return BuildResult(status="ALREADY_VALID", output_id=output_id, location=location,
                           receipt=state.receipt)
    if state.findings:
        first = state.findings[0]
        raise OracleError(first.code, f"{first.detail}; nothing was overwritten", output_id)
    if not target.source_keys:
        raise OracleError("OUTPUT_MISSING", f"{output_id} has no parts", output_id)
    receipt = _build(target, output_id, engine, rows_per_part, progress, cancel, runner)
    return BuildResult(status="BUILT", output_id=output_id, location=location, receipt=receipt,
                       notice=engine.budget().notice)


def _expect(t: _Target, output_id: str) -> ViewExpect:
    return expect_view(t.opened, output_id, t.world_key.model_dump(), t.run_id, t.source_keys)


def _readability_check(t: _Target, output_id: str,
                       cancel: threading.Event | None = None) -> CheckReport:
    """The check every door of a view asks before it reads: control files, gates, part
    evidence and Parquet footers for this one output (never a re-hash of the sources), on
    the command's own listing."""
    from oracle_tui.core.check import run_check

    return run_check(t.opened, output_ids=[output_id], cancel=cancel)


def _view_state_of(report: CheckReport, output_id: str, location: str) -> ViewState:
    """The view's state as the check judged it (receipt, sizes, footers, schemas)."""
    section = next((v for v in report.stream_views if v.output_id == output_id), None)
    if section is None:
        return ViewState(output_id=output_id, state="MISSING", location=location)
    findings = [f for f in report.findings if f.subject == output_id
                and code_info(f.code).pane == "streams" and f.code != "STREAM_VIEW_MISSING"]
    return ViewState(output_id=output_id, state=section.state, location=location,
                     receipt=section.receipt, upstream=section.upstream,
                     manifest=section.manifest, findings=findings)


def _runner_for(t: _Target, engine: EngineOptions) -> _Runner:
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


def _build(t: _Target, output_id: str, engine: EngineOptions, rows_per_part: int,
           progress: Progress, cancel: threading.Event | None,
           runner: _Runner | None = None) -> dict[str, Any]:
    temp_dir, memory_limit = engine.temp_dir, engine.memory_limit
    uris = [object_uri(t.store, k) for k in t.source_keys]
    view_folder = t.view_store.local_path(t.prefix.rstrip("/"))
    local_view = view_folder is not None
    staging = view_folder or new_temp_folder("oracle-tui-view-", temp_dir, "the temp folder")
    created = [d for d in (staging, *staging.parents) if not d.exists()]
    ensure_folder(staging, "the view's folder")
    spill = temp_dir or str(new_temp_folder("oracle-tui-spill-", None, "the temp folder"))
    staged: list[tuple[str, Path]] = []
    try:
        allowed = engine.budget()
        con = connect(stores=[t.store], memory_limit=allowed.engine_limit, temp_dir=spill,
                      threads=allowed.threads)
        job = _SortJob(target=t, output_id=output_id, uris=uris, staging=staging,
                       rows_per_part=rows_per_part, spill=spill, runner=runner or _LOCAL)
        phases = _Phases(progress)
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
            con.close()
        check_cancel(cancel)
        for name, path in staged:
            if not t.view_store.put_file_if_absent(t.prefix + name, str(path)):
                raise OracleError("STREAM_VIEW_PARTIAL_EXISTS",
                                  f"{name} appeared while building; nothing was overwritten",
                                  output_id)
        manifest, upstream = _platform_documents(t, output_id, receipt, platform)
        contracts.require(contracts.VIEW_MANIFEST, manifest, "INTERNAL_ERROR", VIEW_MANIFEST)
        contracts.require(contracts.VIEW_RECEIPT, upstream, "INTERNAL_ERROR", RECEIPT)
        if not t.view_store.put_if_absent(t.prefix + VIEW_MANIFEST, canonical_json(manifest)):
            raise OracleError("STREAM_VIEW_PARTIAL_EXISTS", "a view manifest appeared while "
                                                            "building", output_id)
        if not t.view_store.put_if_absent(t.prefix + RECEIPT, canonical_json(upstream)):
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
        if temp_dir is None:
            with contextlib.suppress(OSError):
                for p in Path(spill).glob("*"):
                    p.unlink()
                Path(spill).rmdir()


def _platform_documents(t: _Target, output_id: str, receipt: dict[str, Any],
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

    # Shares of a local build at 20M rows: the planning scan reads every column once.
    SHARES = {"validate": 15, "bounds": 1, "route": 30, "sort": 54}

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

    target: _Target
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
        if rp.text_from_rank and not _same_rows(_summed(sorted_parts), source_raw):
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
    view_raw = _summed(sorted_parts)
    source, view = source_raw.shown(first), view_raw.shown(first)
    if not _same_rows(view_raw, source_raw):
        raise OracleError("STREAM_RECEIPT_MISMATCH",
                          f"the sorted view does not hold exactly the source rows "
                          f"(source {source.row_count} rows, view {view.row_count})", output_id)
    platform_raw, platform_from = _platform_raw(con, uris, profile, first.column, source_raw)
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
    }, _PlatformBlocks(raw=platform_raw, sorted=view_raw.platform()), staged


@dataclass(frozen=True)
class _PlatformBlocks:
    """The platform receipt's raw_stats and sorted_stats."""

    raw: PlatformStats
    sorted: PlatformStats


def _platform_raw(con: duckdb.DuckDBPyConnection, uris: list[str], profile: SourceProfile,
                  key_column: str, source: RawStats) -> tuple[PlatformStats, str]:
    """The platform's raw_stats and where they came from. Where its sorter reads the same
    values as this build (the usual engine output), they are the build scan's; where its
    reading of the partition folders differs (a folder value that is no column of the file,
    or disagrees with it), they are taken by a scan of the platform's own, and its
    sorted_stats over this view will differ from them: the view holds the files' values."""
    if platform_reads_file_values(con, uris, profile):
        return source.platform(), "build scan"
    return platform_source_stats(con, uris, key_column), "platform scan"


def _summed(parts: SortedPartPaths) -> RawStats:
    """The view's stats: its parts' stats added up."""
    view = RawStats()
    for part, _ in parts:
        view = view.plus(part.stats)
    return view


def _same_rows(view: RawStats, source: RawStats) -> bool:
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


def _cluster_runner(address: str, t: _Target, engine: EngineOptions,
                    scratch_uri: str) -> _Runner:
    """Route and sort as Dask tasks; scratch in a folder of this build's own, removed after."""
    from oracle_tui.core import cluster

    def run(con: duckdb.DuckDBPyConnection, rp: RoutePlan, source: RawStats | None,
            staging: Path, spill: str, phases: _Phases, cancel: threading.Event | None
            ) -> SortedParts:  # the workers take the source's stats as they route
        base = t.profile.open_store(cluster.scratch_root(
            scratch_uri, t.view_store, engine.temp_dir, t.store, t.view_store.uri(t.prefix)))
        cluster.remove_stale_scratch(base)
        scratch = t.profile.open_store(base.uri(cluster.build_id()) + "/")
        cluster.mark_scratch(scratch)
        job = cluster.ClusterJob(source=t.store.spec(), scratch=scratch.spec(), plan=rp,
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


# -- verify ---------------------------------------------------------------------------------------

def verify_stream_view(
    pack: str | OpenedPack,
    output_id: str,
    *,
    engine: EngineOptions = DEFAULT_ENGINE,
    deep: bool = False,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> ViewState:
    """Re-derive everything the receipt claims: part digests, source and view stats, order.
    With ``deep``, also rebuild the view into scratch and compare: the same bytes, or else
    the same rows in the same order (which proves the order of ties, whatever the receipt
    says of how its parts were written).
    A view of an output that is not readable is BLOCKED, whatever its receipt says."""
    t = _resolve(pack, output_id)
    location = t.view_store.uri(t.prefix)
    report = _readability_check(t, output_id, cancel)
    decision = decide(report, output_id, include_view=False)
    if not decision.readable:
        return ViewState(output_id=output_id, state="BLOCKED", location=location,
                         findings=decision.blocking)
    state = _view_state_of(report, output_id, location)
    if state.state == "MISSING":
        state.findings.append(make_finding("STREAM_VIEW_MISSING", output_id,
                                           f"no view at {state.location}",
                                           t.profile.policy.stream_view_missing))
    if state.state != "VALID":
        return state
    receipt = Receipt.model_validate(state.receipt)
    problems = [make_finding(code, output_id, detail) for code, detail in
                _rederive(t, receipt, state.upstream, engine, progress, cancel)]
    if deep and not problems:
        problems += _deep_differences(t, output_id, receipt, engine, cancel)
    state.not_verified = NOT_DEEP if not deep else NOT_REHASHED
    state.findings.extend(problems)
    if any(f.severity is Severity.FAIL for f in problems):
        state.state = "INVALID"
    return state


def _rederive(t: _Target, receipt: Receipt, upstream: dict[str, Any] | None,
              engine: EngineOptions, progress: Progress,
              cancel: threading.Event | None) -> list[tuple[str, str]]:
    """(code, detail) for everything the receipt claims that the bytes do not bear out:
    part digests, source and view stats (the view's against the source's, recomputed here,
    whatever the receipt says), the platform's raw/sorted stats, the order of keys."""
    problems: list[tuple[str, str]] = []

    def bad(detail: str, code: str = "STREAM_RECEIPT_MISMATCH") -> None:
        problems.append((code, detail))

    total = len(receipt.parts) + 3
    for i, part in enumerate(receipt.parts):
        check_cancel(cancel)
        _, digest = hash_object(t.view_store, t.prefix + part.path, cancel)
        if digest != part.sha256:
            bad(f"part {part.path} hashes to {digest}, receipt says {part.sha256}")
        progress(i + 1, total)
    function = receipt.hash.function
    if function not in KNOWN_HASH_FUNCTIONS:
        bad(f"the receipt names a hash function this version does not know ({function[:80]!r})")
        function = HASH_FUNCTION
    allowed = engine.budget()
    con = connect(stores=[t.store, t.view_store], memory_limit=allowed.engine_limit,
                  temp_dir=engine.temp_dir, threads=allowed.threads)
    try:
        source_uris = [object_uri(t.store, k) for k in t.source_keys]
        view_uris = [object_uri(t.view_store, t.prefix + p.path) for p in receipt.parts]
        key_cols = t.sort_keys  # the output's configured keys, never the receipt's claim
        profile = profile_source(con, source_uris, key_cols)
        plan = sort_plan(profile, key_cols)
        columns = list(profile.types)
        same_engine = receipt.hash.engine_version == DUCKDB_VERSION
        if not same_engine:
            bad(f"receipt hashes come from DuckDB {receipt.hash.engine_version}, this is "
                f"{DUCKDB_VERSION}", "STREAM_RECEIPT_ENGINE_MISMATCH")
        actual: dict[str, RawStats] = {}
        for label, scan, claimed in (("source", scan_sql(source_uris), receipt.source),
                                     ("view", scan_sql(view_uris), receipt.view)):
            check_cancel(cancel)
            actual[label] = raw_stats(con, scan, plan[0], columns, function)
            for what in _stat_differences(actual[label].shown(plan[0]), claimed, same_engine):
                bad(f"{label} {what}")
            progress(total - 2 + (label == "view"), total)
        # The view against the source, both hashed here: what the receipt says of either
        # (its engine, its sums) cannot turn this comparison off.
        if not _same_rows(actual["view"], actual["source"]):
            bad(f"the view does not hold exactly the source's rows (source "
                f"{actual['source'].rows} rows, view {actual['view'].rows}; row-hash sums "
                f"{'equal' if actual['view'].hash_sum == actual['source'].hash_sum else 'differ'})")
        if same_engine and receipt.platform_stats_from is not None and upstream is not None:
            for what in _platform_differences(con, source_uris, profile, plan[0],
                                              actual, upstream):
                bad(what)
        violation = _order_violation(con, view_uris, plan, cancel)
        if violation:
            bad(violation, "STREAM_ORDER_VIOLATION")
    except duckdb.Error as exc:
        raise duck_error(exc, engine.memory_limit) from exc
    finally:
        con.close()
    progress(total, total)
    return problems


def _platform_differences(con: duckdb.DuckDBPyConnection, uris: list[str],
                          profile: SourceProfile, key: SortKey, actual: dict[str, RawStats],
                          upstream: dict[str, Any]) -> list[str]:
    """The platform's raw_stats and sorted_stats, recomputed its way, against the receipt."""
    raw, _ = _platform_raw(con, uris, profile, key.column, actual["source"])
    out = []
    for name, block in (("raw_stats", raw), ("sorted_stats", actual["view"].platform())):
        if upstream.get(name) != block.model_dump():
            out.append(f"the receipt's {name} are not the platform's quantities over the "
                       f"{'source' if name == 'raw_stats' else 'view'} "
                       f"(recomputed: {block.model_dump()})")
    return out


def _deep_differences(t: _Target, output_id: str, receipt: Receipt, engine: EngineOptions,
                      cancel: threading.Event | None) -> list[Finding]:
    """Rebuild into a scratch folder outside the view and compare: byte-identical parts
    settle it; otherwise the rows of both, in order, must be the same."""
    scratch = new_temp_folder("oracle-tui-deep-", engine.temp_dir, "the temp folder")
    try:
        rows_per_part = int(receipt.partitioning.get("rows_per_part", DEFAULT_ROWS_PER_PART))
        target = replace(t, view_store=LocalStore(scratch), prefix="view/")
        rebuilt = Receipt.model_validate(_build(target, output_id, engine, rows_per_part,
                                                no_progress, cancel))
        mine = [(p.path, p.sha256) for p in receipt.parts]
        again = [(p.path, p.sha256) for p in rebuilt.parts]
        if mine == again:
            return []
        where = _first_row_difference(
            t, [object_uri(t.view_store, t.prefix + p.path) for p in receipt.parts],
            [str(scratch / "view" / p.path) for p in rebuilt.parts],
            [p.row_count for p in receipt.parts], engine, cancel)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if where is not None:
        return [make_finding("STREAM_RECEIPT_MISMATCH", output_id,
                             f"the view's rows, or their order, differ from a rebuild from the "
                             f"source, first at {where} (content, or the order of tied rows)")]
    written_as = receipt.partitioning.get("part_format")
    if written_as != PART_FORMAT or receipt.hash.engine_version != DUCKDB_VERSION:
        how = f"with {written_as!r}" if written_as else "in an earlier format"
        return [make_finding("STREAM_DEEP_VERIFY_SKIPPED", output_id,
                             f"every row is where a rebuild puts it; the parts were written "
                             f"{how} by DuckDB {receipt.hash.engine_version}, so their bytes "
                             f"differ from this version's ({PART_FORMAT!r}, DuckDB "
                             f"{DUCKDB_VERSION})")]
    differing = sum(a != b for a, b in zip(mine, again, strict=False)) + abs(
        len(mine) - len(again))
    return [make_finding("STREAM_RECEIPT_MISMATCH", output_id,
                         f"the parts hold a rebuild's rows in its order but not its bytes "
                         f"({differing} of {max(len(mine), len(again))} parts differ): they "
                         "were not cut or written as the receipt says")]


def _first_row_difference(t: _Target, view_uris: list[str], rebuilt_paths: list[str],
                          part_rows: list[int], engine: EngineOptions,
                          cancel: threading.Event | None) -> str | None:
    """Where the view's row sequence first leaves the rebuild's ("part p row r"), or None.
    Rows are compared by both row hashes (128 bits), part after part, in bounded batches."""
    import numpy as np

    allowed = engine.budget()
    con = connect(stores=[t.view_store], memory_limit=allowed.engine_limit,
                  temp_dir=engine.temp_dir, threads=allowed.threads)
    try:
        columns = [r[0] for r in con.execute(
            f"DESCRIBE SELECT * FROM {scan_sql(rebuilt_paths[:1])}").fetchall()]
        plain, salted = row_hashes(columns)

        def hashes(cur: duckdb.DuckDBPyConnection, uris: list[str]) -> Iterator[Any]:
            for uri in uris:
                reader = cur.execute(f"SELECT {plain} AS a, {salted} AS b FROM "
                                     f"{scan_sql([uri])}").to_arrow_reader(batch_size=262_144)
                for batch in reader:
                    check_cancel(cancel)
                    yield np.stack([batch.column(0).to_numpy(), batch.column(1).to_numpy()],
                                   axis=1)

        index = _first_mismatch(hashes(con, view_uris), hashes(con.cursor(), rebuilt_paths))
    except duckdb.Error as exc:
        raise duck_error(exc, engine.memory_limit) from exc
    finally:
        con.close()
    if index is None:
        return None
    for part_no, rows in enumerate(part_rows):
        if index < rows:
            return f"part {part_no} row {index}"
        index -= rows
    return f"the end of the view (the rebuild holds {index} more row(s))"


def _first_mismatch(left: Iterator[Any], right: Iterator[Any]) -> int | None:
    """The first index at which two streams of row-hash pairs differ (or one ends)."""
    import numpy as np

    def refill(buffer: Any, stream: Iterator[Any]) -> Any:
        while not len(buffer):
            buffer = next(stream, None)
            if buffer is None:
                return np.empty((0, 2), dtype=np.uint64)
        return buffer

    a: Any = np.empty((0, 2), dtype=np.uint64)
    b: Any = a
    base = 0
    while True:
        a, b = refill(a, left), refill(b, right)
        if not len(a) or not len(b):
            return None if not len(a) and not len(b) else base
        n = min(len(a), len(b))
        unequal = np.any(a[:n] != b[:n], axis=1)
        if unequal.any():
            return base + int(np.argmax(unequal))
        a, b, base = a[n:], b[n:], base + n


def _stat_differences(actual: Stats, claimed: Stats, compare_hashes: bool) -> list[str]:
    out = []
    if actual.row_count != claimed.row_count:
        out.append(f"row_count is {actual.row_count}, receipt says {claimed.row_count}")
    if (actual.min_ts, actual.max_ts) != (claimed.min_ts, claimed.max_ts):
        out.append(f"key range is {actual.min_ts}..{actual.max_ts}, receipt says "
                   f"{claimed.min_ts}..{claimed.max_ts}")
    if compare_hashes and (actual.hash_sum, actual.hash_sum_salted) != (
            claimed.hash_sum, claimed.hash_sum_salted):
        out.append("row-hash sums differ from the receipt (a row was dropped, duplicated or "
                   "altered)")
    return out


def _order_violation(con: duckdb.DuckDBPyConnection, view_uris: list[str],
                     plan: list[SortKey], cancel: threading.Event | None) -> str | None:
    """Read every part on its own, in file order, and check the keys never go down. A NULL
    key sorts after every value (as the build writes it): each key is compared as the pair
    (is it NULL, its value)."""
    import numpy as np

    last: tuple[Any, ...] | None = None
    cols = ", ".join(f"({k.expr}) IS NULL, " + (f"epoch_us({k.expr})" if k.kind == "epoch"
                                                 else k.expr) for k in plan)
    for part_no, uri in enumerate(view_uris):
        reader = con.execute(f"SELECT {cols} FROM {scan_sql([uri])}").to_arrow_reader(
            batch_size=500_000)
        row_base = 0
        for batch in reader:
            check_cancel(cancel)
            arrays = [_comparable(c) for c in batch.columns]
            if last is not None and batch.num_rows:
                first = tuple(a[0] for a in arrays)
                if first < last:
                    return f"part {part_no} row {row_base} sorts before the row preceding it"
            # Lexicographic non-decrease between consecutive rows, vectorised.
            n = batch.num_rows
            if n > 1:
                undecided = np.ones(n - 1, dtype=bool)
                for a in arrays:
                    lt = a[1:] < a[:-1]
                    if np.any(undecided & lt):
                        idx = int(np.argmax(undecided & lt)) + 1
                        return f"part {part_no} row {row_base + idx} sorts before its predecessor"
                    undecided &= a[1:] == a[:-1]
            if n:
                last = tuple(a[-1] for a in arrays)
            row_base += n
    return None


def _comparable(column: Any) -> Any:
    """A key column as a NumPy array of values that compare: NULLs (flagged in the column
    before it) replaced by one value of the column's own type, never by None or NaN."""
    import numpy as np
    import pyarrow.compute as pc

    if column.null_count:
        fill = pc.min_max(column)["min"]
        if not fill.is_valid:
            return np.zeros(len(column), dtype=np.int8)
        column = pc.fill_null(column, fill)
    return np.asarray(column.to_numpy(zero_copy_only=False))


# -- reader API for the stream producer ----------------------------------------------------------

class StreamReader:
    """Iterate Arrow record batches of a view in order (or of the raw output, on fallback)."""

    def __init__(self, source: str, batches: Iterator[pa.RecordBatch], findings: list[Finding],
                 receipt: dict[str, Any] | None) -> None:
        self.source = source  # "stream_view" | "raw_fallback"
        self.findings = findings
        self.receipt = receipt
        self._batches = batches

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self._batches


def open_stream_view(pack: str | OpenedPack, output_id: str, *,
                     batch_size: int = 65_536) -> StreamReader:
    """The view's rows in order. Refuses a view without a valid receipt; only a profile that
    allows it (local) falls back to the raw, unsorted output when no view exists, with a WARN.
    Each part's bytes are checked against the receipt's sha256 (a raw part's against its
    sealed digest and the engine's evidence) before any of its rows. WARN findings of the
    check about the pack or the output (an unsealed or half-sealed pack) come with the
    reader: it reads, and says so."""
    t = _resolve(pack, output_id)
    report = _readability_check(t, output_id)
    decision = decide(report, output_id, include_view=False)
    decision.require("read")
    state = _view_state_of(report, output_id, t.view_store.uri(t.prefix))
    warned = list(decision.warnings)
    if state.state == "VALID":
        receipt = Receipt.model_validate(state.receipt)
        return StreamReader("stream_view", _view_batches(t, receipt, batch_size),
                            warned + [f for f in state.findings
                                      if f.severity is Severity.WARN], state.receipt)
    if state.state == "MISSING" and t.profile.policy.allow_raw_fallback:
        warn = make_finding("STREAM_VIEW_MISSING", output_id,
                            "no stream view: reading the raw output, NOT time-sorted "
                            f"(profile {t.profile.name} allows this fallback)", Severity.WARN)
        out = next(o for o in report.outputs if o.output_id == output_id)
        return StreamReader("raw_fallback", _raw_batches(t, out, batch_size), [*warned, warn],
                            None)
    if state.findings:
        first = state.findings[0]
        raise OracleError(first.code, f"refusing to read: {first.detail}", output_id)
    raise OracleError("STREAM_VIEW_MISSING", f"no stream view for {output_id} and profile "
                                             f"{t.profile.name} does not fall back to raw output",
                      output_id)


def preview_rows(pack: OpenedPack, output_id: str, receipt: dict[str, Any], *,
                 limit: int = 20, verified: set[str] | None = None,
                 cancel: threading.Event | None = None) -> pa.Table:
    """The first ``limit`` rows of a view the session's check judged VALID (``receipt``):
    its first part only, its digest checked unless ``verified`` already holds it (a session
    cache: a part is hashed once), no listing and no check of its own."""
    first = Receipt.model_validate(receipt).parts[0]
    views = pack.view_store()
    key = view_prefix(pack.profile, output_id) + first.path
    local = views.local_path(key)
    if local is not None:
        if verified is None or first.sha256 not in verified:
            _, digest = hash_object(views, key, cancel)
            if digest != first.sha256:
                raise OracleError("STREAM_RECEIPT_MISMATCH",
                                  f"{key} does not match its receipt digest", output_id)
        table = pq.ParquetFile(local).iter_batches(batch_size=limit)
        batch = next(table, None)
    else:
        chunks: list[bytes] = []
        _, digest = hash_object(views, key, cancel, copy_to=lambda b: chunks.append(bytes(b)))
        if digest != first.sha256:
            raise OracleError("STREAM_RECEIPT_MISMATCH",
                              f"{key} does not match its receipt digest", output_id)
        batch = next(pq.ParquetFile(pa.BufferReader(b"".join(chunks))).iter_batches(
            batch_size=limit), None)
    if verified is not None:
        verified.add(first.sha256)
    return pa.Table.from_batches([batch]) if batch is not None else pa.table({})


def _view_batches(t: _Target, receipt: Receipt, batch_size: int) -> Iterator[pa.RecordBatch]:
    for part in receipt.parts:
        with _verified_part(t.view_store, t.prefix + part.path, part.sha256,
                            receipt.output_id) as path:
            yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size)


@contextlib.contextmanager
def _verified_part(store: Store, key: str, sha256: str, output_id: str) -> Iterator[str]:
    """A local file holding the part, its digest checked before any row is read. Streams:
    a local part is hashed in place, a remote one is downloaded while hashed."""
    local = store.local_path(key)
    if local is not None:
        _, digest = hash_object(store, key)
        path = str(local)
        if digest != sha256:
            raise OracleError("STREAM_RECEIPT_MISMATCH",
                              f"{key} does not match its receipt digest", output_id)
        yield path
        return
    with tempfile.NamedTemporaryFile(prefix="oracle-tui-part-", suffix=".parquet") as tmp:
        _, digest = hash_object(store, key, copy_to=tmp.write)
        tmp.flush()
        if digest != sha256:
            raise OracleError("STREAM_RECEIPT_MISMATCH",
                              f"{key} does not match its receipt digest", output_id)
        yield tmp.name


def _raw_batches(t: _Target, out: OutputResult, batch_size: int
                 ) -> Iterator[pa.RecordBatch]:
    """The parts the check judged, each read once into memory and its sha256 held to every
    digest the pack states for it (sealed, the engine's evidence, an instance proof) before
    a row of it is served: a part changed after the check is refused, not read."""
    for key in sorted(out._files):
        data = t.store.read_bytes(key)
        digest = sha256_bytes(data)
        stated = [("the content index", out._sealed.get(key)),
                  ("the engine's evidence", getattr(out._evidence.get(key), "sha256", None)),
                  ("its instance proof", getattr(out._pinned.get(key), "sha256", None))]
        for source, want in stated:
            if want is not None and want != digest:
                raise OracleError("DIGEST_MISMATCH", f"refusing to read: {key} hashes to "
                                                     f"{digest}, {source} says {want}", key)
        yield from pq.ParquetFile(pa.BufferReader(data)).iter_batches(batch_size=batch_size)
