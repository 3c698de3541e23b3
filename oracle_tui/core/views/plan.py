"""What a stream-view build learns of its source before it routes a row: the columns and
their types, which string keys are canonical instants, which columns are constant (carried as
literals) or hold a few text values (routed as ENUMs), the sort plan, and the range
boundaries. A build in this process also takes the source's stats in the same scan."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb

from oracle_tui.core.duck import quote_column, sql_list, sql_str
from oracle_tui.core.errors import OracleError
from oracle_tui.core.paths import glob_literal
from oracle_tui.core.views.documents import PlatformStats
from oracle_tui.core.views.sort import (
    PLATFORM_MODULUS,
    STATS_AGGREGATES,
    RawStats,
    SortKey,
    constant_literal,
    enum_type,
    row_hashes,
    scan_sql,
    stats_of,
    stats_sql,
)

TEMPORAL_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS",
                  "TIMESTAMP_S", "DATE")

# RFC 3339 with microseconds and 'Z', fixed width: byte order is instant order, so such a
# column's min/max and boundary sample are taken on the text (no parsing), and its text can
# be written back from its instant (range_sort's CANONICAL_FORMAT).
CANONICAL_TS_LIKE = "____-__-__T__:__:__.______Z"
# Any RFC 3339 date-time (its T and Z may be lower case; a zone is required).
RFC3339_RE = r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"


def _column_types(con: duckdb.DuckDBPyConnection, scan: str) -> dict[str, str]:
    """The source's columns in order, with their DuckDB types."""
    return {row[0]: str(row[1]).upper()
            for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}


@dataclass(frozen=True)
class SourceProfile:
    """What planning a sort needs to know of the source, learnt in one scan."""

    types: dict[str, str]  # every column in order, with its DuckDB type
    canonical: frozenset[str]  # text sort keys whose every value is in CANONICAL_TS_LIKE form
    constants: dict[str, str]  # column -> SQL literal of its one value (see RoutePlan)
    categories: dict[str, str] = field(default_factory=dict)  # column -> ENUM (RoutePlan)
    # Taken by the same scan for a build in this process (``whole``), else None:
    stats: RawStats | None = None  # the source's stats
    sample: list[str] | None = None  # boundary quantiles of the first key's own values


def profile_source(con: duckdb.DuckDBPyConnection, uris: list[str], keys: list[str],
                    find_constants: bool = True, whole: tuple[int, int] | None = None
                    ) -> SourceProfile:
    """Column types, which text keys are canonical instants, which columns are constant and
    which text columns hold a few values (categories): one scan of just the key columns and
    the candidates that the first file suggests.

    With ``whole`` (the source's rows and the ranges wanted; a build in this process), the
    same scan reads every column and also takes the source's stats and the boundary sample,
    which would otherwise cost a scan each. Both assume the first key orders by its own
    values (canonical text, typed instants, plain values); when the scan finds text that
    is not canonical, they are dropped and the build takes them on its own."""
    types = _column_types(con, scan_sql(uris))
    reserved = sorted(set(types) & set(RESERVED_COLUMNS))
    if reserved:
        raise OracleError("STREAM_SOURCE_UNSUPPORTED", f"the source has a column named "
                                                       f"{', '.join(reserved)}: DuckDB's Parquet "
                                                       "reader gives that name to each row's "
                                                       "file or row number, which the sort's "
                                                       "tie-break needs; no view was written")
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
    categories = {c: enum_type(vs) for c, vs in few.items() if proven[c] and c not in constants}
    profile = SourceProfile(types=types, canonical=canonical, constants=constants,
                             categories=categories)
    if guess and sort_plan(profile, keys[:1])[0] == guess[0]:
        rest = list(values)
        return replace(profile, stats=stats_of(rest[:STATS_AGGREGATES]),
                       sample=[] if rest[STATS_AGGREGATES] is None
                       else list(rest[STATS_AGGREGATES]))
    return profile


def _whole_source_sql(types: dict[str, str], keys: list[str], whole: tuple[int, int] | None
                      ) -> tuple[SortKey, str] | None:
    """The first key's plan if its text is canonical, and the aggregates that take the
    source's stats and boundary sample under that plan (``profile_source``)."""
    if whole is None:
        return None
    rows, chunks = whole
    as_if_canonical = SourceProfile(types=types, canonical=frozenset(keys), constants={})
    key = sort_plan(as_if_canonical, keys[:1])[0]
    return key, f"{stats_sql(key, list(types))}, " \
                f"{_sample_sql(quote_column(key.column), rows, chunks)}"


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


