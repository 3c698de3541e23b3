"""The two task bodies of a stream-view build, run in-process or on Dask workers.

*Route* copies every row of a group of source files, with its source file's index and row
number (the tie-break), into the spill file of its key range (``raw_stats`` takes the
group's stats beforehand, or the build's planning scan took the whole source's).
*Sort* orders one range's rows into one part and takes the part's stats. Both return
:class:`RawStats`, which compose by addition and min/max: the receipt of many tasks equals
the receipt of one, so parts and receipts do not depend on how the work was split.
Everything here is DuckDB over plain files or URIs; no store, no progress, no publishing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow.parquet as pq
from pydantic import BaseModel

from oracle_tui.core.duck import memory_limit_bytes, quote_column, sql_list, sql_str
from oracle_tui.core.errors import OracleError
from oracle_tui.core.hashing import sha256_file
from oracle_tui.core.paths import glob_literal
from oracle_tui.core.timeline import RowsOverTime, from_hour_counts, hour_counts_sql, iso_us
from oracle_tui.core.views.documents import PlatformStats, Stats

RANGE_COLUMN = "__oracle_range"
# The tie-break as one integer: the source file's index in the sorted source list, shifted
# past the row number within the file (files hold fewer than 2^40 rows).
TIE_COLUMN = "__oracle_tie"
# The first key as an integer of the same order, where it has one (instants): sorting on
# two BIGINTs is about a third faster than on a 27-byte string, an integer and a BIGINT.
RANK_COLUMN = "__oracle_rank"
ROW_BITS = 40
# A canonical instant's text (view_plan's CANONICAL_TS_LIKE) from its timestamp.
CANONICAL_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# Parts: zstd at level 1 writes a range a fifth faster than DuckDB's default level for 1%
# more bytes; no Bloom filters (a stream reads every row; they only cost bytes).
PART_OPTIONS = "COMPRESSION zstd, COMPRESSION_LEVEL 1, WRITE_BLOOM_FILTER false"
# The spill is read once, by the range sorts: lz4 (cheap to write and read) and no
# dictionaries. Few-valued text arrives as ENUMs (written as dictionaries anyway); for the
# integers, instants and doubles left, trying a dictionary on every value costs a tenth of
# routing's CPU for 7% fewer spilled bytes.
SPILL_OPTIONS = "COMPRESSION lz4, DICTIONARY_SIZE_LIMIT 0"
# What a rebuild needs to write the same bytes (recorded in the receipt): the COPY options
# and how constant text columns reach the writer (constant_literal).
PART_FORMAT = f"{PART_OPTIONS}; constant text as a one-value ENUM"


class SortKey(BaseModel):
    """How one sort-key column is ordered and shown."""

    column: str
    expr: str  # the SQL expression ORDER BY uses
    kind: Literal["iso_string", "epoch", "value"]  # how min/max are shown in receipts
    rank: str = ""  # a BIGINT expression ordered exactly as ``expr`` ("" when none)
    # The platform sorter's min/max of this key (its receipt's min_ts_utc/max_ts_utc), as
    # SQL with an ``{agg}`` placeholder for min or max (view_plan.platform_bound).
    platform: str = "NULL"


def scan_sql(uris: list[str], extra: str = "") -> str:
    """``read_parquet`` over exactly these files."""
    # hive_partitioning off: engine paths carry seed=/scenario_id=/output_id= segments, and
    # DuckDB would otherwise add or override columns from them (the view must hold exactly
    # the file's own columns and values).
    # Every path as a pattern matching only itself: DuckDB globs each list entry, and a root
    # named `pack?` or a part named `part-*.parquet` must never widen what is read.
    literal = [glob_literal(u) for u in uris]
    return f"read_parquet({sql_list(literal)}, hive_partitioning=false{extra})"


# Row hashes. The first is the platform sorter's own payload hash (its stream_sorter builds
# ``hash("c1", "c2", …)`` over the columns sorted by name with Python's sort), so its
# receipt's hash_sum and hash_sum2 come from the same per-row value as ours; the second,
# salted, is oracle-tui's: two independent sums that an altered, dropped or duplicated row
# (even an even number of duplicates) cannot both keep.
HASH_FUNCTION = ("duckdb hash() of the columns in name order, and of the same with "
                 "'oracle-tui' appended, summed as HUGEINT")
# What oracle-tui 0.1 hashed (the row as one struct, in file order); its receipts are
# still verified with it.
HASH_FUNCTION_0_1 = "duckdb hash(row) and hash(row, 'oracle-tui'), summed as HUGEINT"
KNOWN_HASH_FUNCTIONS = (HASH_FUNCTION, HASH_FUNCTION_0_1)
# The platform's second sum: each row hash modulo this prime, summed as BIGINT.
PLATFORM_MODULUS = 1_000_000_007


def row_hashes(columns: Sequence[str], function: str = HASH_FUNCTION) -> tuple[str, str]:
    """The SQL of the two row hashes of ``function`` over rows with these columns."""
    if function == HASH_FUNCTION_0_1:
        row = f"struct_pack({', '.join(quote_column(c) for c in columns)})"
        return f"hash({row})", f"hash({row}, 'oracle-tui')"
    named = ", ".join(quote_column(c) for c in sorted(columns))
    return f"hash({named})", f"hash({named}, 'oracle-tui')"


@dataclass(frozen=True)
class RawStats:
    """Row count, first-key bounds (as DuckDB returns them), the two row-hash sums, and the
    platform's own quantities: its modular sum and its key bounds (``SortKey.platform``)."""

    rows: int = 0
    low: Any = None
    high: Any = None
    hash_sum: int = 0
    hash_sum_salted: int = 0
    hash_sum_mod: int = 0
    platform_low: Any = None
    platform_high: Any = None

    def plus(self, other: RawStats) -> RawStats:
        return RawStats(self.rows + other.rows, _least(self.low, other.low),
                        _greatest(self.high, other.high), self.hash_sum + other.hash_sum,
                        self.hash_sum_salted + other.hash_sum_salted,
                        self.hash_sum_mod + other.hash_sum_mod,
                        _least(self.platform_low, other.platform_low),
                        _greatest(self.platform_high, other.platform_high))

    def shown(self, key: SortKey) -> Stats:
        return Stats(row_count=self.rows, min_ts=_shown(key, self.low),
                     max_ts=_shown(key, self.high), hash_sum=str(self.hash_sum),
                     hash_sum_salted=str(self.hash_sum_salted))

    def platform(self) -> PlatformStats:
        """The platform sorter's stats block, formatted as its ``_compute_stats`` formats
        it: sums as decimal text ("None" over no rows, where its SUM is NULL), bounds as
        Python's ``isoformat()`` of an instant or ``str()`` of anything else."""
        empty = self.rows == 0
        return PlatformStats(row_count=self.rows,
                             hash_sum="None" if empty else str(self.hash_sum),
                             hash_sum2="None" if empty else str(self.hash_sum_mod),
                             min_ts_utc=platform_text(self.platform_low),
                             max_ts_utc=platform_text(self.platform_high))


