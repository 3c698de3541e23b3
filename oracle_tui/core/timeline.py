"""Rows over time: how many of a view's rows fall in each hour (or day) of its time range.

A stream view's build counts them once over the parts it wrote and records the counts in
oracle-tui's receipt (``rows_over_time``); `check` holds them to the receipt's own row count
and key range, `stream-view verify` counts them again from the parts, and the inspector draws
them. No DuckDB here: the SQL is text the builder and the verifier run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

HOUR_US = 3_600_000_000
# At most this many buckets in a receipt: hours up to some 417 days of range, days beyond
# that up to some 27 years; a wider range records no picture (the receipt stays small).
MAX_BUCKETS = 10_000
UNIT_HOURS = {"hour": 1, "day": 24}
# The picture's bars, lowest to highest; an empty bucket is a space, so a gap shows.
BARS = "▁▂▃▄▅▆▇█"
# The hours of years 0001 to 9999 (what a record is written for, and datetime reads).
FIRST_HOUR, LAST_HOUR = -17_259_888, 70_389_527


class RowsOverTime(BaseModel):
    """Rows per bucket from ``start`` on, one count a bucket, empty buckets as 0; rows with
    no key value are counted apart (``null_rows``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    unit: Literal["hour", "day"]
    start: str | None  # the first bucket's start (RFC 3339, UTC); None when no row has a key
    counts: list[Annotated[int, Field(ge=0)]]
    null_rows: int = Field(ge=0)


def hour_counts_sql(epoch_us: str, scan: str) -> str:
    """Rows per hour since the epoch (floor, also before 1970), NULL keys as one group.
    ``epoch_us`` is the key as microseconds, ``scan`` what to read."""
    floor = f"(us - ((us % {HOUR_US}) + {HOUR_US}) % {HOUR_US}) // {HOUR_US}"
    return (f"SELECT {floor} AS h, count(*) FROM (SELECT {epoch_us} AS us FROM {scan}) "
            "GROUP BY h")


def from_hour_counts(rows: Iterable[Sequence[Any]]) -> RowsOverTime | None:
    """The receipt's record from ``hour_counts_sql``'s rows; None when the range is too wide
    to draw (more than MAX_BUCKETS days)."""
    hours: dict[int, int] = {}
    nulls = 0
    for hour, count in rows:
        if hour is None:
            nulls += int(count)
        else:
            hours[int(hour)] = hours.get(int(hour), 0) + int(count)
    if not hours:
        return RowsOverTime(unit="hour", start=None, counts=[], null_rows=nulls)
    for unit, size in UNIT_HOURS.items():
        buckets: dict[int, int] = {}
        for hour, count in hours.items():
            buckets[hour // size] = buckets.get(hour // size, 0) + count
        low, high = min(buckets), max(buckets)
        if high - low < MAX_BUCKETS:
            start = hour_text(low * size)
            if start is None:
                return None  # beyond the calendar this record is written in
            return RowsOverTime(unit=unit,  # type: ignore[arg-type]
                                start=start,
                                counts=[buckets.get(b, 0) for b in range(low, high + 1)],
                                null_rows=nulls)
    return None


def hour_text(hour: int) -> str | None:
    """The start of an hour since the epoch as RFC 3339 (four-digit years, 0001 to 9999);
    None outside them."""
    return iso_us(hour * HOUR_US) if FIRST_HOUR <= hour <= LAST_HOUR else None


def iso_us(epoch_us: int) -> str:
    """Epoch microseconds as RFC 3339 text (``YYYY-MM-DDThh:mm:ss.ffffffZ``): four-digit
    years below 1000 too, and any year DuckDB holds (Python's datetime stops at 9999)."""
    days, rem = divmod(epoch_us, 86_400_000_000)
    year, month, day = _civil(days)
    secs, micros = divmod(rem, 1_000_000)
    hour, rest = divmod(secs, 3600)
    minute, second = divmod(rest, 60)
    return (f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}."
            f"{micros:06d}Z")


def _civil(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day number since 1970-01-01, proleptic Gregorian (the
    standard days-to-civil arithmetic over 400-year eras)."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def problems(rot: RowsOverTime, row_count: int, min_ts: str | None,
             max_ts: str | None) -> list[str]:
    """What in a receipt's rows over time its own other claims contradict: the counts must
    add up to the view's rows; no bucket exactly when no row has a key value; the first and
    last buckets must hold the key range's ends, which must read as instants; and a range of
    at most MAX_BUCKETS hours is counted per hour, as a build records it."""
    out: list[str] = []
    if len(rot.counts) > MAX_BUCKETS or any(c < 0 for c in rot.counts) or rot.null_rows < 0:
        return ["rows_over_time has negative counts or too many buckets"]
    if sum(rot.counts) + rot.null_rows != row_count:
        out.append(f"rows_over_time adds up to {sum(rot.counts) + rot.null_rows:,} rows, the "
                   f"view has {row_count:,}")
    if not rot.counts:
        if rot.start is not None:
            out.append("rows_over_time has a start but no buckets")
        if min_ts is not None or max_ts is not None:
            out.append("rows_over_time has no buckets, but the view's rows have key values "
                       f"({min_ts} .. {max_ts})")
        return out
    start, low, high = _instant(rot.start), _instant(min_ts), _instant(max_ts)
    if start is None or start != _floor(start, rot.unit):
        article = "an" if rot.unit == "hour" else "a"
        out.append(f"rows_over_time starts at {str(rot.start)[:40]!r}, not at the start of "
                   f"{article} {rot.unit}")
        return out
    if rot.counts[0] == 0 or rot.counts[-1] == 0:
        out.append("rows_over_time has empty buckets at its ends")
    if low is None or high is None:
        out.append("rows_over_time cannot be tied to the view's key range "
                   f"({str(min_ts)[:40]} .. {str(max_ts)[:40]}): not instants")
        return out
    step = timedelta(hours=UNIT_HOURS[rot.unit])
    try:
        last = start + step * (len(rot.counts) - 1)
    except OverflowError:
        last = None
    if _floor(low, rot.unit) != start or last is None or _floor(high, rot.unit) != last:
        out.append("rows_over_time does not span the view's key range "
                   f"({min_ts} .. {max_ts})")
    elif rot.unit == "day" and \
            (_floor(high, "hour") - _floor(low, "hour")) // timedelta(hours=1) < MAX_BUCKETS:
        out.append("rows_over_time counts per day a range a build counts per hour")
    return out


_INSTANT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z")


def _instant(text: str | None) -> datetime | None:
    """A receipt's instant (``…T hh:mm:ss.ffffffZ``, as the view's bounds are written);
    ``T24:00:00.000000`` is the next day's midnight, as DuckDB reads it."""
    found = _INSTANT.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        return None
    y, mo, d, h, mi, sec, us = (int(g) for g in found.groups())
    try:
        if (h, mi, sec, us) == (24, 0, 0, 0):
            return datetime(y, mo, d, tzinfo=UTC) + timedelta(days=1)
        return datetime(y, mo, d, h, mi, sec, us, tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _floor(t: datetime, unit: str) -> datetime:
    t = t.replace(minute=0, second=0, microsecond=0)
    return t.replace(hour=0) if unit == "day" else t


# -- the picture ------------------------------------------------------------------------------

def columns_of(counts: Sequence[int], width: int) -> list[int]:
    """The counts in at most ``width`` columns, each the sum of the buckets it covers (whole
    buckets, so a column of zeros is a real gap, never a rounding artefact)."""
    if width <= 0 or not counts:
        return []
    per = -(-len(counts) // width)
    return [sum(counts[i:i + per]) for i in range(0, len(counts), per)]


def bar_line(columns: Sequence[int]) -> str:
    """One character a column: a space for none, else a bar scaled to the tallest column
    (any row at all shows at least the lowest bar)."""
    top = max(columns, default=0)
    if top == 0:
        return " " * len(columns)
    steps = len(BARS)
    return "".join(" " if c == 0 else BARS[min(steps - 1, (c * steps - 1) // top)]
                   for c in columns)


def bucket_start(rot: RowsOverTime, index: int) -> datetime | None:
    start = _instant(rot.start)
    try:
        return None if start is None else start + timedelta(hours=UNIT_HOURS[rot.unit] * index)
    except OverflowError:
        return None  # past year 9999


def gaps(rot: RowsOverTime) -> list[tuple[datetime, datetime]]:
    """The runs of empty buckets inside the range, longest first: (first empty bucket's
    start, the next non-empty bucket's start)."""
    runs: list[tuple[int, int]] = []
    first: int | None = None
    for i, c in enumerate(rot.counts):
        if c == 0 and first is None:
            first = i
        elif c != 0 and first is not None:
            runs.append((first, i))
            first = None
    runs.sort(key=lambda r: (r[0] - r[1], r[0]))
    out = []
    for a, b in runs:
        start, end = bucket_start(rot, a), bucket_start(rot, b)
        if start is not None and end is not None:
            out.append((start, end))
    return out


EIGHTHS = " ▏▎▍▌▋▊▉"


def hbar(value: int, top: int, width: int = 20) -> str:
    """A horizontal bar of ``value`` against ``top`` in ``width`` cells, to an eighth of a
    cell; any value above zero shows at least an eighth."""
    if top <= 0 or value <= 0:
        return ""
    eighths = max(1, value * width * 8 // top)
    return "█" * (eighths // 8) + EIGHTHS[eighths % 8].strip()


def picture_lines(rot: RowsOverTime, width: int) -> list[str]:
    """The rows over time in ``width`` columns: what one mark covers and the peak, the bars,
    the range's two ends under them, and the gaps (empty stretches inside the range)."""
    if not rot.counts:
        return [f"no row has a key value ({rot.null_rows:,} rows without one)"
                if rot.null_rows else "the view has no rows"]
    cols = columns_of(rot.counts, width)
    per = -(-len(rot.counts) // max(1, width))
    mark = f"1 {rot.unit}" if per == 1 else f"{per} {rot.unit}s"
    shape = "%Y-%m-%d %H:00" if rot.unit == "hour" else "%Y-%m-%d"
    first, last = bucket_start(rot, 0), bucket_start(rot, len(rot.counts) - 1)
    if first is None or last is None:  # check refuses such a record; never draw a guess
        return ["not drawn: the recorded range does not read as instants of years 1 to 9999"]
    left, right = first.strftime(shape), last.strftime(shape)
    # The range's end without its year where it is the start's.
    same = 5 if right[:5] == left[:5] else 0
    lines = [f"{sum(rot.counts):,} rows, {left} .. {right[same:]} UTC; a mark is {mark}, "
             f"the tallest {max(cols):,} rows",
             bar_line(cols), _axis(rot, len(cols), per)]
    found = gaps(rot)
    if not found:
        lines.append(f"no empty {rot.unit} inside the range")
    else:
        a, b = found[0]
        size = int((b - a).total_seconds() // 3600 // UNIT_HOURS[rot.unit])
        lines.append(f"{len(found)} gap{'s' if len(found) != 1 else ''}; the longest "
                     f"{a.strftime(shape)} .. {b.strftime(shape)} ({size} {rot.unit}"
                     f"{'s' if size != 1 else ''} without a row)")
    if rot.null_rows:
        lines.append(f"{rot.null_rows:,} rows without a key value (not drawn)")
    return lines


def _axis(rot: RowsOverTime, columns: int, per: int) -> str:
    """Under the bars: ``|`` and the day (hours drawn) or month (days drawn) where one
    begins, as many as fit with a space between them."""
    shape = "%m-%d" if rot.unit == "hour" else "%Y-%m"
    line = [" "] * columns
    free = 0  # the first column a label may start at
    previous = None
    for c in range(columns):
        t = bucket_start(rot, c * per)
        if t is None:
            break
        label = t.strftime(shape)
        if label != previous and c >= free and c + len(label) + 1 <= columns:
            line[c:c + len(label) + 1] = "|" + label
            free = c + len(label) + 2
        previous = label
    return "".join(line).rstrip()
