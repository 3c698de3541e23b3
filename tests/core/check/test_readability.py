"""No PASS, no read — at every door (SPEC §6): one matrix of blocking states × doors.

Each state breaks a real pack (with a real stream view already built) the way an operator's
accident or a forger would; every door must refuse with the exact code and yield no row: the
reader API, `stream-view build` and `verify`, `check`'s per-output status, `locate`, and the
TUI's Overview and Outputs pane. A Hypothesis property then stacks random damage and asserts
that no door yields a row of an output that `check` does not call READABLE.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.errors import OracleError
from oracle_tui.core.jsonio import canonical_json
from oracle_tui.core.pack import open_pack
from oracle_tui.core.profiles import Profile, load_profile
from oracle_tui.core.seal import seal_pack
from oracle_tui.core.tombstone import tombstone_pack
from oracle_tui.core.views.build import build_stream_view
from oracle_tui.core.views.reader import open_stream_view
from oracle_tui.core.views.verify import verify_stream_view
from oracle_tui.tui.app import make_app
from oracle_tui.tui.pilot import wait_idle
from tests.engine import edit_view_receipt, rehome_views

OUT = "s3_event_stream_with_fraud_6B"
VIEW = f"stream_view/ts_utc/output_id={OUT}"


def _part(root: Path, n: int = 1) -> Path:
    return next(root.glob(f"data/**/{OUT}/**/part-{n:05d}.parquet"))


def _rewrite_changed(p: Path) -> None:
    """Same rows, one value altered: a valid Parquet file of another size."""
    t = pq.read_table(p)
    amounts = t.column("amount").to_pylist()
    amounts[0] = (amounts[0] or 0) + 1000.5
    before = p.stat().st_size
    pq.write_table(t.set_column(t.schema.get_field_index("amount"), "amount",
                                pa.array(amounts)), p, compression="snappy")
    assert p.stat().st_size != before


def _edit_json(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_bytes(canonical_json(doc))


def _tombstone(root: Path) -> None:
    tombstone_pack(str(root), reason="rng defect", authority="ops-oncall")


def _seal_failed(root: Path) -> None:
    _edit_json(root / "_SEALED.json", lambda d: d.update(seal_status="SEALED_FAILED"))


def _unseal(root: Path) -> None:
    (root / "_SEALED.json").unlink()


def _flag_edited(root: Path) -> None:
    flag = next(root.glob("data/layer3/6B/validation/*/_passed.flag"))
    flag.write_text("sha256_hex = " + "0" * 64 + "\n")


def _member_edited(root: Path) -> None:
    member = next(root.glob("data/layer3/6B/validation/*/s5_validation_report_6B.json"))
    _edit_json(member, lambda d: d.update(status="PASS", note="edited"))


def _part_missing(root: Path) -> None:
    _part(root).unlink()


def _part_extra(root: Path) -> None:
    p = _part(root, 0)
    shutil.copyfile(p, p.parent / "part-00009.parquet")


def _part_truncated(root: Path) -> None:
    p = _part(root, 2)
    p.write_bytes(p.read_bytes()[:-100])


def _part_changed(root: Path) -> None:
    _rewrite_changed(_part(root, 3))


def _view_part_removed_receipt_rewritten(root: Path) -> None:
    """A forger drops the last view part and rewrites the receipt's stats to match."""
    view = root / VIEW

    def drop_last(doc: dict[str, Any]) -> None:
        last = doc["parts"].pop()
        (view / last["path"]).unlink()
        kept = sum(p["row_count"] for p in doc["parts"])
        for side in ("source", "view"):
            doc[side]["row_count"] = kept
            doc[side]["hash_sum"] = doc[side]["hash_sum_salted"] = "12345"

    edit_view_receipt(view / "_stream_sort_receipt.json", drop_last)


