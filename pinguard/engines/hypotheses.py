"""Hypotheses a classified crash suggests, each a test one release of one distribution can pass or fail.

- callee: the distribution that lacks the name / module / parameter, or raises, moves to a release that has it
  (or does not raise);
- caller: the distribution whose code made the failing import or call moves to a release whose code no longer
  needs it;
- a frame in the project's own code cannot change, so only the callee can move for it.
A version check (an `assert` or a guarded `raise` reading `X.__version__`) gives a callee hypothesis on X (the
releases of X the condition accepts) and, when the check is a library's, a caller one (the releases of that
library whose own check accepts the pinned X).

Pure: every read goes through the ApiView.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, List, Mapping, Optional, Sequence, Set, Tuple

from packaging.requirements import Requirement
from packaging.version import Version

from pinguard.api_types import ModuleFacts, ModuleLookup, Statement
from pinguard.crash import Failure, Frame
from pinguard.engines import version_expr
from pinguard.engines.api_queries import (ApiView, binds_name, class_has, distribution_of, find_class,
                                          find_function, importers)
from pinguard.specs import normalize

Result = Tuple[Optional[bool], str]


@dataclass
class Hypothesis:
    role: str  # "callee" | "caller"
    dist: str
    need: str  # what must hold, for people: "PILLOW_VERSION importable from PIL"
    module: str  # the module each test reads first (warmed for a batch of releases)
    test: Callable[[Version], Result]
    preferred: Optional[Callable[[Version], Result]] = None  # a stronger test tried first (not deprecated)
    start_modules: Tuple[str, ...] = ()  # what importing the fixed code runs: checked against the other pins
    directions: Tuple[str, ...] = ("down", "up")


@dataclass
class HypothesisContext:
    """What the hypotheses may consult: the pins, the movable distributions, the API view, the import table."""

    pins: Mapping[str, Version]
    fixed: Set[str]  # distributions that cannot move (anchors)
    api: ApiView
    known_imports: Mapping[str, Sequence[str]]
    looked: List[str] = field(default_factory=list)
    requires: Optional[Callable[[str, Version], List[Requirement]]] = None  # Requires-Dist on the target

    def dist_of(self, module: str) -> Optional[str]:
        return distribution_of(module, self.pins, self.known_imports, self.api) if module else None

    def movable(self, dist: Optional[str]) -> bool:
        return dist is not None and dist in self.pins and dist not in self.fixed


def hypotheses(failure: Failure, context: HypothesisContext) -> List[Hypothesis]:
    clash = _foreign_file(failure, context)
    if clash is not None:
        return clash
    builder = _BUILDERS.get(failure.kind)
    return builder(failure, context) if builder is not None else []


# -- a file that no pinned release ships --------------------------------------------------------------------------


def _foreign_file(failure: Failure, context: HypothesisContext) -> Optional[List[Hypothesis]]:
    """The failing file is not in the pinned release its import name points at: another distribution, one a
    pinned package requires but the list does not name, installs the same package over it (tensorflow 1.15
    requires `tensorboard`, which overwrites the legacy `tensorflow-tensorboard`). The requirer then moves to a
    release that does not require that distribution. None when the file is where it should be."""
    frame = failure.frame
    if frame is None or not frame.installed or frame.module is None or context.requires is None:
        return None
    owner = context.dist_of(frame.module)
    if owner is None or context.api.module(owner, context.pins[owner], frame.module).status != "absent":
        return None
    top = frame.module.split(".")[0]
    context.looked.append("which distribution installs %s (%s %s does not ship it)" % (
        frame.site_path, owner, context.pins[owner]))
    found: List[Hypothesis] = []
    for dist, version in sorted(context.pins.items()):
        if dist == owner or not context.movable(dist):
            continue
        intruder = _unlisted_provider(context, dist, version, top)
        if intruder is None:
            continue
        found.append(Hypothesis("caller", dist, "%s does not require %s, which installs %s/ over %s" % (
            dist, intruder, top, owner), "", partial(_does_not_require, context, dist, intruder=intruder),
            directions=("down", "up")))
    return found


def _unlisted_provider(context: HypothesisContext, dist: str, version: Version, top: str) -> Optional[str]:
    """A distribution `dist version` requires, that the pins do not list, and that installs import name `top`."""
    assert context.requires is not None
    providers = {normalize(top)} | {normalize(d) for d in context.known_imports.get(top, ())}
    for requirement in context.requires(dist, version):
        name = normalize(requirement.name)
        if name in providers and name not in context.pins:
            return name
    return None


def _does_not_require(context: HypothesisContext, dist: str, version: Version, intruder: str) -> Result:
    assert context.requires is not None
    names = {normalize(r.name) for r in context.requires(dist, version)}
    if intruder in names:
        return False, "%s %s requires %s" % (dist, version, intruder)
    return True, "%s %s does not require %s" % (dist, version, intruder)


# -- missing names ----------------------------------------------------------------------------------------------


def _missing_name(failure: Failure, context: HypothesisContext) -> List[Hypothesis]:
    if failure.owner:
        return _missing_attribute(failure, context)
    found: List[Hypothesis] = []
    module, name = failure.module, failure.name
    callee = context.dist_of(module)
    context.looked.append("%s in %s (%s)" % (name, module or "?", callee or "no pinned distribution provides it"))
    if callee is not None and context.movable(callee) and module:
        found.append(Hypothesis("callee", callee, "%s importable from %s" % (name, module), module,
                                lambda v: _binds(context, callee, v, module, name),
                                start_modules=tuple(importers([module]))))
    caller = _caller(failure.frame, context)
    if caller is not None and caller != callee:
        caller_module = (failure.frame.module or "") if failure.frame else ""  # set: _caller found the frame
        chains = _chains(failure.frame.code, name) if failure.frame else set()
        found.append(Hypothesis("caller", caller, "%s no longer needs %s from %s" % (caller_module, name, module),
                                caller_module,
                                _keeps_entry(failure, context, caller, lambda v: _no_longer_imports(
                                    context, caller, v, caller_module, module, name, chains)),
                                start_modules=_entry_modules(failure, caller, context)))
    return found


def _binds(context: HypothesisContext, dist: str, version: Version, module: str, name: str) -> Result:
    found, where = binds_name(context.api, dist, version, module, name)
    if found:
        return True, "%s binds %s" % (where, name)
    if found is None:
        return None, "cannot tell whether %s binds %s (%s)" % (module, name, where)
    return False, "%s does not bind %s" % (where, name) if where.endswith(".py") else where


def _caller_code(context: HypothesisContext, dist: str, version: Version, module: str,
                 judge: Callable[[ModuleLookup], Result]) -> Result:
    """A caller test on one module of one release: a release without the module no longer needs anything from
    it; an unreadable one cannot tell; otherwise `judge` reads its facts."""
    lookup = context.api.module(dist, version, module)
    if lookup.status == "absent":
        return True, "has no module %s" % module
    if lookup.facts is None:
        return None, lookup.why or "cannot read %s" % module
    return judge(lookup)


def _no_longer_imports(context: HypothesisContext, dist: str, version: Version, caller_module: str, module: str,
                       name: str, chains: Set[str]) -> Result:
    def judge(lookup: ModuleLookup) -> Result:
        assert lookup.facts is not None
        for fact in lookup.facts.imports:
            if fact.guarded:
                continue
            if (fact.module == module and name in fact.names) or fact.module == "%s.%s" % (module, name):
                return False, "%s line %d still imports %s from %s" % (lookup.path, fact.line, name, module)
        used = sorted(c for c in chains if lookup.facts.uses_attribute(c))
        if used:
            return False, "%s still uses %s" % (lookup.path, used[0])
        return True, "%s no longer imports %s from %s" % (lookup.path, name, module)
    return _caller_code(context, dist, version, caller_module, judge)


def _missing_attribute(failure: Failure, context: HypothesisContext) -> List[Hypothesis]:
    """`'C' object has no attribute N`: C is looked for in what the caller's module imports."""
    found: List[Hypothesis] = []
    frame, owner, name = failure.frame, failure.owner.rsplit(".", 1)[-1], failure.name
    caller = _caller(frame, context)
    context.looked.append("attribute %s of class %s" % (name, owner))
    if caller is None or frame is None or frame.module is None:
        return found
    here = context.api.module(caller, context.pins[caller], frame.module)
    if here.facts is not None:
        modules = [f.module for f in here.facts.imports if f.module.split(".")[0] != frame.top]
        for module in dict.fromkeys(modules):
            dist = context.dist_of(module)
            if dist is None or not context.movable(dist):
                continue
            cls, where = find_class(context.api, dist, context.pins[dist], [module], owner)
            if cls is None:
                continue
            found.append(Hypothesis("callee", dist, "class %s with attribute %s in %s" % (owner, name, module),
                                    module, partial(_class_attribute, context, dist, module=module, owner=owner,
                                                    name=name),
                                    start_modules=tuple(importers([module]))))
            break
    chains = _chains(frame.code, name)
    if chains:
        module = frame.module
        found.append(Hypothesis("caller", caller, "%s no longer reads %s" % (module, " / ".join(sorted(chains))),
                                module, _keeps_entry(failure, context, caller,
                                                     lambda v: _no_longer_uses(context, caller, v, module, chains)),
                                start_modules=_entry_modules(failure, caller, context)))
    return found