def platform_bound(column: str, typ: str, canonical: bool) -> str:
    """How the platform's stream sorter bounds its first key (its receipt's min_ts_utc and
    max_ts_utc), as SQL with an ``{agg}`` placeholder: a key named ``*_utc`` is cast to
    TIMESTAMP, any other is taken as it is. The cast is applied to the bound where it keeps
    order (instants, canonical text: one cast instead of one a row), to every row where it
    does not (text with offsets, which DuckDB's cast to TIMESTAMP drops). A value the cast
    refuses, where the platform's own sorter would stop, gives no bound (NULL)."""
    quoted = quote_column(column)
    if not column.endswith("_utc") and typ == "TIMESTAMP WITH TIME ZONE":
        # Python's isoformat() of an aware instant, in UTC (the connection's zone), as text:
        # fetching it as an aware datetime would need pytz.
        bound = f"CAST({{agg}}({quoted}) AS TIMESTAMP)"
        return (f"CASE WHEN microsecond({bound}) % 1000000 = 0 "
                f"THEN strftime({bound}, '%Y-%m-%dT%H:%M:%S+00:00') "
                f"ELSE strftime({bound}, '%Y-%m-%dT%H:%M:%S.%f+00:00') END")
    if not column.endswith("_utc"):
        return f"{{agg}}({quoted})"
    if typ == "VARCHAR" and not canonical:
        return f"{{agg}}(TRY_CAST({quoted} AS TIMESTAMP))"
    if typ == "VARCHAR" or typ.startswith(TEMPORAL_TYPES):
        return f"TRY_CAST({{agg}}({quoted}) AS TIMESTAMP)"
    return "NULL"


def sort_plan(profile: SourceProfile, keys: list[str]) -> list[SortKey]:
    plan = [_sort_key(profile, key) for key in keys]
    first = plan[0]
    plan[0] = first.model_copy(update={"platform": platform_bound(
        first.column, profile.types[first.column], first.kind == "iso_string")})
    return plan


def _sort_key(profile: SourceProfile, key: str) -> SortKey:
    typ = profile.types[key]
    quoted = quote_column(key)
    if typ == "VARCHAR":
        # Values that denote no instant fail the build's casts (routing parses every one);
        # the build then names the first (require_valid_instants).
        if key in profile.canonical:
            # Fixed width, six fraction digits: text order is instant order, and two
            # different values are two different microseconds.
            return SortKey(column=key, expr=quoted, kind="iso_string",
                           rank=f"epoch_us(CAST({quoted} AS TIMESTAMP))")
        # RFC 3339 strings with offsets (or a lower-case t/z, as RFC 3339 allows): order by
        # the instant they denote. Text DuckDB would read but RFC 3339 does not allow (a
        # leading space, no zone) reaches the cast as text no cast reads: the build stops.
        cast = (f"CAST(CASE WHEN {quoted} IS NULL OR regexp_full_match({quoted}, "
                f"{sql_str(RFC3339_RE)}) THEN upper({quoted}) ELSE 'not RFC 3339' END "
                "AS TIMESTAMPTZ)")
        return SortKey(column=key, expr=cast, kind="epoch", rank=f"epoch_us({cast})")
    if typ in ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):  # microseconds: exact
        return SortKey(column=key, expr=quoted, kind="epoch", rank=f"epoch_us({quoted})")
    if typ.startswith(TEMPORAL_TYPES):
        return SortKey(column=key, expr=quoted, kind="epoch")
    return SortKey(column=key, expr=quoted, kind="value")


def require_valid_instants(con: duckdb.DuckDBPyConnection, uris: list[str],
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
            f"WHERE {quoted} IS NOT NULL AND (TRY_CAST(upper({quoted}) AS TIMESTAMPTZ) IS NULL "
            f"OR NOT regexp_full_match({quoted}, {sql_str(RFC3339_RE)})) "
            "LIMIT 1").fetchone()
        if row is not None:
            raise OracleError("SORT_KEY_INVALID", f"{key.column} = {str(row[2])[:40]!r} in "
                                                  f"{row[0]} row {row[1]} is not a valid "
                                                  "instant; no view was written", output_id)


# Rows the boundary sample aims for: enough for even ranges, small enough to sort in memory.
BOUNDARY_SAMPLE_ROWS = 200_000


