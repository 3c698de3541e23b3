"""No PASS, no read: the one readability decision every door asks (docs/contract.md §4).

An output is READABLE only when no FAIL finding of the check blocks it. A finding blocks an
output when it is about that output (its id, one of its parts, its stream view), about a
gate in its required closure (the gate id or a file of the gate's bundle), or about the pack
as a whole (lifecycle, seal, manifest, content index, run receipt, a file that belongs to no
output, an internal error). Only findings provably about *another* output or a gate outside
the closure leave it readable: anything unattributed blocks (unknown → FAIL).

`check` stores the decision in each OutputResult; the reader API, `stream-view build` and
`verify`, `locate` and the TUI ask :func:`decide` on a check report instead of re-deciding.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from oracle_tui.core.codes import Severity, codes_of_class
from oracle_tui.core.errors import OracleError
from oracle_tui.core.findings import Finding, make_finding
from oracle_tui.core.interface_pack import literal_prefix, template_regex
from oracle_tui.core.report import CheckReport, OutputResult

# Which blocking finding names the refusal: the lifecycle first, then gate evidence, then
# the output's own files, then its view; REQUIRED_GATE_NOT_PASS is a consequence, named only
# when nothing more specific is.
_FIRST = ("PACK_TOMBSTONED", "PACK_SEALED_FAILED", "PACK_NOT_SEALED", "PACK_NOT_FOUND",
          "PACK_LAYOUT_OUTDATED", "SEAL_MISMATCH", "MANIFEST_MISMATCH", "PACK_MANIFEST_MISSING",
          "PACK_MANIFEST_INVALID", "PACK_SEAL_INVALID", "SEAL_BINDING_MISSING",
          "SEAL_BINDING_INVALID", "GATE_RECEIPT_MISSING", "GATE_EVIDENCE_MISMATCH")
_LAST = ("REQUIRED_GATE_NOT_PASS",)
VIEW_CODES = codes_of_class("stream view")


def _rank(f: Finding) -> tuple[int, int, str, str]:
    if f.code in _FIRST:
        return (0, _FIRST.index(f.code), f.subject, f.detail)
    if f.code in _LAST:
        return (3, 0, f.code, f.subject)
    # The output's own bytes before its derived view: a view of damaged data is a symptom.
    return (2 if f.code in VIEW_CODES else 1, 0, f.code, f.subject)


class Decision(BaseModel):
    output_id: str
    readable: bool
    blocking: list[Finding] = Field(default_factory=list)
    # WARN findings about the pack, the output or its gates: what a door that reads anyway
    # hands its caller (an unsealed or half-sealed pack under the local profile).
    warnings: list[Finding] = Field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return list(dict.fromkeys(f.code for f in self.blocking))

    def require(self, door: str) -> None:
        """Raise the first blocking finding's code unless the output is readable."""
        if self.readable:
            return
        first = self.blocking[0]
        more = f" (+{len(self.blocking) - 1} more)" if len(self.blocking) > 1 else ""
        raise OracleError(first.code, f"{door} refused: {self.output_id} is not readable: "
                                      f"{first.subject}: {first.detail}{more}", self.output_id)


class Owners:
    """Who a finding's subject belongs to: an output, a gate, or (None) the pack.

    Built by `check` from the whole catalogue and gate map (not only the outputs and gates it
    was asked about), so a finding is attributed the same way whichever outputs a door asks
    for: the decision for one output never depends on which others were checked with it.
    """

    def __init__(self, output_ids: set[str], key_owner: dict[str, str],
                 gate_files: dict[str, str], gate_roots: list[tuple[str, str]],
                 templates: dict[str, str] | None = None,
                 paths: frozenset[str] = frozenset()) -> None:
        self.outputs = output_ids
        # Every file the check saw or the content index names: a subject that is one of them
        # is a path, attributed by where it lies, never by an output or gate id it happens
        # to be spelt like (a stray file named `arrival_events_5B` at the root blocks the
        # pack, not one output).
        self.paths = paths
        self.key_owner = key_owner
        # Rendered path templates by the folder they start in, for keys that do not exist
        # (a part deleted after sealing still belongs to its output).
        self.by_folder: dict[str, list[tuple[re.Pattern[str], str]]] = {}
        for oid, rendered in (templates or {}).items():
            folder = literal_prefix(rendered).rpartition("/")[0] + "/"
            self.by_folder.setdefault(folder, []).append((template_regex(rendered), oid))
        self.gate_ids = set(gate_files.values()) | {g for _, g in gate_roots}
        self.gate_files = gate_files
        self.gate_roots = gate_roots

    @classmethod
    def from_report(cls, report: CheckReport) -> Owners:
        key_owner = {k: o.output_id for o in report.outputs for k in o.part_keys()}
        gate_files = {g.flag_path: g.gate_id for g in report.gates}
        gate_files.update({g.index_path: g.gate_id for g in report.gates})
        return cls({o.output_id for o in report.outputs}, key_owner, gate_files,
                   [(g.bundle_root, g.gate_id) for g in report.gates])

    def of(self, subject: str) -> tuple[str, str] | None:
        is_path = subject in self.paths
        if subject in self.outputs and not is_path:
            return ("output", subject)
        if subject in self.key_owner:
            return ("output", self.key_owner[subject])
        folder = ""
        for segment in subject.split("/")[:-1]:
            folder += segment + "/"
            for rx, oid in self.by_folder.get(folder, ()):
                if rx.fullmatch(subject):
                    return ("output", oid)
        if subject in self.gate_ids and not is_path:
            return ("gate", subject)
        if subject in self.gate_files:
            return ("gate", self.gate_files[subject])
        for root, gate_id in self.gate_roots:
            if subject.startswith(root):
                return ("gate", gate_id)
        return None


