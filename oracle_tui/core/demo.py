"""The demo world: a realistic engine run root (docs/contract.md §1) that the reference
pack describes.

Deterministic for a seed (byte-identical files), streamed in bounded chunks so that very
large worlds (tens of millions of events) fit in memory, with ts_utc deliberately unsorted
within and across parts and with ties.
"""

from __future__ import annotations

import hashlib
import math
import shutil
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel

from oracle_tui.core import contracts
from oracle_tui.core.errors import OracleError
from oracle_tui.core.hashing import sha256_file
from oracle_tui.core.interface_pack import InterfacePack, load_interface_pack, render_template
from oracle_tui.core.jsonio import canonical_json
from oracle_tui.core.progress import Progress, check_cancel, no_progress
from oracle_tui.core.storage import Store
from oracle_tui.core.storage.folders import ensure_folder, write_error
from oracle_tui.core.world import WorldKey

DEFAULT_EVENTS = 20_000
DEFAULT_SEED = 42
DEFAULT_SCENARIO = "baseline_v1"
ROWS_PER_PART_MAX = 1_000_000
CHUNK_ROWS = 250_000
WINDOW_START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
WINDOW_SECONDS = 7 * 86_400
CREATED_UTC = "2026-01-08T00:00:00.000000Z"
TZS = (("Europe/London", 0), ("Europe/Berlin", 3600), ("America/New_York", -18000),
       ("Asia/Tokyo", 32400))
EVENT_TYPES = ("AUTH_REQUEST", "AUTH_RESPONSE", "CLEARING", "REFUND")


VARY_OUTPUT = "s3_event_stream_with_fraud_6B"  # where --vary changes rows unless told


class DemoWorld(BaseModel):
    root: str
    world_key: WorldKey
    run_id: str
    events: int
    files: int
    bytes: int


def _hex(label: str, world: str, n: int = 64) -> str:
    return hashlib.sha256(f"oracle-tui-demo|{label}|{world}".encode()).hexdigest()[:n]


def _ts_strings(us: np.ndarray[Any, Any], offset_s: np.ndarray[Any, Any] | None = None,
                zulu: bool = True) -> pa.Array:
    if offset_s is not None:
        us = us + offset_s * 1_000_000
    ts = pa.array(us, type=pa.int64()).cast(pa.timestamp("us"))
    return pc.strftime(ts, format="%Y-%m-%dT%H:%M:%SZ" if zulu else "%Y-%m-%dT%H:%M:%S")


# Traffic by hour of the day (UTC), quiet at night and busiest in the evening, as card
# traffic is: what the inspector's rows-over-time picture of a view shows.
HOURLY_WEIGHTS = np.array([2, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 10, 11, 10, 9, 9, 10, 11, 13, 14,
                           13, 10, 6, 3], dtype=np.float64)
_DAY_CDF = np.concatenate([[0.0], np.cumsum(HOURLY_WEIGHTS) / HOURLY_WEIGHTS.sum()])


