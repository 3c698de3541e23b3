"""Reads on S3 at a region's latency (issue 37): a check fetches the small objects it will
read together, reads each object once, and holds a bounded amount of memory doing it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.errors import TooLarge
from oracle_tui.core.storage import prefetch
from oracle_tui.core.storage.local import LocalStore
from oracle_tui.core.storage.prefetch import Prefetched
from tests.conftest import S3Env, run_cli_here


def _gets(s3env: S3Env, bucket: str, run: object) -> Counter[str]:
    """Object GETs (listings left out) per key under s3://bucket/worlds/w1/ while ``run``."""
    if s3env.server is None:
        pytest.skip("the request count needs the loopback server of this run")
    requests: list[tuple[str, str, str]] = s3env.server.honest.requests  # type: ignore[attr-defined]
    before = len(requests)
    run()  # type: ignore[operator]
    lead = f"/{bucket}/worlds/w1/"
    return Counter(unquote(path)[len(lead):] for method, path, query in requests[before:]
                   if method == "GET" and "list-type=2" not in query and path.startswith(lead))


@pytest.mark.s3
@pytest.mark.parametrize("rehash", [False, True])
def test_a_check_on_s3_reads_every_object_once(s3env: S3Env, s3_bucket: str,
                                               s3_world: DemoWorld, rehash: bool) -> None:
    # `check` re-hashes by default; --quick reads what it needs without re-hashing.
    args = ["check", s3_world.root, "--json"] + ([] if rehash else ["--quick"])

    def run() -> None:
        res = run_cli_here(*args)
        assert res.code == 0, res.err  # a sealed-less demo world: WARN, readable

    gets = _gets(s3env, s3_bucket, run)
    parquet = {k for k in gets if k.endswith(".parquet")}
    # Every Parquet part: its footer (a ranged GET), and its whole bytes when re-hashed.
    assert {gets[k] for k in parquet} == {2 if rehash else 1}
    # Every other object (run receipt, gate flags, indexes, bundle members): once. The run
    # receipt is read by the pack's opening, apart from the check's prefetch: twice.
    others = {k: n for k, n in gets.items() if k not in parquet}
    assert others.pop("run_receipt.json") == 2
    assert set(others.values()) == {1}, others
    assert any("validation/" in k for k in others)


def test_held_bytes_are_bounded_and_large_objects_stream(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prefetch, "PREFETCH_MAX", 100)
    monkeypatch.setattr(prefetch, "PREFETCH_TOTAL", 250)
    for name, size in (("a", 80), ("b", 90), ("c", 101), ("d", 70), ("e", 60)):
        (tmp_path / name).write_bytes(bytes([len(name)]) * size)
    inner = LocalStore(str(tmp_path))
    held = Prefetched(inner)
    objects = sorted(inner.list(""), key=lambda o: o.key)
    # a (80), b (90) and d (70) fit; c is over the per-object bound; e (60) would take the
    # total past 250.
    assert held.fetch(objects) == 3
    assert sorted(held._held) == ["a", "b", "d"]
    assert sum(len(v) for v in held._held.values()) <= 250
    # An object not held is read from the store, as it is now.
    (tmp_path / "e").write_bytes(b"changed after the fetch")
    assert held.read_bytes("e") == b"changed after the fetch"
    assert held.read_bytes("a") == bytes([1]) * 80
    assert held.read_tail("b", 5) == bytes([1]) * 5
    with held.open_read("d") as stream:
        buf = bytearray(100)
        assert stream.readinto(buf) == 70 and bytes(buf[:70]) == bytes([1]) * 70
    with pytest.raises(TooLarge):
        held.read_bytes("a", max_bytes=10)


@pytest.mark.s3
def test_the_first_screen_on_s3_is_five_reads_and_no_listing(s3env: S3Env, s3_world: DemoWorld
                                                            ) -> None:
    """The Overview's facts on S3: the root's probe, the run receipt, the seal, the manifest
    and the tombstone's HEAD, sent together (one round trip at a region's latency)."""
    from oracle_tui.core.overview import pack_overview
    from oracle_tui.core.pack import open_pack

    if s3env.server is None:
        pytest.skip("the request count needs the loopback server of this run")
    requests: list[tuple[str, str, str]] = s3env.server.honest.requests  # type: ignore[attr-defined]
    pack = open_pack(s3_world.root)
    before = len(requests)
    facts = pack_overview(pack)
    made = requests[before:]
    assert facts.exists and facts.run_receipt is not None and facts.lifecycle == "STAGING"
    probes = [r for r in made if "list-type=2" in r[2]]
    assert len(made) == 5 and len(probes) == 1 and "max-keys=1" in probes[0][2]
    assert sorted(m for m, _, _ in made) == ["GET", "GET", "GET", "GET", "HEAD"]
