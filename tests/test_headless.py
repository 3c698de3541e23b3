"""The core never imports Textual or Rich: proven in a clean interpreter per module."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import oracle_tui.core

CORE_MODULES = sorted(
    m.name for m in pkgutil.walk_packages(oracle_tui.core.__path__, "oracle_tui.core.")
)


def test_core_module_list_is_not_empty() -> None:
    assert "oracle_tui.core.check" in CORE_MODULES
    assert "oracle_tui.core.seal" in CORE_MODULES


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_imports_without_textual_or_rich(module: str) -> None:
    code = (f"import sys, {module}; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')); "
            "print(','.join(bad))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
