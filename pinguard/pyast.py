"""Readings of Python syntax trees that the fact extractor (sources) and the version-check evaluator (engines)
both need, across the ast of Python 3.7 to 3.13."""

from __future__ import annotations

import ast
import sys
from typing import Optional, Set


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


def digit_list_helpers(tree: ast.Module) -> Set[str]:
    """Module-level functions of the shape mmdet 2.x defines as `digit_version`: one argument, split on ".", the
    digit parts appended as ints (an "XrcY" part as X - 1, Y), the list returned. Their result is a list of ints,
    compared as lists: "1.3.0" is greater than "1.3", unlike PEP 440 versions."""
    found = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and len(node.args.args) == 1 and _builds_digit_list(node):
            found.add(node.name)
    return found


def _builds_digit_list(node: ast.FunctionDef) -> bool:
    argument = node.args.args[0].arg
    empty = {t.id for s in node.body if isinstance(s, ast.Assign) and isinstance(s.value, ast.List)
             and not s.value.elts for t in s.targets if isinstance(t, ast.Name)}
    returned = [s.value.id for s in node.body if isinstance(s, ast.Return) and isinstance(s.value, ast.Name)]
    loops = [s for s in node.body if isinstance(s, ast.For) and isinstance(s.iter, ast.Call)
             and isinstance(s.iter.func, ast.Attribute) and s.iter.func.attr == "split"
             and dotted(s.iter.func.value) == argument and len(s.iter.args) == 1
             and string_value(s.iter.args[0]) == "."]
    appends_ints = any(isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr == "append"
                       and sub.args and isinstance(sub.args[0], ast.Call) and dotted(sub.args[0].func) == "int"
                       for loop in loops for sub in ast.walk(loop))
    return bool(loops) and appends_ints and len(returned) == 1 and returned[0] in empty
