from __future__ import annotations

import json
from pathlib import Path

import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.errors import OracleError
from oracle_tui.core.interface_pack import load_interface_pack
from oracle_tui.core.locators import locator_for, validate_locator
from oracle_tui.core.storage import open_store
from tests.conftest import CliRunner


def test_locator_round_trip_local(cli: CliRunner, world: DemoWorld) -> None:
    res = cli("locate", world.root, "--output-id", "s4_event_labels_6B")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["locator"]["path"].endswith("/part-*.parquet")
    assert doc["locator"]["manifest_fingerprint"] == world.world_key.manifest_fingerprint
    assert len(doc["resolved"]["files"]) == 4


@pytest.mark.parametrize("path,code", [
    ("/etc/passwd", "LOCATOR_INVALID"),
    ("s3://other-bucket/x/part-*.parquet", "LOCATOR_INVALID"),
    ("data/../../etc/part-*.parquet", "PATH_UNSAFE"),
    ("~/part-*.parquet", "PATH_UNSAFE"),
    ("data/layer3/6B/s4_event_labels_6B/elsewhere/part-*.parquet", "LOCATOR_INVALID"),
])
def test_bad_locators(world: DemoWorld, path: str, code: str) -> None:
    pack = load_interface_pack()
    store = open_store(world.root)
    loc = locator_for(pack, world.world_key, "s4_event_labels_6B")
    with pytest.raises(OracleError) as exc:
        validate_locator(store, pack, world.world_key, dict(loc, path=path))
    assert exc.value.code == code


def test_locator_identity_and_absolute_paths(world: DemoWorld) -> None:
    pack = load_interface_pack()
    store = open_store(world.root)
    loc = locator_for(pack, world.world_key, "arrival_events_5B")
    absolute = str(Path(world.root) / loc["path"])
    assert len(validate_locator(store, pack, world.world_key, dict(loc, path=absolute)).files) == 4
    with pytest.raises(OracleError) as exc:
        validate_locator(store, pack, world.world_key, dict(loc, seed=1))
    assert exc.value.code == "WORLD_KEY_MISMATCH"
    with pytest.raises(OracleError) as exc:
        validate_locator(store, pack, world.world_key, dict(loc, output_id="nope"))
    assert exc.value.code == "OUTPUT_UNKNOWN"


@pytest.mark.s3
def test_locator_on_s3(cli: CliRunner, s3_world: DemoWorld, tmp_path: Path) -> None:
    pack = load_interface_pack()
    loc = locator_for(pack, s3_world.world_key, "s2_event_stream_baseline_6B")
    loc["path"] = s3_world.root + loc["path"]
    f = tmp_path / "loc.json"
    f.write_text(json.dumps(loc))
    res = cli("locate", s3_world.root, "--verify", str(f))
    assert res.code == 0, res.err
    assert len(json.loads(res.out)["resolved"]["files"]) == 4
    bucket = s3_world.root.split("/")[2]
    f.write_text(json.dumps(dict(loc, path=f"s3://{bucket}/elsewhere/part-*.parquet")))
    res = cli("locate", s3_world.root, "--verify", str(f))
    assert res.code == 1 and res.err.startswith("oracle-tui: LOCATOR_INVALID:")
