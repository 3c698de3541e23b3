"""The check report: one pydantic model that the CLI prints and the TUI shows."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from oracle_tui.core.codes import Severity
from oracle_tui.core.findings import Finding
from oracle_tui.core.gates import GateResult
from oracle_tui.core.outcome import exit_code
from oracle_tui.core.world import WorldKey


class OutputResult(BaseModel):
    output_id: str
    path: str
    parts: int = 0
    bytes: int = 0
    required_gates: list[str] = Field(default_factory=list)
    blocked_by: list[str] = Field(default_factory=list)  # required gates that did not PASS
    # READABLE | MISSING | BLOCKED | UNKNOWN, from the one decision (core/readability.py)
    status: str = "UNKNOWN"
    blocking: list[str] = Field(default_factory=list)  # codes of the findings that block it
    # Parts the engine's gate-verified evidence lists (None: no evidence for this output).
    evidence_parts: int | None = None
    _files: list[str] = PrivateAttr(default_factory=list)
    # sha256 of each part as the pack's content index sealed it (empty when not sealed).
    _sealed: dict[str, str] = PrivateAttr(default_factory=dict)
    _evidence: dict[str, Any] = PrivateAttr(default_factory=dict)
    # Files pinned one by one by instance-proof receipts (sha256 only).
    _pinned: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def readable(self) -> bool:
        return self.status == "READABLE"

    def part_keys(self) -> set[str]:
        """Keys that belong to this output: the files found and those evidence names."""
        return set(self._files) | set(self._evidence)


class SealSection(BaseModel):
    # STAGING | SEALED_OK | SEALED_FAILED | TOMBSTONED | ABSENT (no root) | EMPTY (a root
    # with no objects) | UNKNOWN (the root could not be read: no claim either way)
    lifecycle: str = "STAGING"
    oracle_pack_id: str | None = None
    manifest: dict[str, Any] | None = None
    seal: dict[str, Any] | None = None
    binding: dict[str, Any] | None = None  # oracle-tui's seal binding
    tombstone: dict[str, Any] | None = None
    content_index_files: int | None = None
    content_index_bytes: int | None = None
    digests_verified: bool = False
    files_hashed: int = 0


class StreamViewSection(BaseModel):
    output_id: str
    state: str  # MISSING | VALID | INVALID | PARTIAL | OUTDATED | UNVERIFIED | BLOCKED
    location: str = ""
    receipt: dict[str, Any] | None = None  # oracle-tui's receipt (parts, digests, stats)
    upstream: dict[str, Any] | None = None  # the platform's receipt fields (status, stats…)
    manifest: dict[str, Any] | None = None  # the platform's _stream_view_manifest.json


class CheckReport(BaseModel):
    verdict: str = "FAIL"
    root: str
    profile: str
    strict_seal: bool
    interface_pack: str = ""
    world_key: WorldKey | None = None
    run_receipt: dict[str, Any] | None = None
    findings: list[Finding] = Field(default_factory=list)
    gates: list[GateResult] = Field(default_factory=list)
    gate_receipts: list[dict[str, Any]] = Field(default_factory=list)
    outputs: list[OutputResult] = Field(default_factory=list)
    seal: SealSection = Field(default_factory=SealSection)
    stream_views: list[StreamViewSection] = Field(default_factory=list)
    files_listed: int = 0
    steps_failed: list[str] = Field(default_factory=list)
    # Whether file contents were re-hashed (sealed digests, evidence, instance proofs), or
    # only sizes, presence and footers were compared (--quick, the inspector's first look).
    digests_rehashed: bool = False
    # What was and was not verified, in words, for every report (text, JSON, TUI).
    verified: str = ""
    # False when nothing of the pack could be read (no root, no credentials, an unreachable
    # store): the verdict stays FAIL (fail closed) but no face calls it a verdict on the pack.
    judged: bool = True
    # Who each finding's subject belongs to (readability.Owners), set by check.
    _owners: Any = PrivateAttr(default=None)

    def actionable(self) -> list[Finding]:
        """Findings that are FAIL or WARN (INFO notes need no action)."""
        return [f for f in self.findings if f.severity is not Severity.INFO]

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Severity}
        for f in self.findings:
            out[f.severity.value] += 1
        return out

    @property
    def exit_code(self) -> int:
        """The one rule (core/outcome.py): 0 PASS/WARN, else by the FAIL findings."""
        return exit_code(self.verdict == "FAIL", self.findings)


QUICK_NOTE = "digests not re-hashed"
# run_check(verify_digests=EXCEPT_PARTS): every file re-hashed but the asked-for outputs'
# parts, which the door that asked proves itself as it copies them (core/proven_parts.py).
EXCEPT_PARTS = "except parts"


def verdict_of(findings: list[Finding]) -> str:
    sev = {f.severity for f in findings}
    if Severity.FAIL in sev:
        return "FAIL"
    if Severity.WARN in sev:
        return "WARN"
    return "PASS"
