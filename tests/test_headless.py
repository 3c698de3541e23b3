"""The core never imports Textual or Rich: proven in a clean interpreter that imports every
core module (any one of them pulling in a face would leave it in ``sys.modules``)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import oracle_tui.core

CORE_MODULES = sorted(
    m.name for m in pkgutil.walk_packages(oracle_tui.core.__path__, "oracle_tui.core.")
)


def test_core_module_list_is_not_empty() -> None:
    assert "oracle_tui.core.check" in CORE_MODULES
    assert "oracle_tui.core.seal" in CORE_MODULES


def test_no_core_module_imports_textual_or_rich() -> None:
    code = ("import importlib, sys\n"
            "for name in sys.argv[1:]:\n"
            "    importlib.import_module(name)\n"
            "    bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
            "    if bad:\n"
            "        print(name, ','.join(bad))\n"
            "        break\n")
    proc = subprocess.run([sys.executable, "-c", code, *CORE_MODULES], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
