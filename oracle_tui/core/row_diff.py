"""Row-level difference of one output between two worlds, cheapest first (data-diff's idea).

Every row of each side goes into one of ``segments`` buckets by the hash of its key; per
bucket, each side gives its row count and two sums of row hashes in one aggregate scan. Only
the buckets whose sums differ are read again, row by row, and compared: two outputs that
differ in ten rows cost two aggregate scans and a read of ten buckets' worth of keys, never
a join of the whole outputs.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, Field

from oracle_tui.core.duck import quote_column
from oracle_tui.core.progress import check_cancel
from oracle_tui.core.views.sort import row_hashes, scan_sql

MAX_DAYS = 400  # past this many days, the differing rows are counted per month
ROWS_PER_SEGMENT = 10_000  # rows re-read for one differing row, at most (on average)
MIN_SEGMENTS, MAX_SEGMENTS = 16, 1 << 16


class RowExample(BaseModel):
    """One differing row: its key, the side it is only on (or None: on both, changed), the
    columns that differ, and its values on each side."""

    key: dict[str, Any]
    only_in: Literal["a", "b"] | None = None
    columns: list[str] = Field(default_factory=list)
    a: dict[str, Any] | None = None
    b: dict[str, Any] | None = None


class WhenDiffering(BaseModel):
    """The differing rows of one day (or month) of the output's time column."""

    when: str | None  # YYYY-MM-DD or YYYY-MM; None: rows with no readable time
    changed: int = 0
    only_in_a: int = 0
    only_in_b: int = 0

    @property
    def rows(self) -> int:
        return self.changed + self.only_in_a + self.only_in_b


class RowDifference(BaseModel):
    key_columns: list[str]
    compared_columns: list[str]
    segments: int
    segments_differing: int
    rows_a: int
    rows_b: int
    only_in_a: int = 0
    only_in_b: int = 0
    changed: int = 0
    examples: list[RowExample] = Field(default_factory=list)
    # Where the differing rows lie in time: per day of ``time_column`` (per month past
    # MAX_DAYS days), in time order; empty without a time column.
    time_column: str | None = None
    time_unit: Literal["day", "month"] = "day"
    by_time: list[WhenDiffering] = Field(default_factory=list)


