"""Classify a crash: what was missing or refused, and which frame asked for it. Pure, over a parsed CrashText.

Kinds (`Failure.kind`):

- `missing-name`: `cannot import name N from M`, `module M has no attribute N`, `'C' object has no attribute N`,
  `type object 'C' has no attribute N` (`name`, `module` or `owner`);
- `missing-module`: `No module named 'a.b'` (`module`);
- `call-shape`: `f() got an unexpected keyword argument 'k'`, `f() takes N positional arguments but M were
  given`, `f() missing N required ... argument` (`callee`, `qualifier` from the source line, `name`, `detail`);
- `assertion`: an `AssertionError` (the asserting statement is read later, from the file or the source line);
- `raised`: any other exception raised by installed code (its raising statement is read later);
- `abi`: a C-extension or shared-library message (numpy C-API version, `size changed`, `undefined symbol`,
  `cannot open shared object file`);
- `unknown`: anything else.

Every block of a chained crash is classified; `primary` picks the one a repair should answer first: the last
block, unless it is a generic wrapper of an earlier, more specific failure.
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

from pinguard.crash import Block, CrashText, Failure, Frame

_IMPORT_NAME = re.compile(r"cannot import name '?(?P<name>[\w.]+)'?(?: from '(?P<module>[\w.]+)')?")
_NO_MODULE = re.compile(r"No module named '?(?P<module>[\w.]+)'?")
_MODULE_ATTR = re.compile(r"module '(?P<module>[\w.]+)' has no attribute '(?P<name>\w+)'")
_OBJECT_ATTR = re.compile(r"'(?P<owner>[\w.]+)' object has no attribute '(?P<name>\w+)'")
_TYPE_ATTR = re.compile(r"type object '(?P<owner>[\w.]+)' has no attribute '(?P<name>\w+)'")
_KEYWORD = re.compile(r"(?P<callee>[\w.]+)\(\) got an unexpected keyword argument '(?P<name>\w+)'")
_POSITIONAL = re.compile(r"(?P<callee>[\w.]+)\(\) takes (?:from \d+ to )?(?P<takes>\d+) positional arguments? "
                         r"but (?P<given>\d+) (?:were|was) given")
_MISSING_ARG = re.compile(r"(?P<callee>[\w.]+)\(\) missing \d+ required (?:positional |keyword-only )?"
                          r"arguments?: '(?P<name>\w+)'")
_MULTIPLE = re.compile(r"(?P<callee>[\w.]+)\(\) got multiple values for (?:keyword )?argument '(?P<name>\w+)'")
_ABI = re.compile(r"(module compiled against (?:ABI|API) version|size changed, may indicate binary incompatibility|"
                  r"undefined symbol|cannot open shared object file|numpy\.core\.multiarray failed to import|"
                  r"_ARRAY_API not found|DLL load failed)")
_WRAPPERS = ("Caught ", "Exception in thread", "An attempt has been made")


def classify(crash: CrashText) -> List[Failure]:
    """A Failure per block, in the order printed."""
    return [classify_block(block) for block in crash.blocks]


def primary(failures: List[Failure]) -> Optional[Failure]:
    """The failure to repair first: the last one, unless it only wraps an earlier, more specific one."""
    if not failures:
        return None
    last = failures[-1]
    if last.kind in ("unknown", "raised") and last.message.startswith(_WRAPPERS) and len(failures) > 1:
        return failures[-2]
    if last.kind == "unknown":
        specific = [f for f in failures[:-1] if f.kind != "unknown"]
        if specific:
            return specific[-1]
    return last


def classify_block(block: Block) -> Failure:
    frame = block.innermost
    message = block.message.split("\n", 1)[0]
    name = block.exception_name
    if name in ("ImportError", "ModuleNotFoundError"):
        found = _import_failure(block, frame, message)
        if found is not None:
            return found
    if name == "AttributeError":
        for pattern in (_MODULE_ATTR, _TYPE_ATTR, _OBJECT_ATTR):
            match = pattern.search(message)
            if match:
                groups = match.groupdict()
                return Failure("missing-name", block, frame, name=groups["name"], module=groups.get("module") or "",
                               owner=groups.get("owner") or "")
    if name == "TypeError":
        found = _call_failure(block, frame, message)
        if found is not None:
            return found
    abi = _ABI.search(block.message)
    if abi:
        return Failure("abi", block, frame, detail=abi.group(1))
    if name == "AssertionError":
        return Failure("assertion", block, frame)
    if frame is not None and frame.installed:
        return Failure("raised", block, frame)
    return Failure("unknown", block, frame)


def _import_failure(block: Block, frame: Optional[Frame], message: str) -> Optional[Failure]:
    abi = _ABI.search(block.message)
    if abi:
        return Failure("abi", block, frame, detail=abi.group(1))
    match = _IMPORT_NAME.search(message)
    if match:
        module = match.group("module") or _from_module(frame, match.group("name"))
        return Failure("missing-name", block, frame, name=match.group("name"), module=module)
    match = _NO_MODULE.search(message)
    if match:
        return Failure("missing-module", block, frame, module=match.group("module"))
    return None


def _call_failure(block: Block, frame: Optional[Frame], message: str) -> Optional[Failure]:
    for pattern, detail in ((_KEYWORD, "unexpected-keyword"), (_POSITIONAL, "too-many-positional"),
                            (_MISSING_ARG, "missing-argument"), (_MULTIPLE, "multiple-values")):
        match = pattern.search(message)
        if match:
            groups = match.groupdict()
            callee = groups["callee"].rsplit(".", 1)[-1]
            return Failure("call-shape", block, frame, name=groups.get("name") or groups.get("given") or "",
                           callee=callee, qualifier=call_qualifier(frame.code if frame else "", callee),
                           detail=detail)
    return None


_FROM_IMPORT = re.compile(r"^\s*from\s+(?P<module>\.*[\w.]*)\s+import\s+(?P<names>.+)$")


def _from_module(frame: Optional[Frame], name: str) -> str:
    """`M` of the failing `from M import ..., name` line (relative imports resolved against the frame's module)."""
    if frame is None:
        return ""
    match = _FROM_IMPORT.match(frame.code)
    if not match:
        return ""
    names = {n.strip().split(" as ")[0].strip("() ") for n in match.group("names").split(",")}
    if name not in names:
        return ""
    return resolve_relative(match.group("module"), frame)


def resolve_relative(module: str, frame: Frame) -> str:
    """Absolute name of `module` as written in `frame`'s file (`..utils` inside `a.b.c` -> `a.utils`)."""
    dots = len(module) - len(module.lstrip("."))
    if not dots:
        return module
    here = frame.module
    if here is None:
        return module.lstrip(".")
    package = here.split(".") if (frame.site_path or "").endswith("__init__.py") else here.split(".")[:-1]
    base = package[:len(package) - (dots - 1)] if dots > 1 else package
    rest = module[dots:]
    return ".".join(base + ([rest] if rest else []))


_CALL = re.compile(r"(?P<qualifier>(?:[A-Za-z_]\w*\.)*)(?P<callee>[A-Za-z_]\w*)\s*\(")


def call_qualifier(code: str, callee: str) -> str:
    """The dotted receiver in front of `callee(` in a source line (`torch.hub` in `torch.hub.f(x)`), or ""."""
    for match in _CALL.finditer(code):
        if match.group("callee") == callee:
            return match.group("qualifier").rstrip(".")
    return ""


def import_statement(code: str) -> Optional[Tuple[str, Tuple[str, ...]]]:
    """(module, names) of a one-line `from M import a, b as c` statement, else None."""
    match = _FROM_IMPORT.match(code)
    if not match:
        return None
    names = tuple(n.strip().split(" as ")[0].strip("() ") for n in match.group("names").split(","))
    return match.group("module"), tuple(n for n in names if n)
