"""One contract, two stores: every behaviour the core relies on, asserted the same way for a
local folder and for a bucket on the loopback S3 server (fsspec's style of store tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from oracle_tui.core.errors import OracleError
from oracle_tui.core.storage import Store, open_spec, open_store
from tests.conftest import REPO, S3Env

FILES = {"b/2.bin": b"two", "a/1.bin": b"one", "a/10.bin": b"ten", "a/sub/x.bin": b"0123456789",
         "c.json": b"{}"}


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "local":
        root = str(tmp_path / "root") + "/"
        Path(root).mkdir()
    else:
        s3env: S3Env = request.getfixturevalue("s3env")
        bucket: str = request.getfixturevalue("s3_bucket")
        root = f"s3://{bucket}/packs/p1/"
    opened = open_store(root)
    for key, body in FILES.items():
        assert opened.put_if_absent(key, body)
    if request.param == "s3":  # an object beside the root must never be seen from it
        s3env.client().put_object(Bucket=bucket, Key="packs/p10/a/1.bin",  # type: ignore
                                  Body=b"other")
    yield opened


def test_listing_is_every_key_in_ascending_order_and_nothing_beside_the_root(
        store: Store) -> None:
    listed = [(o.key, o.size) for o in store.list()]
    assert listed == sorted((k, len(v)) for k, v in FILES.items())
    assert [o.key for o in store.list("a/")] == ["a/1.bin", "a/10.bin", "a/sub/x.bin"]
    assert [o.key for o in store.list("zz/")] == []


def test_head_names_a_present_object_and_none_for_a_missing_one(store: Store) -> None:
    info = store.head("a/sub/x.bin")
    assert info is not None and (info.key, info.size) == ("a/sub/x.bin", 10)
    assert store.head("a/missing.bin") is None
    assert store.root_exists()


def test_reads_whole_streamed_and_from_the_tail(store: Store) -> None:
    assert store.read_bytes("a/sub/x.bin") == b"0123456789"
    assert store.read_tail("a/sub/x.bin", 4) == b"6789"
    assert store.read_tail("a/sub/x.bin", 100) == b"0123456789"  # shorter than asked: all
    buf = bytearray(64)
    with store.open_read("a/sub/x.bin") as stream:
        got = stream.readinto(buf)
    assert bytes(buf[:got or 0]) == b"0123456789"


def test_a_missing_object_is_object_missing(store: Store) -> None:
    """On every store the finding's subject is the key as the pack names it (a finding is
    attributed to its output by it), whatever address the message gives."""
    for read in (store.read_bytes, store.open_read, lambda k: store.read_tail(k, 4)):
        with pytest.raises(OracleError) as exc:
            read("a/missing.bin")
        assert (exc.value.code, exc.value.subject) == ("OBJECT_MISSING", "a/missing.bin")
        assert "a/missing.bin" in exc.value.message


def test_a_second_create_only_write_is_refused_and_changes_nothing(store: Store,
                                                                    tmp_path: Path) -> None:
    assert store.put_if_absent("c.json", b'{"x": 1}') is False
    assert store.read_bytes("c.json") == b"{}"
    big = tmp_path / "part.bin"
    big.write_bytes(b"p" * 70_000)
    assert store.put_file_if_absent("d/part.bin", str(big)) is True
    # The finished file is handed over (the local store links it): a second one is another file.
    other = tmp_path / "other.bin"
    other.write_bytes(b"q" * 10)
    assert store.put_file_if_absent("d/part.bin", str(other)) is False
    assert store.read_bytes("d/part.bin") == b"p" * 70_000
    store.ensure_conditional_writes()  # both stores really are create-only


def test_delete_removes_one_object_and_an_absent_one_is_fine(store: Store) -> None:
    store.delete("b/2.bin")
    store.delete("b/2.bin")
    assert store.head("b/2.bin") is None
    assert store.read_bytes("a/1.bin") == b"one"


def test_the_spec_opens_the_same_store_elsewhere(store: Store) -> None:
    again = open_spec(store.spec())
    assert again.root_uri == store.root_uri
    assert [o.key for o in again.list()] == [o.key for o in store.list()]
    sep = "" if store.root_uri.endswith("/") else "/"
    assert store.uri("a/1.bin") == store.root_uri + sep + "a/1.bin"


def test_what_each_store_tells_duckdb(store: Store) -> None:
    local = store.local_path("a/1.bin")
    if store.remote:
        assert local is None and store.s3_access() is not None
    else:
        assert local is not None and local.read_bytes() == b"one"
        assert store.s3_access() is None


def test_an_absent_root_does_not_exist(store: Store, tmp_path: Path) -> None:
    other = store.root_uri.rstrip("/") + "-absent/"
    assert not open_store(other).root_exists()


def test_the_storage_seam_contract_names_every_module_outside_storage() -> None:
    import tomllib

    root = REPO
    contracts = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"]
    seam = next(c for c in contracts if c["name"].startswith("The storage seam is closed"))
    core = {f"oracle_tui.core.{p.stem}" for p in (root / "oracle_tui" / "core").glob("*.py")
            if p.stem != "__init__"}
    rooms = {f"oracle_tui.core.{p.parent.name}" for p in (root / "oracle_tui" / "core").glob(
        "*/__init__.py") if p.parent.name != "storage"}  # a package names all its modules
    assert set(seam["source_modules"]) == core | rooms | {
        "oracle_tui.api", "oracle_tui.cli", "oracle_tui.cli_render", "oracle_tui.tui"}
    assert set(seam["forbidden_modules"]) >= {"boto3", "oracle_tui.core.storage.local",
                                              "oracle_tui.core.storage.s3"}
