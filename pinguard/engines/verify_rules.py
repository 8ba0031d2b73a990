"""A rule's evidence (pinguard/claims.py) against the releases' own files and metadata. Pure: a `ReleaseView`
reads, this module judges.

Boundary claims (`name`, `module`, `text`, `param`, `setter`) read two releases per boundary, one file each:
`present_from V` — V has it, the release before V does not; `absent_from V` — V lacks it, the release before has
it; `present_until V` — V has it, the release after V does not. Neighbours are the releases on the index, yanked
ones and pre-releases left out (unless V is one). A boundary without a neighbour (the first or newest release) is
judged on V alone. `present_in` / `absent_in` read the releases they list, and nothing else.

An `assert-bounds` claim evaluates the assert (with pinguard.engines.version_expr, never running it) for every
release of the checked distribution on the index and compares the releases it accepts with `expect`.
"""

from __future__ import annotations

import ast
from typing import Callable, Dict, List, Optional, Set, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from pinguard.pep503 import normalize
from packaging.version import Version

from pinguard.claims import Evidence
from pinguard.engines import version_expr
from pinguard.engines.api_queries import binds_name, class_has, find_function
from pinguard.engines.verify_family import BASE_PYTHONS, pythons_served
from pinguard.pyast import digit_list_helpers
from pinguard.model import Rule
from pinguard.verify_types import (AGREED, DISAGREED, SOURCES, UNVERIFIABLE, Finding, LookupFailed,
                                   ReleaseView)

Check = Callable[[ReleaseView], Finding]
Presence = Tuple[Optional[bool], str]  # present?, what was read


def evidence_checks(rule: Rule) -> List[Check]:
    """One check per evidence entry of the rule (a `human` entry is a finding of its own: backed by sources)."""
    return [_check(rule, evidence) for evidence in rule.evidence]


def _check(rule: Rule, evidence: Evidence) -> Check:
    claim = evidence.describe()

    def run(view: ReleaseView) -> Finding:
        if evidence.kind == "human":
            return Finding("evidence", rule.id, SOURCES, claim, "backed by %d source%s" % (
                len(rule.sources), "" if len(rule.sources) == 1 else "s"), rule.id)
        try:
            status, detail = _JUDGES[evidence.kind](view, evidence)
        except LookupFailed as exc:
            status, detail = UNVERIFIABLE, str(exc)
        return Finding("evidence", rule.id, status, claim, detail, rule.id)
    return run


# -- boundaries ---------------------------------------------------------------------------------------------------


def _neighbour(view: ReleaseView, dist: str, version: Version, after: bool) -> Tuple[bool, Optional[Version]]:
    """(is `version` a release of `dist` on the index?, the release before it, or after it with `after`)."""
    releases = view.releases(dist)
    found = any(v == version for v, _ in releases)
    usable = [v for v, yanked in releases if not yanked and (version.is_prerelease or not v.is_prerelease)
              and not v.is_devrelease]
    if after:
        later = [v for v in usable if v > version]
        return found, (min(later) if later else None)
    earlier = [v for v in usable if v < version]
    return found, (max(earlier) if earlier else None)


def _readings(view: ReleaseView, evidence: Evidence) -> List[Tuple[Version, bool]]:
    """(release, should it be present?) for every boundary of the claim."""
    wanted: List[Tuple[Version, bool]] = []
    for key, version in evidence.boundaries:
        exists, other = _neighbour(view, evidence.dist, version, after=(key == "present_until"))
        if not exists:
            raise _Disagreed("%s has no release %s on the index" % (evidence.dist, version))
        present = key != "absent_from"
        wanted.append((version, present))
        if other is not None:
            wanted.append((other, not present))
    for version, present in evidence.at_versions:
        if not _neighbour(view, evidence.dist, version, after=False)[0]:
            raise _Disagreed("%s has no release %s on the index" % (evidence.dist, version))
        wanted.append((version, present))
    return sorted(set(wanted), key=lambda pair: pair[0])


