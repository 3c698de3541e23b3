"""Round-1 leftovers (issue 29): temp names where this tool never writes, empty folders,
names that are data outside every output, memory that must not grow with the number of
parts, a half-sealed pack under the local profile, and what verify says it did not prove."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.engine import EngineOptions
from oracle_tui.core.errors import OracleError
from oracle_tui.core.views import build as stream_view
from oracle_tui.core.views.build import build_stream_view
from oracle_tui.core.views.reader import open_stream_view
from oracle_tui.core.views.verify import verify_stream_view
from tests.conftest import run_cli_here
from tests.reliability.helpers import check, fails, part, rel

OUT = "s3_event_stream_with_fraud_6B"


def test_a_temp_name_in_a_data_folder_is_a_foreign_file(sealed_world: DemoWorld) -> None:
    stray = part(sealed_world.root).parent / (".oracle-tui-tmp-4242-" + "0" * 32)
    stray.write_bytes(b"x")
    rc, doc = check(sealed_world.root)
    assert rc == 1 and fails(doc) == {("UNEXPECTED_FILE", rel(sealed_world.root, stray))}


def test_a_bracketed_name_outside_every_output_is_data(world: DemoWorld) -> None:
    odd = Path(world.root) / "logs" / "[" / "x]"
    odd.parent.mkdir(parents=True)
    odd.write_text("a log line\n")
    assert run_cli_here("seal", world.root, "--scenario-id", "baseline_v1",
                        "--engine-release", "demo-1.0", "--yes").code == 0
    rc, doc = check(world.root, "--strict-seal")
    assert (rc, doc["verdict"]) == (0, "PASS")
    assert {o["status"] for o in doc["outputs"]} == {"READABLE"}


def _part_digests(root: str) -> list[str]:
    folder = Path(root) / "stream_view" / "ts_utc" / f"output_id={OUT}"
    return [hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.glob("part-*.parquet"))]


def test_many_small_parts_are_routed_in_waves_with_the_same_bytes(world: DemoWorld,
                                                                  tmp_path: Path) -> None:
    import shutil

    other = tmp_path / "other"
    shutil.copytree(world.root, other)
    # 80 ranges: at 48 MB on two threads a wave carries fewer, so routing takes several.
    build_stream_view(world.root, OUT, engine=EngineOptions(memory_limit="48MB", threads=2), rows_per_part=50)
    build_stream_view(str(other), OUT, engine=EngineOptions(memory_limit="2GB", threads=2), rows_per_part=50)
    few, many = _part_digests(world.root), _part_digests(str(other))
    assert len(few) == 80 and few == many
    assert verify_stream_view(world.root, OUT).state == "VALID"


def test_more_parts_than_names_can_order_are_refused_up_front(world: DemoWorld,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    monkeypatch.setattr(stream_view, "MAX_PARTS", 10)
    with pytest.raises(OracleError) as exc:
        build_stream_view(world.root, OUT, rows_per_part=100)
    assert exc.value.code == "INPUT_INVALID"
    assert "into 40 parts; a view has at most 10 (give at least 400)" in exc.value.message
    assert not (Path(world.root) / "stream_view").exists()


def test_a_half_sealed_pack_reads_with_a_warning_under_the_local_profile(
        sealed_world: DemoWorld) -> None:
    (Path(sealed_world.root) / "_SEALED.json").unlink()
    reader = open_stream_view(sealed_world.root, OUT)
    assert ("PACK_NOT_SEALED", "WARN") in [(f.code, f.severity.value) for f in reader.findings]
    assert sum(b.num_rows for b in reader) == 4000


def test_verify_says_what_it_did_not_prove(world: DemoWorld) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    res = run_cli_here("stream-view", "verify", world.root, "--output-id", OUT)
    assert res.code == 0
    assert "not verified: the order of rows with equal keys" in res.out
    assert "--deep rebuilds and compares" in res.out
    deep = verify_stream_view(world.root, OUT, deep=True)
    assert deep.state == "VALID" and deep.not_verified == ""
