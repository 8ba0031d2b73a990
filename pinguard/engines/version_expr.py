"""Evaluate a version check (`assert torch.__version__ >= "1.3"`, `if digit_version(mmcv.__version__) < ...`)
for candidate versions, without executing anything: a small interpreter over a fixed set of AST nodes.

`M.__version__` (and `M.version.__version__`) is replaced by the candidate version string of module `M`; names
resolve through the module's own top-level assignments (`mmcv_minimum_version = "1.3.8"`); the operations
version checks are written with are understood (str methods, slicing, int/str/tuple/map, comparisons, and/or/not,
`LooseVersion`/`StrictVersion`/`Version`/`parse`/`parse_version`/`digit_version`). Anything else makes the
result unknown (None) — never a guess.
"""

from __future__ import annotations

import ast
import operator
from typing import AbstractSet, Any, Callable, Dict, Mapping, Optional, Sequence, Set, Tuple

from packaging.version import InvalidVersion, Version

from pinguard.pyast import dotted

_UNKNOWN = object()
MAX_DEPTH = 8
MAX_LENGTH = 10000
_VERSION_FUNCTIONS = {"LooseVersion", "StrictVersion", "Version", "parse", "parse_version", "digit_version"}
_STR_METHODS = {"split", "join", "replace", "strip", "lstrip", "rstrip", "startswith", "endswith", "lower",
                "upper", "partition", "rpartition", "rsplit", "find", "count", "isdigit"}
_COMPARE: Dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Eq: operator.eq,
    ast.NotEq: operator.ne, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


def version_modules(node: ast.AST, names: Optional[Mapping[str, ast.AST]] = None, depth: int = 0) -> Set[str]:
    """Top-level module names whose `__version__` the expression reads (`torch` for `torch.__version__`), also
    through the module's own assignments (`mmcv_version = digit_version(mmcv.__version__)`)."""
    found = set()
    for sub in ast.walk(node):
        module = _version_module(sub)
        if module:
            found.add(module.split(".")[0])
        elif names and depth < 4 and isinstance(sub, ast.Name) and sub.id in names:
            found |= version_modules(names[sub.id], names, depth + 1)
    return found


def evaluate(node: ast.AST, versions: Mapping[str, str], names: Optional[Mapping[str, ast.AST]] = None,
             digit_lists: AbstractSet[str] = frozenset()) -> Any:
    """The value of `node` with module versions substituted; None when it cannot be told. A call of a function
    named in `digit_lists` (a module's own helper, see `pinguard.pyast.digit_list_helpers`) gives the list that
    helper builds."""
    value = _Evaluator(versions, names or {}, digit_lists).value(node, 0)
    return None if value is _UNKNOWN else value


def holds(node: ast.AST, versions: Mapping[str, str], names: Optional[Mapping[str, ast.AST]] = None,
          digit_lists: AbstractSet[str] = frozenset()) -> Optional[bool]:
    """The truth of a condition (None when unknown)."""
    value = evaluate(node, versions, names, digit_lists)
    return None if value is None else bool(value)


def _digit_list(text: str) -> Any:
    """What the mmdet 2.x helper returns for `text`, or unknown when a part would make it raise."""
    parts = []
    for piece in text.split("."):
        if piece.isdigit():
            parts.append(int(piece))
        elif "rc" in piece:
            before, _, after = piece.partition("rc")
            if not before.isdigit() or not after.isdigit():
                return _UNKNOWN
            parts += [int(before) - 1, int(after)]
    return parts


def branch_taken(conditions: Sequence[Tuple[ast.AST, bool]], versions: Mapping[str, str],
                 names: Optional[Mapping[str, ast.AST]] = None) -> Optional[bool]:
    """Is a statement under these enclosing `if` tests (each: test, in its body?) reached? None when unknown."""
    for test, in_body in conditions:
        value = holds(test, versions, names)
        if value is None:
            return None
        if value != in_body:
            return False
    return True


def _version_module(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute) and node.attr == "__version__":
        base = dotted(node.value)
        if base.endswith(".version"):
            base = base[:-len(".version")]
        return base
    return ""


