"""Stream views (SPEC §7): one ts_utc-sorted copy of an output, and a receipt proving it.

Build = three DuckDB passes: source stats (row count, min/max key, two order-invariant sums
of 64-bit row hashes), one external sort streamed into ordered parts, view stats over the
parts. The receipt is written last and create-if-absent; parts are published create-only
before it, so a view without a receipt is never valid.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from oracle_tui.core.codes import Severity
from oracle_tui.core.duck import (
    DUCKDB_VERSION,
    connect,
    duck_error,
    engine_share,
    object_uri,
    quote_column,
    sql_str,
)
from oracle_tui.core.errors import OracleError
from oracle_tui.core.findings import Finding, make_finding
from oracle_tui.core.hashing import hash_object, sha256_bytes
from oracle_tui.core.interface_pack import InterfacePack, render_template
from oracle_tui.core.jobs import Cancelled, Progress, check_cancel, no_progress
from oracle_tui.core.jsonio import canonical_json
from oracle_tui.core.listing import Listing
from oracle_tui.core.profiles import Profile, load_profile
from oracle_tui.core.range_sort import (
    PART_FORMAT,
    RawStats,
    RoutePlan,
    SortedPart,
    SortKey,
    constant_literal,
    iso_us,
    raw_stats,
    route,
    routed_files,
    scan_sql,
    sort_range,
    stats_of,
    stats_sql,
)
from oracle_tui.core.readability import decide
from oracle_tui.core.report import CheckReport
from oracle_tui.core.storage.base import Store
from oracle_tui.core.storage.local import TEMP_PREFIX, LocalStore
from oracle_tui.core.stream_receipts import (
    MANIFEST as VIEW_MANIFEST,
)
from oracle_tui.core.stream_receipts import (
    MANIFEST_EXT_SCHEMA,
    PARTITION_GRANULARITY,
    RECEIPT,
    RECEIPT_SCHEMA,
    TIE_BREAK,
    Receipt,
    Stats,
    UpstreamStats,
    ViewState,
    engine_run_root,
    read_view_state,
    sort_keys_for,
    source_digest,
    stream_view_id,
    view_prefix,
    view_store,
)
from oracle_tui.core.timeutil import utc_now
from oracle_tui.core.world import WorldKey, read_run_receipt, resolve_world_key

HASH_FUNCTION = "duckdb hash(row) and hash(row, 'oracle-tui'), summed as HUGEINT"
DEFAULT_ROWS_PER_PART = 4_000_000
TEMPORAL_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS",
                  "TIMESTAMP_S", "DATE")


class BuildResult(BaseModel):
    status: str  # BUILT | ALREADY_VALID
    output_id: str
    location: str
    receipt: dict[str, Any]


# -- stats ------------------------------------------------------------------------------------

# RFC 3339 with microseconds and 'Z', fixed width: byte order is instant order, so such a
# column sorts as text (cheap) instead of being parsed (costly) on every row.
CANONICAL_TS_LIKE = "____-__-__T__:__:__.______Z"


def _column_types(con: duckdb.DuckDBPyConnection, scan: str) -> dict[str, str]:
    """The source's columns in order, with their DuckDB types."""
    return {row[0]: str(row[1]).upper()
            for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}


@dataclass(frozen=True)
class _SourceProfile:
    """What planning a sort needs to know of the source, learnt in one scan."""

    types: dict[str, str]  # every column in order, with its DuckDB type
    canonical: frozenset[str]  # text sort keys whose every value is in CANONICAL_TS_LIKE form
    constants: dict[str, str]  # column -> SQL literal of its one value (see RoutePlan)
    categories: dict[str, str] = field(default_factory=dict)  # column -> ENUM (RoutePlan)
    # Taken by the same scan for a build in this process (``whole``), else None:
    stats: RawStats | None = None  # the source's stats
    sample: list[str] | None = None  # boundary quantiles of the first key's own values


