"""What a finding means and what to do, by what it compared (issue 34): every face asks here.

The registry (``codes.py``) holds one meaning and one action per code; a finding's own
detail says what was compared (the content index or the engine's evidence, a flag or a
receipt), and whether the pack is sealed changes what an operator may do. Digest pairs are
labelled by what each side is, never "one / the other".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from oracle_tui.core.codes import CODES
from oracle_tui.core.findings import Finding
from oracle_tui.core.interface_pack import ID_RE
from oracle_tui.core.report import CheckReport

# Codes whose detail compares two digests of one thing.
DIGEST_CODES = frozenset({"DIGEST_MISMATCH", "GATE_EVIDENCE_MISMATCH",
                          "STREAM_RECEIPT_MISMATCH", "SEAL_MISMATCH"})
_HEX = r"([0-9a-f]{64})"
# (pattern over the detail, label of the first digest, label of the second) in the words
# each finding is written with; the second label may come from the pattern itself.
_PAIRS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(rf"the content index sealed sha256 {_HEX}, (.+?) says {_HEX}"),
     "content index", ""),
    (re.compile(rf"sha256 {_HEX}, the content index sealed {_HEX}"), "actual", "sealed"),
    (re.compile(rf"sha256 {_HEX}, (.+?) says {_HEX}"), "actual", ""),
    (re.compile(rf"flag says {_HEX}, recomputed {_HEX}"), "flag", "recomputed"),
    (re.compile(rf"hashes to {_HEX}, (.+?) says {_HEX}"), "actual", ""),
)


@dataclass(frozen=True)
class Guidance:
    means: str
    do: str
    # ((label, digest), (label, digest)) when the finding compares two digests.
    pair: tuple[tuple[str, str], tuple[str, str]] | None = None


def digest_pair(finding: Finding) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """The two digests a finding compares, each with what it is; None when it compares
    none (a path's manifest_fingerprint is not a digest it compared)."""
    if finding.code not in DIGEST_CODES:
        return None
    detail = finding.detail.replace(finding.subject, "") if finding.subject else finding.detail
    for rx, first, second in _PAIRS:
        m = rx.search(detail)
        if m is None:
            continue
        groups = m.groups()
        if len(groups) == 3:  # the second label is named in the detail
            return (first, groups[0]), (_short_label(groups[1]), groups[2])
        return (first, groups[0]), (second, groups[1])
    return None


def _short_label(words: str) -> str:
    words = words.split(": ")[-1].strip()
    for prefix in ("the ", "its "):
        words = words.removeprefix(prefix)
    return words[:40]


def guidance(finding: Finding, *, sealed: bool, values: dict[str, str] | None = None) -> Guidance:
    """Meaning and action for ``f`` in its context; ``values`` (root, scenario_id,
    engine_release) fill in the commands of the action where known."""
    info = CODES[finding.code]
    means, do = info.meaning, info.action
    detail = finding.detail
    if finding.code == "DIGEST_MISMATCH":
        if "the content index sealed sha256" in detail:
            means = ("Two documents of the pack state different sha256 for one file (the "
                     "content index and the engine's evidence or an instance proof): at least "
                     "one of them was rewritten.")
            do = ("Do not read or seal it: restore the pack from its source of truth; never "
                  "re-chain its documents by hand.")
        elif "content index" in detail or "sealed as" in detail:
            pass  # the registry's words: the bytes changed after sealing
        elif "evidence" in detail or "instance proof" in detail:
            means = ("The file differs from what the engine's gate-verified evidence states "
                     "for it (size, row count or sha256)" + (
                         "." if sealed else ": the pack is not sealed, so the comparison is "
                                            "with the engine's evidence, not with a seal."))
            do = ("Do not read it" + ("" if sealed else " and do not seal it") +
                  ": restore the file from the engine's output or re-run the engine into a "
                  "new root, then check again.")
    elif finding.code == "GATE_EVIDENCE_MISMATCH" and sealed:
        do = ("The bundle does not prove the data; do not read. The pack is sealed: never "
              "edit it; restore it from its source of truth, or tombstone it and seal a new "
              "root from a fresh engine run.")
    elif finding.code == "OBJECT_MISSING" and "evidence" in detail:
        means = ("A file the engine's gate-verified evidence lists is absent" + (
            "." if sealed else ": the pack is not sealed, so the list is the engine's, not a "
                               "content index."))
        do = ("Do not read it" + ("" if sealed else " and do not seal it") + ": restore the "
              "file from the engine's output (the pack was copied incompletely or a file was "
              "removed) or re-run the engine into a new root, then check again.")
    elif finding.code == "OBJECT_MISSING" and not sealed:
        means = "A file a gate's index lists is absent (the pack is not sealed)."
        do = ("Do not read or seal it: restore the file from the engine's output or re-run "
              "the engine into a new root, then check again.")
    elif finding.code == "UNEXPECTED_FILE" and not sealed:
        means = ("A file under the root that is not what sealing may bind where it lies (not "
                 "one of the output's parts, a hidden or temporary file, or nothing the run "
                 "accounts for).")
        do = "Find out who wrote it and remove or move it before sealing; then check again."
    if finding.code == "STREAM_VIEW_MISSING" and ID_RE.fullmatch(finding.subject):
        do = do.replace("--output-id ID", f"--output-id {finding.subject}")  # its output
    return Guidance(means=means, do=_filled(do, values or {}), pair=digest_pair(finding))


def context_of(report: CheckReport) -> tuple[bool, dict[str, str]]:
    """Whether the pack is sealed, and the values an action's command can be filled with."""
    sealed = report.seal.seal is not None
    values = {"root": report.root}
    if report.world_key is not None:
        values["scenario_id"] = report.world_key.scenario_id
    release = (report.run_receipt or {}).get("engine_release")
    if isinstance(release, str):
        values["engine_release"] = release
    if report.profile != "local":  # a command without it would run against another profile
        values["profile"] = report.profile
    return sealed, values


def _filled(text: str, values: dict[str, str]) -> str:
    for placeholder, name in (("ROOT", "root"), ("--scenario-id ID", "scenario_id"),
                              ("--engine-release REL", "engine_release")):
        value = values.get(name)
        if not value:
            continue
        if placeholder.startswith("--"):
            text = text.replace(placeholder, f"{placeholder.split()[0]} {value}")
        else:
            text = re.sub(rf"\b{placeholder}\b", value, text)
    profile = values.get("profile")
    if profile:
        text = re.sub(r"`(oracle-tui [^`]*)`", lambda m: f"`{m.group(1)} --profile {profile}`",
                      text)
    return text