def _class_attribute(context: HypothesisContext, dist: str, version: Version, module: str, owner: str,
                     name: str) -> Result:
    cls, where = find_class(context.api, dist, version, [module], owner)
    if cls is None:
        return None, "%s: no class %s" % (module, owner)
    has = class_has(cls, name)
    return has, "%s class %s %s %s" % (where, owner, "defines" if has else "does not define", name)


def _no_longer_uses(context: HypothesisContext, dist: str, version: Version, module: str, chains: Set[str]) -> Result:
    def judge(lookup: ModuleLookup) -> Result:
        assert lookup.facts is not None
        used = sorted(c for c in chains if lookup.facts.uses_attribute(c))
        if used:
            return False, "%s still uses %s" % (lookup.path, used[0])
        return True, "%s no longer uses %s" % (lookup.path, " / ".join(sorted(chains)))
    return _caller_code(context, dist, version, module, judge)


# -- missing modules --------------------------------------------------------------------------------------------


def _missing_module(failure: Failure, context: HypothesisContext) -> List[Hypothesis]:
    found: List[Hypothesis] = []
    module = failure.module
    callee = context.dist_of(module)
    context.looked.append("module %s (%s)" % (module, callee or "no pinned distribution provides it"))
    if callee is not None and context.movable(callee) and "." in module:
        found.append(Hypothesis("callee", callee, "module %s" % module, module,
                                lambda v: _has_module(context, callee, v, module, deprecated_ok=True),
                                preferred=lambda v: _has_module(context, callee, v, module, deprecated_ok=False),
                                start_modules=tuple(importers([module]))))
    caller = _caller(failure.frame, context)
    if caller is not None and caller != callee:
        caller_module = (failure.frame.module or "") if failure.frame else ""  # set: _caller found the frame
        found.append(Hypothesis("caller", caller, "%s no longer imports %s" % (caller_module, module), caller_module,
                                _keeps_entry(failure, context, caller, lambda v: _no_longer_imports_module(
                                    context, caller, v, caller_module, module)),
                                start_modules=_entry_modules(failure, caller, context)))
    return found