class _Evaluator:
    def __init__(self, versions: Mapping[str, str], names: Mapping[str, ast.AST],
                 digit_lists: AbstractSet[str] = frozenset()) -> None:
        self.versions = versions
        self.names = names
        self.digit_lists = digit_lists

    def value(self, node: ast.AST, depth: int) -> Any:
        if depth > MAX_DEPTH * 4:
            return _UNKNOWN
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            return _UNKNOWN
        result = method(node, depth + 1)
        if isinstance(result, (str, list, tuple)) and len(result) > MAX_LENGTH:
            return _UNKNOWN
        return result

    # -- leaves ----------------------------------------------------------------------------------------------

    def _Constant(self, node: Any, depth: int) -> Any:
        return node.value if isinstance(node.value, (str, int, float, bool, type(None))) else _UNKNOWN

    def _Str(self, node: Any, depth: int) -> Any:  # pragma: no cover - Python < 3.8
        return node.s

    def _Num(self, node: Any, depth: int) -> Any:  # pragma: no cover - Python < 3.8
        return node.n

    def _NameConstant(self, node: Any, depth: int) -> Any:  # pragma: no cover - Python < 3.8
        return node.value

    def _Index(self, node: Any, depth: int) -> Any:  # pragma: no cover - Python < 3.9
        return self.value(node.value, depth)

    def _Name(self, node: ast.Name, depth: int) -> Any:
        bound = self.names.get(node.id)
        if bound is None or depth > MAX_DEPTH * 3:
            return _UNKNOWN
        return self.value(bound, depth + 4)

    def _Attribute(self, node: ast.Attribute, depth: int) -> Any:
        module = _version_module(node)
        if module:
            found = self.versions.get(module.split(".")[0])
            return found if found is not None else _UNKNOWN
        return _UNKNOWN

    # -- containers -------------------------------------------------------------------------------------------

    def _Tuple(self, node: ast.Tuple, depth: int) -> Any:
        items = [self.value(e, depth) for e in node.elts]
        return _UNKNOWN if any(i is _UNKNOWN for i in items) else tuple(items)

    def _List(self, node: ast.List, depth: int) -> Any:
        items = self._Tuple(node, depth)  # type: ignore[arg-type]
        return _UNKNOWN if items is _UNKNOWN else list(items)

    def _Subscript(self, node: ast.Subscript, depth: int) -> Any:
        target = self.value(node.value, depth)
        if target is _UNKNOWN or not isinstance(target, (str, list, tuple)):
            return _UNKNOWN
        index = node.slice
        try:
            if isinstance(index, ast.Slice):
                parts = [self.value(p, depth) if p is not None else None for p in (index.lower, index.upper,
                                                                                   index.step)]
                if any(p is _UNKNOWN for p in parts):
                    return _UNKNOWN
                return target[slice(*parts)]
            key = self.value(index, depth)
            return _UNKNOWN if key is _UNKNOWN else target[key]
        except (IndexError, TypeError, ValueError):
            return _UNKNOWN

    # -- operations -------------------------------------------------------------------------------------------

    def _Compare(self, node: ast.Compare, depth: int) -> Any:
        left = self.value(node.left, depth)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.value(comparator, depth)
            compare = _COMPARE.get(type(op))
            if left is _UNKNOWN or right is _UNKNOWN or compare is None:
                return _UNKNOWN
            left_c, right_c = _comparable(left, right)
            try:
                if not compare(left_c, right_c):
                    return False
            except TypeError:
                return _UNKNOWN
            left = right
        return True

    def _BoolOp(self, node: ast.BoolOp, depth: int) -> Any:
        values = [self.value(v, depth) for v in node.values]
        known = [bool(v) for v in values if v is not _UNKNOWN]
        if isinstance(node.op, ast.And):
            if False in known:
                return False
            return _UNKNOWN if len(known) < len(values) else True
        if True in known:
            return True
        return _UNKNOWN if len(known) < len(values) else False

    def _UnaryOp(self, node: ast.UnaryOp, depth: int) -> Any:
        operand = self.value(node.operand, depth)
        if operand is _UNKNOWN:
            return _UNKNOWN
        if isinstance(node.op, ast.Not):
            return not operand
        if isinstance(node.op, ast.USub) and isinstance(operand, (int, float)):
            return -operand
        return _UNKNOWN

    def _BinOp(self, node: ast.BinOp, depth: int) -> Any:
        left, right = self.value(node.left, depth), self.value(node.right, depth)
        if left is _UNKNOWN or right is _UNKNOWN or not isinstance(node.op, ast.Add):
            return _UNKNOWN
        try:
            return left + right
        except TypeError:
            return _UNKNOWN

    def _Call(self, node: ast.Call, depth: int) -> Any:
        if node.keywords:
            return _UNKNOWN
        if dotted(node.func) == "map" and len(node.args) == 2 and isinstance(node.args[0], ast.Name) and \
                node.args[0].id in ("int", "str", "float"):
            items = self.value(node.args[1], depth)
            if not isinstance(items, (list, tuple)):
                return _UNKNOWN
            return [self._builtin(node.args[0].id, [item]) for item in items]
        args = [self.value(a, depth) for a in node.args]
        if any(a is _UNKNOWN for a in args):
            return _UNKNOWN
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _STR_METHODS:
            receiver = self.value(func.value, depth)
            if isinstance(receiver, str):
                try:
                    return getattr(receiver, func.attr)(*args)
                except (TypeError, ValueError):
                    return _UNKNOWN
        name = dotted(func).rsplit(".", 1)[-1]
        if isinstance(func, ast.Name) and name in self.digit_lists and len(args) == 1 and isinstance(args[0], str):
            return _digit_list(args[0])
        if name in _VERSION_FUNCTIONS and len(args) == 1 and isinstance(args[0], str):
            try:
                return Version(args[0])
            except InvalidVersion:
                return _UNKNOWN
        return self._builtin(name, args)

    @staticmethod
    def _builtin(name: str, args: list) -> Any:
        try:
            if name == "int" and len(args) == 1 and isinstance(args[0], (str, int, float)):
                return int(args[0])
            if name == "float" and len(args) == 1 and isinstance(args[0], (str, int, float)):
                return float(args[0])
            if name == "str" and len(args) == 1 and isinstance(args[0], (str, int, float)):
                return str(args[0])
            if name in ("tuple", "list") and len(args) == 1 and isinstance(args[0], (str, list, tuple)):
                return tuple(args[0]) if name == "tuple" else list(args[0])
            if name == "len" and len(args) == 1 and isinstance(args[0], (str, list, tuple)):
                return len(args[0])
        except (TypeError, ValueError):
            return _UNKNOWN
        return _UNKNOWN


def _comparable(left: Any, right: Any):
    """Version vs str compares as versions (what LooseVersion and packaging do with a string operand)."""
    if isinstance(left, Version) and isinstance(right, str):
        try:
            return left, Version(right)
        except InvalidVersion:
            return left, right
    if isinstance(right, Version) and isinstance(left, str):
        try:
            return Version(left), right
        except InvalidVersion:
            return left, right
    return left, right
