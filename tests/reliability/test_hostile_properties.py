"""Hypothesis over names and control documents on a sealed pack: never PASS on damage, never
INTERNAL_ERROR on bad input, never a traceback (issue: hostile input gets the exact code)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle_tui.core.check import run_check
from oracle_tui.core.demo import DemoWorld

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
names = st.text(alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)),
                min_size=1, max_size=40).filter(lambda n: n not in (".", ".."))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5), max_leaves=25)
CONTROL = ["_oracle_pack_manifest.json", "_SEALED.json", "_oracle_content_index.json",
           "run_receipt.json"]


@pytest.fixture(scope="module")
def sealed_copy_source(tmp_path_factory: pytest.TempPathFactory,
                       _pristine_sealed: DemoWorld) -> str:
    return _pristine_sealed.root


def _copy(source: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix="oracle-prop-")) / "w"
    shutil.copytree(source, root)
    return root


def _assert_fails_closed(root: Path) -> None:
    report = run_check(str(root), strict_seal=True)
    codes = {f.code for f in report.findings}
    assert report.verdict == "FAIL", codes
    assert "INTERNAL_ERROR" not in codes, [f.detail for f in report.findings
                                           if f.code == "INTERNAL_ERROR"]
    # Damage to the pack as a whole (a file no output owns, a control file) blocks every output.
    assert [o.output_id for o in report.outputs if o.status == "READABLE"] == []


@SETTINGS
@given(name=names, where=st.sampled_from(["", "logs/", "stream_view/", "data/layer3/6B/"]))
def test_any_added_name_is_reported(sealed_copy_source: str, name: str, where: str) -> None:
    root = _copy(sealed_copy_source)
    try:
        target = root / where / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.write_bytes(b"x")
        except OSError:
            return  # the filesystem refuses this name: nothing to check
        _assert_fails_closed(root)
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)


@SETTINGS
@given(which=st.sampled_from(CONTROL), doc=json_values)
def test_any_control_document_fails_closed(sealed_copy_source: str, which: str,
                                           doc: Any) -> None:
    root = _copy(sealed_copy_source)
    try:
        (root / which).write_text(json.dumps(doc))
        _assert_fails_closed(root)
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