def _has_module(context: HypothesisContext, dist: str, version: Version, module: str, deprecated_ok: bool) -> Result:
    lookup = context.api.module(dist, version, module)
    if lookup.status == "absent":
        return False, "has no module %s" % module
    if lookup.status == "unknown":
        return None, lookup.why
    if not deprecated_ok and lookup.facts is not None and lookup.facts.deprecated:
        return False, "%s is a deprecation shim" % lookup.path
    return True, "has %s" % (lookup.path or module)


def _no_longer_imports_module(context: HypothesisContext, dist: str, version: Version, caller_module: str,
                              module: str) -> Result:
    parent, _, last = module.rpartition(".")

    def judge(lookup: ModuleLookup) -> Result:
        assert lookup.facts is not None
        for fact in lookup.facts.imports:
            if not fact.guarded and (fact.module == module or (fact.module == parent and last in fact.names)):
                return False, "%s line %d still imports %s" % (lookup.path, fact.line, module)
        return True, "%s no longer imports %s" % (lookup.path, module)
    return _caller_code(context, dist, version, caller_module, judge)


# -- call shapes ------------------------------------------------------------------------------------------------


def _call_shape(failure: Failure, context: HypothesisContext) -> List[Hypothesis]:
    found: List[Hypothesis] = []
    function, frame = failure.callee, failure.frame
    module = failure.qualifier
    caller = _caller(frame, context)
    if not module and caller is not None and frame is not None and frame.module:
        here = context.api.module(caller, context.pins[caller], frame.module)
        if here.facts is not None:
            module = next((f.module for f in here.facts.imports if function in f.names), "")
    callee = context.dist_of(module)
    context.looked.append("%s() in %s (%s)" % (function, module or "an unknown module",
                                               callee or "no pinned distribution provides it"))
    need = _call_need(failure)
    if callee is not None and context.movable(callee) and module:
        found.append(Hypothesis("callee", callee, "%s.%s() %s" % (module, function, need), module,
                                lambda v: _accepts(context, callee, v, module, function, failure),
                                start_modules=tuple(importers([module]))))
    if caller is not None and caller != callee and failure.detail == "unexpected-keyword" and frame is not None:
        caller_module = frame.module or ""
        found.append(Hypothesis("caller", caller, "%s no longer passes %s= to %s()" % (
            caller_module, failure.name, function), caller_module,
            _keeps_entry(failure, context, caller, lambda v: _no_longer_passes(
                context, caller, v, caller_module, function, failure.name)),
            start_modules=_entry_modules(failure, caller, context)))
    return found


