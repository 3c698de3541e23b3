"""Act as the engine would after rewriting an output's parts: re-validate them, so that the
validation bundles (and their `_passed.flag`s) list the new parts. Tests that change source
data on purpose, to exercise the sort rather than tamper detection, use it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from oracle_tui.core.demo import DemoWorld, revalidate
from oracle_tui.core.jsonio import canonical_json


def reissue_evidence(world: DemoWorld) -> None:
    revalidate(Path(world.root), world.world_key, world.run_id)


def edit_view_receipt(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit oracle-tui's receipt inside a view's `_stream_sort_receipt.json` and carry the
    row counts into the platform's stats, as a careful forger would (create-only: the old
    file is removed first)."""
    doc = json.loads(path.read_text())
    ours = doc["extensions"]["oracle_tui"]
    edit(ours)
    for side, mine in (("raw_stats", "source"), ("sorted_stats", "view")):
        doc[side]["row_count"] = ours[mine]["row_count"]
    path.unlink()
    path.write_bytes(canonical_json(doc))


def rehome_views(old_root: Path, new_root: Path) -> None:
    """Views built under ``old_root``, copied with their pack to ``new_root``: rewrite what
    their documents say of the root (as a build in ``new_root`` would have written them), so
    tests that copy a viewed pack judge their own damage, not the move."""
    from oracle_tui.core.views.documents import platform_source_digest, stream_view_id

    for folder in sorted(new_root.glob("stream_view/ts_utc/output_id=*")):
        output_id = folder.name.split("=", 1)[1]
        for name in ("_stream_view_manifest.json", "_stream_sort_receipt.json"):
            path = folder / name
            if not path.is_file():
                continue
            doc = json.loads(path.read_text())
            doc["engine_run_root"] = str(new_root)
            doc["stream_view_root"] = str(folder)
            scenario = doc.get("scenario_id") or json.loads(
                (folder / "_stream_view_manifest.json").read_text())["scenario_id"]
            doc["stream_view_id"] = stream_view_id(str(new_root), scenario, output_id,
                                                   doc["sort_keys"])
            if "source_locator_digest" in doc:
                old = str(old_root) + "/"
                keys = doc["extensions"]["oracle_tui"]
                sources = sorted(str(p.relative_to(new_root)) for p in new_root.glob(
                    f"data/**/{output_id}/**/*.parquet"))
                assert keys["source_parts"] == len(sources), old
                doc["source_locator_digest"] = platform_source_digest(str(new_root), sources)
            path.unlink()
            path.write_bytes(canonical_json(doc))
