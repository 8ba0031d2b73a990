"""Does a rule's `when` hold? Two questions, one module.

- `may_hold`: under *requests* (anchors, --with, the paired family, narrowed by generated bounds) can the
  condition be true? Used by `generate`, which must emit a rule's bound whenever what the user asked for can reach
  the trigger.
- `holds`: under *installed versions* is it true? Used by `check` and `fix`.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Optional

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pinguard.model import Condition, Context, Rule
from pinguard.specs import implies, python_marker, satisfiable


def _python_ok(condition: Condition, context: Context) -> Optional[bool]:
    if condition.python is None:
        return True
    if context.python is None:
        return None  # unknown: decided by a marker
    return condition.python.contains(context.python, prereleases=True)


def _build_ok(condition: Condition, context: Context) -> bool:
    if condition.builds is None:
        return True
    return context.build is not None and context.build in condition.builds


def _gpu_ok(condition: Condition, context: Context) -> bool:
    if condition.gpu is None:
        return True
    return context.gpu is not None and condition.gpu.contains(context.gpu, prereleases=True)


def may_hold(condition: Condition, known: Mapping[str, SpecifierSet], context: Context,
             constrained: Iterable[str] = (), unversioned: Iterable[str] = ()) -> Optional[str]:
    """None when the condition cannot hold; else the PEP 508 marker it needs ("" = none).

    `known` maps each requested package to the range it may take. A versioned request may be any version of its
    range, so an entry holds when the two overlap; an `unversioned` one is *some* version the resolver picks, so an
    entry holds only when the whole range lies inside it (`""` always does). Entries on `constrained` packages (the
    ones the rule's `require` bounds) describe the broken range, not the trigger: the bound is emitted whether or
    not the package is known yet, which is the point of a constraint.
    """
    constrained, unversioned = set(constrained), set(unversioned)
    for name, spec in condition.packages.items():
        if name in constrained:
            continue
        if name not in known:
            return None
        if not (implies([known[name]], spec) if name in unversioned else satisfiable([known[name], spec])):
            return None
    if not (_build_ok(condition, context) and _gpu_ok(condition, context)):
        return None
    python = _python_ok(condition, context)
    if python is False:
        return None
    if python is None and condition.python is not None:
        return python_marker(condition.python)
    return ""


def holds(condition: Condition, installed: Mapping[str, Version], context: Context) -> bool:
    """True when every entry of the condition holds for these installed versions."""
    for name, spec in condition.packages.items():
        version = installed.get(name)
        if version is None or not spec.contains(version, prereleases=True):
            return False
    return bool(_python_ok(condition, context) is not False and _build_ok(condition, context)
                and _gpu_ok(condition, context))


def rule_holds(rule: Rule, installed: Mapping[str, Version], context: Context) -> bool:
    return any(holds(c, installed, context) for c in rule.when)