def segments_for(rows: int) -> int:
    """Buckets enough that one differing row re-reads about ROWS_PER_SEGMENT rows."""
    wanted = max(MIN_SEGMENTS, rows // ROWS_PER_SEGMENT)
    return min(MAX_SEGMENTS, 1 << (wanted - 1).bit_length())


def diff_rows(con: duckdb.DuckDBPyConnection, sides: tuple[list[str], list[str]],
              key: list[str], columns: list[str], examples: int,
              cancel: threading.Event | None = None, time_column: str | None = None
              ) -> RowDifference:
    """Compare the rows of two sets of Parquet files (``sides``: A's and B's URIs) keyed by
    ``key`` over ``columns`` (key included). Keys that repeat are compared as multisets.
    With ``time_column`` (one of ``columns``), the differing rows are also counted per day
    of it."""
    plain, salted = row_hashes(columns)
    keys = ", ".join(quote_column(c) for c in key)
    scans = [scan_sql(uris) for uris in sides]
    rows = [int(con.execute(f"SELECT count(*) FROM {scan}").fetchone()[0])  # type: ignore[index]
            for scan in scans]
    segments = segments_for(max(rows))
    seg = f"(hash({keys}) % {segments})"
    sums = []
    for scan in scans:
        check_cancel(cancel)
        sums.append({r[0]: r[1:] for r in con.execute(
            f"SELECT {seg} AS s, count(*), sum({plain}::HUGEINT), sum({salted}::HUGEINT) "
            f"FROM {scan} GROUP BY s").fetchall()})
    differing = sorted(s for s in set(sums[0]) | set(sums[1])
                       if sums[0].get(s) != sums[1].get(s))
    out = RowDifference(key_columns=key, compared_columns=columns, segments=segments,
                        segments_differing=len(differing), rows_a=rows[0], rows_b=rows[1])
    if not differing:
        return out
    check_cancel(cancel)
    cols = ", ".join(quote_column(c) for c in columns)
    picked = ", ".join(str(s) for s in differing)
    for name, scan in zip(("a", "b"), scans, strict=True):
        # Only the differing buckets, with each row's hash: rows equal on both sides drop out.
        con.execute(f"CREATE OR REPLACE TEMP TABLE side_{name} AS SELECT {cols}, {plain} AS "
                    f"_h1, {salted} AS _h2 FROM {scan} WHERE {seg} IN ({picked})")
    con.execute("CREATE OR REPLACE TEMP TABLE only_a AS SELECT * FROM side_a EXCEPT ALL "
                "SELECT * FROM side_b")
    con.execute("CREATE OR REPLACE TEMP TABLE only_b AS SELECT * FROM side_b EXCEPT ALL "
                "SELECT * FROM side_a")
    on = " AND ".join(f"x.{quote_column(c)} IS NOT DISTINCT FROM y.{quote_column(c)}"
                      for c in key)
    count = "SELECT count(*) FROM {0} x WHERE {1} EXISTS (SELECT 1 FROM {2} y WHERE {3})"
    out.changed = _scalar(con, count.format("only_a", "", "only_b", on))
    out.only_in_a = _scalar(con, count.format("only_a", "NOT", "only_b", on))
    out.only_in_b = _scalar(con, count.format("only_b", "NOT", "only_a", on))
    out.examples = _examples(con, key, columns, examples)
    if time_column in columns:
        found = _by_time(con, quote_column(time_column), on)
        if found is not None:
            out.time_column = time_column
            out.time_unit, out.by_time = found
    return out


INSTANT_TYPES = frozenset({"DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS",
                           "TIMESTAMP_MS", "TIMESTAMP_S"})


def _by_time(con: duckdb.DuckDBPyConnection, column: str, on: str
             ) -> tuple[Literal["day", "month"], list[WhenDiffering]] | None:
    """The differing rows per UTC day of ``column`` (a changed row by A's value); None when
    the column holds no instants (a number, a name). Text is read as an instant where it is
    one (an offset counts: 23:30-05:00 is the next day in UTC), else it has no day."""
    typ = str(con.execute(f"DESCRIBE SELECT {column} FROM only_a").fetchall()[0][1])
    if typ == "VARCHAR":
        instant = f"TRY_CAST(x.{column} AS TIMESTAMPTZ)"
    elif typ in INSTANT_TYPES:  # (a list of instants has no one day)
        instant = f"CAST(x.{column} AS TIMESTAMPTZ)"
    else:
        return None
    # The connection's time zone is UTC (core.duck.connect): the text of an instant starts
    # with its UTC date.
    day = f"left(CAST({instant} AS VARCHAR), 10)"
    rows = con.execute(
        f"SELECT d, k, count(*) FROM ("
        f"SELECT {day} AS d, CASE WHEN EXISTS (SELECT 1 FROM only_b y WHERE {on}) "
        f"THEN 'changed' ELSE 'only_in_a' END AS k FROM only_a x UNION ALL "
        f"SELECT {day}, 'only_in_b' FROM only_b x WHERE NOT EXISTS "
        f"(SELECT 1 FROM only_a y WHERE {on})) GROUP BY d, k").fetchall()
    days = {d for d, _, _ in rows if d is not None}
    unit: Literal["day", "month"] = "day" if len(days) <= MAX_DAYS else "month"
    found: dict[str | None, WhenDiffering] = {}
    for when, kind, count in rows:
        when = when if when is None or unit == "day" else when[:7]
        entry = found.setdefault(when, WhenDiffering(when=when))
        setattr(entry, kind, getattr(entry, kind) + int(count))
    # Time order, rows with no readable time last.
    return unit, sorted(found.values(), key=lambda w: (w.when is None, w.when or ""))


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _examples(con: duckdb.DuckDBPyConnection, key: list[str], columns: list[str],
              limit: int) -> list[RowExample]:
    """The first ``limit`` differing rows in key order: changed rows with both sides, then
    rows found on one side only."""
    if limit <= 0:
        return []
    order = ", ".join(quote_column(c) for c in key)
    cols = ", ".join(quote_column(c) for c in columns)
    found: list[RowExample] = []
    # An instant with a time zone (TIMESTAMPTZ, as a Parquet timestamp adjusted to UTC
    # reads; TIMETZ; a list of them) comes as text, in UTC (the connection's zone): DuckDB's
    # conversion of one to Python needs pytz. So does one in nanoseconds, which Python's
    # datetime would cut to microseconds (two values a nanosecond apart shown the same).
    # Every other value comes as DuckDB converts it (Arrow's conversion refuses nanoseconds
    # and instants past year 9999).
    described = con.execute(f"DESCRIBE SELECT {cols} FROM only_a").fetchall()
    shown = ", ".join(f"CAST({quote_column(name)} AS VARCHAR)" if _as_text(str(typ))
                      else quote_column(name) for name, typ, *_ in described)
    rows = con.execute(
        f"SELECT {shown}, _side FROM (SELECT {cols}, 'a' AS _side FROM only_a UNION ALL "
        f"SELECT {cols}, 'b' FROM only_b) ORDER BY {order}, _side LIMIT {limit * 2}").fetchall()
    by_key: dict[tuple[Any, ...], dict[str, dict[str, Any]]] = {}
    for row in rows:
        values = dict(zip(columns, row[:-1], strict=True))
        by_key.setdefault(tuple(_hashable(values[c]) for c in key), {})[row[-1]] = values
    for sides in by_key.values():
        a, b = sides.get("a"), sides.get("b")
        first = a or b
        assert first is not None
        example = RowExample(key={c: _plain(first[c]) for c in key},
                             a=_plain_row(a), b=_plain_row(b))
        if a is not None and b is not None:
            example.columns = [c for c in columns if not _same(a[c], b[c])]
        else:
            example.only_in = "a" if a is not None else "b"
        found.append(example)
        if len(found) == limit:
            break
    return found


def _as_text(typ: str) -> bool:
    return "WITH TIME ZONE" in typ or "TIMESTAMP_NS" in typ


def _hashable(value: Any) -> Any:
    """A key value as a dict key (a list or struct key is compared by its text)."""
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal values, NaN included (a float column whose NaN did not change is no change)."""
    return bool(a == b) or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)


def _plain(value: Any) -> Any:
    """A value as JSON can hold it (timestamps and decimals as text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _plain_row(row: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if row is None else {k: _plain(v) for k, v in row.items()}
