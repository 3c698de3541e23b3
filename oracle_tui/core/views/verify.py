"""Verify a stream view (docs/contract.md §6): re-derive everything its receipt claims from
the bytes (part digests, source and view stats, the order of keys) and, with ``deep``, rebuild
it into scratch and compare."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import duckdb

from oracle_tui.core.codes import Severity
from oracle_tui.core.duck import (
    DUCKDB_VERSION,
    connect,
    duck_error,
    object_uri,
)
from oracle_tui.core.duck import (
    close as close_connection,
)
from oracle_tui.core.engine import DEFAULT_ENGINE, EngineOptions
from oracle_tui.core.errors import OracleError
from oracle_tui.core.findings import Finding, finding_from_error, make_finding
from oracle_tui.core.hashing import hash_object
from oracle_tui.core.pack import OpenedPack
from oracle_tui.core.progress import Progress, check_cancel, no_progress
from oracle_tui.core.proven_parts import copies_folder
from oracle_tui.core.readability import decide
from oracle_tui.core.report import EXCEPT_PARTS
from oracle_tui.core.storage import LocalStore
from oracle_tui.core.storage.folders import new_temp_folder
from oracle_tui.core.timeline import from_hour_counts
from oracle_tui.core.views.build import DEFAULT_ROWS_PER_PART, build_into, platform_raw, same_rows
from oracle_tui.core.views.documents import (
    Receipt,
    Stats,
    ViewState,
)
from oracle_tui.core.views.plan import (
    SourceProfile,
    profile_source,
    sort_plan,
)
from oracle_tui.core.views.sort import (
    HASH_FUNCTION,
    KNOWN_HASH_FUNCTIONS,
    PART_FORMAT,
    RawStats,
    SortKey,
    epoch_us_of,
    raw_stats,
    row_hashes,
    rows_over_time,
    scan_sql,
)
from oracle_tui.core.views.target import (
    ViewTarget,
    checked,
    prove_sources_in_place,
    proven_sources,
    readability_check,
    resolve_target,
    view_state_of,
)

# What `verify` says it did not prove (docs/reliability.md). The source it compares with is
# always proven: its parts are copied while hashed and held to the pack's digests.
NOT_DEEP = ("the order of rows with equal keys (two tied rows swapped keep every sum and "
            "the key order: --deep rebuilds and compares)")

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
    t = resolve_target(pack, output_id)
    location = t.view_store.uri(t.prefix)
    report = readability_check(t, output_id, cancel, rehash=EXCEPT_PARTS)
    decision = decide(report, output_id, include_view=False)
    if not decision.readable:
        return ViewState(output_id=output_id, state="BLOCKED", location=location,
                         findings=decision.blocking)
    t = checked(t, report, output_id)
    state = view_state_of(report, output_id, location)
    if state.state == "MISSING":
        state.findings.append(make_finding("STREAM_VIEW_MISSING", output_id,
                                           f"no view at {state.location}",
                                           t.profile.policy.stream_view_missing))
    try:
        if state.state != "VALID":
            # No view to re-derive, but the parts are proven all the same: a damaged
            # output is BLOCKED here as in check, not merely "no view".
            prove_sources_in_place(t, "verify", engine.budget().threads, cancel)
            return state
        receipt = Receipt.model_validate(state.receipt)
        problems = [make_finding(code, output_id, detail) for code, detail in
                    _rederive(t, receipt, state.upstream, engine, progress, cancel)]
    except OracleError as exc:
        if exc.code != "DIGEST_MISMATCH":
            raise
        # A source part that is not the pack's: nothing to compare the view with.
        return ViewState(output_id=output_id, state="BLOCKED", location=location,
                         findings=[finding_from_error(exc, exc.subject or output_id)])
    if deep and not problems:
        problems += _deep_differences(t, output_id, receipt, engine, cancel)
    state.not_verified = NOT_DEEP if not deep else ""
    state.findings.extend(problems)
    if any(f.severity is Severity.FAIL for f in problems):
        state.state = "INVALID"
    return state


def _rederive(t: ViewTarget, receipt: Receipt, upstream: dict[str, Any] | None,
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
    copies = copies_folder(engine.temp_dir)
    con = connect(stores=[t.store, t.view_store], memory_limit=allowed.engine_limit,
                  temp_dir=engine.temp_dir, threads=allowed.threads)
    try:
        source_uris = proven_sources(t, copies, "verify", threads=max(2, allowed.threads),
                                     cancel=cancel)
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
            # A view of no rows has no parts: nothing to scan, and nothing is what it holds.
            empty = label == "view" and not view_uris
            actual[label] = RawStats() if empty else raw_stats(con, scan, plan[0], columns,
                                                               function)
            for what in _stat_differences(actual[label].shown(plan[0]), claimed, same_engine):
                bad(f"{label} {what}")
            progress(total - 2 + (label == "view"), total)
        # A record the receipt holds (null included) is counted again; a receipt with no
        # such field (built before oracle-tui recorded it) claims nothing to count.
        if "rows_over_time" in receipt.model_fields_set:
            counted = (rows_over_time(con, scan_sql(view_uris), plan[0]) if view_uris else
                       (from_hour_counts([]) if epoch_us_of(plan[0]) else None))
            if counted != receipt.rows_over_time:
                unit = receipt.rows_over_time.unit if receipt.rows_over_time else "hour"
                bad(f"the view's rows per {unit} differ from the receipt's rows_over_time")
        # The view against the source, both hashed here: what the receipt says of either
        # (its engine, its sums) cannot turn this comparison off.
        if not same_rows(actual["view"], actual["source"]):
            bad(f"the view does not hold exactly the source's rows (source "
                f"{actual['source'].rows} rows, view {actual['view'].rows}; row-hash sums "
                f"{'equal' if actual['view'].hash_sum == actual['source'].hash_sum else 'differ'})")
        if same_engine and receipt.platform_stats_from is not None and upstream is not None:
            for what in _platform_differences(con, source_uris, profile, plan[0],
                                              actual, upstream):
                bad(what)
        violation = _order_violation(con, view_uris, plan, cancel) if view_uris else None
        if violation:
            bad(violation, "STREAM_ORDER_VIOLATION")
    except duckdb.Error as exc:
        raise duck_error(exc, engine.memory_limit) from exc
    finally:
        close_connection(con)
        shutil.rmtree(copies, ignore_errors=True)
    progress(total, total)
    return problems


def _platform_differences(con: duckdb.DuckDBPyConnection, uris: list[str],
                          profile: SourceProfile, key: SortKey, actual: dict[str, RawStats],
                          upstream: dict[str, Any]) -> list[str]:
    """The platform's raw_stats and sorted_stats, recomputed its way, against the receipt."""
    raw, _ = platform_raw(con, uris, profile, key.column, actual["source"])
    out = []
    for name, block in (("raw_stats", raw), ("sorted_stats", actual["view"].platform())):
        if upstream.get(name) != block.model_dump():
            out.append(f"the receipt's {name} are not the platform's quantities over the "
                       f"{'source' if name == 'raw_stats' else 'view'} "
                       f"(recomputed: {block.model_dump()})")
    return out


def _deep_differences(t: ViewTarget, output_id: str, receipt: Receipt, engine: EngineOptions,
                      cancel: threading.Event | None) -> list[Finding]:
    """Rebuild into a scratch folder outside the view and compare: byte-identical parts
    settle it; otherwise the rows of both, in order, must be the same."""
    scratch = new_temp_folder("oracle-tui-deep-", engine.temp_dir, "the temp folder")
    try:
        rows_per_part = int(receipt.partitioning.get("rows_per_part", DEFAULT_ROWS_PER_PART))
        target = replace(t, view_store=LocalStore(scratch), prefix="view/")
        rebuilt = Receipt.model_validate(build_into(target, output_id, engine, rows_per_part,
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


def _first_row_difference(t: ViewTarget, view_uris: list[str], rebuilt_paths: list[str],
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
        close_connection(con)
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


