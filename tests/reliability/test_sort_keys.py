"""Sort-key values that are not instants: SORT_KEY_INVALID naming the file and row, no view.

A value shaped like the canonical form but not a time would sort as text into a VALID view;
an invalid maximum or a leap second used to crash the receipt. Both string paths are tried:
the canonical `…​.ffffffZ` form (sorted as text) and RFC 3339 with offsets (cast per row).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.errors import OracleError
from oracle_tui.core.views.build import build_stream_view
from tests.engine import reissue_evidence

OUT = "s3_event_stream_with_fraud_6B"


def _rewrite_ts(world: DemoWorld, canonical: bool, bad: str, row: int) -> str:
    parts = sorted(Path(world.root).glob(f"data/**/{OUT}/**/part-*.parquet"))
    for p in parts:
        t = pq.read_table(p)
        ts = t.column("ts_utc")
        if not canonical:  # …T00:00:00.000000Z → …T00:00:00.000000+00:00 (parsed per row)
            ts = pc.replace_substring_regex(ts, pattern="Z$", replacement="+00:00")
        values = ts.to_pylist()
        if p == parts[2]:
            values[row] = bad
        t = t.set_column(t.schema.get_field_index("ts_utc"), "ts_utc", pa.array(values))
        pq.write_table(t, p, compression="zstd")
    reissue_evidence(world)
    return parts[2].relative_to(world.root).as_posix()


@pytest.mark.parametrize("canonical", [True, False], ids=["canonical", "rfc3339"])
@pytest.mark.parametrize("bad", ["2026-01-01T25:61:00.000000Z", "2026-06-30T23:59:60.000000Z",
                                 "2026-02-30T00:00:00.000000Z", "9999-99-99T99:99:99.999999Z",
                                 "not a time"])
def test_invalid_instant_is_refused_with_its_location(world: DemoWorld, canonical: bool,
                                                      bad: str) -> None:
    rel = _rewrite_ts(world, canonical, bad, row=7)
    with pytest.raises(OracleError) as exc:
        build_stream_view(world.root, OUT, rows_per_part=1500)
    assert exc.value.code == "SORT_KEY_INVALID"
    assert rel in exc.value.message and "row 7" in exc.value.message
    assert not (Path(world.root) / "stream_view").exists()
