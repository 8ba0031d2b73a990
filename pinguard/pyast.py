"""Two readings of Python syntax trees that the fact extractor (sources) and the version-check evaluator (engines)
both need, across the ast of Python 3.7 to 3.13."""

from __future__ import annotations

import ast
import sys
from typing import Optional


def dotted(node: Optional[ast.AST]) -> str:
    """`a.b.c` for a chain of names and attributes, "" for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return base + "." + node.attr if base else ""
    return ""


def string_value(node: ast.AST) -> Optional[str]:
    """The value of a string constant (ast.Str before 3.8, ast.Constant after), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if sys.version_info < (3, 8) and isinstance(node, ast.Str):  # pragma: no cover - old interpreters
        return node.s
    return None