def _call_need(failure: Failure) -> str:
    if failure.detail == "unexpected-keyword":
        return "accepts %s=" % failure.name
    if failure.detail == "too-many-positional":
        return "takes %s positional arguments" % failure.name
    return "does not require %s" % failure.name


def _accepts(context: HypothesisContext, dist: str, version: Version, module: str, function: str,
             failure: Failure) -> Result:
    signature, where = find_function(context.api, dist, version, module, function)
    if signature is None:
        return None, "%s: no def %s found" % (where or module, function)
    if failure.detail == "unexpected-keyword":
        ok = signature.accepts_keyword(failure.name)
    elif failure.detail == "too-many-positional":
        limit = signature.max_positional()
        ok = limit is None or (failure.name.isdigit() and int(failure.name) <= limit)
    elif failure.detail == "missing-argument":
        required = signature.positional[:len(signature.positional) - signature.defaults]
        ok = failure.name not in required
    else:
        return None, "%s%s" % (function, signature.describe())
    return ok, "%s def %s%s" % (where, function, signature.describe())


def _no_longer_passes(context: HypothesisContext, dist: str, version: Version, module: str, function: str,
                      keyword: str) -> Result:
    def judge(lookup: ModuleLookup) -> Result:
        assert lookup.facts is not None
        if keyword in lookup.facts.call_keywords.get(function, frozenset()):
            return False, "%s still calls %s(%s=...)" % (lookup.path, function, keyword)
        return True, "%s no longer calls %s(%s=...)" % (lookup.path, function, keyword)
    return _caller_code(context, dist, version, module, judge)


# -- raised errors and version checks ---------------------------------------------------------------------------


