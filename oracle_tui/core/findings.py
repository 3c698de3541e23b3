"""Findings: one reason code about one subject, as every report carries them."""

from __future__ import annotations

from pydantic import BaseModel

from oracle_tui.core.codes import CODES, Retry, Severity
from oracle_tui.core.errors import OracleError

SEVERITY_RANK = {Severity.FAIL: 0, Severity.WARN: 1, Severity.INFO: 2}


class Finding(BaseModel):
    code: str
    severity: Severity
    subject: str
    detail: str
    retry: Retry

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