def _view_schema_changed(root: Path, how: str) -> None:
    """One view part rewritten with a narrowed or renamed column; the receipt's part entry
    (size, sha256) rewritten to match, rows unchanged."""
    view = root / VIEW
    receipt_path = view / "_stream_sort_receipt.json"
    doc = json.loads(receipt_path.read_text())
    entry = doc["extensions"]["oracle_tui"]["parts"][0]
    path = view / entry["path"]
    t = pq.read_table(path)
    i = t.schema.get_field_index("flow_id")
    if how == "narrowed":
        t = t.set_column(i, "flow_id", pc.cast(t.column("flow_id"), pa.int32()))
    else:
        t = t.rename_columns([("flow" if n == "flow_id" else n) for n in t.column_names])
    path.unlink()
    pq.write_table(t, path, compression="zstd")
    entry["size"] = path.stat().st_size
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    receipt_path.unlink()
    receipt_path.write_bytes(canonical_json(doc))


@dataclass(frozen=True)
class State:
    name: str
    sealed: bool  # damage applied to a sealed pack (else to a staging one)
    damage: Callable[[Path], None]
    code: str  # the code every door refuses with
    profile: str = "local"
    view_only: bool = False  # the raw output stays proven; only its view is refused


STATES = [
    State("tombstoned", True, _tombstone, "PACK_TOMBSTONED"),
    State("seal-failed", True, _seal_failed, "PACK_SEALED_FAILED"),
    State("unsealed-under-strict", True, _unseal, "PACK_NOT_SEALED", profile="dev"),
    State("never-sealed-under-strict", False, lambda r: None, "PACK_NOT_SEALED", profile="dev"),
    State("gate-flag-edited", True, _flag_edited, "GATE_EVIDENCE_MISMATCH"),
    State("gate-member-edited", True, _member_edited, "GATE_EVIDENCE_MISMATCH"),
    State("gate-flag-edited-before-seal", False, _flag_edited, "GATE_EVIDENCE_MISMATCH"),
    State("part-missing-after-seal", True, _part_missing, "OBJECT_MISSING"),
    State("part-extra-after-seal", True, _part_extra, "UNEXPECTED_FILE"),
    State("part-truncated-after-seal", True, _part_truncated, "DIGEST_MISMATCH"),
    State("part-changed-after-seal", True, _part_changed, "DIGEST_MISMATCH"),
    State("part-missing-before-seal", False, _part_missing, "OBJECT_MISSING"),
    State("part-extra-before-seal", False, _part_extra, "UNEXPECTED_FILE"),
    State("part-truncated-before-seal", False, _part_truncated, "DIGEST_MISMATCH"),
    State("part-changed-before-seal", False, _part_changed, "DIGEST_MISMATCH"),
    State("view-part-removed-receipt-rewritten", True, _view_part_removed_receipt_rewritten,
          "STREAM_RECEIPT_MISMATCH", view_only=True),
    State("view-column-narrowed", True, lambda r: _view_schema_changed(r, "narrowed"),
          "STREAM_RECEIPT_MISMATCH", view_only=True),
    State("view-column-renamed", True, lambda r: _view_schema_changed(r, "renamed"),
          "STREAM_RECEIPT_MISMATCH", view_only=True),
]


@pytest.fixture(scope="module")
def _viewed(tmp_path_factory: pytest.TempPathFactory, _pristine_world: DemoWorld
            ) -> dict[bool, Path]:
    """A staging and a sealed copy of the demo world, each with OUT's stream view built."""
    out: dict[bool, Path] = {}
    for sealed in (False, True):
        root = tmp_path_factory.mktemp("viewed") / "world"
        shutil.copytree(_pristine_world.root, root)
        if sealed:
            seal_pack(str(root), scenario_id="baseline_v1", engine_release="demo-1.0")
        build_stream_view(str(root), OUT, rows_per_part=1500)
        out[sealed] = root
    return out


def _profile(name: str) -> Profile:
    return load_profile(name, env={})


def _broken(state: State, viewed: dict[bool, Path], tmp_path: Path) -> Path:
    root = tmp_path / "world"
    shutil.copytree(viewed[state.sealed], root)
    rehome_views(viewed[state.sealed], root)
    state.damage(root)
    return root


