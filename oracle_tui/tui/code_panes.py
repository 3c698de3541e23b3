"""Where the inspector lists each reason code: the inspector's grouping, not the core's.

The core decides by a code's class and subject; which tab shows a code is layout, so it lives
here and moving a code to another pane can never change what blocks a read.
"""

from __future__ import annotations

from typing import Literal

from oracle_tui.core.codes import CODES

Pane = Literal["overview", "gates", "outputs", "seal", "streams"]
PANES: tuple[Pane, ...] = ("overview", "gates", "outputs", "seal", "streams")

# What each pane's tab says (the operator knows panes by these, not by their ids).
TITLES: dict[Pane, str] = {"overview": "1 Overview", "gates": "2 Gates",
                           "outputs": "3 Outputs & digests", "seal": "4 Seal",
                           "streams": "5 Stream views"}

# The pane of each code that is not its class's.
_PANE_OF_CODE: dict[str, Pane] = {
    "PACK_NOT_SEALED": "seal", "PACK_SEALED_FAILED": "seal", "PACK_TOMBSTONED": "seal",
    "OUTPUT_UNKNOWN": "outputs", "OUTPUT_MISSING": "outputs", "OBJECT_MISSING": "outputs",
    "ACCESS_DENIED": "outputs", "LOCATOR_INVALID": "outputs", "OBJECT_TOO_LARGE": "outputs",
    "PATH_UNSAFE": "outputs", "GATE_EVIDENCE_MISMATCH": "gates",
    "MANIFEST_MISMATCH": "seal", "SEAL_MISMATCH": "seal", "GATE_RECEIPT_MISSING": "gates",
    "REQUIRED_GATE_NOT_PASS": "outputs", "OUTPUT_EVIDENCE_ABSENT": "outputs",
}
_PANE_OF_CLASS: dict[str, Pane] = {
    "readability": "overview", "identity": "overview", "addressability": "overview",
    "integrity": "outputs", "evidence": "seal", "stream view": "streams", "config": "overview",
    "internal": "overview"}


def pane_of(code: str) -> Pane:
    """The pane that lists ``code``'s findings (Enter on a finding jumps there)."""
    return _PANE_OF_CODE.get(code, _PANE_OF_CLASS[CODES[code].code_class])


def codes_of_pane(pane: Pane) -> frozenset[str]:
    """The codes an operator finds in ``pane``."""
    return frozenset(code for code in CODES if pane_of(code) == pane)
