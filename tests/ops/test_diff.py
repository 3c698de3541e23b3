"""`oracle-tui diff A B` (issue 28): identical worlds, worlds of another seed, and one
changed, extra or missing row found at row level with its key and column; local vs S3."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from oracle_tui.core.demo import DemoWorld, generate_demo_world
from oracle_tui.core.diff import DiffReport
from tests.conftest import REPO, run_cli_here
from tests.engine import reissue_evidence

if TYPE_CHECKING:
    from oracle_tui.core.row_diff import RowDifference

OUT = "arrival_events_5B"
SCHEMA = REPO / "oracle_tui" / "schemas" / \
    "diff_report.schema.json"


def _diff(*args: str) -> tuple[int, dict[str, Any]]:
    res = run_cli_here("diff", *args, "--json")
    assert res.err == "", res.err
    doc = json.loads(res.out)
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))  # every report, to its schema
    return res.code, doc


def _copy(world: DemoWorld, dest: Path) -> DemoWorld:
    shutil.copytree(world.root, dest)
    return world.model_copy(update={"root": str(dest)})


def _part(world: DemoWorld, number: int) -> Path:
    """A part of OUT (data/layer2/5B/arrival_events/…)."""
    return next(Path(world.root).glob(f"data/**/arrival_events/**/part-{number:05d}.parquet"))


def _rewrite(path: Path, edit: Any) -> None:
    table = pq.read_table(path)
    pq.write_table(edit(table), path, compression="zstd")


def test_the_same_seed_twice_is_identical(tmp_path: Path) -> None:
    a = generate_demo_world(tmp_path / "a", events=600, seed=7)
    b = generate_demo_world(tmp_path / "b", events=600, seed=7)
    code, doc = _diff(a.root, b.root)
    assert code == 0 and doc["result"] == "IDENTICAL"
    assert doc["summary"].startswith("identical: same world key")
    assert (doc["identity"], doc["gates"]) == ([], [])
    assert [(o["output_id"], o["state"], o["parts"]) for o in doc["outputs"]] == [
        ("arrival_events_5B", "identical", [4, 4]),
        ("s2_event_stream_baseline_6B", "identical", [4, 4]),
        ("s3_event_stream_with_fraud_6B", "identical", [4, 4]),
        ("s4_event_labels_6B", "identical", [4, 4])]
    text = run_cli_here("diff", a.root, b.root)
    assert text.code == 0 and text.out.splitlines()[0].startswith("identical: same world key")


def test_two_seeds_differ_at_the_identity_level(tmp_path: Path) -> None:
    a = generate_demo_world(tmp_path / "a", events=600, seed=1)
    b = generate_demo_world(tmp_path / "b", events=600, seed=2)
    code, doc = _diff(a.root, b.root)
    assert code == 1 and doc["result"] == "DIFFERENT"
    assert doc["summary"].startswith("NOT identical: identity differs first: world_key.seed "
                                     "1 vs 2")
    fields = {d["field"]: (d["a"], d["b"]) for d in doc["identity"]}
    assert fields["world_key.seed"] == (1, 2)
    assert set(fields) == {"world_key.seed", "world_key.manifest_fingerprint",
                           "world_key.parameter_hash", "run_id"}
    assert len(doc["gates"]) == 4  # every flag digests other bytes
    assert {o["state"] for o in doc["outputs"]} == {"different"}
    assert all(o["rows_diff"] is None and "--output-id" in o["note"] for o in doc["outputs"])
    # Named, an output's rows are compared without the world's own columns.
    code, doc = _diff(a.root, b.root, "--output-id", OUT, "--rows", "2")
    rows = doc["outputs"][0]["rows_diff"]
    assert code == 1 and rows["key_columns"] == ["merchant_id", "arrival_seq"]
    assert "seed" not in rows["compared_columns"]
    assert rows["rows_a"] == rows["rows_b"] == 600 and len(rows["examples"]) == 2


def test_one_changed_value_is_found_with_its_key_and_column(world: DemoWorld,
                                                           tmp_path: Path) -> None:
    other = _copy(world, tmp_path / "other")
    part = _part(other, 1)
    original = pq.read_table(part)
    row = 17
    before = original.column("lambda_realised")[row].as_py()

    def change(table: pa.Table) -> pa.Table:
        values = table.column("lambda_realised").to_pylist()
        values[row] = before + 1.0
        return table.set_column(table.schema.get_field_index("lambda_realised"),
                                table.schema.field("lambda_realised"),
                                pa.array(values, table.schema.field("lambda_realised").type))

    _rewrite(part, change)
    reissue_evidence(other)  # as the engine would: the gates still PASS
    code, doc = _diff(world.root, other.root)
    assert code == 1 and doc["identity"] == [] and doc["result"] == "DIFFERENT"
    out = next(o for o in doc["outputs"] if o["output_id"] == OUT)
    assert out["state"] == "different" and out["parts_differing"] == ["part-00001.parquet"]
    assert [o["state"] for o in doc["outputs"] if o["output_id"] != OUT] == ["identical"] * 3
    rows = out["rows_diff"]
    assert (rows["changed"], rows["only_in_a"], rows["only_in_b"]) == (1, 0, 0)
    assert rows["segments_differing"] == 1
    example = rows["examples"][0]
    key = {c: original.column(c)[row].as_py() for c in ("seed", "manifest_fingerprint",
                                                          "scenario_id", "merchant_id",
                                                          "arrival_seq")}
    assert example["key"] == key and example["columns"] == ["lambda_realised"]
    assert (example["a"]["lambda_realised"], example["b"]["lambda_realised"]) == (
        before, before + 1.0)
    assert "same world key, but output arrival_events_5B differs (1 part(s); rows: 1 " \
           "changed, 0 only in A, 0 only in B)" in doc["summary"]
    text = run_cli_here("diff", world.root, other.root).out
    assert f"changed {' '.join(f'{k}={v}' for k, v in key.items())}: lambda_realised " \
           f"{before!r} | {before + 1.0!r}" in text


def test_an_extra_and_a_missing_row_are_counted_on_their_side(world: DemoWorld,
                                                               tmp_path: Path) -> None:
    other = _copy(world, tmp_path / "other")
    part = _part(other, 2)
    original = pq.read_table(part)
    gone = {c: original.column(c)[5].as_py() for c in ("merchant_id", "arrival_seq")}

    def swap(table: pa.Table) -> pa.Table:
        kept = table.filter(pc.invert(pc.equal(pa.array(range(table.num_rows)), 5)))
        extra = table.slice(0, 1).to_pylist()[0]
        extra["arrival_seq"] = 10_000_000  # a key no row of A has
        return pa.concat_tables([kept, pa.Table.from_pylist([extra], schema=table.schema)])

    _rewrite(part, swap)
    reissue_evidence(other)
    code, doc = _diff(world.root, other.root)
    out = next(o for o in doc["outputs"] if o["output_id"] == OUT)
    rows = out["rows_diff"]
    assert code == 1 and (rows["changed"], rows["only_in_a"], rows["only_in_b"]) == (0, 1, 1)
    assert out["rows"] == [4000, 4000]
    sides = {e["only_in"]: {k: e["key"][k] for k in ("merchant_id", "arrival_seq")}
             for e in rows["examples"]}
    assert sides["a"] == gone
    assert sides["b"]["arrival_seq"] == 10_000_000


def test_a_side_that_is_not_readable_is_named_and_nothing_compared(world: DemoWorld,
                                                                   tmp_path: Path) -> None:
    other = _copy(world, tmp_path / "other")
    flag = next(Path(other.root).rglob("_passed.flag"))
    flag.write_text(flag.read_text().replace("sha256_hex = ", "sha256_hex = 0"))
    code, doc = _diff(world.root, other.root)
    assert code == 1 and doc["result"] == "UNREADABLE"
    assert doc["a"]["readable"] is True and doc["b"]["readable"] is False
    assert doc["outputs"] == [] and doc["b"]["blocking"][0]["code"] == "GATE_EVIDENCE_MISMATCH"
    assert {f["code"] for f in doc["b"]["blocking"][1:]} == {"REQUIRED_GATE_NOT_PASS"}
    assert doc["summary"].startswith("not compared: B not readable (")


@pytest.mark.s3
def test_a_local_world_and_its_copy_on_s3_are_identical(s3_world: DemoWorld,
                                                        _pristine_world: DemoWorld) -> None:
    code, doc = _diff(_pristine_world.root, s3_world.root)
    assert code == 0 and doc["result"] == "IDENTICAL", doc["summary"]
    assert [o["state"] for o in doc["outputs"]] == ["identical"] * 4


def test_the_report_schema_is_the_models() -> None:
    assert json.loads(SCHEMA.read_text()) == DiffReport.model_json_schema(mode="serialization")


async def test_the_inspector_compares_against_another_world(world: DemoWorld,
                                                           tmp_path: Path) -> None:
    from textual.widgets import DataTable, Static

    from oracle_tui.tui.app import make_app
    from oracle_tui.tui.pilot import wait_idle

    other = _copy(world, tmp_path / "other")
    part = _part(other, 3)

    def bump(table: pa.Table) -> pa.Table:
        values = table.column("bucket_index").to_pylist()
        values[0] += 1
        index = table.schema.get_field_index("bucket_index")
        return table.set_column(index, table.schema.field(index),
                                pa.array(values, table.schema.field(index).type))

    _rewrite(part, bump)
    reissue_evidence(other)
    app = make_app(world.root, against=other.root)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_idle(pilot)
        await pilot.press("7")
        assert app.query_one("#panes").active == "diff"
        summary = str(app.query_one("#diff-summary", Static).render())
        assert "DIFFERENT" in summary and "output arrival_events_5B differs" in summary
        # Where the differing outputs are, as `diff` prints it: 5B first, with its bar.
        from oracle_tui.core.diff import segment_lines
        from oracle_tui.tui.diff_pane import DiffPane

        report = app.query_one(DiffPane).report
        assert report is not None
        assert segment_lines(report) == ["where outputs differ (per engine segment):",
                                         "  5B  ████████████████  1 of 1 output",
                                         "  6B                    0 of 3 outputs"]
        assert "\n".join(segment_lines(report)) in summary
        table = app.query_one("#diff-table", DataTable)
        assert [str(table.get_row_at(i)[1]) for i in range(table.row_count)] == [
            "different", "identical", "identical", "identical"]
        detail = str(app.query_one("#diff-detail", Static).render())
        assert "parts differing: part-00003.parquet" in detail
        assert "rows: 1 changed, 0 only in A, 0 only in B" in detail
        assert "changed seed=42" in detail and "bucket_index" in detail
        await pilot.press("down")  # drill into an identical output: nothing differs there
        detail = str(app.query_one("#diff-detail", Static).render())
        assert detail.startswith("s2_event_stream_baseline_6B: identical")
    assert any(c.startswith("oracle-tui diff ") for c in app.cli_log)


async def test_the_diff_pane_needs_another_world(world: DemoWorld) -> None:
    from oracle_tui.tui.app import make_app
    from oracle_tui.tui.pilot import wait_idle

    app = make_app(world.root)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_idle(pilot)
        await pilot.press("7")
        assert app.query_one("#panes").active == "overview"
        assert not app.query("#diff-table")


def test_a_pack_that_fails_its_check_is_not_compared_whole(world: DemoWorld,
                                                           tmp_path: Path) -> None:
    other = _copy(world, tmp_path / "other")
    for part in Path(other.root).glob("data/**/s4_event_labels_6B/**/part-*.parquet"):
        part.unlink()  # an output gone: B's check FAILs
    code, doc = _diff(world.root, other.root)
    assert code == 1 and doc["result"] == "UNREADABLE" and doc["outputs"] == []
    assert doc["summary"].startswith("not compared: B not readable (")
    assert "s4_event_labels_6B" in " ".join(f["subject"] for f in doc["b"]["blocking"])
    # Named outputs need only themselves readable: the others still compare.
    code, doc = _diff(world.root, other.root, "--output-id", OUT)
    assert code == 0 and doc["result"] == "IDENTICAL"
    assert [(o["output_id"], o["state"]) for o in doc["outputs"]] == [(OUT, "identical")]


def test_a_changed_byte_of_an_unsealed_pack_is_never_compared_as_its_old_digest(
        world: DemoWorld, tmp_path: Path) -> None:
    other = _copy(world, tmp_path / "other")
    part = _part(other, 1)
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size, same footer: only a re-hash sees it
    part.write_bytes(bytes(data))
    code, doc = _diff(world.root, other.root)
    assert code == 1 and doc["result"] == "UNREADABLE"
    assert ("DIGEST_MISMATCH", str(part.relative_to(other.root))) in {
        (f["code"], f["subject"]) for f in doc["b"]["blocking"]}


def test_two_sealed_packs_compare_by_their_content_indexes(sealed_world: DemoWorld,
                                                           tmp_path: Path) -> None:
    other = _copy(sealed_world, tmp_path / "other")
    code, doc = _diff(sealed_world.root, other.root)
    assert code == 0 and doc["result"] == "IDENTICAL"
    assert {tuple(o["digests_from"]) for o in doc["outputs"]} == {
        ("sealed content index", "sealed content index")}
    assert doc["a"]["lifecycle"] == doc["b"]["lifecycle"] == "SEALED_OK"


@pytest.mark.parametrize("output", ["s3_event_stream_with_fraud_6B", "arrival_events_5B",
                                    "s4_event_labels_6B"])
def test_a_varied_demo_is_readable_and_differs_in_exactly_the_rows_asked(
        tmp_path: Path, output: str) -> None:
    """`demo --vary 3`: the same world (identity, gates PASS, every output readable) with
    three values changed, three rows missing and three extra in one output; the engine's
    evidence covers the parts as written, so only the rows differ."""
    a = generate_demo_world(tmp_path / "a", events=900)
    res = run_cli_here("demo", "--out", str(tmp_path / "b"), "--events", "900", "--vary", "3",
                       "--vary-output", output)
    assert res.code == 0, res.err
    check = json.loads(run_cli_here("check", str(tmp_path / "b"), "--json").out)
    assert check["verdict"] == "WARN"  # not sealed, nothing else
    assert {o["status"] for o in check["outputs"]} == {"READABLE"}
    code, doc = _diff(a.root, str(tmp_path / "b"))
    assert code == 1 and doc["identity"] == []
    differing = [o for o in doc["outputs"] if o["state"] != "identical"]
    assert [o["output_id"] for o in differing] == [output]
    rows = differing[0]["rows_diff"]
    assert (rows["changed"], rows["only_in_a"], rows["only_in_b"]) == (3, 3, 3)
    assert rows["rows_a"] == rows["rows_b"] == 900
    assert {e["only_in"] for e in rows["examples"]} == {None, "a", "b"}


def test_vary_is_refused_beyond_a_third_of_the_rows(tmp_path: Path) -> None:
    res = run_cli_here("demo", "--out", str(tmp_path / "b"), "--events", "30", "--vary", "11")
    assert res.code == 2 and "INPUT_INVALID" in res.err and "--vary 11" in res.err
    assert not (tmp_path / "b").exists()


async def test_the_diff_pane_walks_to_the_rows_of_worlds_of_another_seed(
        tmp_path: Path) -> None:
    """Worlds of two seeds differ in identity, so rows are not compared at first; Enter on
    an output compares its rows there (what `diff --output-id` does, and logged as that)."""
    from textual.widgets import DataTable, Static

    from oracle_tui.tui.app import make_app
    from oracle_tui.tui.pilot import wait_idle

    a = generate_demo_world(tmp_path / "a", events=300)
    b = generate_demo_world(tmp_path / "b", events=300, seed=7)
    app = make_app(a.root, against=b.root)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_idle(pilot)
        await pilot.press("7")
        table = app.query_one("#diff-table", DataTable)
        detail = str(app.query_one("#diff-detail", Static).render())
        assert "press Enter on its row to compare them" in detail
        table.focus()
        table.move_cursor(row=2)
        await pilot.press("enter")
        await wait_idle(pilot)
        row = [str(c) for c in table.get_row_at(2)]
        assert row[0] == "s3_event_stream_with_fraud_6B" and row[5].endswith("B only")
        detail = str(app.query_one("#diff-detail", Static).render())
        assert detail.startswith("s3_event_stream_with_fraud_6B: different")
        assert "rows: " in detail and "press Enter" not in detail
        assert [str(table.get_row_at(i)[5]) for i in (0, 1, 3)] == ["—", "—", "—"]
    assert app.cli_log[-1] == (f"oracle-tui diff {a.root} {b.root} --output-id "
                               "s3_event_stream_with_fraud_6B")


async def test_inspect_output_id_compares_that_output_down_to_its_rows(
        tmp_path: Path) -> None:
    from textual.widgets import DataTable

    from oracle_tui.tui.app import make_app
    from oracle_tui.tui.pilot import wait_idle

    a = generate_demo_world(tmp_path / "a", events=300)
    b = generate_demo_world(tmp_path / "b", events=300, seed=7)
    app = make_app(a.root, against=b.root, diff_outputs=("arrival_events_5B",))
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_idle(pilot)
        await pilot.press("7")
        table = app.query_one("#diff-table", DataTable)
        assert table.row_count == 1
        assert str(table.get_row_at(0)[0]) == "arrival_events_5B"
        assert "changed" in str(table.get_row_at(0)[5])
    assert app.cli_log[-1] == f"oracle-tui diff {a.root} {b.root} --output-id arrival_events_5B"
    for args in (("--against", b.root, "--output-id", "arrival_events"),
                 ("--output-id", "arrival_events_5B")):
        res = run_cli_here("inspect", a.root, *args)
        assert res.code == 2 and res.out == "", res.err
    assert "OUTPUT_UNKNOWN" in run_cli_here("inspect", a.root, "--against", b.root,
                                            "--output-id", "arrival_events").err


def test_a_variation_that_fails_leaves_nothing(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The disk fills while the variant is validated again: the write error's code, and
    neither a half-varied world nor the plain one left in --out."""
    import errno

    from oracle_tui.core import demo

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "b"))

    monkeypatch.setattr(demo, "revalidate", full)
    res = run_cli_here("demo", "--out", str(tmp_path / "b"), "--events", "300", "--vary", "2")
    assert res.code == 3 and res.err.startswith("oracle-tui: STORAGE_FULL: "), res.err
    assert not (tmp_path / "b").exists()


