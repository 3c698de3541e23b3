"""Membership: missing, extra, duplicated and look-alike files."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import pytest

from oracle_tui.core.demo import DemoWorld
from tests.reliability.helpers import check, fails, part, rechain, rel


def test_missing_file(sealed_world: DemoWorld) -> None:
    p = part(sealed_world.root, 2)
    p.unlink()
    code, doc = check(sealed_world.root)
    assert code == 1 and fails(doc) == {("OBJECT_MISSING", rel(sealed_world.root, p))}


@pytest.mark.parametrize("name", [".hidden", "x.tmp", "_SUCCESS", ".oracle-tui-tmp-1-0",
                                  "_oracle_pack_manifest.json.bak"])
def test_extra_files_anywhere(sealed_world: DemoWorld, name: str) -> None:
    for where in (Path(sealed_world.root), part(sealed_world.root).parent):
        (where / name).write_bytes(b"extra")
    code, doc = check(sealed_world.root)
    assert code == 1
    expected = {("UNEXPECTED_FILE", rel(sealed_world.root, Path(sealed_world.root) / name)),
                ("UNEXPECTED_FILE", rel(sealed_world.root, part(sealed_world.root).parent
                                        / name))}
    assert fails(doc) == expected


def _counted(index: dict[str, Any], twin: dict[str, Any]) -> None:
    """Insert ``twin`` and keep the counts right, as a careful forger would."""
    index["files"].insert(1, twin)
    index["file_count"] += 1
    index["total_bytes"] += twin["size"]


def _dup(index: dict[str, Any]) -> None:
    _counted(index, dict(index["files"][0]))


def _dup_other_digest(index: dict[str, Any]) -> None:
    _counted(index, dict(index["files"][0], sha256="0" * 64))


def _unsorted(index: dict[str, Any]) -> None:
    index["files"][0], index["files"][1] = index["files"][1], index["files"][0]


@pytest.mark.parametrize("mutate", [_dup, _dup_other_digest, _unsorted],
                         ids=["same", "other-digest", "unsorted"])
def test_duplicated_or_unsorted_content_index_entries(sealed_world: DemoWorld,
                                                      mutate: Any) -> None:
    rechain(sealed_world.root, mutate)
    code, doc = check(sealed_world.root)
    assert code == 1
    assert fails(doc) == {("CONTENT_INDEX_INVALID", "_oracle_content_index.json")}


def test_case_only_twin(sealed_world: DemoWorld) -> None:
    p = part(sealed_world.root)
    twin = p.with_name(p.name.upper())
    twin.write_bytes(p.read_bytes())
    code, doc = check(sealed_world.root)
    assert code == 1 and fails(doc) == {("UNEXPECTED_FILE", rel(sealed_world.root, twin))}


def test_unicode_nfc_nfd_twins(world: DemoWorld) -> None:
    from oracle_tui.core.seal import seal_pack

    reports = Path(world.root) / "reports"
    nfc = unicodedata.normalize("NFC", "résumé.json")
    nfd = unicodedata.normalize("NFD", "résumé.json")
    assert nfc != nfd
    (reports / nfc).write_text("{}")
    seal_pack(world.root, scenario_id="baseline_v1", engine_release="demo-1.0")
    (reports / nfd).write_text("{}")  # looks identical, is another name
    code, doc = check(world.root)
    assert code == 1 and fails(doc) == {("UNEXPECTED_FILE", f"reports/{nfd}")}
    (reports / nfc).unlink()
    code, doc = check(world.root)
    assert fails(doc) == {("UNEXPECTED_FILE", f"reports/{nfd}"),
                          ("OBJECT_MISSING", f"reports/{nfc}")}