def _diurnal(secs: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Uniform seconds of the window moved within their day so that hours follow
    HOURLY_WEIGHTS (the inverse of the day's piecewise-linear distribution): the same draws,
    so every other column stays as it was."""
    day, within = np.divmod(secs, 86_400)
    u = within / 86_400
    hour = np.clip(np.searchsorted(_DAY_CDF, u, side="right") - 1, 0, 23)
    frac = (u - _DAY_CDF[hour]) / (_DAY_CDF[hour + 1] - _DAY_CDF[hour])
    moved = ((hour + frac) * 3_600).astype(np.int64)
    out: np.ndarray[Any, Any] = day * 86_400 + np.clip(moved, 0, 86_399)
    return out


def _timestamps(rng: np.random.Generator, n: int) -> np.ndarray[Any, Any]:
    # Whole seconds for most rows so that ties are common; some rows carry microseconds.
    secs = _diurnal(rng.integers(0, WINDOW_SECONDS, size=n, dtype=np.int64))
    micros = np.where(rng.random(n) < 0.25, rng.integers(0, 1_000_000, size=n), 0)
    return WINDOW_START_US + secs * 1_000_000 + micros


def _const(value: Any, n: int, typ: pa.DataType) -> pa.Array:
    return pa.array([value], type=typ).take(pa.array(np.zeros(n, dtype=np.int64)))


def _common(wk: WorldKey, n: int, with_ph: bool = True) -> dict[str, pa.Array]:
    cols = {
        "seed": _const(wk.seed, n, pa.uint64()),
        "manifest_fingerprint": _const(wk.manifest_fingerprint, n, pa.string()),
    }
    if with_ph:
        cols["parameter_hash"] = _const(wk.parameter_hash, n, pa.string())
    cols["scenario_id"] = _const(wk.scenario_id, n, pa.string())
    return cols


def _arrivals(rng: np.random.Generator, wk: WorldKey, start: int, n: int) -> pa.Table:
    ts = _timestamps(rng, n)
    tz_idx = rng.integers(0, len(TZS), size=n)
    offsets = np.array([TZS[i][1] for i in range(len(TZS))], dtype=np.int64)[tz_idx]
    tz_names = pa.array([t[0] for t in TZS]).take(pa.array(tz_idx))
    cols: dict[str, pa.Array] = {
        "manifest_fingerprint": _const(wk.manifest_fingerprint, n, pa.string()),
        "parameter_hash": _const(wk.parameter_hash, n, pa.string()),
        "seed": _const(wk.seed, n, pa.uint64()),
        "scenario_id": _const(wk.scenario_id, n, pa.string()),
        "merchant_id": pa.array(rng.integers(1, 5_000, size=n, dtype=np.int64)),
        "zone_representation": _const("tzid", n, pa.string()),
        "channel_group": pa.array(np.array(["card_present", "ecom"])[rng.integers(0, 2, n)]),
        "bucket_index": pa.array((ts - WINDOW_START_US) // 3_600_000_000),
        "arrival_seq": pa.array(np.arange(start + 1, start + n + 1, dtype=np.int64)),
        "ts_utc": _ts_strings(ts),
        "tzid_primary": tz_names,
        "ts_local_primary": _ts_strings(ts, offsets, zulu=False),
        "is_virtual": pa.array(rng.random(n) < 0.1),
        "lambda_realised": pa.array(rng.gamma(2.0, 1.5, size=n)),
    }
    return pa.table(cols)


def _events(rng: np.random.Generator, wk: WorldKey, start: int, n: int, fraud: bool) -> pa.Table:
    rows = np.arange(start, start + n, dtype=np.int64)
    ts = _timestamps(rng, n)
    cols: dict[str, pa.Array] = {
        "flow_id": pa.array(rows // 2 + 1),
        "event_seq": pa.array(rows % 2),
        "event_type": pa.array(np.array(EVENT_TYPES)[rng.integers(0, len(EVENT_TYPES), n)]),
        "ts_utc": _ts_strings(ts),
        "amount": pa.array(np.round(rng.lognormal(3.0, 1.0, size=n), 2)),
        **_common(wk, n),
    }
    if fraud:
        flag = rng.random(n) < 0.02
        cols["fraud_flag"] = pa.array(flag)
        camp = np.array(["camp_card_testing", "camp_ato"])[rng.integers(0, 2, n)]
        cols["campaign_id"] = pa.array(camp, type=pa.string(), mask=~flag)
    return pa.table(cols)


def _labels(rng: np.random.Generator, wk: WorldKey, start: int, n: int) -> pa.Table:
    rows = np.arange(start, start + n, dtype=np.int64)
    truth = rng.random(n) < 0.02
    cols: dict[str, pa.Array] = {
        "flow_id": pa.array(rows // 2 + 1),
        "event_seq": pa.array(rows % 2),
        "is_fraud_truth": pa.array(truth),
        "is_fraud_bank_view": pa.array(truth & (rng.random(n) < 0.7)),
        **_common(wk, n),
    }
    return pa.table(cols)


Maker = Callable[[np.random.Generator, WorldKey, int, int], pa.Table]
MAKERS: dict[str, Maker] = {
    "arrival_events_5B": _arrivals,
    "s2_event_stream_baseline_6B": lambda r, w, s, n: _events(r, w, s, n, fraud=False),
    "s3_event_stream_with_fraud_6B": lambda r, w, s, n: _events(r, w, s, n, fraud=True),
    "s4_event_labels_6B": _labels,
}


def _write_json(path: Path, obj: Any) -> bytes:
    data = canonical_json(obj)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class _Writing:
    """One demo world being written: where, which world, its size, how it reports."""

    root: Path
    wk: WorldKey
    events: int
    tick: Callable[[int], None]
    cancel: threading.Event | None


def _write_output(w: _Writing, rel_dir: str, make: Maker,
                  out_no: int) -> list[tuple[str, str, int, int]]:
    """Write one output's parts; returns (key, sha256, rows, size) for each part."""
    root, wk, seed, events, tick, cancel = w.root, w.wk, w.wk.seed, w.events, w.tick, w.cancel
    nparts = max(1, min(events, max(4, math.ceil(events / ROWS_PER_PART_MAX))))
    per_part = math.ceil(events / nparts)
    written: list[tuple[str, str, int, int]] = []
    start = 0
    for part in range(nparts):
        n_part = min(per_part, events - start)
        key = f"{rel_dir}/part-{part:05d}.parquet"
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        writer: pq.ParquetWriter | None = None
        done = 0
        try:
            while done < n_part:
                check_cancel(cancel)
                n = min(CHUNK_ROWS, n_part - done)
                rng = np.random.default_rng([seed, out_no, part, done])
                table = make(rng, wk, start + done, n)
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema, compression="zstd")
                writer.write_table(table)
                done += n
                tick(n)
        finally:
            if writer is not None:
                writer.close()
        start += n_part
        written.append((key, sha256_file(path), n_part, path.stat().st_size))
    return written


def generate_demo_world_to(out: str, store: Store | None = None, vary: int = 0,
                           vary_output: str = VARY_OUTPUT, **kwargs: Any) -> DemoWorld:
    """Generate into ``out``: a local folder, or an s3:// root (built in a temporary folder,
    then uploaded create-only into an empty prefix). ``vary``: see ``vary_demo_world``."""
    check_variation(vary, vary_output, kwargs.get("events", DEFAULT_EVENTS))

    def made(root: str | Path) -> DemoWorld:
        created = _missing_folders(Path(root).absolute())
        world = generate_demo_world(root, **kwargs)
        if not vary:
            return world
        try:
            return vary_demo_world(world, vary, vary_output)
        except BaseException as exc:
            # Half varied (or interrupted) is neither world asked for: what the demo made goes.
            _remove_made(Path(world.root), created)
            if isinstance(exc, OSError):
                raise write_error(exc, str(exc.filename or world.root)) from exc
            raise

    if store is None or not store.remote:
        return made(out)
    if next(iter(store.list("")), None) is not None:
        raise OracleError("TARGET_EXISTS", f"{out} already holds objects; the demo never "
                                           "overwrites", out)
    with tempfile.TemporaryDirectory(prefix="oracle-tui-demo-") as tmp:
        world = made(Path(tmp) / "world")
        upload_tree(Path(world.root), store)
    return world.model_copy(update={"root": out})


def upload_tree(local_root: Path, store: Store, threads: int = 8) -> int:
    """Copy every file under ``local_root`` into ``store``, create-only; returns the count."""
    files = [p for p in sorted(local_root.rglob("*")) if p.is_file()]

    def put(path: Path) -> None:
        key = path.relative_to(local_root).as_posix()
        if not store.put_if_absent(key, path.read_bytes()):
            raise OracleError("TARGET_EXISTS", f"{store.uri(key)} already exists", key)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(put, files))
    return len(files)