class _Attributed:
    """Every FAIL finding of a report, attributed once: to the pack, an output or a gate."""

    def __init__(self, report: CheckReport, owners: Owners,
                 severity: Severity = Severity.FAIL) -> None:
        self.pack: list[Finding] = []
        self.outputs: dict[str, list[Finding]] = {}
        self.gates: dict[str, list[Finding]] = {}
        for f in report.findings:
            if f.severity is not severity:
                continue
            owner = owners.of(f.subject)
            if owner is None:
                if f.code != "OUTPUT_UNKNOWN":  # an output the catalogue lacks blocks none
                    self.pack.append(f)
            elif owner[0] == "output":
                self.outputs.setdefault(owner[1], []).append(f)
            else:
                self.gates.setdefault(owner[1], []).append(f)
        self.pack_codes = {f.code for f in self.pack}

    def blocking(self, out: OutputResult, include_view: bool) -> list[Finding]:
        own = [f for f in self.outputs.get(out.output_id, ())
               if include_view or f.code not in VIEW_CODES]
        gates = [f for g in out.required_gates for f in self.gates.get(g, ())]
        return sorted([*self.pack, *own, *gates], key=_rank)

    def codes(self, out: OutputResult) -> list[str]:
        """The blocking codes in the order a door names them, without sorting every finding
        again for each output (a pack can hold 200,000 findings and 340 outputs)."""
        found = {f.code for f in self.outputs.get(out.output_id, ())}
        for g in out.required_gates:
            found.update(f.code for f in self.gates.get(g, ()))
        found.update(self.pack_codes)
        return sorted(found, key=lambda c: _rank(make_finding(c, "", "")))


def apply_readability(report: CheckReport) -> None:
    """Set every output's status and blocking codes from the report's findings."""
    attributed = _Attributed(report, report._owners or Owners.from_report(report))
    for out in report.outputs:
        out.blocking = attributed.codes(out)
        if out.status == "MISSING":
            continue
        out.status = "BLOCKED" if out.blocking else "READABLE"


def decide(report: CheckReport, output_id: str, *, include_view: bool = True) -> Decision:
    """The decision for one output. ``include_view=False`` leaves the output's own stream-view
    findings out (for the doors that build or judge the view themselves)."""
    out = next((o for o in report.outputs if o.output_id == output_id), None)
    if out is None:
        # Never evaluated (the check stopped before outputs): every FAIL blocks it.
        fails = sorted((f for f in report.findings if f.severity is Severity.FAIL), key=_rank)
        if not fails:
            fails = [make_finding("INTERNAL_ERROR", output_id, "the check did not evaluate "
                                                               "this output")]
        return Decision(output_id=output_id, readable=False, blocking=fails)
    owners = report._owners or Owners.from_report(report)
    blocking = _Attributed(report, owners).blocking(out, include_view)
    if out.status == "MISSING" and not blocking:
        blocking = [make_finding("OUTPUT_MISSING", output_id, f"no files match {out.path}")]
    warnings = _Attributed(report, owners, Severity.WARN).blocking(out, include_view)
    return Decision(output_id=output_id, readable=not blocking, blocking=blocking,
                    warnings=warnings)


def mark_blocks(report: CheckReport) -> None:
    """Set each FAIL finding's ``blocks`` (and ``blocks_every_output`` for a finding about
    the pack): the same attribution as the outputs' status, computed once, so the CLI's
    "Why it fails", the Outputs table, the JSON and the inspector give one answer."""
    owners = report._owners or Owners.from_report(report)
    closure = {o.output_id: set(o.required_gates) for o in report.outputs}
    by_gate: dict[str, list[str]] = {}
    for oid, gates in sorted(closure.items()):
        for g in gates:
            by_gate.setdefault(g, []).append(oid)
    for f in report.findings:
        f.blocks, f.blocks_every_output = [], False
        if f.severity is not Severity.FAIL:
            continue
        owner = owners.of(f.subject)
        if owner is None:
            # Not listed one by one: a flood of 200,000 such findings stays a small report.
            f.blocks_every_output = f.code != "OUTPUT_UNKNOWN"
        elif owner[0] == "output":
            f.blocks = [owner[1]] if owner[1] in closure else []
        else:
            f.blocks = list(by_gate.get(owner[1], []))


def blocked_by_each(report: CheckReport) -> list[list[str]]:
    """For each finding of ``report`` (in order), the outputs it blocks (none for WARN and
    INFO), as check marked them."""
    every = sorted(o.output_id for o in report.outputs)
    return [every if f.blocks_every_output else list(f.blocks) for f in report.findings]
