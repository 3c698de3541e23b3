"""Columns that hold one value in every source row are carried as literals, not through the
sort: only when the whole source proves it (not a first file, not a NULL away from it), with
any value a string can hold, and never for a sort key."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.duck import connect
from oracle_tui.core.engine import EngineOptions
from oracle_tui.core.views.build import build_stream_view
from oracle_tui.core.views.plan import profile_source
from oracle_tui.core.views.verify import verify_stream_view
from tests.core.views.test_stream_view import OUT, _expected_rows, _view_dir, _view_rows
from tests.engine import reissue_evidence

WORLD_TOKENS = ["seed", "manifest_fingerprint", "parameter_hash", "scenario_id"]


def _source_parts(world: DemoWorld) -> list[Path]:
    return sorted(Path(world.root).glob(f"data/**/{OUT}/**/part-*.parquet"))


def _set_column(path: Path, column: str, values: Callable[[int], list[object]],
                typ: pa.DataType | None = None) -> None:
    table = pq.read_table(path)
    i = table.schema.get_field_index(column)
    field = table.schema.field(i)
    array = pa.array(values(table.num_rows), type=typ or field.type)
    pq.write_table(table.set_column(i, field.with_type(array.type), array), path,
                   compression="zstd")


def _last_row_differs(value: object) -> Callable[[Path, str], None]:
    def mutate(path: Path, column: str) -> None:
        current = pq.read_table(path, columns=[column]).column(0).to_pylist()
        _set_column(path, column, lambda n: [*current[:n - 1], value])
    return mutate


def _build_and_compare(world: DemoWorld) -> list[str]:
    """Build, then check rows, schema and verify; returns the receipt's constant columns."""
    result = build_stream_view(world.root, OUT, engine=EngineOptions(memory_limit="64MB"), rows_per_part=900)
    assert _view_rows(world.root) == _expected_rows(world.root)
    source_schema = pq.read_schema(_source_parts(world)[0]).remove_metadata()
    for part in sorted(_view_dir(world.root).glob("part-*.parquet")):
        assert pq.read_schema(part).remove_metadata() == source_schema
    state = verify_stream_view(world.root, OUT, deep=True)
    assert (state.state, state.findings) == ("VALID", [])
    constants: list[str] = result.receipt["partitioning"]["constant_columns"]
    for part in sorted(_view_dir(world.root).glob("part-*.parquet")):
        _assert_constant_statistics(part, constants)
    return constants


def _assert_constant_statistics(part: Path, constants: list[str]) -> None:
    """A literal column reads back as its value, and its footer statistics (what a reader
    may prune by) say exactly that value, no NULL, in every row group."""
    meta = pq.ParquetFile(part).metadata
    for column in constants:
        values = set(pq.read_table(part, columns=[column]).column(0).to_pylist())
        assert len(values) == 1 and None not in values
        (value,) = values
        j = meta.schema.names.index(column)
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(j).statistics
            assert (stats.min, stats.max, stats.null_count) == (value, value, 0)


def test_world_tokens_are_carried_as_constants(world: DemoWorld) -> None:
    assert _build_and_compare(world) == WORLD_TOKENS


@pytest.mark.parametrize(("column", "mutate"), [
    # constant in the first file (the candidates), not in the last: one row differs
    ("scenario_id", _last_row_differs("baseline_v2")),
    ("seed", _last_row_differs(43)),
    # one NULL: min = max over the other rows, but a literal would fill the NULL in
    ("manifest_fingerprint", _last_row_differs(None)),
    ("parameter_hash", _last_row_differs("")),
])
def test_a_column_constant_but_for_one_row_goes_through_the_sort(
        world: DemoWorld, column: str, mutate: Callable[[Path, str], None]) -> None:
    mutate(_source_parts(world)[-1], column)
    reissue_evidence(world)
    assert _build_and_compare(world) == [c for c in WORLD_TOKENS if c != column]


def test_any_string_survives_as_a_literal(world: DemoWorld) -> None:
    odd = "o'brien \"quoted\" ✓ ünï \\ %s {x} --"
    for path in _source_parts(world):
        _set_column(path, "scenario_id", lambda n: [odd] * n)
        _set_column(path, "seed", lambda n: [2**64 - 1] * n)  # UBIGINT's largest
    reissue_evidence(world)
    assert _build_and_compare(world) == WORLD_TOKENS
    assert {r["scenario_id"] for r in _view_rows(world.root)} == {odd}
    assert {r["seed"] for r in _view_rows(world.root)} == {2**64 - 1}


