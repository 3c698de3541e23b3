"""Rows over time: what a view's receipt records of its rows per hour, counted again here
without DuckDB; check holding the record to the receipt's own claims; verify counting it
again from the parts; and the picture the faces draw of it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.timeline import (
    MAX_BUCKETS,
    RowsOverTime,
    bar_line,
    columns_of,
    from_hour_counts,
    gaps,
    picture_lines,
    problems,
)
from oracle_tui.core.views.build import RECEIPT, build_stream_view
from oracle_tui.core.views.verify import verify_stream_view
from tests.engine import edit_view_receipt

OUT = "s3_event_stream_with_fraud_6B"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _view_dir(root: str) -> Path:
    return Path(root) / "stream_view" / "ts_utc" / f"output_id={OUT}"


def _hours_of_view(root: str) -> Counter[datetime]:
    """Rows per hour of the view's parts, read with Arrow and Python's datetime."""
    hours: Counter[datetime] = Counter()
    for part in sorted(_view_dir(root).glob("part-*.parquet")):
        for ts in pq.read_table(part, columns=["ts_utc"]).column(0).to_pylist():
            t = datetime.fromisoformat(ts.replace("Z", "+00:00"))
            hours[t.replace(minute=0, second=0, microsecond=0)] += 1
    return hours


def _receipt(root: str) -> dict[str, Any]:
    import json

    return json.loads((_view_dir(root) / RECEIPT).read_text())["extensions"]["oracle_tui"]


def test_the_receipt_records_the_views_rows_per_hour(world: DemoWorld) -> None:
    build_stream_view(world.root, OUT, rows_per_part=3_000)
    hours = _hours_of_view(world.root)
    first, last = min(hours), max(hours)
    expected = [hours.get(first + timedelta(hours=i), 0)
                for i in range(int((last - first).total_seconds() // 3600) + 1)]
    recorded = _receipt(world.root)["rows_over_time"]
    assert recorded == {"unit": "hour", "start": first.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                        "counts": expected, "null_rows": 0}
    assert sum(expected) == world.events and len(expected) == 7 * 24
    # The demo's traffic follows the day: its quietest hour holds far fewer rows than its
    # busiest, which is what the picture is for.
    assert min(expected) * 4 < max(expected)
    report = run_check(world.root)
    state = next(v for v in report.stream_views if v.output_id == OUT)
    assert (state.state, state.receipt["rows_over_time"]["counts"]) == ("VALID", expected)


@pytest.mark.parametrize(("edit", "words"), [
    (lambda r: r["counts"].__setitem__(0, r["counts"][0] + 1), "rows_over_time adds up to"),
    (lambda r: r.__setitem__("start", "2026-01-01T00:30:00.000000Z"), "not at the start"),
    (lambda r: (r["counts"].insert(0, 0), r.__setitem__("start", "2025-12-31T23:00:00.000000Z")),
     "empty buckets at its ends"),
    (lambda r: (r["counts"].insert(0, r["counts"].pop()),
                r.__setitem__("start", "2025-12-31T23:00:00.000000Z")),
     "does not span the view's key range"),
])
def test_check_refuses_a_record_its_receipt_contradicts(world: DemoWorld, edit: Any,
                                                          words: str) -> None:
    build_stream_view(world.root, OUT, rows_per_part=3_000)
    edit_view_receipt(_view_dir(world.root) / RECEIPT, lambda ours: edit(ours["rows_over_time"]))
    report = run_check(world.root)
    state = next(v for v in report.stream_views if v.output_id == OUT)
    assert state.state == "INVALID"
    found = [f for f in report.findings if f.subject == OUT]
    assert {f.code for f in found} == {"STREAM_RECEIPT_MISMATCH"}
    assert any(words in f.detail for f in found), [f.detail for f in found]


def test_verify_counts_the_rows_again(world: DemoWorld) -> None:
    """Rows moved from one hour to another keep every claim check can test: verify counts
    the parts again and names the difference."""
    build_stream_view(world.root, OUT, rows_per_part=3_000)

    def move(ours: dict[str, Any]) -> None:
        counts = ours["rows_over_time"]["counts"]
        counts[5] -= 1
        counts[6] += 1

    edit_view_receipt(_view_dir(world.root) / RECEIPT, move)
    assert next(v for v in run_check(world.root).stream_views
                if v.output_id == OUT).state == "VALID"
    state = verify_stream_view(world.root, OUT)
    assert state.state == "INVALID"
    assert [(f.code, f.detail) for f in state.findings] == [
        ("STREAM_RECEIPT_MISMATCH", "the view's rows per hour differ from the receipt's "
                                    "rows_over_time")]


def test_hours_before_1970_days_past_a_wide_range_and_no_picture_past_that() -> None:
    # Hour -1 is 1969-12-31T23:00: the floor, not the truncation, of its microseconds.
    rot = from_hour_counts([(-1, 2), (1, 3), (None, 4)])
    assert rot == RowsOverTime(unit="hour", start="1969-12-31T23:00:00.000000Z",
                               counts=[2, 0, 3], null_rows=4)
    wide = from_hour_counts([(0, 1), (MAX_BUCKETS * 2, 1)])
    assert wide is not None and (wide.unit, len(wide.counts)) == ("day", 834)
    assert (wide.counts[0], wide.counts[-1], sum(wide.counts)) == (1, 1, 2)
    assert from_hour_counts([(0, 1), (MAX_BUCKETS * 24, 1)]) is None
    assert from_hour_counts([(None, 7)]) == RowsOverTime(unit="hour", start=None, counts=[],
                                                          null_rows=7)


def test_problems_of_a_sound_record_are_none() -> None:
    rot = RowsOverTime(unit="hour", start="2026-01-01T00:00:00.000000Z", counts=[2, 0, 3],
                       null_rows=1)
    assert problems(rot, 6, "2026-01-01T00:10:00.000000Z", "2026-01-01T02:59:59.000000Z") == []
    assert problems(rot, 6, "2026-01-01T00:10:00.000000Z", "2026-01-01T03:00:00.000000Z") == [
        "rows_over_time does not span the view's key range (2026-01-01T00:10:00.000000Z .. "
        "2026-01-01T03:00:00.000000Z)"]


def test_the_picture_sums_whole_buckets_and_shows_gaps_as_spaces() -> None:
    assert columns_of([1, 2, 3, 4, 5], 2) == [6, 9]
    assert columns_of([1, 0, 0, 4], 4) == [1, 0, 0, 4]
    assert bar_line([1, 0, 0, 8]) == "▁  █"
    rot = RowsOverTime(unit="hour", start="2026-01-01T22:00:00.000000Z",
                       counts=[5, 0, 0, 3, 1, 0, 8], null_rows=2)
    assert [(a.isoformat(), b.isoformat()) for a, b in gaps(rot)] == [
        ("2026-01-01T23:00:00+00:00", "2026-01-02T01:00:00+00:00"),
        ("2026-01-02T03:00:00+00:00", "2026-01-02T04:00:00+00:00")]
    assert picture_lines(rot, 40) == [
        "17 rows, 2026-01-01 22:00 .. 01-02 04:00 UTC; a mark is 1 hour, the tallest 8 rows",
        "▅  ▃▁ █",
        "|01-01",
        "2 gaps; the longest 2026-01-01 23:00 .. 2026-01-02 01:00 (2 hours without a row)",
        "2 rows without a key value (not drawn)"]
    # Three hours a mark: the gap inside one mark does not show, the words still say it.
    assert picture_lines(rot, 3)[1:2] == ["▅▄█"]


@pytest.mark.parametrize(("rot", "min_ts", "max_ts", "words"), [
    # A record the key range cannot be held to is refused, not taken on trust.
    (RowsOverTime(unit="hour", start="9999-12-31T00:00:00.000000Z", counts=[4], null_rows=0),
     None, None, "cannot be tied to the view's key range"),
    (RowsOverTime(unit="hour", start="2026-01-01T00:00:00.000000Z", counts=[4], null_rows=0),
     "2026-01-01T00:10:00+00:00", "2026-01-01T00:20:00+00:00", "not instants"),
    # Buckets past the calendar's end: a finding, never an exception.
    (RowsOverTime(unit="hour", start="9999-12-31T23:00:00.000000Z", counts=[1, 0, 3],
                  null_rows=0),
     "9999-12-31T23:10:00.000000Z", "9999-12-31T23:20:00.000000Z", "does not span"),
    # No bucket while the rows have key values.
    (RowsOverTime(unit="hour", start=None, counts=[], null_rows=4),
     "2026-01-01T00:10:00.000000Z", "2026-01-01T00:20:00.000000Z", "no buckets, but"),
    # Per day a range that a build counts per hour.
    (RowsOverTime(unit="day", start="2026-01-01T00:00:00.000000Z", counts=[2, 2], null_rows=0),
     "2026-01-01T00:10:00.000000Z", "2026-01-02T00:20:00.000000Z", "counts per day a range"),
])
def test_a_record_its_receipt_cannot_bear_out_is_a_problem(rot: RowsOverTime, min_ts: Any,
                                                           max_ts: Any, words: str) -> None:
    found = problems(rot, 4, min_ts, max_ts)
    assert any(words in p for p in found), found


def test_negative_counts_are_not_a_record() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        RowsOverTime.model_validate({"unit": "hour", "start": None, "counts": [],
                                     "null_rows": -5})
    with pytest.raises(ValidationError):
        RowsOverTime.model_validate({"unit": "hour", "start": "2026-01-01T00:00:00.000000Z",
                                     "counts": [5, -1, 1], "null_rows": 0})


def test_years_before_1000_and_hour_24_read_as_instants() -> None:
    from oracle_tui.core.timeline import iso_us

    # 0999-12-31T05:30Z and the hour it falls in, both with four-digit years.
    us = int((datetime(999, 12, 31, 5, 30, tzinfo=UTC) - EPOCH).total_seconds()) * 1_000_000
    assert iso_us(us) == "0999-12-31T05:30:00.000000Z"
    rot = from_hour_counts([(us // 3_600_000_000, 3)])
    assert rot is not None and rot.start == "0999-12-31T05:00:00.000000Z"
    assert problems(rot, 3, iso_us(us), iso_us(us)) == []
    # Canonical text may say T24:00:00 (DuckDB reads it as the next day's midnight).
    day = RowsOverTime(unit="hour", start="2026-01-02T00:00:00.000000Z", counts=[1],
                       null_rows=0)
    assert problems(day, 1, "2026-01-01T24:00:00.000000Z", "2026-01-01T24:00:00.000000Z") == []
    # Past year 9999 the text goes on; the record is not drawn beyond the calendar.
    assert iso_us(253_402_300_800_000_000) == "10000-01-01T00:00:00.000000Z"
    assert from_hour_counts([(253_402_300_800 // 3600, 1)]) is None


def test_the_pane_draws_nothing_it_cannot_read_as_instants() -> None:
    from oracle_tui.core.report import StreamViewSection
    from oracle_tui.tui.panes import timeline_lines

    receipt = {"rows_over_time": {"unit": "hour", "start": "9999-12-31T23:00:00.000000Z",
                                  "counts": [1, 1], "null_rows": 0}}
    state = StreamViewSection(output_id=OUT, state="VALID", receipt=receipt)
    assert timeline_lines(state, 80) == [
        "not drawn: the recorded range does not read as instants of years 1 to 9999"]
    assert state.receipt is not None
    state.receipt["rows_over_time"] = None
    assert timeline_lines(state, 80) == ["not recorded in this view's receipt: nothing to draw"]
    state.receipt["rows_over_time"] = {"unit": "hour", "start": None, "counts": [],
                                       "null_rows": 0}
    assert timeline_lines(state, 80) == ["the view has no rows"]


def test_verify_counts_a_record_set_to_null(world: DemoWorld) -> None:
    build_stream_view(world.root, OUT, rows_per_part=3_000)
    edit_view_receipt(_view_dir(world.root) / RECEIPT,
                      lambda ours: ours.__setitem__("rows_over_time", None))
    state = verify_stream_view(world.root, OUT)
    assert (state.state, [f.detail for f in state.findings]) == (
        "INVALID", ["the view's rows per hour differ from the receipt's rows_over_time"])


def test_a_view_of_no_rows_builds_checks_and_verifies(world: DemoWorld) -> None:
    from tests.engine import reissue_evidence

    for part in Path(world.root).glob(f"data/**/{OUT}/**/part-*.parquet"):
        table = pq.read_table(part)
        pq.write_table(table.slice(0, 0), part)
    reissue_evidence(world)
    build_stream_view(world.root, OUT)
    assert _receipt(world.root)["rows_over_time"] == {"unit": "hour", "start": None,
                                                      "counts": [], "null_rows": 0}
    assert next(v for v in run_check(world.root).stream_views
                if v.output_id == OUT).state == "VALID"
    state = verify_stream_view(world.root, OUT)
    assert (state.state, state.findings) == ("VALID", [])