def generate_demo_world(out: str | Path, *, events: int = DEFAULT_EVENTS, seed: int = DEFAULT_SEED,
                        scenario_id: str = DEFAULT_SCENARIO, catalogue: InterfacePack | None = None,
                        progress: Progress = no_progress,
                        cancel: threading.Event | None = None) -> DemoWorld:
    if events < 1:
        raise ValueError("events must be at least 1")
    root = Path(out).absolute()
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise OracleError("TARGET_EXISTS", f"{root} exists and is not an empty folder; "
                                           "the demo never overwrites", str(root))
    catalogue = catalogue or load_interface_pack()
    # Identity from the seed and the size: two different demo worlds never share a run id,
    # fingerprint or parameter hash, so their seals never share a pack id.
    world = f"{seed}|{events}"
    wk = WorldKey(manifest_fingerprint=_hex("mf", world), parameter_hash=_hex("ph", world),
                  scenario_id=scenario_id, seed=seed)
    run_id = _hex("run", world, 32)
    created = _missing_folders(root)
    ensure_folder(root, "the demo's --out")
    try:
        return _fill(root, wk, run_id, events, catalogue, progress, cancel)
    except BaseException as exc:
        # A full disk (or a folder gone read-only, a cancel) half-way: what this demo
        # created goes, nothing else.
        _remove_made(root, created)
        if isinstance(exc, OSError):
            raise write_error(exc, str(exc.filename or root)) from exc
        raise


