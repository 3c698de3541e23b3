"""No character in a root, prefix or key widens what is read (DuckDB globs every path).

A root named like a pattern (`pack?`, `w[1]`, `w*`) next to a sibling it would match reads
only its own rows; a discovered name holding a glob metacharacter is PATH_UNSAFE, blocks its
output and is never sealed in — on local disk and on S3.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.errors import OracleError
from oracle_tui.core.seal import seal_pack
from oracle_tui.core.views.build import build_stream_view
from oracle_tui.core.views.reader import open_stream_view
from oracle_tui.core.views.verify import verify_stream_view
from tests.conftest import S3Env, run_cli_here

OUT = "s3_event_stream_with_fraud_6B"


@pytest.mark.parametrize("name", ["pack?", "w[1]", "w*", "pack{a,b}"])
def test_root_named_like_a_pattern_reads_only_itself(_pristine_world: DemoWorld,
                                                     tmp_path: Path, name: str) -> None:
    root = tmp_path / name
    shutil.copytree(_pristine_world.root, root)
    # Siblings the pattern would match, holding other rows under the same relative paths.
    for sibling in ("packA", "w1", "wX", "packa"):
        shutil.copytree(_pristine_world.root, tmp_path / sibling)
    result = build_stream_view(str(root), OUT, rows_per_part=1500)
    assert result.receipt["view"]["row_count"] == 4000
    assert verify_stream_view(str(root), OUT).state == "VALID"
    assert sum(b.num_rows for b in open_stream_view(str(root), OUT)) == 4000
    assert run_check(str(root)).verdict == "WARN"  # unsealed, nothing else


@pytest.mark.parametrize("name", ["part-*.parquet", "part-0000?.parquet", "part-[0].parquet"])
def test_part_named_like_a_pattern_is_path_unsafe(world: DemoWorld, name: str) -> None:
    first = next(Path(world.root).glob(f"data/**/{OUT}/**/part-00000.parquet"))
    shutil.copyfile(first, first.parent / name)
    rel = (first.parent / name).relative_to(world.root).as_posix()
    report = run_check(world.root)
    fails = {(f.code, f.subject) for f in report.findings if f.severity.value == "FAIL"}
    assert ("PATH_UNSAFE", rel) in fails
    assert {o.output_id: o.status for o in report.outputs}[OUT] == "BLOCKED"
    with pytest.raises(OracleError) as exc:
        build_stream_view(world.root, OUT)
    assert exc.value.code == "PATH_UNSAFE"
    with pytest.raises(OracleError) as exc:
        seal_pack(world.root, scenario_id="baseline_v1", engine_release="demo-1.0")
    assert exc.value.code == "PATH_UNSAFE"
    assert not (Path(world.root) / "_SEALED.json").exists()
    assert not (Path(world.root) / "stream_view").exists()


@pytest.mark.s3
def test_s3_key_named_like_a_pattern(s3env: S3Env, s3_world: DemoWorld) -> None:
    from oracle_tui.core.storage.s3 import S3Store

    store = S3Store.from_uri(s3_world.root)
    first = next(o.key for o in store.list("data/")
                 if f"/{OUT}/" in o.key and o.key.endswith("/part-00000.parquet"))
    star = first.rsplit("/", 1)[0] + "/part-*.parquet"
    assert store.put_if_absent(star, store.read_bytes(first))
    res = run_cli_here("check", s3_world.root, "--json")
    doc = json.loads(res.out)
    assert res.code == 1
    assert ("PATH_UNSAFE", star) in {(f["code"], f["subject"]) for f in doc["findings"]}
    res = run_cli_here("stream-view", "build", s3_world.root, "--output-id", OUT)
    assert res.code == 1 and res.err.startswith("oracle-tui: PATH_UNSAFE: build refused")


@pytest.mark.s3
def test_s3_folder_marker_holding_bytes_is_reported(s3env: S3Env, s3_world: DemoWorld) -> None:
    from oracle_tui.core.storage.s3 import S3Store

    store = S3Store.from_uri(s3_world.root)
    client: Any = s3env.client()
    client.put_object(Bucket=store.bucket, Key=store.prefix + "logs/hidden/", Body=b"payload")
    client.put_object(Bucket=store.bucket, Key=store.prefix + "logs/empty/", Body=b"")
    report = run_check(s3_world.root)
    fails = {(f.code, f.subject) for f in report.findings if f.severity.value == "FAIL"}
    assert fails == {("PATH_UNSAFE", "logs/hidden/")}  # the empty marker is no object
