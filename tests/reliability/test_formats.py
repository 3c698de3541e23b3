"""Formats: malformed, unusual or oversized files give their exact code, never PASS."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from oracle_tui.core.demo import DemoWorld
from oracle_tui.core.interface_pack import builtin_pack_dir
from oracle_tui.core.jsonio import canonical_json
from tests.conftest import run_cli_process
from tests.reliability.helpers import check, codes, fails, rechain

HEX = "a" * 64


def _sparse(path: Path, size: int) -> None:
    """A file of ``size`` bytes that costs no disk: refusing it must not read it."""
    with open(path, "wb") as fh:
        fh.truncate(size)


@pytest.mark.parametrize("content", [
    b"", b"{", b"\xef\xbb\xbf{}", b"null", b'{"run_id": 1}',
    b'{"run_id": "' + b"A" * 32 + b'", "seed": 1, "parameter_hash": "' + HEX.encode()
    + b'", "manifest_fingerprint": "' + HEX.encode() + b'"}',
    b'{"run_id": "' + b"a" * 31 + b'", "seed": 1, "parameter_hash": "' + HEX.encode()
    + b'", "manifest_fingerprint": "' + HEX.encode() + b'"}',
    b'{"run_id": "' + b"a" * 32 + b'", "seed": 1.5, "parameter_hash": "' + HEX.encode()
    + b'", "manifest_fingerprint": "' + HEX.encode() + b'"}',
    b'{"a": 1, "a": 2}', b'{"x": NaN}',
], ids=["empty", "truncated", "bom", "null", "wrong-type", "upper-hex", "short-hex",
        "float-seed", "duplicate-key", "nan"])
def test_bad_run_receipts(world: DemoWorld, content: bytes) -> None:
    (Path(world.root) / "run_receipt.json").write_bytes(content)
    code, doc = check(world.root)
    assert code == 1 and ("RUN_RECEIPT_INVALID", "run_receipt.json") in fails(doc)


def test_crlf_json_and_extra_receipt_fields_are_fine(world: DemoWorld) -> None:
    path = Path(world.root) / "run_receipt.json"
    doc = json.loads(path.read_text())
    doc["engine_build"] = "x"  # extra keys are allowed by the receipt contract
    path.write_bytes(json.dumps(doc, indent=1).replace("\n", "\r\n").encode())
    code, report = check(world.root)
    assert code == 0 and report["verdict"] == "WARN"


def test_huge_files_are_refused_by_size_not_loaded(sealed_world: DemoWorld) -> None:
    root = Path(sealed_world.root)
    for name in ("run_receipt.json", "_oracle_pack_manifest.json"):
        os.unlink(root / name)
        _sparse(root / name, 100 * 1024 * 1024)
    flag = next(root.glob("data/layer3/6B/validation/*/_passed.flag"))
    flag.unlink()
    _sparse(flag, 100 * 1024 * 1024)
    code, doc = check(sealed_world.root)
    assert code == 1
    got = codes(doc)
    assert {"RUN_RECEIPT_INVALID", "PACK_MANIFEST_INVALID"} <= got
    details = " ".join(f["detail"] for f in doc["findings"])
    assert "larger than" in details


@pytest.mark.parametrize("edit,code_", [
    (lambda m: m.update(version=2), "PACK_MANIFEST_INVALID"),
    (lambda m: m.update(extensions={"oracle_tui": {"schema": "oracle-tui.manifest-ext/1"}}),
     "PACK_LAYOUT_OUTDATED"),
    (lambda m: m.update(surprise=1), "PACK_MANIFEST_INVALID"),
    (lambda m: m.pop("engine_release"), "PACK_MANIFEST_INVALID"),
    (lambda m: m.update(oracle_pack_id=m["oracle_pack_id"].upper()), "PACK_MANIFEST_INVALID"),
    (lambda m: m.update(catalogue_digest="abc"), "PACK_MANIFEST_INVALID"),
], ids=["version", "ext-schema", "extra-field", "missing-field", "upper-hex", "short-hex"])
def test_manifest_formats(sealed_world: DemoWorld, edit: Any, code_: str) -> None:
    path = Path(sealed_world.root) / "_oracle_pack_manifest.json"
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_bytes(canonical_json(doc))
    code, report = check(sealed_world.root)
    assert code == 1 and code_ in codes(report)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf{}", b"[]", b'{"version": "1.0"}'])
def test_seal_formats(sealed_world: DemoWorld, content: bytes) -> None:
    (Path(sealed_world.root) / "_SEALED.json").write_bytes(content)
    code, report = check(sealed_world.root)
    assert code == 1 and codes(report) == {"PACK_SEAL_INVALID"}


def test_content_index_unknown_schema_version(sealed_world: DemoWorld) -> None:
    rechain(sealed_world.root, lambda i: i.update(schema="oracle-tui.content-index/2"))
    code, report = check(sealed_world.root)
    assert code == 1 and codes(report) == {"CONTENT_DIGEST_MISSING"}


@pytest.mark.parametrize("flag", [
    b"", b"sha256_hex = " + b"A" * 64, b"sha256_hex = " + b"a" * 65, b"md5 = " + b"a" * 32,
    b'{"bundle_digest_sha256": 5}', b"\xef\xbb\xbf{}", b"sha256_hex=" + b"a" * 64 + b"\n" * 2
    + b"extra = 1",
], ids=["empty", "upper", "long", "unknown-algorithm", "json-number", "bom", "two-keys"])
def test_flag_formats(world: DemoWorld, flag: bytes) -> None:
    path = next(Path(world.root).glob("data/layer3/6B/validation/*/_passed.flag"))
    path.write_bytes(flag)
    code, report = check(world.root, "--output-id", "s2_event_stream_baseline_6B")
    assert code == 1
    assert ("GATE_EVIDENCE_MISMATCH", path.relative_to(world.root).as_posix()) in fails(report)


def test_crlf_text_flag_still_proves_the_bundle(world: DemoWorld) -> None:
    path = next(Path(world.root).glob("data/layer3/6B/validation/*/_passed.flag"))
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    code, _report = check(world.root)
    assert code == 0  # the flag is excluded from the digest; only its value matters


@pytest.mark.parametrize("index", [b"", b"{}", b'{"entries": [], "items": []}',
                                   b'[{"path": "a"}]', b'[{"path": "a", "sha256_hex": "B"}]',
                                   b'"text"'])
def test_gate_index_formats(world: DemoWorld, index: bytes) -> None:
    path = next(Path(world.root).glob("data/layer3/6B/validation/*/index.json"))
    path.write_bytes(index)
    code, report = check(world.root, "--output-id", "s2_event_stream_baseline_6B")
    assert code == 1
    assert ("GATE_EVIDENCE_MISMATCH", path.relative_to(world.root).as_posix()) in fails(report)


def test_unknown_verification_algorithm_is_a_config_error(world: DemoWorld, tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(builtin_pack_dir(), pack)
    gmap = pack / "engine_gates.map.yaml"
    gmap.write_text(gmap.read_text().replace("kind: sha256_bundle_digest", "kind: md5_bundle"))
    res = run_cli_process("check", world.root, "--interface-pack", str(pack))
    assert res.code == 2
    assert res.err.startswith("oracle-tui: INTERFACE_PACK_INVALID: interface pack")
    assert res.err.count("\n") == 1
