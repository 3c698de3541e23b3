"""Findings: one reason code about one subject, as every report carries them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from oracle_tui.core.codes import CODES, Retry, Severity
from oracle_tui.core.errors import OracleError

SEVERITY_RANK = {Severity.FAIL: 0, Severity.WARN: 1, Severity.INFO: 2}


class Finding(BaseModel):
    code: str
    severity: Severity
    subject: str
    detail: str
    retry: Retry
    # What this finding keeps from being read, as the one readability decision attributes it
    # (core/readability.py); set by check for FAIL findings, and shown by every face.
    blocks: list[str] = Field(default_factory=list)
    blocks_every_output: bool = False

    def sort_key(self) -> tuple[int, str, str, str]:
        return (SEVERITY_RANK[self.severity], self.code, self.subject, self.detail)


def make_finding(code: str, subject: str, detail: str,
                 severity: Severity | None = None) -> Finding:
    info = CODES[code]
    return Finding(code=code, severity=severity or info.severity, subject=subject,
                   detail=detail, retry=info.retry)


def finding_from_error(exc: OracleError, subject: str = "") -> Finding:
    return make_finding(exc.code, exc.subject or subject, exc.message)


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    """Deterministic order whatever the listing order or thread count; duplicates dropped."""
    unique = {(f.code, f.severity, f.subject, f.detail): f for f in findings}
    return sorted(unique.values(), key=Finding.sort_key)


class FindingGroup(BaseModel):
    """Findings of one code and severity, as a human report shows them: the first few, and
    how many more (the JSON report always lists every finding)."""

    code: str
    severity: Severity
    shown: list[Finding]
    hidden: int


def grouped_for_display(findings: list[Finding], keep: int = 5, threshold: int = 10
                        ) -> list[FindingGroup]:
    """Findings in report order, groups of more than ``threshold`` cut to ``keep`` rows."""
    groups: dict[tuple[str, Severity], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.code, f.severity), []).append(f)
    out = []
    for (code, severity), members in groups.items():
        cut = len(members) > threshold
        out.append(FindingGroup(code=code, severity=severity,
                                shown=members[:keep] if cut else members,
                                hidden=len(members) - keep if cut else 0))
    return out




def first_difference(one: str, other: str) -> int | None:
    """The first position at which two strings differ (the shorter one's end), or None."""
    for i, (x, y) in enumerate(zip(one, other, strict=False)):
        if x != y:
            return i
    return None if len(one) == len(other) else min(len(one), len(other))