def _profile_source(con: duckdb.DuckDBPyConnection, uris: list[str], keys: list[str],
                    find_constants: bool = True, whole: tuple[int, int] | None = None
                    ) -> _SourceProfile:
    """Column types, which text keys are canonical instants, which columns are constant and
    which text columns hold a few values (categories): one scan of just the key columns and
    the candidates that the first file suggests.

    With ``whole`` (the source's rows and the ranges wanted; a build in this process), the
    same scan reads every column and also takes the source's stats and the boundary sample,
    which would otherwise cost a scan each. Both assume the first key orders by its own
    values (canonical text, typed instants, plain values); when the scan finds text that
    is not canonical, they are dropped and the build takes them on its own."""
    types = _column_types(con, scan_sql(uris))
    for key in keys:
        if key not in types:
            raise OracleError("MISSING_SORT_KEY", f"column {key!r} is not in the output "
                                                  f"(columns: {', '.join(sorted(types))})", key)
    text_keys = [k for k in keys if types[k] == "VARCHAR"]
    first, few = (_first_file_candidates(con, uris[:1], types, keys) if find_constants
                  else ({}, {}))
    probes = [f"bool_and({quote_column(k)} LIKE {sql_str(CANONICAL_TS_LIKE)})"
              for k in text_keys] + [_constant_probe(c) for c in first]
    probes += [f"bool_and({quote_column(c)} IS NULL OR {quote_column(c)} IN "
               f"({', '.join(sql_str(v) for v in values)}))" for c, values in few.items()]
    guess = _whole_source_sql(types, keys, whole)
    if guess:
        probes += [guess[1]]
    values: Iterator[Any] = iter(())
    if probes:
        scan = scan_sql(uris, ", file_row_number=true" if guess else "")
        fetched = con.execute(f"SELECT {', '.join(probes)} FROM {scan}").fetchone()
        assert fetched is not None
        values = iter(fetched)
    canonical = frozenset(k for k in text_keys if next(values))
    everywhere = _constants_of(list(first), tuple(next(values) for _ in range(2 * len(first))))
    constants = {c: constant_literal(v, types[c]) for c, v in everywhere.items()
                 if v == first[c]}
    proven = {c: bool(next(values)) for c in few}  # (consumed in order, whatever else holds)
    categories = {c: f"ENUM({', '.join(sql_str(v) for v in vs)})" for c, vs in few.items()
                  if proven[c] and c not in constants}
    profile = _SourceProfile(types=types, canonical=canonical, constants=constants,
                             categories=categories)
    if guess and _sort_plan(profile, keys[:1])[0] == guess[0]:
        rest = list(values)
        return replace(profile, stats=stats_of(rest[:5]),
                       sample=[] if rest[5] is None else list(rest[5]))
    return profile


def _whole_source_sql(types: dict[str, str], keys: list[str], whole: tuple[int, int] | None
                      ) -> tuple[SortKey, str] | None:
    """The first key's plan if its text is canonical, and the aggregates that take the
    source's stats and boundary sample under that plan (``_profile_source``)."""
    if whole is None:
        return None
    rows, chunks = whole
    as_if_canonical = _SourceProfile(types=types, canonical=frozenset(keys), constants={})
    key = _sort_plan(as_if_canonical, keys[:1])[0]
    row = f"struct_pack({', '.join(quote_column(c) for c in types)})"  # = hash(t) of a row
    return key, f"{stats_sql(key, row)}, {_sample_sql(quote_column(key.column), rows, chunks)}"


# Types whose equal values are equal bytes, and whose text casts back to the very value.
CONSTANT_TYPES = frozenset({"BOOLEAN", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                            "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT",
                            "VARCHAR", "DATE"})


def _constant_probe(column: str) -> str:
    """Two aggregates: does ``column`` hold one non-NULL value in every row, and which."""
    q = quote_column(column)
    return f"min({q}) = max({q}) AND count({q}) = count(*), CAST(min({q}) AS VARCHAR)"


# A longer value stays in the rows: every part's SQL would carry it.
CONSTANT_MAX_CHARS = 1024


def _constants_of(columns: list[str], row: tuple[Any, ...]) -> dict[str, str]:
    """The columns whose probe (``_constant_probe``, two values each in ``row``) found one
    value that a literal can carry."""
    found = {}
    for i, column in enumerate(columns):
        one_value, text = row[2 * i], str(row[2 * i + 1])
        if one_value and "\x00" not in text and len(text) <= CONSTANT_MAX_CHARS:
            found[column] = text
    return found


# Text columns with at most this many values in the first file (and short ones) are candidate
# categories: routed as an ENUM of those values (RoutePlan.categories) unless constant.
CATEGORY_MAX_VALUES = 255
CATEGORY_MAX_CHARS = 16_384  # all the values together: the routing SQL carries them