def _missing_folders(root: Path) -> list[Path]:
    """``root`` and its parents that do not exist yet (what a demo into it creates)."""
    return [d for d in (root, *root.parents) if not d.exists()]


def _remove_made(root: Path, created: list[Path]) -> None:
    """Undo a demo into ``root``: the outermost folder it created, or else (an empty --out
    given to it) everything in ``root``, which stays, empty."""
    if created:
        shutil.rmtree(created[-1], ignore_errors=True)
        return
    for child in list(root.iterdir()):
        shutil.rmtree(child, ignore_errors=True) if child.is_dir() else \
            child.unlink(missing_ok=True)


def _fill(root: Path, wk: WorldKey, run_id: str, events: int, catalogue: InterfacePack,
          progress: Progress, cancel: threading.Event | None) -> DemoWorld:
    """Write a demo world into ``root`` (an empty folder)."""
    seed, scenario_id = wk.seed, wk.scenario_id
    receipt = {
        "run_id": run_id, "seed": seed, "parameter_hash": wk.parameter_hash,
        "manifest_fingerprint": wk.manifest_fingerprint, "created_utc": CREATED_UTC,
        "engine": "oracle-tui demo generator", "engine_release": "demo-1.0",
        "contracts_layout": "interface_pack_v1",
    }
    contracts.require(contracts.RUN_RECEIPT, receipt, "INTERNAL_ERROR", "run_receipt.json")
    _write_json(root / "run_receipt.json", receipt)
    total = events * len(MAKERS)
    done = 0

    def tick(rows: int) -> None:
        nonlocal done
        done += rows
        progress(done, total)

    tokens = wk.tokens(run_id)
    writing = _Writing(root=root, wk=wk, events=events, tick=tick, cancel=cancel)
    parts: dict[str, list[tuple[str, str, int, int]]] = {}
    for out_no, (output_id, make) in enumerate(MAKERS.items()):
        rendered = render_template(catalogue.outputs[output_id].path_template, tokens)
        rel_dir = rendered.rsplit("/", 1)[0]
        parts[output_id] = _write_output(writing, rel_dir, make, out_no)
    _write_bundles(root, catalogue, wk, parts)
    (root / "logs").mkdir(exist_ok=True)
    (root / "logs" / "engine.log").write_text(
        f"run {run_id} seed={seed} scenario={scenario_id} events={events}: completed\n")
    _write_json(root / "reports" / "run_summary.json", {
        "run_id": run_id, "outputs": {k: sum(p[2] for p in v) for k, v in parts.items()}})
    files = [p for p in root.rglob("*") if p.is_file()]
    return DemoWorld(root=str(root), world_key=wk, run_id=run_id, events=events,
                     files=len(files), bytes=sum(p.stat().st_size for p in files))


def check_variation(rows: int, output_id: str, events: int) -> None:
    """``demo --vary``'s values, before anything is written."""
    if rows < 0 or 3 * rows > events:
        raise OracleError("INPUT_INVALID", f"--vary {rows}: between 0 and a third of --events "
                                           f"({events // 3:,})", str(rows))
    if output_id not in MAKERS:
        raise OracleError("INPUT_INVALID", f"--vary-output {output_id}: one of "
                                           f"{', '.join(MAKERS)}", output_id)