@pytest.mark.parametrize("state", STATES, ids=[s.name for s in STATES])
def test_every_door_refuses(state: State, _viewed: dict[bool, Path], tmp_path: Path,
                            cli: Any) -> None:
    root = _broken(state, _viewed, tmp_path)
    profile = _profile(state.profile)
    listing_before = sorted((p.relative_to(root).as_posix(), p.stat().st_size)
                            for p in root.rglob("*") if p.is_file())

    # check: the output's own status says why, never READABLE.
    report = run_check(open_pack(str(root), profile=profile))
    out = next(o for o in report.outputs if o.output_id == OUT)
    assert out.status == "BLOCKED"
    assert state.code in out.blocking
    res = cli("check", str(root), "--profile", state.profile, "--json")
    doc = json.loads(res.out)
    out_doc = next(o for o in doc["outputs"] if o["output_id"] == OUT)
    assert (res.code, out_doc["status"]) == (1, "BLOCKED")
    assert state.code in out_doc["blocking"]

    # the reader refuses before its first row
    with pytest.raises(OracleError) as exc:
        reader = open_stream_view(open_pack(str(root), profile=profile), OUT)
        next(iter(reader))
    assert exc.value.code == state.code

    # stream-view build refuses (nothing written), verify says why
    with pytest.raises(OracleError) as exc:
        build_stream_view(open_pack(str(root), profile=profile), OUT)
    assert exc.value.code == state.code
    vstate = verify_stream_view(open_pack(str(root), profile=profile), OUT)
    assert vstate.state == ("INVALID" if state.view_only else "BLOCKED")
    assert vstate.findings[0].code == state.code

    # locate hands out no locator
    res = cli("locate", str(root), "--output-id", OUT, "--profile", state.profile)
    assert res.code == 1 and res.out == ""
    assert res.err.startswith(f"oracle-tui: {state.code}: locate refused")

    # nothing any door did changed a byte
    assert sorted((p.relative_to(root).as_posix(), p.stat().st_size)
                  for p in root.rglob("*") if p.is_file()) == listing_before


def _rendered_text(renderable: Any) -> str:
    import io

    from rich.console import Console

    console = Console(width=200, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


TUI_STATES = [s for s in STATES if s.name in (
    "tombstoned", "unsealed-under-strict", "gate-member-edited", "part-changed-after-seal",
    "part-changed-before-seal", "view-column-narrowed")]


@pytest.mark.parametrize("state", TUI_STATES, ids=[s.name for s in TUI_STATES])
async def test_tui_overview_and_outputs_pane_refuse(state: State, _viewed: dict[bool, Path],
                                                    tmp_path: Path) -> None:
    from textual.widgets import DataTable, Static

    root = _broken(state, _viewed, tmp_path)
    app = make_app(str(root), profile=state.profile, read_only=True)
    async with app.run_test(size=(130, 42)) as pilot:
        await wait_idle(pilot)
        assert app.report is not None
        table = app.query_one("#outputs-table", DataTable)
        statuses = {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[1])
                    for i in range(table.row_count)}
        assert statuses[OUT] == "BLOCKED"
        blocked_col = {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[5])
                       for i in range(table.row_count)}
        assert state.code in blocked_col[OUT]
        overview = _rendered_text(app.query_one("#overview-body", Static).content)
        readable = sum(s == "READABLE" for s in statuses.values())
        assert f"{readable}/4 outputs readable" in overview
        assert readable < 4


def test_view_only_damage_leaves_the_raw_output_alone(_viewed: dict[bool, Path],
                                                      tmp_path: Path) -> None:
    """A forged view blocks that output (the producer reads the view), not its siblings."""
    state = next(s for s in STATES if s.name == "view-column-narrowed")
    root = _broken(state, _viewed, tmp_path)
    report = run_check(str(root))
    statuses = {o.output_id: o.status for o in report.outputs}
    assert statuses == {"arrival_events_5B": "READABLE", "s2_event_stream_baseline_6B": "READABLE",
                        OUT: "BLOCKED", "s4_event_labels_6B": "READABLE"}