def _first_file_candidates(con: duckdb.DuckDBPyConnection, uris: list[str],
                           types: dict[str, str], keys: list[str]
                           ) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The columns constant in these (few) files, and the text columns with a few values
    there: what the full scan then proves. Sort keys are neither: the sort reads them."""
    eligible = [c for c, typ in types.items() if typ in CONSTANT_TYPES and c not in keys]
    text = [c for c, typ in types.items() if typ == "VARCHAR" and c not in keys]
    if not eligible and not text:
        return {}, {}
    probes = [_constant_probe(c) for c in eligible] + [
        f"CASE WHEN count(DISTINCT {quote_column(c)}) <= {CATEGORY_MAX_VALUES} THEN "
        f"list(DISTINCT {quote_column(c)}) END" for c in text]
    row = con.execute(f"SELECT {', '.join(probes)} FROM {scan_sql(uris)}").fetchone()
    assert row is not None
    constants = _constants_of(eligible, tuple(row[:2 * len(eligible)]))
    few = {}
    for column, found in zip(text, row[2 * len(eligible):], strict=True):
        values = sorted(str(v) for v in found or [] if v is not None)
        if (values and sum(map(len, values)) <= CATEGORY_MAX_CHARS
                and not any("\x00" in v for v in values)):
            few[column] = values
    return constants, few


def _sort_plan(profile: _SourceProfile, keys: list[str]) -> list[SortKey]:
    plan = []
    for key in keys:
        typ = profile.types[key]
        quoted = quote_column(key)
        if typ == "VARCHAR":
            # Values that denote no instant fail the build's casts (routing parses every
            # one); the build then names the first (_require_valid_instants).
            if key in profile.canonical:
                # Fixed width, six fraction digits: text order is instant order, and two
                # different values are two different microseconds.
                plan.append(SortKey(column=key, expr=quoted, kind="iso_string",
                                    rank=f"epoch_us(CAST({quoted} AS TIMESTAMP))"))
            else:
                # RFC 3339 strings with offsets: order by the instant they denote.
                cast = f"CAST({quoted} AS TIMESTAMPTZ)"
                plan.append(SortKey(column=key, expr=cast, kind="epoch",
                                    rank=f"epoch_us({cast})"))
        elif typ in ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):  # microseconds: exact
            plan.append(SortKey(column=key, expr=quoted, kind="epoch",
                                rank=f"epoch_us({quoted})"))
        elif typ.startswith(TEMPORAL_TYPES):
            plan.append(SortKey(column=key, expr=quoted, kind="epoch"))
        else:
            plan.append(SortKey(column=key, expr=quoted, kind="value"))
    return plan


def _require_valid_instants(con: duckdb.DuckDBPyConnection, uris: list[str],
                            plan: list[SortKey], output_id: str) -> None:
    """Every string sort-key value must denote a real instant: a value shaped like the
    canonical form but not a time (T25:61, a leap second) would otherwise sort as text into
    a VALID view. Asked when a cast of the build failed: the first offender is named."""
    for key in plan:
        if key.kind != "iso_string" and not key.expr.startswith("CAST("):
            continue
        quoted = quote_column(key.column)
        row = con.execute(
            f"SELECT filename, file_row_number, CAST({quoted} AS VARCHAR) "
            f"FROM {scan_sql(uris, ', filename=true, file_row_number=true')} "
            f"WHERE {quoted} IS NOT NULL AND TRY_CAST({quoted} AS TIMESTAMPTZ) IS NULL "
            "LIMIT 1").fetchone()
        if row is not None:
            raise OracleError("SORT_KEY_INVALID", f"{key.column} = {str(row[2])[:40]!r} in "
                                                  f"{row[0]} row {row[1]} is not a valid "
                                                  "instant; no view was written", output_id)


# -- resolving an output ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    """One output's sources and where its view lives, resolved once per command."""

    profile: Profile
    pack: InterfacePack
    store: Store
    view_store: Store
    prefix: str
    source_keys: list[str]
    sort_keys: list[str]
    world_key: WorldKey
    run_id: str


def _resolve(root: str, output_id: str, profile: Profile | None, pack: InterfacePack | None,
             scenario_id: str | None) -> _Target:
    """The output's parts and where its view lives (profile and pack default to local/the
    profile's wiring)."""
    profile = profile or load_profile("local")
    pack = pack or profile.load_pack()
    store = profile.open_store(root)
    if not store.root_exists():
        raise OracleError("PACK_NOT_FOUND", f"no pack at {store.root_uri}", store.root_uri)
    if output_id not in pack.outputs:
        raise OracleError("OUTPUT_UNKNOWN", f"{output_id} is not in the catalogue", output_id)
    listing = Listing.of(store)
    receipt = read_run_receipt(store)
    wk = resolve_world_key(receipt, scenario_id or profile.wiring("scenario_id") or None, pack,
                           listing)
    rendered = render_template(pack.outputs[output_id].path_template, wk.tokens(receipt.run_id))
    sources = [o.key for o in listing.match(rendered)]
    return _Target(profile=profile, pack=pack, store=store,
                   view_store=view_store(profile, store), prefix=view_prefix(profile, output_id),
                   source_keys=sources,
                   sort_keys=sort_keys_for(profile, pack, output_id), world_key=wk,
                   run_id=receipt.run_id)