def test_a_constant_sort_key_and_other_types(world: DemoWorld) -> None:
    # Every row at one instant: the order is file, then row; the key is still sorted on,
    # never a literal. A constant boolean and date are literals; a constant double is not
    # (0.0 and -0.0 are equal and different bytes).
    for path in _source_parts(world):
        _set_column(path, "ts_utc", lambda n: ["2026-01-01T00:00:00.000000Z"] * n)
        _set_column(path, "fraud_flag", lambda n: [True] * n)
        _set_column(path, "amount", lambda n: [1.5] * n)
        _set_column(path, "campaign_id", lambda n: [dt.date(2026, 1, 2)] * n, pa.date32())
    reissue_evidence(world)
    assert _build_and_compare(world) == [*WORLD_TOKENS, "fraud_flag", "campaign_id"]


def test_a_long_constant_stays_in_the_rows(world: DemoWorld) -> None:
    for path in _source_parts(world):
        _set_column(path, "parameter_hash", lambda n: ["x" * 1025] * n)
    reissue_evidence(world)
    assert _build_and_compare(world) == ["seed", "manifest_fingerprint", "scenario_id"]


def _categories(world: DemoWorld) -> dict[str, str]:
    """The text columns the build routes as ENUMs (its plan's categories)."""
    con = connect(stores=[], memory_limit="256MB")
    try:
        return profile_source(con, [str(p) for p in _source_parts(world)], ["ts_utc"]
                               ).categories
    finally:
        con.close()


def test_text_columns_with_a_few_values_are_routed_as_enums(world: DemoWorld) -> None:
    # The demo's event_type has four values; campaign_id two and NULLs. Neither changes a
    # part: the spill reads back as the same text.
    assert _categories(world) == {
        "event_type": "ENUM('AUTH_REQUEST', 'AUTH_RESPONSE', 'CLEARING', 'REFUND')",
        "campaign_id": "ENUM('camp_ato', 'camp_card_testing')"}
    assert _build_and_compare(world) == WORLD_TOKENS


@pytest.mark.parametrize("value", ["CHARGEBACK", "", "o'brien ✓ \\"])
def test_a_value_the_first_file_does_not_have_keeps_the_column_text(
        world: DemoWorld, value: str) -> None:
    # One new value in the last row of the last file: an ENUM of the first file's values
    # could not hold it (the routing cast would fail, or worse); the full scan must see it.
    _last_row_differs(value)(_source_parts(world)[-1], "event_type")
    reissue_evidence(world)
    assert "event_type" not in _categories(world)
    assert _build_and_compare(world) == WORLD_TOKENS
    assert sum(r["event_type"] == value for r in _view_rows(world.root)) == 1


def test_odd_category_values_survive_the_spill(world: DemoWorld) -> None:
    odd = ["", "o'brien \"q\" ✓", "a\\b", "x" * 300]
    for path in _source_parts(world):
        _set_column(path, "event_type", lambda n: [None if i % 7 == 0 else odd[i % 4]
                                                   for i in range(n)])
    reissue_evidence(world)
    assert set(_categories(world)) == {"event_type", "campaign_id"}
    assert _build_and_compare(world) == WORLD_TOKENS
    seen = {r["event_type"] for r in _view_rows(world.root)}
    assert seen == {None, *odd}


def _duckdb_instant(ts: str) -> dt.datetime:
    """An instant as DuckDB reads it: T24:00:00 is the next day's midnight."""
    if ts[11:19] == "24:00:00":
        return dt.datetime.fromisoformat(ts[:10]).replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_a_key_text_its_instant_does_not_give_back_is_kept(world: DemoWorld) -> None:
    # Canonical key text is written back from its instant in each part; T24:00:00 would come
    # back as the next day's 00:00:00. The part stats see it and the build routes the text.
    odd = "2026-01-15T24:00:00.000000Z"
    _last_row_differs(odd)(_source_parts(world)[-1], "ts_utc")
    reissue_evidence(world)
    build_stream_view(world.root, OUT, engine=EngineOptions(memory_limit="64MB"), rows_per_part=900)
    rows = _view_rows(world.root)
    source = [r for p in _source_parts(world) for r in pq.read_table(p).to_pylist()]

    def as_text(row: dict[str, object]) -> str:
        return json.dumps(row, sort_keys=True, default=str)

    assert sorted(map(as_text, rows)) == sorted(map(as_text, source))
    instants = [_duckdb_instant(str(r["ts_utc"])) for r in rows]
    assert instants == sorted(instants)
    assert [r["ts_utc"] for r in rows].count(odd) == 1
    state = verify_stream_view(world.root, OUT, deep=True)
    assert (state.state, state.findings) == ("VALID", [])