def test_seal_refuses_a_part_changed_before_sealing_at_equal_size(world: DemoWorld) -> None:
    """Same size, same rows: only hashing sees it, and sealing always hashes."""
    p = _part(Path(world.root))
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x01
    p.write_bytes(bytes(data))
    assert run_check(world.root).verdict == "WARN"  # presence, sizes and footers agree
    deep = run_check(world.root, verify_digests=True)
    assert {(f.code, f.subject) for f in deep.actionable() if f.severity.value == "FAIL"} == {
        ("DIGEST_MISMATCH", p.relative_to(world.root).as_posix())}
    with pytest.raises(OracleError) as exc:
        seal_pack(world.root, scenario_id="baseline_v1", engine_release="demo-1.0")
    assert exc.value.code == "DIGEST_MISMATCH"
    assert not (Path(world.root) / "_oracle_content_index.json").exists()
    assert not (Path(world.root) / "_SEALED.json").exists()


def test_outputs_without_evidence_are_said_to_be_unproven(world: DemoWorld) -> None:
    bundle = next(Path(world.root).glob("data/layer2/5B/validation/*"))
    # Re-issue the 5B bundle without its parts list: still a valid, PASSing gate.
    (bundle / "arrival_parts.json").unlink()
    index = json.loads((bundle / "index.json").read_text())
    index["entries"] = [e for e in index["entries"] if e["path"] != "arrival_parts.json"]
    (bundle / "index.json").write_bytes(canonical_json(index))
    report_bytes = (bundle / "validation_report_5B.json").read_bytes()
    digest = hashlib.sha256(report_bytes).hexdigest()
    _edit_json(bundle / "_passed.flag", lambda d: d.update(bundle_digest_sha256=digest))
    report = run_check(world.root)
    assert report.verdict == "WARN"
    info = [(f.code, f.subject) for f in report.findings if f.code == "OUTPUT_EVIDENCE_ABSENT"]
    assert info == [("OUTPUT_EVIDENCE_ABSENT", "arrival_events_5B")]
    out = next(o for o in report.outputs if o.output_id == "arrival_events_5B")
    assert (out.status, out.evidence_parts) == ("READABLE", None)
    others = [o.evidence_parts for o in report.outputs if o.output_id != "arrival_events_5B"]
    assert others == [4, 4, 4]
    # What every face says was proven names the output whose bytes could not be.
    assert run_check(world.root, verify_digests=True).verified == (
        "gates recomputed; file contents re-hashed against the engine's evidence, except 1 "
        "output it states nothing for (presence only: arrival_events_5B)")


DAMAGE = [_tombstone, _seal_failed, _unseal, _flag_edited, _member_edited, _part_missing,
          _part_extra, _part_truncated, _part_changed, _view_part_removed_receipt_rewritten,
          lambda r: _view_schema_changed(r, "narrowed")]


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(picks=st.lists(st.sampled_from(range(len(DAMAGE))), max_size=3, unique=True),
       profile=st.sampled_from(["local", "dev"]))
def test_no_door_yields_a_row_that_check_does_not_call_readable(
        picks: list[int], profile: str, _viewed: dict[bool, Path],
        tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("prop") / "world"
    shutil.copytree(_viewed[True], root)
    rehome_views(_viewed[True], root)
    for i in sorted(picks):  # the view edits need the view intact: apply in list order
        DAMAGE[i](root)
    prof = _profile(profile)
    report = run_check(open_pack(str(root), profile=prof))
    for out in report.outputs:
        try:
            rows = sum(b.num_rows for b in open_stream_view(open_pack(str(root), profile=prof), out.output_id))
        except OracleError:
            rows = -1
        if out.status != "READABLE":
            assert rows == -1, (out.output_id, out.status, picks)
            continue
        # Readable: all of it, from its view, or (local only) from the raw parts.
        has_view = out.output_id == OUT
        assert rows == (4000 if has_view or profile == "local" else -1), (out.output_id, picks)
