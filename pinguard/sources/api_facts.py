"""What one module's source defines, read with `ast` — the code is parsed, never imported or executed.

`module_facts(source, module)` returns `ModuleFacts`: the names bound at module level (in every branch of `if` /
`try`, so both arms of `try: from a import x / except: x = None` count), `__all__` when it is a literal, the
targets of `from M import *` (resolved one level deep by the caller), whether the module defines `__getattr__`
(PEP 562) or rebinds itself dynamically (`globals()[...] =`, `sys.modules[__name__] = ...`: its names cannot be
listed), the signatures of its functions, its classes' attributes, methods and properties, its module-level
imports (with the line and whether an `except ImportError` guards them), and the statements that raise or assert
(lines, the string constants of their messages, the condition that guards them) so that a crash's raising line can
be matched across releases.

Sources that the running interpreter cannot parse (Python 2 code under Python 3, new syntax under an old
interpreter) give `None`: unknown, never "absent".
"""

from __future__ import annotations

import ast
from typing import Dict, List, Optional, Sequence, Set, Tuple

from pinguard.api_types import ClassFacts, ImportFact, ModuleDetails, ModuleFacts, Signature, Statement
from pinguard.pyast import digit_list_helpers, dotted, string_value


def parse_source(source: str, filename: str = "<release file>") -> Optional[ast.Module]:
    """The module's AST, or None when this interpreter cannot parse it."""
    try:
        return ast.parse(source, filename)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def module_facts(source: str, module: str, is_package: bool = False) -> Optional[ModuleFacts]:
    """Facts of `module` (its dotted name, to resolve relative imports) from its source; None if unparsable."""
    tree = parse_source(source, module)
    if tree is None:
        return None
    collector = _Collector(module, is_package)
    collector.visit_body(tree.body, guarded=False)
    return ModuleFacts(
        module=module,
        names=frozenset(collector.names),
        all=collector.all_names,
        star_imports=tuple(collector.stars),
        has_getattr="__getattr__" in collector.functions,
        dynamic=collector.dynamic,
        functions=dict(collector.functions),
        classes=dict(collector.classes),
        imports=tuple(collector.imports),
        deprecated=collector.deprecated,
        assignments=dict(collector.assignments),
        read_details=lambda: module_details(source, module),
    )


def module_details(source: str, module: str) -> ModuleDetails:
    """The statements and usage of a module: a walk of its whole tree (parsed again: keeping every tree of an
    import walk in memory would cost more than parsing the few that are asked about)."""
    tree = parse_source(source, module)
    if tree is None:
        return ModuleDetails()
    uses, keywords = _usage(tree)
    return ModuleDetails(statements=_statements(tree), attributes_used=frozenset(uses),
                         call_keywords={name: frozenset(words) for name, words in keywords.items()},
                         digit_helpers=frozenset(digit_list_helpers(tree)))


# -- the collector ----------------------------------------------------------------------------------------------

_GUARD_EXCEPTIONS = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException", "AttributeError",
                     "OSError", "RuntimeError"}


