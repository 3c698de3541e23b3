"""Content damage: every kind is caught, with the exact code; nothing is changed by checking."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.views.build import build_stream_view
from oracle_tui.core.views.verify import verify_stream_view
from tests.reliability.helpers import check, fails, part, rel


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    st = path.stat()
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime


@pytest.mark.parametrize("where", ["start", "middle", "end", "footer"])
def test_flipped_bit_same_size_is_caught(sealed_world: DemoWorld, where: str) -> None:
    p = part(sealed_world.root)
    size = p.stat().st_size
    offset = {"start": 0, "middle": size // 2, "end": size - 1,
              "footer": size - 12}[where]  # inside the Parquet footer metadata
    _flip(p, offset)
    code, doc = check(sealed_world.root, "--strict-seal", "--quick")
    if where in ("end", "footer"):  # the footer no longer parses (or lost its magic)
        assert (code, fails(doc)) == (1, {("PARQUET_INVALID", rel(sealed_world.root, p))})
    else:
        assert (code, doc["verdict"]) == (0, "PASS")  # sizes, presence, footers cannot see it
        assert doc["digests_rehashed"] is False and "digests not re-hashed" in doc["verified"]
    code, doc = check(sealed_world.root, "--strict-seal")  # re-hashes by default
    assert code == 1
    expected = {("DIGEST_MISMATCH", rel(sealed_world.root, p))}
    if where in ("end", "footer"):
        expected.add(("PARQUET_INVALID", rel(sealed_world.root, p)))
    assert fails(doc) == expected


@pytest.mark.parametrize("change", ["truncate-1", "truncate-0", "append-1"])
def test_size_changes_are_caught_without_rehashing(sealed_world: DemoWorld, change: str) -> None:
    p = part(sealed_world.root)
    data = p.read_bytes()
    p.write_bytes({"truncate-1": data[:-1], "truncate-0": b"", "append-1": data + b"\0"}[change])
    code, doc = check(sealed_world.root)
    assert code == 1
    # The size against the content index and the evidence; the footer is gone with it.
    assert fails(doc) == {("DIGEST_MISMATCH", rel(sealed_world.root, p)),
                          ("PARQUET_INVALID", rel(sealed_world.root, p))}


@pytest.mark.parametrize("edit", ["drop-row", "duplicate-row"])
def test_valid_parquet_with_a_row_removed_or_duplicated(sealed_world: DemoWorld, edit: str) -> None:
    out = "s3_event_stream_with_fraud_6B"
    build_stream_view(sealed_world.root, out)
    p = part(sealed_world.root)
    table = pq.read_table(p)
    table = table.slice(1) if edit == "drop-row" else pa.concat_tables([table.slice(0, 1), table])
    pq.write_table(table, p, compression="zstd")
    code, doc = check(sealed_world.root, "--verify-digests")
    assert code == 1
    assert ("DIGEST_MISMATCH", rel(sealed_world.root, p)) in fails(doc)
    # The footer's row count already contradicts the engine's evidence: no check, no read.
    code, doc = check(sealed_world.root)
    assert ("DIGEST_MISMATCH", rel(sealed_world.root, p)) in fails(doc)
    state = verify_stream_view(sealed_world.root, out)
    assert state.state == "BLOCKED"
    assert "DIGEST_MISMATCH" in {f.code for f in state.findings}