def test_what_a_diff_rests_on_is_said_per_side(world: DemoWorld, tmp_path: Path) -> None:
    """A side that was not read is never said to be re-hashed: the JSON and the text name
    each side's proof."""
    code, doc = _diff(world.root, str(tmp_path / "nowhere"))
    assert code == 1 and doc["result"] == "UNREADABLE"
    assert doc["verified"] == ("A: bytes re-hashed now against the engine's evidence; B: "
                               "nothing: the root could not be opened or listed "
                               "(PACK_NOT_FOUND)")
    text = run_cli_here("diff", world.root, str(tmp_path / "nowhere")).out
    assert text.splitlines()[-1] == f"verified: {doc['verified']}"
    code, doc = _diff(world.root, world.root)
    assert doc["verified"] == "both sides' bytes re-hashed now against the engine's evidence"


def test_vary_output_without_vary_is_a_usage_error(tmp_path: Path) -> None:
    res = run_cli_here("demo", "--out", str(tmp_path / "b"), "--events", "30",
                       "--vary-output", "arrival_events_5B")
    assert res.code == 2 and "give --vary N too" in res.err
    assert not (tmp_path / "b").exists()


def _rows_of(root: str, output: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for part in sorted(Path(root).glob(f"data/**/output_id={output}/**/*.parquet")) or sorted(
            Path(root).glob(f"data/**/{output}/**/*.parquet")):
        rows.extend(pq.read_table(part).to_pylist())
    return rows


def test_where_the_differences_lie_by_day_and_by_segment(tmp_path: Path) -> None:
    """The differing rows per day of ts_utc and the differing outputs per segment, counted
    again here from the rows with Arrow and Python (a changed row by A's day)."""
    from collections import Counter

    from oracle_tui.core.diff import segment_lines, when_lines
    from oracle_tui.core.row_diff import RowDifference

    output = "s3_event_stream_with_fraud_6B"
    a = generate_demo_world(tmp_path / "a", events=900)
    assert run_cli_here("demo", "--out", str(tmp_path / "b"), "--events", "900", "--vary", "4",
                        "--vary-output", output).code == 0
    code, doc = _diff(a.root, str(tmp_path / "b"))
    assert code == 1
    assert doc["by_segment"] == [{"segment": "6B", "outputs": 3, "differing": 1},
                                 {"segment": "5B", "outputs": 1, "differing": 0}]
    rows = next(o for o in doc["outputs"] if o["output_id"] == output)["rows_diff"]
    key = rows["key_columns"]
    sides = [Counter(json.dumps(r, sort_keys=True, default=str)
                     for r in _rows_of(root, output)) for root in (a.root, str(tmp_path / "b"))]
    only = [[json.loads(r) for r in (sides[i] - sides[1 - i]).elements()] for i in (0, 1)]
    keys_b = {tuple(r[k] for k in key) for r in only[1]}
    keys_a = {tuple(r[k] for k in key) for r in only[0]}
    expected: dict[str, Counter[str]] = {}
    for r in only[0]:
        kind = "changed" if tuple(r[k] for k in key) in keys_b else "only_in_a"
        expected.setdefault(r["ts_utc"][:10], Counter())[kind] += 1
    for r in only[1]:
        if tuple(r[k] for k in key) not in keys_a:
            expected.setdefault(r["ts_utc"][:10], Counter())["only_in_b"] += 1
    assert (rows["time_column"], rows["time_unit"]) == ("ts_utc", "day")
    assert rows["by_time"] == [{"when": day, "changed": c["changed"],
                                "only_in_a": c["only_in_a"], "only_in_b": c["only_in_b"]}
                               for day, c in sorted(expected.items())]
    assert sum(sum(c.values()) for c in expected.values()) == 12
    # The text says the same, line for line.
    text = run_cli_here("diff", a.root, str(tmp_path / "b")).out.splitlines()
    report = DiffReport.model_validate(doc)
    for line in segment_lines(report) + when_lines(RowDifference.model_validate(rows)):
        assert line in text or f"      {line}" in text, line
    assert "where outputs differ (per engine segment):" in text
    # A bar is the share of the segment's outputs that differ: a third for 1 of 3.
    assert "  6B  █████▎            1 of 3 outputs" in text


def test_differing_rows_are_placed_on_their_utc_day_or_nowhere() -> None:
    """Text with an offset is placed on its UTC day; text that is no instant has no day; a
    column of numbers is no time column at all."""
    from oracle_tui.core.duck import connect
    from oracle_tui.core.row_diff import WhenDiffering, diff_rows

    con = connect(stores=[])
    try:
        con.execute("CREATE TABLE a AS SELECT * FROM (VALUES (1, '2026-01-01T23:30:00-05:00', "
                    "10), (2, 'not a time', 20), (3, '2026-01-02T00:00:01.000000Z', 30)) "
                    "t(k, ts, v)")
        con.execute("CREATE TABLE b AS SELECT * FROM (VALUES (1, '2026-01-01T23:30:00-05:00', "
                    "11)) t(k, ts, v)")
        folder = Path(__import__("tempfile").mkdtemp())
        for name in ("a", "b"):
            con.execute(f"COPY {name} TO '{folder / name}.parquet' (FORMAT parquet)")
        sides = ([str(folder / "a.parquet")], [str(folder / "b.parquet")])
        rows = diff_rows(con, sides, ["k"], ["k", "ts", "v"], 5, time_column="ts")
        assert (rows.time_column, rows.by_time) == ("ts", [
            WhenDiffering(when="2026-01-02", changed=1, only_in_a=1),
            WhenDiffering(when=None, only_in_a=1)])
        rows = diff_rows(con, sides, ["k"], ["k", "ts", "v"], 5, time_column="v")
        assert (rows.time_column, rows.by_time) == (None, [])
        shutil.rmtree(folder)
    finally:
        con.close()


def _diff_files(folder: Path, key: list[str], columns: list[str], examples: int,
                time_column: str | None = None) -> RowDifference:
    """The row stage of a diff over ``folder``'s a.parquet and b.parquet."""
    from oracle_tui.core.duck import connect
    from oracle_tui.core.row_diff import diff_rows

    con = connect(stores=[])
    try:
        return diff_rows(con, ([str(folder / "a.parquet")], [str(folder / "b.parquet")]), key,
                         columns, examples, time_column=time_column)
    finally:
        con.close()


def test_instants_with_a_time_zone_are_shown_in_the_examples(tmp_path: Path) -> None:
    """A Parquet timestamp adjusted to UTC reads as TIMESTAMPTZ: its rows are compared and
    shown as text in UTC (DuckDB's own conversion of such a value would need pytz)."""
    from oracle_tui.core.row_diff import RowExample, WhenDiffering

    stamp = pa.timestamp("us", tz="UTC")
    pq.write_table(pa.table({"k": [1, 2], "ts": pa.array([1_767_225_600_000_000,
                                                          1_767_312_000_500_000], stamp),
                             "v": [10, 20]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"k": [1, 3], "ts": pa.array([1_767_225_601_000_000,
                                                          1_767_398_400_000_000], stamp),
                             "v": [10, 30]}), tmp_path / "b.parquet")
    rows = _diff_files(tmp_path, ["k"], ["k", "ts", "v"], 5, time_column="ts")
    assert (rows.changed, rows.only_in_a, rows.only_in_b) == (1, 1, 1)
    assert rows.examples == [
        RowExample(key={"k": 1}, a={"k": 1, "ts": "2026-01-01 00:00:00+00", "v": 10},
                   b={"k": 1, "ts": "2026-01-01 00:00:01+00", "v": 10}, columns=["ts"]),
        RowExample(key={"k": 2}, a={"k": 2, "ts": "2026-01-02 00:00:00.5+00",
                                    "v": 20}, only_in="a"),
        RowExample(key={"k": 3}, b={"k": 3, "ts": "2026-01-03 00:00:00+00", "v": 30},
                   only_in="b")]
    assert rows.by_time == [WhenDiffering(when="2026-01-01", changed=1),
                            WhenDiffering(when="2026-01-02", only_in_a=1),
                            WhenDiffering(when="2026-01-03", only_in_b=1)]


def test_example_rows_of_awkward_types_are_shown(tmp_path: Path) -> None:
    """Nanoseconds, instants past year 9999, a NaN that did not change, instants with a
    zone inside a list, a list as the key: the example rows are shown, never an error, and
    only the column that changed is named."""
    def table(v: int) -> pa.Table:
        return pa.table({
            "lk": pa.array([[1, 2]], pa.list_(pa.int64())),
            "ns": pa.array([1_767_370_671_000_000_789], pa.timestamp("ns")),
            "far": pa.array([261_000_000_000_000_000], pa.timestamp("us")),  # year 10240
            "nan": pa.array([float("nan")], pa.float64()),
            "zoned": pa.array([[1_767_225_600_000_000]], pa.list_(pa.timestamp("us", "UTC"))),
            "v": [v]})

    pq.write_table(table(1), tmp_path / "a.parquet")
    pq.write_table(table(2), tmp_path / "b.parquet")
    columns = ["lk", "ns", "far", "nan", "zoned", "v"]
    rows = _diff_files(tmp_path, ["lk"], columns, 5)
    assert (rows.changed, rows.only_in_a, rows.only_in_b) == (1, 0, 0)
    [example] = rows.examples
    assert example.key == {"lk": "[1, 2]"} and example.columns == ["v"]
    assert example.a is not None and example.b is not None
    assert (example.a["v"], example.b["v"]) == (1, 2)
    assert example.a["zoned"] == "['2026-01-01 00:00:00+00']"
    assert example.a["ns"] == "2026-01-02 16:17:51.000000789"
    assert str(example.a["far"]).startswith("10240-")


def test_a_time_column_of_lists_has_no_day(tmp_path: Path) -> None:
    """A column of lists of instants is no time column: the rows are compared and shown,
    and no day is made up for them (the cast once failed the whole diff)."""
    stamps = pa.list_(pa.timestamp("us", "UTC"))
    for name, v in (("a", 1), ("b", 2)):
        pq.write_table(pa.table({"k": [1], "ts": pa.array([[1_767_225_600_000_000]], stamps),
                                 "v": [v]}), tmp_path / f"{name}.parquet")
    rows = _diff_files(tmp_path, ["k"], ["k", "ts", "v"], 5, time_column="ts")
    assert (rows.changed, rows.time_column, rows.by_time) == (1, None, [])
    assert rows.examples[0].columns == ["v"]
