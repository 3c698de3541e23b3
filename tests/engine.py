"""Act as the engine would after rewriting an output's parts: re-validate them, so that the
validation bundles (and their `_passed.flag`s) list the new parts. Tests that change source
data on purpose, to exercise the sort rather than tamper detection, use it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyarrow.parquet as pq

from oracle_tui.core.demo import MAKERS, DemoWorld, _write_bundles
from oracle_tui.core.interface_pack import load_interface_pack, render_template


def reissue_evidence(world: DemoWorld) -> None:
    pack = load_interface_pack()
    root = Path(world.root)
    tokens = world.world_key.tokens(world.run_id)
    parts: dict[str, list[tuple[str, str, int, int]]] = {}
    for output_id in MAKERS:
        rendered = render_template(pack.outputs[output_id].path_template, tokens)
        folder = root / rendered.rsplit("/", 1)[0]
        parts[output_id] = [
            (p.relative_to(root).as_posix(), hashlib.sha256(p.read_bytes()).hexdigest(),
             pq.read_metadata(p).num_rows, p.stat().st_size)
            for p in sorted(folder.glob("part-*.parquet"))]
    _write_bundles(root, pack, world.world_key, parts)
