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