class _Collector:
    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.names: Set[str] = set()
        self.all_names: Optional[Tuple[str, ...]] = None
        self.stars: List[str] = []
        self.dynamic = False
        self.functions: Dict[str, Signature] = {}
        self.classes: Dict[str, ClassFacts] = {}
        self.imports: List[ImportFact] = []
        self.deprecated = False
        self.assignments: Dict[str, ast.AST] = {}
        self.conditions: List[Tuple[ast.AST, bool]] = []  # enclosing `if` tests, and whether in their body

    def visit_body(self, body: Sequence[ast.stmt], guarded: bool) -> None:
        for node in body:
            self.visit(node, guarded)

    def visit(self, node: ast.stmt, guarded: bool) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.names.add(node.name)
            self.functions[node.name] = signature_of(node.args)
        elif isinstance(node, ast.ClassDef):
            self.names.add(node.name)
            self.classes[node.name] = class_facts(node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                self.names.add(alias.asname or alias.name.split(".")[0])
                self.imports.append(ImportFact(alias.name, (), node.lineno, guarded, tuple(self.conditions)))
        elif isinstance(node, ast.ImportFrom):
            self._import_from(node, guarded)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            self._assign(node)
        elif isinstance(node, ast.If):
            type_checking = _is_type_checking(node.test)
            for body, taken in ((node.body, True), (node.orelse, False)):
                self.conditions.append((node.test, taken))
                self.visit_body(body, guarded or (type_checking and taken))
                self.conditions.pop()
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            catches = any(_catches_import_errors(h) for h in node.handlers)  # type: ignore[attr-defined]
            self.visit_body(node.body, guarded or catches)  # type: ignore[attr-defined]
            for handler in node.handlers:  # type: ignore[attr-defined]
                if handler.name:
                    self.names.add(handler.name if isinstance(handler.name, str) else "")
                self.visit_body(handler.body, True)  # a fallback: runs only when the body failed
            self.visit_body(node.orelse, guarded)  # type: ignore[attr-defined]
            self.visit_body(node.finalbody, guarded)  # type: ignore[attr-defined]
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            if isinstance(node, (ast.For, ast.AsyncFor)):
                self.names.update(_target_names(node.target))
                self._dynamic_call(node.iter)
            self.visit_body(node.body, guarded)
            self.visit_body(node.orelse, guarded)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    self.names.update(_target_names(item.optional_vars))
            self.visit_body(node.body, guarded)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self.names.difference_update(_target_names(target))
        elif isinstance(node, ast.Expr):
            self._dynamic_call(node.value)
            if _warns_deprecated(node.value):
                self.deprecated = True

    def _import_from(self, node: ast.ImportFrom, guarded: bool) -> None:
        module = self._absolute(node.module or "", node.level or 0)
        names = []
        for alias in node.names:
            if alias.name == "*":
                self.stars.append(module)
            else:
                self.names.add(alias.asname or alias.name)
                names.append(alias.name)
        self.imports.append(ImportFact(module, tuple(names) or ("*",), node.lineno, guarded, tuple(self.conditions)))

    def _absolute(self, module: str, level: int) -> str:
        if not level:
            return module
        parts = self.package.split(".") if self.package else []
        base = parts[:len(parts) - (level - 1)] if level > 1 else parts
        return ".".join(base + ([module] if module else []))

    def _assign(self, node: ast.stmt) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]  # type: ignore[attr-defined]
        value = getattr(node, "value", None)
        for target in targets:
            names = _target_names(target)
            self.names.update(names)
            if isinstance(target, ast.Name) and value is not None and not isinstance(node, ast.AugAssign):
                self.assignments[target.id] = value
            if "__all__" in names:
                self._all(node)
            if isinstance(target, ast.Subscript) and _is_globals_or_modules(target.value):
                self.dynamic = True
        value = getattr(node, "value", None)
        if value is not None:
            self._dynamic_call(value)

    def _all(self, node: ast.stmt) -> None:
        value = getattr(node, "value", None)
        items = _literal_strings(value)
        if items is None:
            self.all_names = None if isinstance(node, ast.AugAssign) else self.all_names
            return
        if isinstance(node, ast.AugAssign) and self.all_names is not None:
            self.all_names = self.all_names + items
        else:
            self.all_names = items

    def _dynamic_call(self, value: ast.AST) -> None:
        """`globals().update(...)`, `setattr(sys.modules[...], ...)`, `exec(...)` make the names unknowable."""
        for sub in ast.walk(value):
            if isinstance(sub, ast.Call):
                func = sub.func
                if isinstance(func, ast.Attribute) and func.attr == "update" and _is_globals_or_modules(func.value):
                    self.dynamic = True
                elif isinstance(func, ast.Name) and func.id in ("exec", "setattr") and (
                        func.id == "exec" or any(_is_globals_or_modules(a) for a in sub.args[:1])):
                    self.dynamic = True


_DEPRECATION_CATEGORIES = ("DeprecationWarning", "FutureWarning", "PendingDeprecationWarning")


def _warns_deprecated(value: ast.AST) -> bool:
    """A module-level call that announces the module itself as deprecated: `warnings.warn(..., FutureWarning)` or
    a helper whose name says so (`_raise_dep_warning_if_not_pytest(...)`, `deprecated_module(...)`)."""
    if not isinstance(value, ast.Call):
        return False
    name = dotted(value.func).rsplit(".", 1)[-1].lower()
    if name == "warn":
        return any(dotted(a).rsplit(".", 1)[-1] in _DEPRECATION_CATEGORIES for a in list(value.args[1:]) +
                   [k.value for k in value.keywords if k.arg == "category"])
    return "deprecat" in name or "dep_warning" in name


def _is_globals_or_modules(node: ast.AST) -> bool:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("globals", "vars",
                                                                                             "locals"):
        return True
    text = dotted(node)
    return text in ("sys.modules",) or (isinstance(node, ast.Subscript) and dotted(node.value) == "sys.modules")


