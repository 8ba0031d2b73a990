"""Small modules with one job: no module of `pinguard/` over 600 lines, no function over 80.

The four self-contained files run inside a target's pip or interpreter keep their shape (they cannot import the
rest of pinguard, so they carry what they need).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pinguard"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
SELF_CONTAINED = {"adapters/pip_patch.py", "adapters/pip_session_runtime.py", "adapters/hook_runtime.py",
                  "sources/env_probe.py"}


def modules() -> List[Path]:
    found = [p for p in sorted(PACKAGE.rglob("*.py")) if p.relative_to(PACKAGE).as_posix() not in SELF_CONTAINED]
    assert len(found) > 50, "the package was not found where the test looks: %s" % PACKAGE
    return found


def long_functions(source: str, limit: int) -> List[Tuple[str, int]]:
    """(name, lines) of every function or method longer than `limit` lines, decorators excluded."""
    return [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > limit]


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_module_over_600_lines_and_no_function_over_80(path):
    source = path.read_text(encoding="utf-8")
    assert source.count("\n") <= MAX_MODULE_LINES, "%s has %d lines" % (path.name, source.count("\n"))
    assert long_functions(source, MAX_FUNCTION_LINES) == []


def test_the_measure_sees_a_long_function():
    body = "\n".join("        x = %d" % i for i in range(MAX_FUNCTION_LINES))
    assert long_functions("def short():\n    pass\n", MAX_FUNCTION_LINES) == []
    assert long_functions("class A:\n    def long(self):\n%s\n" % body, MAX_FUNCTION_LINES) == [
        ("long", MAX_FUNCTION_LINES + 1)]