class _Disagreed(LookupFailed):
    """The claim names something the index contradicts outright (a release that does not exist)."""


def _judge_boundaries(view: ReleaseView, evidence: Evidence) -> Tuple[str, str]:
    try:
        wanted = _readings(view, evidence)
    except _Disagreed as exc:
        return DISAGREED, str(exc)
    view.warm([(evidence.dist, version, evidence.paths) for version, _ in wanted if evidence.paths])
    presence = _PRESENCE[evidence.kind]
    status, parts = AGREED, []
    for version, expected in wanted:
        try:
            found, where = presence(view, evidence, version)
        except LookupFailed as exc:
            found, where = None, str(exc)
        word = {True: "present", False: "absent", None: "unknown"}[found]
        parts.append("%s: %s (%s)" % (version, word, where))
        if found is None:
            status = DISAGREED if status == DISAGREED else UNVERIFIABLE
        elif found != expected:
            status = DISAGREED
            parts[-1] += " [expected %s]" % ("present" if expected else "absent")
    return status, "; ".join(parts)


def module_of(path: str) -> str:
    """`a/b/__init__.py` -> `a.b`, `a/b.py` -> `a.b`."""
    stem = path[:-3] if path.endswith(".py") else path
    if stem.endswith("/__init__"):
        stem = stem[:-len("/__init__")]
    return stem.replace("/", ".")


def _first_module(view: ReleaseView, evidence: Evidence, version: Version) -> str:
    """The module of the first of the claim's paths that the release has (the first path when none)."""
    for path in evidence.paths:
        if view.api.module(evidence.dist, version, module_of(path)).status != "absent":
            return module_of(path)
    return module_of(evidence.paths[0])


def _name(view: ReleaseView, evidence: Evidence, version: Version) -> Presence:
    """A name the module binds, or with `Class.attribute` an attribute the class body defines."""
    module = _first_module(view, evidence, version)
    owner, _, attribute = evidence.name.rpartition(".")
    if not owner:
        found, where = binds_name(view.api, evidence.dist, version, module, evidence.name)
        return found, where or module
    lookup = view.api.module(evidence.dist, version, module)
    if lookup.facts is None:
        return (False if lookup.status == "absent" else None), lookup.path or lookup.why or module
    cls = lookup.facts.classes.get(owner)
    if cls is None:
        return None, "%s: no class %s" % (lookup.path, owner)
    return class_has(cls, attribute), "%s class %s" % (lookup.path, owner)


def _module(view: ReleaseView, evidence: Evidence, version: Version) -> Presence:
    """Does the release's file have the module (a .py file, a package or a compiled extension)? The file listing
    answers, as the import system would find it: a package's `__getattr__` does not make a module."""
    lookup = view.api.module(evidence.dist, version, evidence.module)
    found = lookup.exists
    return found, lookup.path or lookup.why or ("no %s" % evidence.module if found is False else evidence.module)


def _text(view: ReleaseView, evidence: Evidence, version: Version) -> Presence:
    try:
        path, text = view.text(evidence.dist, version, evidence.paths)
    except LookupFailed as exc:
        if str(exc).startswith("absent:"):
            return False, str(exc)[len("absent:"):].strip()
        raise
    if evidence.within == "source":
        return evidence.text in text, path
    tree = _parse(text, path)
    if evidence.within == "import":
        return evidence.text in imported_names(tree, module_of(path), path.endswith("__init__.py")), path
    return any(evidence.text in message for message in raise_messages(tree)), path


def _param(view: ReleaseView, evidence: Evidence, version: Version) -> Presence:
    module = _first_module(view, evidence, version)
    lookup = view.api.module(evidence.dist, version, module)
    if lookup.status == "absent":
        return False, "no module %s" % module
    signature, where = find_function(view.api, evidence.dist, version, module, evidence.function)
    if signature is None:
        return None, "%s: no def %s found" % (where or module, evidence.function)
    names = signature.posonly + signature.positional + (() if evidence.positional else signature.kwonly)
    return evidence.name in names, "%s def %s%s" % (where, evidence.function, signature.describe())