# The source's stats, and the non-empty parts in range order as local files.
SortedParts: TypeAlias = tuple[RawStats, list[tuple[SortedPart, Path]]]


class _Runner(Protocol):
    """Routes and sorts a planned build: in this process or on a cluster."""

    def __call__(self, con: duckdb.DuckDBPyConnection, rp: RoutePlan,
                 source: RawStats | None, staging: Path, spill: str, phases: _Phases,
                 cancel: threading.Event | None) -> SortedParts: ...


# -- build --------------------------------------------------------------------------------------

def build_stream_view(
    root: str,
    output_id: str,
    *,
    profile: Profile | None = None,
    interface_pack: InterfacePack | None = None,
    scenario_id: str | None = None,
    memory_limit: str = "2GB",
    temp_dir: str | None = None,
    threads: int | None = None,
    rows_per_part: int = DEFAULT_ROWS_PER_PART,
    executor: str | None = None,
    scratch: str | None = None,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> BuildResult:
    """Sort one output into its view (write-once). ``executor``: None for the profile's
    (``stream_view_executor``), "" or "local" for this process, ``tcp://host:8786`` for a
    Dask scheduler; ``scratch``: where a cluster build keeps its intermediate files."""
    target = _resolve(root, output_id, profile, interface_pack, scenario_id)
    runner = _runner_for(target, executor, scratch, memory_limit, threads, temp_dir)
    location = target.view_store.uri(target.prefix)
    # No PASS, no read: the one decision, before anything is read or written.
    report = _readability_check(target, root, output_id, scenario_id, cancel)
    decide(report, output_id, include_view=False).require("build")
    target.view_store.remove_stale_temps(target.prefix.rstrip("/"))
    state = _view_state_of(report, output_id, location)
    if state.state == "VALID":  # footers agree; a rerun also proves every part's bytes
        state = read_view_state(target.view_store, target.prefix, output_id,
                                target.source_keys, verify_digests=True)
    if state.state == "VALID":
        assert state.receipt is not None
        return BuildResult(status="ALREADY_VALID", output_id=output_id, location=location,
                           receipt=state.receipt)
    if state.findings:
        first = state.findings[0]
        raise OracleError(first.code, f"{first.detail}; nothing was overwritten", output_id)
    if not target.source_keys:
        raise OracleError("OUTPUT_MISSING", f"{output_id} has no parts", output_id)
    receipt = _build(target, output_id, memory_limit, temp_dir, threads, rows_per_part,
                     progress, cancel, runner)
    return BuildResult(status="BUILT", output_id=output_id, location=location, receipt=receipt)


def _readability_check(t: _Target, root: str, output_id: str, scenario_id: str | None,
                       cancel: threading.Event | None = None) -> CheckReport:
    """The check every door of a view asks before it reads: control files, gates, part
    evidence and Parquet footers for this one output (never a re-hash of the sources)."""
    from oracle_tui.core.check import run_check

    return run_check(root, profile=t.profile, scenario_id=scenario_id, output_ids=[output_id],
                     interface_pack=t.pack, cancel=cancel)


def _view_state_of(report: CheckReport, output_id: str, location: str) -> ViewState:
    """The view's state as the check judged it (receipt, sizes, footers, schemas)."""
    section = next((v for v in report.stream_views if v.output_id == output_id), None)
    if section is None:
        return ViewState(output_id=output_id, state="MISSING", location=location)
    findings = [f for f in report.findings if f.subject == output_id
                and f.code.startswith("STREAM_") and f.code != "STREAM_VIEW_MISSING"]
    return ViewState(output_id=output_id, state=section.state, location=location,
                     receipt=section.receipt, upstream=section.upstream,
                     manifest=section.manifest, findings=findings)


def _runner_for(t: _Target, executor: str | None, scratch: str | None, memory_limit: str,
                threads: int | None, temp_dir: str | None) -> _Runner:
    chosen = t.profile.wiring("stream_view_executor") if executor is None else executor
    if chosen in ("", "local"):
        return _run_here
    if not chosen.startswith(("tcp://", "tls://")):
        raise OracleError("INPUT_INVALID", f"executor {chosen[:60]!r} is neither 'local' nor a "
                                           "Dask scheduler address (tcp://host:8786)")
    where = t.profile.wiring("stream_view_scratch") if scratch is None else scratch
    return _cluster_runner(chosen, t, memory_limit, threads, where, temp_dir)


def _build(t: _Target, output_id: str, memory_limit: str, temp_dir: str | None,
           threads: int | None, rows_per_part: int, progress: Progress,
           cancel: threading.Event | None, runner: _Runner | None = None) -> dict[str, Any]:
    uris = [object_uri(t.store, k) for k in t.source_keys]
    view_folder = t.view_store.local_path(t.prefix.rstrip("/"))
    local_view = view_folder is not None
    staging = view_folder or Path(tempfile.mkdtemp(prefix="oracle-tui-view-", dir=temp_dir))
    created = [d for d in (staging, *staging.parents) if not d.exists()]
    staging.mkdir(parents=True, exist_ok=True)
    spill = temp_dir or tempfile.mkdtemp(prefix="oracle-tui-spill-")
    staged: list[tuple[str, Path]] = []
    try:
        con = connect(stores=[t.store], memory_limit=engine_share(memory_limit), temp_dir=spill,
                      threads=threads)
        phases = _Phases(progress)
        watcher = _watch(con, cancel, phases)
        try:
            receipt = _sort_and_write(con, t, output_id, uris, staging, staged, rows_per_part,
                                      phases, cancel, spill, runner or _run_here)
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
        manifest, upstream = _platform_documents(t, output_id, receipt)
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
        # A sort that failed mid-write (disk full, cancel) leaves its own half part behind.
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


def _platform_documents(t: _Target, output_id: str, receipt: dict[str, Any]
                        ) -> tuple[dict[str, Any], dict[str, Any]]:
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
    stats = Receipt.model_validate(receipt)
    upstream = {
        "stream_view_id": view_id,
        "engine_run_root": root,
        "stream_view_root": view_root,
        "output_id": output_id,
        "output_ids": [output_id],
        "sort_keys": sort_keys,
        "partition_granularity": PARTITION_GRANULARITY,
        # The platform's meaning: sha256 of the sorted full locations of the source parts.
        "source_locator_digest": sha256_bytes("\n".join(
            sorted(f"{root}/{k}" for k in t.source_keys)).encode("utf-8")),
        "raw_stats": UpstreamStats.of(stats.source).model_dump(),
        "sorted_stats": UpstreamStats.of(stats.view).model_dump(),
        "created_utc": created,
        "status": "OK",
        "extensions": {"oracle_tui": receipt},
    }
    return manifest, upstream


class _Phases:
    """A build's progress as one percentage: each phase has a share of the whole, and the
    running DuckDB statement reports how far it is (``query_progress``), so a long routing
    pass or range sort moves the bar instead of freezing it. Reported as (permille, 1000)."""

    SHARES = {"validate": 4, "bounds": 3, "route": 43, "sort": 50}

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


# Rows the boundary sample aims for: enough for even ranges, small enough to sort in memory.
BOUNDARY_SAMPLE_ROWS = 200_000


def _range_bounds(con: duckdb.DuckDBPyConnection, uris: list[str], key: SortKey, rows: int,
                  chunks: int) -> list[str]:
    """Boundaries that cut the first sort key into ``chunks`` ranges of similar size: exact
    quantiles of a systematic sample (every k-th row of each file, by row number). A pure
    function of the source: no random generator, no thread timing, no path, no memory limit,
    so every rebuild cuts the same ranges (recorded in the receipt)."""
    if chunks <= 1:
        return []
    value = key.rank or key.expr  # a key with a rank is routed by its rank (range_expr)
    row = con.execute(f"SELECT {_sample_sql(value, rows, chunks)} "
                      f"FROM {scan_sql(uris, ', file_row_number=true')}").fetchone()
    values = [] if row is None or row[0] is None else list(row[0])
    return sorted(set(values), key=values.index)


def _sample_sql(value: str, rows: int, chunks: int) -> str:
    """The ``chunks``-quantiles of ``value`` over every k-th row of each file, as text."""
    if chunks <= 1:
        return "CAST(NULL AS VARCHAR[])"  # one range: no boundary
    step = max(1, rows // BOUNDARY_SAMPLE_ROWS)
    qs = ", ".join(str(i / chunks) for i in range(1, chunks))
    # CASE, not WHERE: DuckDB then parses only the sampled rows' keys (NULLs are skipped).
    return (f"CAST(quantile_disc(CASE WHEN file_row_number % {step} = 0 THEN {value} END, "
            f"[{qs}]) AS VARCHAR[])")


def _bounds_of_sample(con: duckdb.DuckDBPyConnection, key: SortKey, typ: str,
                      sample: list[str]) -> list[str]:
    """What ``_range_bounds`` gives, from quantiles of the key's own values: where the key
    orders by its own values, its rank orders the same rows the same way, so the k-th
    sampled value's rank is the k-th sampled rank."""
    values = sample
    if key.rank and sample:
        rows = ", ".join(f"({i}, CAST({sql_str(v)} AS {typ}))" for i, v in enumerate(sample))
        values = [str(r[0]) for r in con.execute(
            f"SELECT CAST({key.rank} AS VARCHAR) FROM (VALUES {rows}) "
            f"AS v(i, {quote_column(key.column)}) ORDER BY i").fetchall()]
    return sorted(set(values), key=values.index)


def _sort_and_write(con: duckdb.DuckDBPyConnection, t: _Target, output_id: str, uris: list[str],
                    staging: Path, staged: list[tuple[str, Path]], rows_per_part: int,
                    phases: _Phases, cancel: threading.Event | None, spill: str,
                    runner: _Runner) -> dict[str, Any]:
    """Linear, range-partitioned external sort. Reads: the key column (validity, boundaries),
    the source once for its stats and once to route every row (with its file and row number,
    the tie-break) into the spill file of its key range; then each range is sorted on its
    own into one part. Ties of the first key never straddle two ranges, so parts are globally
    ordered by construction, and each sort is small whatever the output's size. Routing and
    sorting run here or on a Dask cluster (``runner``); the bytes are the same."""
    phases.enter("validate")
    rows = _row_count(con, scan_sql(uris))
    chunks = max(1, -(-rows // rows_per_part))
    profile = _profile_source(con, uris, t.sort_keys,
                              whole=(rows, chunks) if runner is _run_here else None)
    plan = _sort_plan(profile, t.sort_keys)
    first = plan[0]
    try:
        phases.enter("bounds")
        if profile.sample is None:
            raw_bounds = _range_bounds(con, uris, first, rows, chunks)
        else:
            raw_bounds = _bounds_of_sample(con, first, profile.types[first.column],
                                           profile.sample)
        if first.rank:  # ranks are epoch microseconds: the receipt shows them as instants
            bounds = [str(int(b)) for b in raw_bounds]
            raw_bounds = [iso_us(int(b)) for b in raw_bounds]
        else:  # a key without a rank is its column itself, of the type DESCRIBE gave
            typ = profile.types[first.column]
            bounds = [f"CAST({sql_str(b)} AS {typ})" for b in raw_bounds]
        rp = RoutePlan(uris=uris, plan=plan, bounds=bounds, columns=list(profile.types),
                       constants=profile.constants, categories=profile.categories)
        check_cancel(cancel)
        source_raw, sorted_parts = runner(con, rp, profile.stats, staging, spill, phases,
                                          cancel)
    except (duckdb.ConversionException, OracleError) as exc:
        if isinstance(exc, OracleError) and exc.code != "SORT_KEY_INVALID":
            raise
        # A key value that denotes no instant: name the first one (file and row).
        _require_valid_instants(con, uris, plan, output_id)
        raise
    parts: list[dict[str, Any]] = []
    view_raw = RawStats()
    for part, path in sorted_parts:
        name = f"part-{len(parts):05d}.parquet"
        staged.append((name, path))
        parts.append({"path": name, "size": part.size, "sha256": part.sha256,
                      "row_count": part.rows})
        view_raw = view_raw.plus(part.stats)
    source, view = source_raw.shown(first), view_raw.shown(first)
    if (view.row_count, view.hash_sum, view.hash_sum_salted) != (
            source.row_count, source.hash_sum, source.hash_sum_salted):
        raise OracleError("STREAM_RECEIPT_MISMATCH",
                          f"the sorted view does not hold exactly the source rows "
                          f"(source {source.row_count} rows, view {view.row_count})", output_id)
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
    }


def _row_count(con: duckdb.DuckDBPyConnection, scan: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {scan}").fetchone()  # from the footers
    return int(row[0]) if row else 0


def _run_here(con: duckdb.DuckDBPyConnection, rp: RoutePlan, source: RawStats | None,
              staging: Path, spill: str, phases: _Phases, cancel: threading.Event | None
              ) -> SortedParts:
    """Route and sort in this process, on the build's own connection (its progress and
    cancel watcher see every statement); the source's stats unless the plan took them."""
    routes = Path(spill or tempfile.gettempdir()) / f"oracle-tui-routes-{uuid.uuid4().hex}"
    try:
        phases.enter("route")
        if source is None:
            source = raw_stats(con, scan_sql(rp.uris), rp.plan[0])
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


def _cluster_runner(address: str, t: _Target, memory_limit: str, threads: int | None,
                    scratch_uri: str, temp_dir: str | None) -> _Runner:
    """Route and sort as Dask tasks; scratch in a folder of this build's own, removed after."""
    from oracle_tui.core import cluster

    def run(con: duckdb.DuckDBPyConnection, rp: RoutePlan, source: RawStats | None,
            staging: Path, spill: str, phases: _Phases, cancel: threading.Event | None
            ) -> SortedParts:  # the workers take the source's stats as they route
        base = t.profile.open_store(cluster.scratch_root(scratch_uri, t.view_store, temp_dir))
        cluster.remove_stale_scratch(base)
        scratch = t.profile.open_store(base.uri(cluster.build_id()) + "/")
        job = cluster.ClusterJob(source=t.store.spec(), scratch=scratch.spec(), plan=rp,
                                 memory_limit=memory_limit, threads=threads)

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

    return run


# -- verify ---------------------------------------------------------------------------------------

def verify_stream_view(
    root: str,
    output_id: str,
    *,
    profile: Profile | None = None,
    interface_pack: InterfacePack | None = None,
    scenario_id: str | None = None,
    memory_limit: str = "2GB",
    temp_dir: str | None = None,
    threads: int | None = None,
    deep: bool = False,
    progress: Progress = no_progress,
    cancel: threading.Event | None = None,
) -> ViewState:
    """Re-derive everything the receipt claims: part digests, source and view stats, order.
    With ``deep``, also rebuild the view into scratch and compare every part's bytes (parts
    are a pure function of the source, so this proves content and the order of ties).
    A view of an output that is not readable is BLOCKED, whatever its receipt says."""
    t = _resolve(root, output_id, profile, interface_pack, scenario_id)
    location = t.view_store.uri(t.prefix)
    report = _readability_check(t, root, output_id, scenario_id, cancel)
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
                _rederive(t, receipt, memory_limit, temp_dir, threads, progress, cancel)]
    written_as = receipt.partitioning.get("part_format")
    if deep and not problems and written_as != PART_FORMAT:  # a rebuild would differ anyway
        how = f"with {written_as!r}" if written_as else "in an earlier format"
        problems.append(make_finding(
            "STREAM_DEEP_VERIFY_SKIPPED", output_id,
            f"parts were written {how}; this version writes {PART_FORMAT!r}, so bytes were "
            "not compared (everything else was verified)"))
    elif deep and not problems:
        problems += [make_finding("STREAM_RECEIPT_MISMATCH", output_id, detail) for detail in
                     _deep_differences(t, output_id, receipt, memory_limit, temp_dir, threads,
                                       cancel)]
    state.findings.extend(problems)
    if any(f.severity is Severity.FAIL for f in problems):
        state.state = "INVALID"
    return state


def _rederive(t: _Target, receipt: Receipt, memory_limit: str, temp_dir: str | None,
              threads: int | None, progress: Progress, cancel: threading.Event | None
              ) -> list[tuple[str, str]]:
    """(code, detail) for everything the receipt claims that the bytes do not bear out:
    part digests, source and view stats, the order of keys across and within parts."""
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
    con = connect(stores=[t.store, t.view_store], memory_limit=engine_share(memory_limit),
                  temp_dir=temp_dir,
                  threads=threads)
    try:
        source_uris = [object_uri(t.store, k) for k in t.source_keys]
        src = scan_sql(source_uris)
        view_uris = [object_uri(t.view_store, t.prefix + p.path) for p in receipt.parts]
        key_cols = receipt.sort_keys[: len(receipt.sort_keys) - len(TIE_BREAK)]
        plan = _sort_plan(_profile_source(con, source_uris, key_cols, find_constants=False),
                          key_cols)
        same_engine = receipt.hash.engine_version == DUCKDB_VERSION
        if not same_engine:
            bad(f"receipt hashes come from DuckDB {receipt.hash.engine_version}, this is "
                f"{DUCKDB_VERSION}", "STREAM_RECEIPT_ENGINE_MISMATCH")
        for label, scan, claimed in (("source", src, receipt.source),
                                     ("view", scan_sql(view_uris), receipt.view)):
            check_cancel(cancel)
            actual = raw_stats(con, scan, plan[0]).shown(plan[0])
            for what in _stat_differences(actual, claimed, same_engine):
                bad(f"{label} {what}")
            progress(total - 2 + (label == "view"), total)
        violation = _order_violation(con, view_uris, plan, cancel)
        if violation:
            bad(violation, "STREAM_ORDER_VIOLATION")
    except duckdb.Error as exc:
        raise duck_error(exc, memory_limit) from exc
    finally:
        con.close()
    progress(total, total)
    return problems


def _deep_differences(t: _Target, output_id: str, receipt: Receipt, memory_limit: str,
                      temp_dir: str | None, threads: int | None,
                      cancel: threading.Event | None) -> list[str]:
    """Rebuild into a scratch folder outside the view and compare part by part."""
    scratch = Path(tempfile.mkdtemp(prefix="oracle-tui-deep-", dir=temp_dir))
    try:
        rows_per_part = int(receipt.partitioning.get("rows_per_part", DEFAULT_ROWS_PER_PART))
        target = replace(t, view_store=LocalStore(scratch), prefix="view/")
        rebuilt = Receipt.model_validate(_build(target, output_id, memory_limit, temp_dir,
                                                threads, rows_per_part, no_progress, cancel))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    mine = [(p.path, p.sha256) for p in receipt.parts]
    again = [(p.path, p.sha256) for p in rebuilt.parts]
    if mine == again:
        return []
    if len(mine) != len(again):
        return [f"a rebuild makes {len(again)} parts, the view has {len(mine)}"]
    return [f"part {a[0]} differs from its rebuild ({a[1][:16]}… vs {b[1][:16]}…): content or "
            "the order of tied rows" for a, b in zip(mine, again, strict=True) if a != b]


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
    """Read every part on its own, in file order, and check the keys never go down."""
    import numpy as np

    last: tuple[Any, ...] | None = None
    for part_no, uri in enumerate(view_uris):
        scan = scan_sql([uri])
        cols = ", ".join(f"epoch_us({k.expr})" if k.kind == "epoch" else k.expr for k in plan)
        reader = con.execute(f"SELECT {cols} FROM {scan}").to_arrow_reader(batch_size=500_000)
        row_base = 0
        for batch in reader:
            check_cancel(cancel)
            arrays = [np.asarray(c.to_numpy(zero_copy_only=False)) for c in batch.columns]
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


def open_stream_view(root: str, output_id: str, *, profile: Profile | None = None,
                     interface_pack: InterfacePack | None = None,
                     scenario_id: str | None = None, batch_size: int = 65_536) -> StreamReader:
    """The view's rows in order. Refuses a view without a valid receipt; only a profile that
    allows it (local) falls back to the raw, unsorted output when no view exists, with a WARN.
    Each part's bytes are checked against the receipt's sha256 before any of its rows."""
    t = _resolve(root, output_id, profile, interface_pack, scenario_id)
    report = _readability_check(t, root, output_id, scenario_id)
    decide(report, output_id, include_view=False).require("read")
    state = _view_state_of(report, output_id, t.view_store.uri(t.prefix))
    if state.state == "VALID":
        receipt = Receipt.model_validate(state.receipt)
        return StreamReader("stream_view", _view_batches(t, receipt, batch_size), [],
                            state.receipt)
    if state.state == "MISSING" and t.profile.policy.allow_raw_fallback:
        warn = make_finding("STREAM_VIEW_MISSING", output_id,
                            "no stream view: reading the raw output, NOT time-sorted "
                            f"(profile {t.profile.name} allows this fallback)", Severity.WARN)
        return StreamReader("raw_fallback", _raw_batches(t, batch_size), [warn], None)
    if state.findings:
        first = state.findings[0]
        raise OracleError(first.code, f"refusing to read: {first.detail}", output_id)
    raise OracleError("STREAM_VIEW_MISSING", f"no stream view for {output_id} and profile "
                                             f"{t.profile.name} does not fall back to raw output",
                      output_id)


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


def _raw_batches(t: _Target, batch_size: int) -> Iterator[pa.RecordBatch]:
    for key in t.source_keys:
        data = t.store.read_bytes(key)
        yield from pq.ParquetFile(pa.BufferReader(data)).iter_batches(batch_size=batch_size)
