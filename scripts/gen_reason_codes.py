"""Regenerate docs/reason-codes.md from the registry."""

from __future__ import annotations

from pathlib import Path

from oracle_tui.core.codes import reason_codes_markdown

if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "docs" / "reason-codes.md"
    target.write_text(reason_codes_markdown(), encoding="utf-8")
    print(target)