def _setter(view: ReleaseView, evidence: Evidence, version: Version) -> Presence:
    module = _first_module(view, evidence, version)
    lookup = view.api.module(evidence.dist, version, module)
    owner, _, attribute = evidence.name.rpartition(".")
    if lookup.facts is None:
        return (False if lookup.status == "absent" else None), lookup.path or lookup.why or module
    cls = lookup.facts.classes.get(owner)
    if cls is None:
        return None, "%s: no class %s" % (lookup.path, owner)
    if attribute not in cls.properties and attribute not in cls.attributes:
        return None, "%s: class %s has no %s" % (lookup.path, owner, attribute)
    return attribute in cls.setters, "%s class %s" % (lookup.path, owner)


# -- what a file says ---------------------------------------------------------------------------------------------


def _parse(text: str, path: str) -> ast.Module:
    try:
        return ast.parse(text, path)
    except (SyntaxError, ValueError, RecursionError):
        raise LookupFailed("%s does not parse with this Python" % path)


def imported_names(tree: ast.AST, module: str, is_package: bool) -> Set[str]:
    """Every import in the file, anywhere: `import a.b` gives "a.b"; `from a import b` gives "a" and "a.b"
    (relative imports resolved against `module`)."""
    package = module if is_package else module.rpartition(".")[0]
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[:len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            names.update("%s.%s" % (base, alias.name) for alias in node.names if alias.name != "*")
    return names


def raise_messages(tree: ast.AST) -> List[str]:
    """The string constants of each raise / assert message, one string per statement (f-string parts joined)."""
    messages = []
    for node in ast.walk(tree):
        target = node.exc if isinstance(node, ast.Raise) else node.msg if isinstance(node, ast.Assert) else None
        if target is not None:
            messages.append("".join(_strings(target)))
    return messages


def _strings(node: ast.AST) -> List[str]:
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            found.append(sub.value)
        elif type(sub).__name__ == "Str":  # pragma: no cover - Python < 3.8
            found.append(getattr(sub, "s", ""))
    return found


# -- assert bounds ------------------------------------------------------------------------------------------------


def _judge_assert(view: ReleaseView, evidence: Evidence) -> Tuple[str, str]:
    candidates = [v for v, _ in view.releases(evidence.checked)]
    expect = evidence.expect
    assert expect is not None
    wanted = {v for v in candidates if expect.contains(v, prereleases=True)}
    top = evidence.module.split(".")[0]
    view.warm([(evidence.dist, version, evidence.paths) for version in evidence.versions])
    status, parts = AGREED, []
    for version in evidence.versions:
        try:
            accepted, bounds = _accepted(view, evidence, version, top, candidates)
        except LookupFailed as exc:
            status = DISAGREED if status == DISAGREED or isinstance(exc, _Disagreed) else UNVERIFIABLE
            parts.append("%s %s: %s" % (evidence.dist, version, exc))
            continue
        if accepted == wanted:
            parts.append("%s %s: %s accepts %s (%d of %d releases)" % (
                evidence.dist, version, bounds, _span(accepted), len(accepted), len(candidates)))
            continue
        status = DISAGREED
        extra, lacking = sorted(accepted - wanted), sorted(wanted - accepted)
        parts.append("%s %s: %s; the assert also accepts %s; rejects %s" % (
            evidence.dist, version, bounds, _few(extra), _few(lacking)))
    return status, "; ".join(parts)


def _accepted(view: ReleaseView, evidence: Evidence, version: Version, top: str,
              candidates: List[Version]) -> Tuple[Set[Version], str]:
    path, text = view.text(evidence.dist, version, evidence.paths)
    tree = _parse(text, path)
    names: Dict[str, ast.AST] = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)}
    asserts = [node for node in ast.walk(tree) if isinstance(node, ast.Assert) and top in _reads(node.test, names)]
    if not asserts:
        raise _Disagreed("%s has no assert on %s.__version__" % (path, top))
    helpers = digit_list_helpers(tree)
    accepted = set()
    for candidate in candidates:
        values = [version_expr.holds(a.test, {top: str(candidate)}, names, helpers) for a in asserts]
        if None in values:
            raise LookupFailed("%s: the assert cannot be evaluated for %s %s" % (path, evidence.checked, candidate))
        if all(values):
            accepted.add(candidate)
    constants = {n: _strings(v)[0] for n, v in names.items() if len(_strings(v)) == 1 and _is_constant(v)}
    used = [n for a in asserts for n in _names_in(a.test, names) if n in constants]
    bounds = ", ".join("%s=%r" % (n, constants[n]) for n in dict.fromkeys(used))
    return accepted, "%s (%s%s)" % (path, bounds or "no named bounds", ", digit lists" if helpers else "")


