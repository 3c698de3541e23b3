"""The platform's stream producer accepts our views (local disk and S3).

`ProducerModel` re-implements, from its description (issue 13 and docs/stream-views.md), how
the platform's World Stream Producer accepts a view and reads it: both files present and
parsed, receipt status OK, the manifest's stream_view_id equal to the id of the producer's own
wiring (engine root, scenario, output, ts_utc sort keys, flat), the manifest's output id, then
every `*.parquet` under the folder in name order.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.jsonio import canonical_json
from oracle_tui.core.pack import open_pack
from oracle_tui.core.views.build import build_stream_view
from oracle_tui.core.views.reader import open_stream_view

OUT = "s3_event_stream_with_fraud_6B"


class Refused(Exception):
    pass


class ProducerModel:
    def __init__(self, engine_root: str, scenario_id: str,
                 read: Callable[[str], bytes | None], list_names: Callable[[str], list[str]],
                 stream_view_root: str | None = None) -> None:
        self.engine_root = engine_root
        self.scenario_id = scenario_id
        self.read = read
        self.list_names = list_names
        self.base = stream_view_root or f"{engine_root}/stream_view/ts_utc"

    def view_id(self, output_id: str) -> str:
        payload = {"engine_run_root": self.engine_root, "scenario_id": self.scenario_id,
                   "output_id": output_id, "sort_keys": ["ts_utc", "filename", "file_row_number"],
                   "partition_granularity": "flat"}
        text = json.dumps(payload, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _json(self, location: str) -> dict[str, Any] | None:
        raw = self.read(location)
        if raw is None:
            return None
        try:
            doc = json.loads(raw)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None

    def rows(self, output_id: str) -> list[dict[str, Any]]:
        folder = f"{self.base.rstrip('/')}/output_id={output_id}"
        manifest = self._json(f"{folder}/_stream_view_manifest.json")
        receipt = self._json(f"{folder}/_stream_sort_receipt.json")
        if not manifest or not receipt:
            raise Refused("STREAM_VIEW_MISSING")
        if receipt.get("status") != "OK":
            raise Refused("STREAM_VIEW_RECEIPT_BAD")
        if manifest.get("stream_view_id") != self.view_id(output_id):
            raise Refused("STREAM_VIEW_ID_MISMATCH")
        if manifest.get("output_id") != output_id:
            raise Refused("STREAM_VIEW_OUTPUT_MISMATCH")
        names = sorted(n for n in self.list_names(folder) if n.endswith(".parquet"))
        if not names:
            raise Refused("STREAM_VIEW_EMPTY")
        out: list[dict[str, Any]] = []
        for name in names:
            data = self.read(f"{folder}/{name}")
            assert data is not None
            out.extend(pq.read_table(io.BytesIO(data)).to_pylist())
        return out


def _local_producer(root: str, scenario_id: str, **kw: Any) -> ProducerModel:
    def read(location: str) -> bytes | None:
        path = Path(location)
        return path.read_bytes() if path.is_file() else None

    def names(folder: str) -> list[str]:
        path = Path(folder)
        return sorted(p.name for p in path.iterdir() if p.is_file()) if path.is_dir() else []

    return ProducerModel(root, scenario_id, read, names, **kw)


def _s3_producer(root: str, scenario_id: str, client: Any) -> ProducerModel:
    def split(location: str) -> tuple[str, str]:
        bucket, _, key = location[len("s3://"):].partition("/")
        return bucket, key

    def read(location: str) -> bytes | None:
        bucket, key = split(location)
        try:
            body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
        return body

    def names(folder: str) -> list[str]:
        bucket, key = split(folder.rstrip("/") + "/")
        resp = client.list_objects_v2(Bucket=bucket, Prefix=key)
        return sorted(o["Key"][len(key):] for o in resp.get("Contents", []))

    return ProducerModel(root, scenario_id, read, names)


def _ordered(rows: list[dict[str, Any]]) -> bool:
    return [r["ts_utc"] for r in rows] == sorted(r["ts_utc"] for r in rows)


def test_the_producer_accepts_our_view_on_local_disk(world: DemoWorld) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    producer = _local_producer(world.root, "baseline_v1")
    rows = producer.rows(OUT)
    assert len(rows) == 4000 and _ordered(rows)
    ours = [r for b in open_stream_view(world.root, OUT) for r in b.to_pylist()]
    assert rows == ours  # the producer streams exactly what the reader API yields
    # The root given with a trailing slash names the same view.
    assert _local_producer(world.root + "/", "baseline_v1").view_id(OUT) != \
        producer.view_id(OUT)  # the producer compares strings: wire it without the slash


def test_the_producer_accepts_our_view_on_s3(s3env: Any, s3_world: DemoWorld) -> None:
    build_stream_view(s3_world.root, OUT, rows_per_part=1500)
    producer = _s3_producer(s3_world.root.rstrip("/"), "baseline_v1", s3env.client())
    rows = producer.rows(OUT)
    assert len(rows) == 4000 and _ordered(rows)


def test_the_producer_accepts_a_view_under_a_stream_view_root(world: DemoWorld,
                                                              tmp_path: Path) -> None:
    from oracle_tui.core.profiles import load_profile

    views = tmp_path / "views"
    profile = load_profile("local", env={"ORACLE_STREAM_VIEW_ROOT": str(views)})
    if not profile.wiring("stream_view_root"):
        pytest.skip("the local profile does not wire stream_view_root from the environment")
    build_stream_view(open_pack(world.root, profile=profile), OUT, rows_per_part=1500)
    producer = _local_producer(world.root, "baseline_v1", stream_view_root=str(views / "ts_utc"))
    assert len(producer.rows(OUT)) == 4000


def _edit(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    doc = json.loads(path.read_text())
    edit(doc)
    path.unlink()
    path.write_bytes(canonical_json(doc))


def test_the_producer_and_check_refuse_what_they_must(world: DemoWorld, tmp_path: Path) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    folder = Path(world.root) / "stream_view" / "ts_utc" / f"output_id={OUT}"
    cases: dict[str, tuple[Callable[[Path], None], str, str]] = {
        "manifest-missing": (lambda f: (f / "_stream_view_manifest.json").unlink(),
                             "STREAM_VIEW_MISSING", "STREAM_RECEIPT_MISMATCH"),
        "status-not-ok": (lambda f: _edit(f / "_stream_sort_receipt.json",
                                          lambda d: d.update(status="FAILED")),
                          "STREAM_VIEW_RECEIPT_BAD", "STREAM_RECEIPT_MISMATCH"),
        "id-over-another-root": (lambda f: None, "STREAM_VIEW_ID_MISMATCH", ""),
        "manifest-for-another-output": (
            lambda f: _edit(f / "_stream_view_manifest.json",
                            lambda d: d.update(output_id="arrival_events_5B")),
            "STREAM_VIEW_ID_MISMATCH", "STREAM_RECEIPT_MISMATCH"),
    }
    for name, (damage, producer_code, check_code) in cases.items():
        copy = tmp_path / name / "world"
        shutil.copytree(world.root, copy)
        damage(copy / folder.relative_to(world.root))
        # "Another root": the producer finds the view (its stream_view_root points at it) but
        # is wired with another engine-root string than the one the view was built for.
        wired = str(tmp_path / "elsewhere") if name == "id-over-another-root" else str(copy)
        producer = _local_producer(wired, "baseline_v1",
                                   stream_view_root=str(copy / "stream_view" / "ts_utc"))
        with pytest.raises(Refused) as exc:
            producer.rows(OUT)
        assert str(exc.value) == producer_code, name
        if check_code:
            report = run_check(str(copy))
            view = next(v for v in report.stream_views if v.output_id == OUT)
            assert view.state == "INVALID", name
            assert check_code in {f.code for f in report.findings if f.subject == OUT}, name


def test_no_other_parquet_under_a_view_folder(world: DemoWorld) -> None:
    result = build_stream_view(world.root, OUT, rows_per_part=1500)
    folder = Path(world.root) / "stream_view" / "ts_utc" / f"output_id={OUT}"
    names = sorted(p.name for p in folder.iterdir())
    parts = [p["path"] for p in result.receipt["parts"]]
    assert names == sorted(["_stream_sort_receipt.json", "_stream_view_manifest.json", *parts])


def test_a_view_in_the_previous_layout_is_outdated(world: DemoWorld) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    folder = Path(world.root) / "stream_view" / "ts_utc" / f"output_id={OUT}"
    doc = json.loads((folder / "_stream_sort_receipt.json").read_text())
    (folder / "_stream_sort_receipt.json").unlink()
    (folder / "_stream_view_manifest.json").unlink()
    (folder / "_stream_sort_receipt.json").write_bytes(canonical_json(doc["extensions"]["oracle_tui"]))
    report = run_check(world.root)
    view = next(v for v in report.stream_views if v.output_id == OUT)
    assert view.state == "OUTDATED"
    finding = next(f for f in report.findings if f.code == "STREAM_VIEW_OUTDATED")
    assert "Rebuild under a new stream_view_root or remove the view folder" in finding.detail
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(Exception) as exc:
        build_stream_view(world.root, OUT)
    assert getattr(exc.value, "code", "") == "STREAM_VIEW_OUTDATED"
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing rewritten
