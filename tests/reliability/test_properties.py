"""Property tests: any input to a parser gives a typed finding, never a crash, never PASS."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle_tui.core.check import run_check
from oracle_tui.core.errors import OracleError
from oracle_tui.core.gates import parse_index_members, parse_passed_flag
from oracle_tui.core.pack_files import ContentIndex, Manifest, Seal, read_model
from oracle_tui.core.paths import unsafe_reason
from oracle_tui.core.profiles import load_profile
from oracle_tui.core.storage import LocalStore
from oracle_tui.core.views.documents import ViewExpect, read_view_state
from oracle_tui.core.world import read_run_receipt

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20)
hexish = st.text(alphabet="0123456789abcdefABCDEF", min_size=60, max_size=66)
pathish = st.text(alphabet="ab/._~\\\x00\n-", max_size=12)


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


@SETTINGS
@given(st.binary(max_size=200) | st.builds(lambda k, v: f"{k} = {v}".encode(),
                                           st.sampled_from(["sha256_hex", "x"]), hexish))
def test_flag_parser(data: bytes) -> None:
    try:
        digest = parse_passed_flag(data, "sha256_hex", "flag")
    except OracleError as exc:
        assert exc.code == "GATE_EVIDENCE_MISMATCH"
    else:
        assert len(digest) == 64 and set(digest) <= set("0123456789abcdef")


@SETTINGS
@given(st.binary(max_size=200) | json_values.map(_json_bytes)
       | st.lists(st.fixed_dictionaries({"path": pathish, "sha256_hex": hexish}),
                  max_size=4).map(_json_bytes))
def test_index_parser(data: bytes) -> None:
    try:
        members = parse_index_members(data, "index.json")
    except OracleError as exc:
        assert exc.code in ("GATE_EVIDENCE_MISMATCH", "PATH_UNSAFE")
    else:
        for m in members:
            assert unsafe_reason(m["path"]) is None and len(m["sha256_hex"]) == 64


@SETTINGS
@given(st.binary(max_size=300) | json_values.map(_json_bytes))
def test_control_file_parsers(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore(tmp)
        for name, model, code in (("m.json", Manifest, "PACK_MANIFEST_INVALID"),
                                  ("s.json", Seal, "SEAL_MISMATCH"),
                                  ("i.json", ContentIndex, "CONTENT_DIGEST_MISSING")):
            (Path(tmp) / name).write_bytes(data)
            try:
                read_model(store, name, model, code)
            except OracleError as exc:
                assert exc.code == code
        (Path(tmp) / "run_receipt.json").write_bytes(data)
        try:
            read_run_receipt(store)
        except OracleError as exc:
            assert exc.code == "RUN_RECEIPT_INVALID"
        prefix = "stream_view/ts_utc/output_id=x/"
        (Path(tmp) / prefix).mkdir(parents=True)
        (Path(tmp) / prefix / "_stream_sort_receipt.json").write_bytes(data)
        expect = ViewExpect(output_id="x", source_keys=[], engine_run_root=tmp,
                            view_root=f"{tmp}/{prefix}".rstrip("/"), world_key={}, run_id="",
                            sort_keys=["ts_utc", "filename", "file_row_number"])
        state = read_view_state(store, prefix, expect)
        assert state.state == "INVALID"
        assert {f.code for f in state.findings} == {"STREAM_RECEIPT_MISMATCH"}


@SETTINGS
@given(st.text(max_size=300) | json_values.map(lambda v: json.dumps(v)))
def test_profile_parser(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "p.yaml").write_text(text, encoding="utf-8")
        try:
            prof = load_profile("p", tmp, env={})
            prof.wiring("oracle_root")
        except OracleError as exc:
            assert exc.code in ("PROFILE_INVALID", "SECRET_IN_CONFIG", "PLACEHOLDER_UNRESOLVED")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(receipt=st.binary(max_size=200) | json_values.map(_json_bytes),
       flag=st.binary(max_size=100))
def test_check_never_passes_on_garbage_evidence(_pristine_world: Any, receipt: bytes,
                                                flag: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "w"
        shutil.copytree(_pristine_world.root, root)
        (root / "run_receipt.json").write_bytes(receipt)
        next(root.glob("data/layer1/1A/validation/*/_passed.flag")).write_bytes(flag)
        report = run_check(str(root))
        assert report.verdict == "FAIL"
        assert report.exit_code == 1