def _reads(node: ast.AST, names: Dict[str, ast.AST]) -> Set[str]:
    """Top-level modules whose __version__ the expression reads, through the module's own assignments."""
    return version_expr.version_modules(node, names)


def _is_constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) or type(node).__name__ == "Str"


def _names_in(node: ast.AST, names: Dict[str, ast.AST]) -> List[str]:
    return [sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and sub.id in names]


def _span(versions: Set[Version]) -> str:
    return "%s ... %s" % (min(versions), max(versions)) if versions else "no release"


def _few(versions: List[Version]) -> str:
    if not versions:
        return "nothing else"
    shown = ", ".join(str(v) for v in versions[:6])
    return shown + (" and %d more" % (len(versions) - 6) if len(versions) > 6 else "")


# -- metadata -----------------------------------------------------------------------------------------------------


def _judge_requires(view: ReleaseView, evidence: Evidence) -> Tuple[str, str]:
    wanted = evidence.requirement
    assert wanted is not None and evidence.version is not None
    lines = view.requires_dist(evidence.dist, evidence.version)
    named = []
    for line in lines:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        if normalize(requirement.name) == normalize(wanted.name):
            named.append(requirement)
    plain = [r for r in named if r.marker is None or "extra" not in str(r.marker)]
    shown = "; ".join(str(r) for r in plain) or "no requirement on %s" % wanted.name
    if len(named) > len(plain):
        shown += " (and %d under extras)" % (len(named) - len(plain))
    where = "%s %s Requires-Dist: %s" % (evidence.dist, evidence.version, shown)
    if evidence.absent:
        return (AGREED if not named else DISAGREED), where
    same = any(r.specifier == wanted.specifier and r.extras == wanted.extras and str(r.marker) == str(wanted.marker)
               for r in named)
    return (AGREED if same else DISAGREED), where


def _judge_wheels(view: ReleaseView, evidence: Evidence) -> Tuple[str, str]:
    assert evidence.version is not None
    served = pythons_served(view.files(evidence.dist, evidence.version), BASE_PYTHONS)
    claimed = set(evidence.pythons)
    shown = ", ".join(sorted(served, key=lambda p: tuple(int(x) for x in p.split(".")))) or "none"
    return (AGREED if served == claimed else DISAGREED), "Linux x86_64 wheels for %s" % shown


_PRESENCE: Dict[str, Callable[[ReleaseView, Evidence, Version], Presence]] = {
    "name": _name, "module": _module, "text": _text, "param": _param, "setter": _setter,
}
_JUDGES: Dict[str, Callable[[ReleaseView, Evidence], Tuple[str, str]]] = {
    "assert-bounds": _judge_assert, "requires-dist": _judge_requires, "wheel-tags": _judge_wheels,
    "name": _judge_boundaries, "module": _judge_boundaries, "text": _judge_boundaries, "param": _judge_boundaries,
    "setter": _judge_boundaries,
}