def vary_demo_world(world: DemoWorld, rows: int, output_id: str = VARY_OUTPUT,
                    catalogue: InterfacePack | None = None) -> DemoWorld:
    """The same world (same identity) with ``rows`` values changed, ``rows`` rows missing and
    ``rows`` rows extra in one output, then validated again as the engine would (bundles and
    flags over the parts as written): a readable world that `diff` shows row by row against
    the plain one. Rewrites the demo's own fresh parts in place (local only)."""
    check_variation(rows, output_id, world.events)
    catalogue = catalogue or load_interface_pack()
    root = Path(world.root)
    rendered = render_template(catalogue.outputs[output_id].path_template,
                               world.world_key.tokens(world.run_id))
    parts = sorted((root / rendered.rsplit("/", 1)[0]).glob("part-*.parquet"))
    _vary_parts(parts, rows, catalogue.outputs[output_id].primary_key)
    revalidate(root, world.world_key, world.run_id, catalogue)
    files = [p for p in root.rglob("*") if p.is_file()]
    return world.model_copy(update={"files": len(files),
                                    "bytes": sum(p.stat().st_size for p in files)})


def _vary_parts(parts: list[Path], n: int, primary_key: list[str]) -> None:
    """Rewrite the parts with ``n`` values changed, ``n`` rows dropped and ``n`` rows added
    (copies under new keys), spread over the whole output; the same part files."""
    tables = [pq.read_table(path) for path in parts]
    sizes = [t.num_rows for t in tables]
    table = pa.concat_tables(tables)
    total = table.num_rows
    spots = np.linspace(0, total - 1, 3 * n, dtype=np.int64)  # evenly spread, distinct
    changed, dropped, copied = spots[0::3], spots[1::3], spots[2::3]
    # The changed value: the first floating column outside the key (amount, lambda_realised),
    # else the first boolean one, flipped.
    fields = [f for f in table.schema if f.name not in primary_key]
    target = next((f for f in fields if pa.types.is_floating(f.type)), None) or \
        next(f for f in fields if pa.types.is_boolean(f.type))
    values = table.column(target.name).to_numpy(zero_copy_only=False).copy()
    values[changed] = values[changed] + 1.0 if pa.types.is_floating(target.type) \
        else ~values[changed].astype(bool)
    table = table.set_column(table.schema.get_field_index(target.name), target,
                             pa.array(values, target.type))
    # The added rows: copies given new keys in the widest integer key column (flow_id,
    # merchant_id): values above any the output holds.
    serials = [c for c in primary_key if c != "seed" and pa.types.is_integer(
        table.schema.field(c).type)]
    tops = {c: int(pc.max(table.column(c)).as_py()) for c in serials}
    serial = max(serials, key=lambda c: tops[c])
    extra = table.take(pa.array(copied))
    extra = extra.set_column(extra.schema.get_field_index(serial), table.schema.field(serial),
                             pa.array(np.arange(tops[serial] + 1, tops[serial] + 1 + n),
                                      table.schema.field(serial).type))
    keep = np.ones(total, dtype=bool)
    keep[dropped] = False
    table = pa.concat_tables([table.filter(pa.array(keep)), extra])
    start = 0
    for i, path in enumerate(parts):
        rows = sizes[i] if i < len(parts) - 1 else table.num_rows - start
        pq.write_table(table.slice(start, rows), path, compression="zstd")
        start += rows


def revalidate(root: Path, world_key: WorldKey, run_id: str,
               catalogue: InterfacePack | None = None) -> None:
    """Act as the engine after rewriting parts of a demo world: validate every output again,
    so the bundles (and their flags) list the parts now on disk."""
    catalogue = catalogue or load_interface_pack()
    tokens = world_key.tokens(run_id)
    parts: dict[str, list[tuple[str, str, int, int]]] = {}
    for output_id in MAKERS:
        rendered = render_template(catalogue.outputs[output_id].path_template, tokens)
        folder = root / rendered.rsplit("/", 1)[0]
        parts[output_id] = [
            (p.relative_to(root).as_posix(), sha256_file(p), pq.read_metadata(p).num_rows,
             p.stat().st_size) for p in sorted(folder.glob("part-*.parquet"))]
    _write_bundles(root, catalogue, world_key, parts)