def _least(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else min(a, b)


def _greatest(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else max(a, b)


def platform_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _bound_sql(key: SortKey, which: str) -> str:
    # Epochs as integers; strings and values as themselves: both compare in Python exactly
    # as DuckDB orders them (UTF-8 byte order is code-point order), so bounds compose.
    if key.kind == "epoch":
        return f"epoch_us({which}({key.expr}))"
    return f"{which}({key.expr})"


def epoch_us_of(key: SortKey) -> str:
    """The key as epoch microseconds in SQL ("" for a key that is no instant)."""
    if key.rank:
        return key.rank
    return f"epoch_us({key.expr})" if key.kind == "epoch" else ""


def rows_over_time(con: duckdb.DuckDBPyConnection, scan: str, key: SortKey
                   ) -> RowsOverTime | None:
    """The rows of ``scan`` per hour (or day) of its first key; None for a key that is no
    instant or a range too wide to draw. Reads the key column only."""
    us = epoch_us_of(key)
    if not us:
        return None
    return from_hour_counts(con.execute(hour_counts_sql(us, scan)).fetchall())


def _shown(key: SortKey, value: Any) -> str | None:
    if value is None:
        return None
    if key.kind == "epoch":
        return iso_us(int(value))
    # Canonical text is shown as it is: it already has the receipt's form, and a value
    # such as T24:00:00 (valid to DuckDB) is not one Python's datetime would parse.
    return str(value)


STATS_AGGREGATES = 8  # how many values stats_sql yields (and stats_of reads)


def stats_sql(key: SortKey, columns: Sequence[str], function: str = HASH_FUNCTION) -> str:
    """The aggregates of :class:`RawStats` (``stats_of`` reads them back) over rows with
    these columns. The platform's payload hash appears twice; DuckDB computes it once."""
    plain, salted = row_hashes(columns, function)
    return (f"count(*), {_bound_sql(key, 'min')}, {_bound_sql(key, 'max')}, "
            f"CAST(coalesce(sum(CAST({plain} AS HUGEINT)), 0) AS VARCHAR), "
            f"CAST(coalesce(sum(CAST({salted} AS HUGEINT)), 0) AS VARCHAR), "
            f"CAST(coalesce(sum(CAST({plain} % {PLATFORM_MODULUS} AS BIGINT)), 0) AS VARCHAR), "
            f"{key.platform.format(agg='min')}, {key.platform.format(agg='max')}")


def stats_of(row: Sequence[Any]) -> RawStats:
    return RawStats(int(row[0]), row[1], row[2], int(row[3]), int(row[4]), int(row[5]),
                    row[6], row[7])


def raw_stats(con: duckdb.DuckDBPyConnection, scan: str, key: SortKey, columns: Sequence[str],
              function: str = HASH_FUNCTION) -> RawStats:
    try:
        row = con.execute(f"SELECT {stats_sql(key, columns, function)} FROM {scan}"
                          ).fetchone()
    except duckdb.ConversionException as exc:
        raise OracleError("SORT_KEY_INVALID", f"sort key is not a valid timestamp: "
                                              f"{str(exc).splitlines()[0][:160]}") from exc
    assert row is not None
    return stats_of(row)


def enum_type(values: list[str]) -> str:
    """The SQL of an ENUM type of exactly these text values."""
    return f"ENUM({', '.join(sql_str(v) for v in values)})"


def constant_literal(value: str, typ: str) -> str:
    """The SQL literal a part writes for a column holding ``value`` (its text) in every row.
    Text goes through a one-value ENUM: DuckDB's Parquet writer then emits the dictionary
    and its all-zero indices directly instead of hashing the string once per row to find
    its dictionary entry (a 64-character constant cost 0.28 s per 4M rows, now 0.03 s). The
    file is the same to every reader: a UTF-8 string column, one dictionary value, the same
    statistics."""
    if typ == "VARCHAR":
        return f"CAST({sql_str(value)} AS {enum_type([value])})"
    return f"CAST({sql_str(value)} AS {typ})"


def range_expr(key: SortKey, bounds: list[str]) -> str:
    """Which range a row falls in: 0..len(bounds) by the first key, NULL keys last. Bounds
    of a key with a rank are ranks, compared with the routed rank column (two integers
    instead of two strings or instants, every row)."""
    value = RANK_COLUMN if key.rank else key.expr
    whens = " ".join(f"WHEN {value} < {b} THEN {i}" for i, b in enumerate(bounds))
    return f"CASE WHEN {value} IS NULL THEN {len(bounds) + 1} {whens} ELSE {len(bounds)} END"


@dataclass(frozen=True)
class RoutePlan:
    """What every task of one build shares: the sources in order (a file's index in this
    list is its tie-break), the sort plan, the range boundaries (SQL literals), the source's
    columns in order and those of its columns that hold one value in every row.

    Such constant columns (an engine output's seed, manifest_fingerprint, parameter_hash,
    scenario_id: its world's tokens) are not routed or sorted but written into each part as
    literals: some 140 of the 230 bytes an engine row carries, and nearly half the time a
    range sort takes.
    The part stats still hash every column: a wrong literal fails a build, never passes one.

    Text columns proven to hold only a few values (categories: an event type, a channel) are
    routed as an ENUM of those values: DuckDB writes them to the spill as dictionary
    indices instead of hashing every string into a dictionary (a fifth of routing's writing
    on the engine's event rows). The spill reads back as the same text, so the parts do not
    change.

    A first key of canonical instants (``text_from_rank``) is not routed as text either:
    its rank (epoch microseconds) is, and each part writes the text back from it, in the
    canonical form. The rare value that does not come back the same (``T24:00:00``) changes
    the part stats, and the build then routes the text after all (``stream_view``)."""

    uris: list[str]
    plan: list[SortKey]
    bounds: list[str]
    columns: list[str]
    constants: dict[str, str]  # column -> SQL literal of its one value
    categories: dict[str, str] = field(default_factory=dict)  # column -> ENUM of its values
    text_from_rank: str = ""  # a canonical first key whose text parts write from its rank

    @property
    def ranges(self) -> int:
        return len(self.bounds) + 2  # the ranges between bounds, and one for NULL keys

    def part_columns(self) -> str:
        """The SELECT list of a part: the source's columns in order, constants as literals,
        a key's text from its rank."""
        def one(column: str) -> str:
            quoted = quote_column(column)
            if column in self.constants:
                return f"{self.constants[column]} AS {quoted}"
            if column == self.text_from_rank:
                return (f"strftime(make_timestamp({RANK_COLUMN}), "
                        f"{sql_str(CANONICAL_FORMAT)}) AS {quoted}")
            return quoted
        return ", ".join(one(c) for c in self.columns)


def route(con: duckdb.DuckDBPyConnection, rp: RoutePlan, first: int, count: int,
          out_dir: Path) -> None:
    """The rows of source files ``first``..``first+count`` routed into
    ``out_dir/w<k>/__oracle_range=<i>/*.parquet`` (``routed_files`` finds them). A partitioned
    write keeps state for every range it writes, per thread, so the ranges are routed in waves
    the memory limit carries (one wave, one read of the files, unless a build asks for very
    many small parts)."""
    group = rp.uris[first:first + count]
    scan = scan_sql(group, ", file_row_number=true")
    # DuckDB numbers the files of a scan in list order (``file_index``); every list entry
    # matches exactly one file (glob_literal), so that is the file's position in the list.
    tie = (f"CASE WHEN file_index >= {len(group)} OR file_row_number >= {1 << ROW_BITS} THEN "
           f"error('a row of an unlisted source file, or a file of 2^{ROW_BITS} rows') ELSE "
           f"((CAST(file_index AS BIGINT) + {first}) << {ROW_BITS}) | file_row_number END")
    key = rp.plan[0]
    rank = f", {key.rank} AS {RANK_COLUMN}" if key.rank else ""
    dropped = ", ".join(["file_row_number", *(quote_column(c) for c in rp.constants),
                         *([quote_column(rp.text_from_rank)] if rp.text_from_rank else [])])
    as_enums = ", ".join(f"CAST({quote_column(c)} AS {enum}) AS {quote_column(c)}"
                         for c, enum in rp.categories.items())
    replaced = f" REPLACE ({as_enums})" if as_enums else ""
    con.execute(f"SET partitioned_write_flush_threshold = {_flush_rows(con)}")
    wave = ranges_per_wave(con)
    out_dir.mkdir(parents=True, exist_ok=True)  # DuckDB makes the wave's folder, not parents
    for k, low in enumerate(range(0, rp.ranges, wave)):
        only = (f" WHERE {RANGE_COLUMN} BETWEEN {low} AND {low + wave - 1}"
                if wave < rp.ranges else "")
        con.execute(f"COPY (SELECT * FROM (SELECT *, {range_expr(key, rp.bounds)} AS "
                    f"{RANGE_COLUMN} FROM (SELECT * EXCLUDE ({dropped}){replaced}, {tie} AS "
                    f"{TIE_COLUMN}{rank} FROM {scan})){only}) "
                    f"TO {sql_str(str(out_dir / f'w{k:04d}'))} "
                    f"(FORMAT parquet, PARTITION_BY ({RANGE_COLUMN}), {SPILL_OPTIONS})")


# What one range costs a partitioned write, per thread (buffers, a writer's state): measured
# at some 0.3 MB a range on two threads, taken at a megabyte to leave room.
RANGE_STATE_BYTES = 1 << 20


def ranges_per_wave(con: duckdb.DuckDBPyConnection) -> int:
    """How many ranges one routing pass may write at this memory limit and thread count."""
    row = con.execute("SELECT current_setting('threads')").fetchone()
    threads = max(1, int(row[0])) if row else 1
    return max(16, memory_limit_bytes(con) // (threads * RANGE_STATE_BYTES))


def _flush_rows(con: duckdb.DuckDBPyConnection) -> int:
    """Rows each thread buffers across all ranges before writing them out. DuckDB's default
    (524,288 rows, some 130 MB of wide rows per thread) overflows a small memory limit and
    spills the buffers themselves: at 256 MB and 34 ranges routing took 185 s instead of
    145 s. A quarter of the limit shared by the threads, at up to 4 KB a row."""
    row = con.execute("SELECT current_setting('threads')").fetchone()
    threads = max(1, int(row[0])) if row else 1
    return max(16_384, min(524_288, memory_limit_bytes(con) // (threads * 4096)))


def routed_files(out_dir: Path, range_no: int) -> list[Path]:
    return sorted(out_dir.glob(f"w*/{RANGE_COLUMN}={range_no}/*.parquet"))


@dataclass(frozen=True)
class SortedPart:
    rows: int
    size: int
    sha256: str
    stats: RawStats


def sort_range(con: duckdb.DuckDBPyConnection, rp: RoutePlan, files: list[str],
               out: Path) -> SortedPart:
    """One range's rows in view order, written to ``out`` (the whole order is unique: keys,
    then source file index and row number), with the part's own stats."""
    plan = rp.plan
    first = RANK_COLUMN if plan[0].rank else plan[0].expr
    order = ", ".join([first, *(k.expr for k in plan[1:]), TIE_COLUMN])
    # The projection above the ordered subquery keeps its order (DuckDB preserves the order
    # of a subquery through SELECT and COPY); the constants join the rows only there, after
    # the sort, so the sort never moves them.
    con.execute(f"COPY (SELECT {rp.part_columns()} FROM (SELECT * FROM {scan_sql(files)} "
                f"ORDER BY {order})) TO {sql_str(str(out))} (FORMAT parquet, {PART_OPTIONS})")
    rows = pq.ParquetFile(out).metadata.num_rows
    stats = raw_stats(con, scan_sql([str(out)]), plan[0], rp.columns) if rows else RawStats()
    return SortedPart(rows=rows, size=out.stat().st_size, sha256=sha256_file(out), stats=stats)