def _raised(failure: Failure, context: HypothesisContext) -> List[Hypothesis]:
    frame = failure.frame
    if frame is None or not frame.installed or frame.module is None:
        return []
    subject = context.dist_of(frame.module)  # may be anchored: a version check can still move what it checks
    if subject is None or subject not in context.pins:
        return []
    lookup = context.api.module(subject, context.pins[subject], frame.module)
    if lookup.facts is None:
        context.looked.append("the raising line of %s (%s)" % (frame.site_path, lookup.why or lookup.status))
        return []
    statement = _raising_statement(lookup.facts, frame.line, failure.block.message)
    if statement is None:
        context.looked.append("a raise or assert statement at %s line %d" % (frame.site_path, frame.line))
        return []
    if statement.condition is not None and version_expr.version_modules(statement.condition,
                                                                         lookup.facts.assignments):
        return _version_check(failure, context, statement, lookup.facts, subject)
    if statement.kind == "assert":
        context.looked.append("a version condition in the assert at %s line %d" % (frame.site_path, frame.line))
        return []
    texts = tuple(t for t in statement.texts if len(t.strip()) >= 8 and t.strip() in failure.block.message) or \
        statement.texts
    if not texts:
        return []
    module = frame.module
    context.looked.append("releases of %s whose %s does not raise %r" % (subject, module, texts[0][:60]))
    if subject in context.fixed:
        return []
    # Older releases only: a newer release whose file lacks the message may just have reworded the same check.
    return [Hypothesis("callee", subject, "%s does not raise %r" % (module, texts[0][:60]), module,
                       lambda v: _does_not_raise(context, subject, v, module, texts),
                       start_modules=tuple(importers([module])), directions=("down",))]


def _raising_statement(facts: ModuleFacts, line: int, message: str) -> Optional[Statement]:
    found = facts.statement_at(line)
    if found is not None:
        return found
    key = message.split("\n", 1)[0].strip()
    matching = [s for s in facts.statements if any(t.strip() and t.strip() in key for t in s.texts)]
    return min(matching, key=lambda s: abs(s.first - line)) if matching else None


def _does_not_raise(context: HypothesisContext, dist: str, version: Version, module: str,
                    texts: Tuple[str, ...]) -> Result:
    lookup = context.api.module(dist, version, module)
    if lookup.status == "absent":
        return None, "has no module %s" % module
    if lookup.facts is None:
        return None, lookup.why or "cannot read %s" % module
    if set(texts) & lookup.facts.raise_texts():
        return False, "%s still raises %r" % (lookup.path, texts[0][:60])
    return True, "%s has no raise of %r" % (lookup.path, texts[0][:60])


def _assertion(failure: Failure, context: HypothesisContext) -> List[Hypothesis]:
    frame = failure.frame
    if frame is None:
        return []
    if frame.installed:
        return _raised(failure, context)
    condition = _assert_condition(frame.code)
    if condition is None:
        context.looked.append("a version condition in %s line %d" % (frame.path, frame.line))
        return []
    return _version_check(failure, context, Statement("assert", frame.line, frame.line, (), condition), None, None)


def _assert_condition(code: str) -> Optional[ast.AST]:
    try:
        tree = ast.parse(code.strip())
    except (SyntaxError, ValueError):
        return None
    if len(tree.body) == 1 and isinstance(tree.body[0], ast.Assert):
        return tree.body[0].test
    return None