def _is_type_checking(test: ast.AST) -> bool:
    return dotted(test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _catches_import_errors(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(dotted(k).rsplit(".", 1)[-1] in _GUARD_EXCEPTIONS for k in kinds)


def _target_names(target: ast.AST) -> Set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        found: Set[str] = set()
        for element in target.elts:
            found |= _target_names(element)
        return found
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return set()


def _literal_strings(node: Optional[ast.AST]) -> Optional[Tuple[str, ...]]:
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [string_value(e) for e in node.elts]
        if all(i is not None for i in items):
            return tuple(i for i in items if i is not None)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal_strings(node.left), _literal_strings(node.right)
        if left is not None and right is not None:
            return left + right
    return None


# -- functions and classes ---------------------------------------------------------------------------------------


def signature_of(args: ast.arguments) -> Signature:
    posonly = tuple(a.arg for a in getattr(args, "posonlyargs", []))
    positional = tuple(a.arg for a in args.args)
    return Signature(positional=positional, posonly=posonly, kwonly=tuple(a.arg for a in args.kwonlyargs),
                     varargs=args.vararg is not None, varkw=args.kwarg is not None, defaults=len(args.defaults))


def class_facts(node: ast.ClassDef) -> ClassFacts:
    attributes: Set[str] = set()
    methods: Dict[str, Signature] = {}
    properties: Set[str] = set()
    setters: Set[str] = set()
    for item in _flatten(node.body):
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            decorators = [dotted(d) for d in item.decorator_list]
            if any(d == "property" or d.endswith(".getter") for d in decorators):
                properties.add(item.name)
            if any(d.endswith(".setter") for d in decorators):
                setters.add(item.name)
            attributes.add(item.name)
            methods.setdefault(item.name, signature_of(item.args))
        elif isinstance(item, ast.ClassDef):
            attributes.add(item.name)
        elif isinstance(item, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]  # type: ignore[attr-defined]
            for target in targets:
                attributes |= _target_names(target)
                if isinstance(target, ast.Name) and _is_property_call(getattr(item, "value", None)):
                    properties.add(target.id)
                    if _property_has_setter(item.value):  # type: ignore[arg-type]
                        setters.add(target.id)
    return ClassFacts(name=node.name, bases=tuple(dotted(b) for b in node.bases), attributes=frozenset(attributes),
                      methods=methods, setters=frozenset(setters), properties=frozenset(properties),
                      dynamic=bool({"__getattr__", "__getattribute__"} & attributes))


def _flatten(body: Sequence[ast.stmt]) -> List[ast.stmt]:
    """Statements of a body with `if`/`try` branches inlined (class bodies bind names in either branch)."""
    found: List[ast.stmt] = []
    for item in body:
        if isinstance(item, ast.If):
            found += _flatten(item.body) + _flatten(item.orelse)
        elif isinstance(item, ast.Try):
            found += _flatten(item.body) + _flatten(item.orelse) + _flatten(item.finalbody)
            for handler in item.handlers:
                found += _flatten(handler.body)
        else:
            found.append(item)
    return found


def _is_property_call(value: Optional[ast.AST]) -> bool:
    return isinstance(value, ast.Call) and dotted(value.func) == "property"


def _property_has_setter(call: ast.Call) -> bool:
    return len(call.args) >= 2 or any(k.arg == "fset" for k in call.keywords)


# -- raise / assert statements ---------------------------------------------------------------------------------


def _statements(tree: ast.Module) -> Tuple[Statement, ...]:
    found: List[Statement] = []

    def walk(nodes: Sequence[ast.AST], condition: Optional[ast.AST]) -> None:
        for child in nodes:
            if isinstance(child, ast.If):
                walk(child.body, child.test)
                walk(child.orelse, child.test)
                continue
            if isinstance(child, ast.Raise) and child.exc is not None:
                found.append(Statement("raise", child.lineno, _last_line(child), _texts(child.exc), condition))
            elif isinstance(child, ast.Assert):
                found.append(Statement("assert", child.lineno, _last_line(child),
                                       _texts(child.msg) if child.msg is not None else (), child.test))
            scoped = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            walk(list(ast.iter_child_nodes(child)), None if scoped else condition)

    walk(tree.body, None)
    return tuple(found)


def _usage(tree: ast.Module) -> Tuple[Set[str], Dict[str, Set[str]]]:
    """Dotted attribute chains read anywhere in the module (up to three links) and, per called name, the keyword
    arguments passed to it: what the module's own code needs from others."""
    uses: Set[str] = set()
    keywords: Dict[str, Set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain = dotted(node)
            if chain:
                parts = chain.split(".")
                uses.add(".".join(parts[-3:]))
                uses.add(".".join(parts[-2:]))
        elif isinstance(node, ast.Call):
            name = dotted(node.func).rsplit(".", 1)[-1]
            if name:
                keywords.setdefault(name, set()).update(k.arg for k in node.keywords if k.arg)
    return uses, keywords


def _last_line(node: ast.AST) -> int:
    end = getattr(node, "end_lineno", None)
    if end is not None:
        return int(end)
    return max((getattr(n, "lineno", 0) for n in ast.walk(node)), default=getattr(node, "lineno", 0))


def _texts(node: ast.AST) -> Tuple[str, ...]:
    texts: List[str] = []
    for sub in ast.walk(node):
        value = string_value(sub)
        if value is not None and value.strip():
            texts.append(value)
    return tuple(texts)


def names_and_signature(facts: ModuleFacts, dotted: str) -> Optional[Signature]:
    """The signature of `f` or `Class.method` defined in this module (no import following)."""
    if "." in dotted:
        owner, _, method = dotted.partition(".")
        cls = facts.classes.get(owner)
        return cls.methods.get(method) if cls else None
    return facts.functions.get(dotted)
