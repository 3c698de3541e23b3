"""One rule from what an operation found to its exit code, for every operation and face.

0: the operation did what was asked (PASS or WARN, identical, VALID, written).
1: it did not, for a reason retrying will not change (a FAIL finding).
2: it was called wrongly or configured wrongly (a usage or configuration code among the
   FAIL findings: a bad option, a missing credential, an unknown output id).
3: it did not, and every FAIL finding is retryable (storage throttled, an endpoint that did
   not answer): the same command may succeed later.
The CLI adds 130 (interrupted) and 141 (the output's reader closed the pipe).
"""

from __future__ import annotations

from collections.abc import Iterable

from oracle_tui.core.codes import USAGE_CODES, Retry, Severity
from oracle_tui.core.errors import OracleError
from oracle_tui.core.findings import Finding, make_finding

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_RETRY = 0, 1, 2, 3


def exit_code(failed: bool, findings: Iterable[Finding]) -> int:
    """The exit code of an operation that ``failed`` (or not) with ``findings``."""
    if not failed:
        return EXIT_OK
    fails = [f for f in findings if f.severity is Severity.FAIL]
    if any(f.code in USAGE_CODES for f in fails):
        return EXIT_USAGE
    if fails and all(f.retry is Retry.RETRYABLE for f in fails):
        return EXIT_RETRY
    return EXIT_FAIL


def exit_code_of_error(exc: OracleError) -> int:
    """The exit code of an operation an error stopped: the same rule, over that one finding."""
    return exit_code(True, [make_finding(exc.code, exc.subject, exc.message, Severity.FAIL)])
