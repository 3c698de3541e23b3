from __future__ import annotations

import json

from oracle_tui.core.codes import CODES, reason_codes_markdown
from tests.conftest import REPO, CliRunner

SPEC_CODES = ["PACK_NOT_FOUND", "PACK_NOT_SEALED", "PACK_SEALED_FAILED", "PACK_TOMBSTONED", "RUN_RECEIPT_MISSING", "RUN_RECEIPT_INVALID", "SCENARIO_ID_MISSING", "SCENARIO_ID_AMBIGUOUS", "WORLD_KEY_MISMATCH", "OUTPUT_UNKNOWN", "OUTPUT_MISSING", "OBJECT_MISSING", "ACCESS_DENIED", "STORAGE_TIMEOUT", "STORAGE_THROTTLED", "LOCATOR_INVALID", "PATH_UNSAFE", "DIGEST_MISMATCH", "GATE_EVIDENCE_MISMATCH", "UNEXPECTED_FILE", "MANIFEST_MISMATCH", "SEAL_MISMATCH", "GATE_RECEIPT_MISSING", "REQUIRED_GATE_NOT_PASS", "PACK_MANIFEST_MISSING", "PACK_MANIFEST_INVALID", "CONTENT_DIGEST_MISSING", "STREAM_VIEW_MISSING", "STREAM_RECEIPT_MISSING", "STREAM_RECEIPT_MISMATCH", "STREAM_VIEW_PARTIAL_EXISTS", "STREAM_ORDER_VIOLATION", "MISSING_SORT_KEY", "PROFILE_INVALID", "PLACEHOLDER_UNRESOLVED", "SECRET_IN_CONFIG", "CONDITIONAL_WRITE_UNSUPPORTED"]


def test_every_spec_code_is_registered_with_guidance() -> None:
    assert len(SPEC_CODES) == 37
    assert set(SPEC_CODES) <= set(CODES)
    for info in CODES.values():
        assert info.meaning.endswith(".") and info.action.endswith(".")
    retryable = {c for c, i in CODES.items() if i.retry.value == "retryable"}
    assert retryable == {"STORAGE_TIMEOUT", "STORAGE_THROTTLED", "STORAGE_FULL",
                         "RESOURCE_EXHAUSTED", "EXECUTOR_UNREACHABLE"}


def test_explain_prints_every_code(cli: CliRunner) -> None:
    for code in CODES:
        res = cli("explain", code.lower(), "--json")
        assert res.code == 0
        doc = json.loads(res.out)
        assert doc["code"] == code
        assert doc["action"] == CODES[code].action
    res = cli("explain", "GATE_EVIDENCE_MISMATCH")
    assert "GATE_EVIDENCE_MISMATCH" in res.out and "terminal" in res.out


def test_unknown_code_exits_2(cli: CliRunner) -> None:
    res = cli("explain", "NOT_A_CODE")
    assert res.code == 2
    assert res.err == ("oracle-tui: INPUT_INVALID: unknown reason code 'NOT_A_CODE' (try "
                       "`oracle-tui explain --all`)\n")
    typo = cli("explain", "GATE_EVIDENCE_MISSMATCH")
    assert typo.code == 2
    assert typo.err == ("oracle-tui: INPUT_INVALID: unknown reason code "
                        "'GATE_EVIDENCE_MISSMATCH'; did you mean GATE_EVIDENCE_MISMATCH, "
                        "STREAM_RECEIPT_MISMATCH, SEAL_INPUT_MISMATCH?\n")


def test_reason_codes_doc_is_generated_from_the_registry() -> None:
    text = (REPO / "docs" / "reason-codes.md").read_text(encoding="utf-8")
    assert text == reason_codes_markdown(), "run scripts/gen_reason_codes.py"
    for code in CODES:
        assert f"`{code}`" in text


def test_retry_classes_say_what_to_do() -> None:
    from oracle_tui.core.codes import CODES, Retry

    assert CODES["STREAM_VIEW_MISSING"].retry is Retry.ACTIONABLE
    assert CODES["PACK_NOT_SEALED"].retry is Retry.ACTIONABLE
    assert CODES["STORAGE_TIMEOUT"].retry is Retry.RETRYABLE
    assert CODES["DIGEST_MISMATCH"].retry is Retry.TERMINAL
    assert CODES["OBJECT_TOO_LARGE"].retry is Retry.TERMINAL


def test_an_action_names_the_output_its_finding_is_about() -> None:
    """The command a finding's action gives is the one to run: its root, its output."""
    from oracle_tui.core.findings import make_finding
    from oracle_tui.core.guidance import guidance

    finding = make_finding("STREAM_VIEW_MISSING", "arrival_events_5B", "no stream view at x")
    advice = guidance(finding, sealed=True, values={"root": "/srv/w1"})
    assert advice.do == ("Build it with `oracle-tui stream-view build /srv/w1 --output-id "
                         "arrival_events_5B`.")
    odd = make_finding("STREAM_VIEW_MISSING", "not an id!", "no stream view at x")
    assert guidance(odd, sealed=True, values={"root": "/srv/w1"}).do.endswith(
        "--output-id ID`.")
