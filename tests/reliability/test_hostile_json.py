"""Deeply nested JSON in any file the tool parses: the file's own code, one line, no crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.views.build import build_stream_view
from oracle_tui.core.views.verify import verify_stream_view
from tests.reliability.helpers import check, fails

OUT = "s3_event_stream_with_fraud_6B"


def _nested(depth: int) -> bytes:
    return ('{"a": ' + "[" * depth + "]" * depth + "}").encode()


def _target(root: Path, which: str) -> tuple[Path, str]:
    if which == "run_receipt":
        return root / "run_receipt.json", "RUN_RECEIPT_INVALID"
    if which == "flag":
        return next(root.glob("data/layer2/5B/validation/*/_passed.flag")), \
            "GATE_EVIDENCE_MISMATCH"
    if which == "index":
        return next(root.glob("data/layer1/3A/validation/*/index.json")), "GATE_EVIDENCE_MISMATCH"
    if which == "manifest":
        return root / "_oracle_pack_manifest.json", "PACK_MANIFEST_INVALID"
    if which == "seal":
        return root / "_SEALED.json", "PACK_SEAL_INVALID"
    if which == "tombstone":
        return root / "_TOMBSTONE.json", "PACK_TOMBSTONED"
    if which == "binding":
        return root / "_oracle_tui_seal_binding.json", "SEAL_BINDING_INVALID"
    return root / "_oracle_content_index.json", "CONTENT_DIGEST_MISSING"


@pytest.mark.parametrize("depth", [100, 5000, 200_000])
@pytest.mark.parametrize("which", ["run_receipt", "flag", "index", "manifest", "seal",
                                   "binding", "tombstone", "content_index"])
def test_deep_nesting_in_a_control_file(sealed_world: DemoWorld, which: str,
                                        depth: int) -> None:
    path, code = _target(Path(sealed_world.root), which)
    path.write_bytes(_nested(depth))
    rc, doc = check(sealed_world.root)
    assert rc == 1
    assert code in {c for c, _ in fails(doc)}, fails(doc)
    assert "INTERNAL_ERROR" not in {c for c, _ in fails(doc)}


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deep_nesting_in_a_stream_receipt(world: DemoWorld, depth: int) -> None:
    build_stream_view(world.root, OUT, rows_per_part=1500)
    receipt = next(Path(world.root).glob("stream_view/**/_stream_sort_receipt.json"))
    receipt.write_bytes(_nested(depth))
    state = verify_stream_view(world.root, OUT)
    assert state.state == "INVALID"
    assert [f.code for f in state.findings] == ["STREAM_RECEIPT_MISMATCH"]
    assert "nests deeper" in state.findings[0].detail or depth == 100
    assert json.loads(json.dumps(state.model_dump(mode="json")))  # serialisable, no crash