def _version_check(failure: Failure, context: HypothesisContext, statement: Statement, facts: Optional[ModuleFacts],
                   subject: Optional[str]) -> List[Hypothesis]:
    condition = statement.condition
    assert condition is not None
    names = facts.assignments if facts is not None else {}
    helpers = facts.details.digit_helpers if facts is not None else frozenset()
    tops = version_expr.version_modules(condition, names)
    passes_when = statement.kind == "assert"  # an assert passes when true; a guarded raise fires when true
    found: List[Hypothesis] = []
    for top in sorted(tops):
        dist = context.dist_of(top)
        context.looked.append("releases of %s that pass the version check at %s line %d" % (
            dist or top, failure.frame.site_path or failure.frame.path, statement.first))  # type: ignore[union-attr]
        if dist is None or not context.movable(dist):
            continue
        others = {t: str(context.pins[d]) for t in tops for d in [context.dist_of(t)] if d is not None and t != top}

        def test(v: Version, top: str = top, others: Mapping[str, str] = others) -> Result:
            versions = dict(others, **{top: str(v)})
            value = version_expr.holds(condition, versions, names, helpers)
            if value is None:
                return None, "the check cannot be evaluated"
            ok = value if passes_when else not value
            return ok, "the check at line %d %s with %s %s" % (statement.first, "passes" if ok else "fails", top, v)

        found.append(Hypothesis("callee", dist, "%s passes the version check" % top, top, test,
                                directions=("up", "down")))
    if subject is not None and context.movable(subject) and failure.frame is not None and failure.frame.module:
        module = failure.frame.module
        pinned = {t: str(context.pins[d]) for t in tops for d in [context.dist_of(t)] if d is not None}
        found.append(Hypothesis("caller", subject, "%s's version checks accept %s" % (
            module, ", ".join("%s %s" % kv for kv in sorted(pinned.items()))), module,
            lambda v: _checks_accept(context, subject, v, module, pinned),
            start_modules=tuple(importers([module]))))
    return found


def _checks_accept(context: HypothesisContext, dist: str, version: Version, module: str,
                   pinned: Mapping[str, str]) -> Result:
    lookup = context.api.module(dist, version, module)
    if lookup.facts is None:
        return (True, "has no module %s" % module) if lookup.status == "absent" else (None, lookup.why)
    names, helpers = lookup.facts.assignments, lookup.facts.details.digit_helpers
    for statement in lookup.facts.statements:
        if statement.condition is None or not version_expr.version_modules(statement.condition, names) & set(pinned):
            continue
        value = version_expr.holds(statement.condition, pinned, names, helpers)
        fires = (value is False) if statement.kind == "assert" else (value is True)
        if fires:
            return False, "%s line %d rejects %s" % (lookup.path, statement.first, ", ".join(
                "%s %s" % kv for kv in sorted(pinned.items())))
        if value is None:
            return None, "%s line %d cannot be evaluated" % (lookup.path, statement.first)
    return True, "%s accepts %s" % (lookup.path, ", ".join("%s %s" % kv for kv in sorted(pinned.items())))


# -- helpers ----------------------------------------------------------------------------------------------------


def _caller(frame: Optional[Frame], context: HypothesisContext) -> Optional[str]:
    """The distribution of an installed frame, when it may move."""
    if frame is None or not frame.installed or frame.module is None:
        return None
    dist = context.dist_of(frame.module)
    return dist if context.movable(dist) else None


def _entry_modules(failure: Failure, dist: str, context: HypothesisContext) -> Tuple[str, ...]:
    """The first module of `dist` the traceback entered (what the project imported), and its packages."""
    entry = _entry(failure, dist, context)
    return tuple(importers([entry])) if entry else ()


def _entry(failure: Failure, dist: str, context: HypothesisContext) -> str:
    for frame in failure.block.frames:
        if frame.installed and frame.module and context.dist_of(frame.module) == dist:
            return frame.module
    return ""


def _keeps_entry(failure: Failure, context: HypothesisContext, dist: str,
                 test: Callable[[Version], Result]) -> Callable[[Version], Result]:
    """A caller test that also requires the module the crashed code entered `dist` by to exist in the release:
    a release without it does not "no longer need" the name, it breaks the import that led there."""
    entry = _entry(failure, dist, context)

    def wrapped(version: Version) -> Result:
        if entry and context.api.module(dist, version, entry).status == "absent":
            return False, "has no module %s, which the crashed code imports" % entry
        return test(version)
    return wrapped


_CHAIN = r"((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)\.%s\b"


def _chains(code: str, name: str) -> Set[str]:
    """Attribute chains ending in `.name` in a source line (`entry_points.get`, `np.float`), last two links."""
    return {".".join((m + "." + name).split(".")[-2:]) for m in re.findall(_CHAIN % re.escape(name), code)}


_BUILDERS = {
    "missing-name": _missing_name,
    "missing-module": _missing_module,
    "call-shape": _call_shape,
    "raised": _raised,
    "assertion": _assertion,
}