def range_bounds(con: duckdb.DuckDBPyConnection, uris: list[str], key: SortKey, rows: int,
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


def bounds_of_sample(con: duckdb.DuckDBPyConnection, key: SortKey, typ: str,
                      sample: list[str]) -> list[str]:
    """What ``range_bounds`` gives, from quantiles of the key's own values: where the key
    orders by its own values, its rank orders the same rows the same way, so the k-th
    sampled value's rank is the k-th sampled rank."""
    values = sample
    if key.rank and sample:
        rows = ", ".join(f"({i}, CAST({sql_str(v)} AS {typ}))" for i, v in enumerate(sample))
        values = [str(r[0]) for r in con.execute(
            f"SELECT CAST({key.rank} AS VARCHAR) FROM (VALUES {rows}) "
            f"AS v(i, {quote_column(key.column)}) ORDER BY i").fetchall()]
    return sorted(set(values), key=values.index)


def row_count(con: duckdb.DuckDBPyConnection, scan: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {scan}").fetchone()  # from the footers
    return int(row[0]) if row else 0


# -- the platform's own reading of the source ------------------------------------------------

# The columns DuckDB adds when asked for a file's name and row number; the platform's
# sorter asks for both and leaves them out of its row hash.
FILE_META_COLUMNS = ("filename", "file_row_number")
# DuckDB's virtual columns of a Parquet scan: a real column of that name hides them.
RESERVED_COLUMNS = (*FILE_META_COLUMNS, "file_index")


def platform_scan(uris: list[str]) -> str:
    """The source as the platform's stream sorter reads it: DuckDB's defaults, so a path's
    ``key=value`` folders become columns (overriding a file's column of that name), plus
    each row's file name and row number."""
    literal = [glob_literal(u) for u in uris]
    return f"read_parquet({sql_list(literal)}, filename=true, file_row_number=true)"


def folder_values(uri: str) -> dict[str, str]:
    """A path's ``key=value`` folders, as DuckDB's hive partitioning reads them (the file
    name is not one of them)."""
    found: dict[str, str] = {}
    for segment in uri.rsplit("/", 1)[0].split("/"):
        key, eq, value = segment.partition("=")
        if eq and key:
            found[key] = value
    return found


def platform_reads_file_values(con: duckdb.DuckDBPyConnection, uris: list[str],
                               profile: SourceProfile) -> bool:
    """Whether the platform's sorter hashes exactly the values oracle-tui hashes (its
    ``raw_stats`` are then the source's stats of the build's own scan): every partition
    folder names a column of the files that holds one value in every row (the engine's
    seed, manifest_fingerprint, parameter_hash, scenario_id), every file sits in a folder
    of that same value, DuckDB hashes the folder's value as it hashes the column's, and no
    column is named like the file metadata the platform leaves out."""
    if any(c in profile.types for c in FILE_META_COLUMNS):
        return False
    folders = [folder_values(u) for u in uris]
    keys = set(folders[0]) if folders else set()
    for key in keys:
        if key not in profile.constants or len({f.get(key) for f in folders}) != 1:
            return False
    if not keys:
        return True
    platform = _column_types(con, platform_scan(uris))
    if set(platform) - set(FILE_META_COLUMNS) != set(profile.types):
        return False
    hashes = ", ".join(f"hash({quote_column(k)})" for k in sorted(keys))
    here = con.execute(f"SELECT {hashes} FROM {scan_sql(uris)} LIMIT 1").fetchone()
    there = con.execute(f"SELECT {hashes} FROM {platform_scan(uris)} LIMIT 1").fetchone()
    return here == there


def platform_source_stats(con: duckdb.DuckDBPyConnection, uris: list[str], key_column: str
                          ) -> PlatformStats:
    """The platform sorter's ``raw_stats`` over the source, its way and in its own scan: the
    columns of its read (partition folders included, file metadata left out), its payload
    hash over them in name order, its bounds of the first key."""
    scan = platform_scan(uris)
    types = _column_types(con, scan)
    columns = [c for c in types if c not in FILE_META_COLUMNS]
    payload = row_hashes(columns)[0]
    bound = platform_bound(key_column, types.get(key_column, ""), canonical=False)
    row = con.execute(
        f"SELECT count(*), CAST(coalesce(sum(CAST({payload} AS HUGEINT)), 0) AS VARCHAR), "
        f"CAST(coalesce(sum(CAST({payload} % {PLATFORM_MODULUS} AS BIGINT)), 0) AS VARCHAR), "
        f"{bound.format(agg='min')}, {bound.format(agg='max')} FROM {scan}").fetchone()
    assert row is not None
    return RawStats(rows=int(row[0]), hash_sum=int(row[1]), hash_sum_mod=int(row[2]),
                    platform_low=row[3], platform_high=row[4]).platform()
