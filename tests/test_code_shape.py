"""The core's shape, as issue 26 set it: short signatures, clear names, one module a name."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "oracle_tui"


def _functions() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found = []
    for path in sorted((PACKAGE / "core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found.append((f"{path.relative_to(PACKAGE)}:{node.name}", node))
    return found


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    a = node.args
    names = [p.arg for p in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    names += [p.arg for p in (a.vararg, a.kwarg) if p is not None]
    return names[1:] if names[:1] in (["self"], ["cls"]) else names


def test_no_core_function_takes_more_than_seven_parameters() -> None:
    functions = _functions()
    assert len(functions) > 300  # the walk found the core
    long = {name: len(_parameters(node)) for name, node in functions
            if len(_parameters(node)) > 7}
    assert long == {}


def test_no_public_core_function_has_a_one_letter_parameter() -> None:
    short = {name: [p for p in _parameters(node) if len(p) == 1]
             for name, node in _functions() if not node.name.startswith("_")}
    assert {name: ps for name, ps in short.items() if ps} == {}


def test_no_two_modules_share_a_name() -> None:
    names = Counter(p.name for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")
    assert [n for n, count in names.items() if count > 1] == []