def _parts_doc(parts: list[tuple[str, str, int, int]]) -> list[dict[str, Any]]:
    """The engine's evidence for an output's parts, as its validation bundle states it."""
    return [{"path": k, "sha256_hex": s, "rows": r, "size_bytes": n} for k, s, r, n in parts]


def _write_bundles(root: Path, catalogue: InterfacePack, wk: WorldKey,
                   parts: dict[str, list[tuple[str, str, int, int]]]) -> None:
    tokens = wk.tokens()
    base = {"manifest_fingerprint": wk.manifest_fingerprint, "status": "PASS"}

    def bundle_dir(gate_id: str) -> Path:
        return root / render_template(catalogue.gates[gate_id].bundle_root_template, tokens)

    # 1A: sha256_bundle_digest over every bundle file but the flag (index.json included).
    d = bundle_dir("gate.layer1.1A.validation")
    files = {
        "s0_gate_receipt.json": _write_json(d / "s0_gate_receipt.json", {**base, "segment": "1A"}),
        "validation_report.json": _write_json(d / "validation_report.json",
                                              {**base, "checks": ["schema", "rng_budget"]}),
        "checks/schema.json": _write_json(d / "checks" / "schema.json", {"tables_checked": 12}),
    }
    index = [{"path": p, "sha256_hex": _sha(b)} for p, b in sorted(files.items())]
    files["index.json"] = _write_json(d / "index.json", index)
    digest = hashlib.sha256(b"".join(files[p] for p in sorted(files))).hexdigest()
    (d / "_passed.flag").write_text(f"sha256_hex = {digest}\n")

    # 3A: sha256_member_digest_concat, index object with `members`, not in path order.
    d = bundle_dir("gate.layer1.3A.validation")
    names = ["zone_alloc_summary.json", "validation_report.json", "s0_gate_receipt.json"]
    members = [{"path": n, "sha256_hex": _sha(_write_json(d / n, {**base, "file": n}))}
               for n in names]
    _write_json(d / "index.json", {"version": "1.0", "members": members})
    digest = hashlib.sha256("".join(m["sha256_hex"] for m in members).encode()).hexdigest()
    (d / "_passed.flag").write_text(f"sha256_hex = {digest}\n")

    # 5B: raw bytes of the members in ASCII-lex order, JSON flag, index under `entries`.
    d = bundle_dir("gate.layer2.5B.validation")
    files = {
        "validation_report_5B.json": _write_json(d / "validation_report_5B.json", base),
        "arrival_parts.json": _write_json(d / "arrival_parts.json",
                                          _parts_doc(parts["arrival_events_5B"])),
    }
    _write_json(d / "index.json", {"entries": [{"path": p, "sha256_hex": _sha(b)}
                                               for p, b in files.items()]})
    digest = hashlib.sha256(b"".join(files[p] for p in sorted(files))).hexdigest()
    _write_json(d / "_passed.flag", {"manifest_fingerprint": wk.manifest_fingerprint,
                                     "bundle_digest_sha256": digest})

    # 6B: raw bytes, bare-array index, index.json excluded from the hashed members.
    d = bundle_dir("gate.layer3.6B.validation")
    files = {
        "s5_validation_report_6B.json": _write_json(d / "s5_validation_report_6B.json", base),
        "parts/event_streams.json": _write_json(d / "parts" / "event_streams.json", {
            k: _parts_doc(v) for k, v in parts.items() if k.endswith("_6B")}),
    }
    _write_json(d / "index.json", [{"path": p, "sha256_hex": _sha(b)}
                                   for p, b in sorted(files.items())])
    digest = hashlib.sha256(b"".join(files[p] for p in sorted(files))).hexdigest()
    (d / "_passed.flag").write_text(f"sha256_hex = {digest}\n")
