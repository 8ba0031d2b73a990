"""lock: requirements + anchors -> one closed, checked set of pins for one target, and the lock's own check. Pure.

1. `plan`: the anchors' constraints (`generate`, with the inputs as `--with` so rules reach from them), the torch
   family held to one build, and the roots: the inputs (the anchors alone when there is none), plus every *seed*
   package (pip, setuptools, wheel: in every environment whether or not anything requires them) that a
   constraint bounds, so the lock installs what the rules need instead of leaving the environment's copy free.
2. `close`: resolve (any backend: pinguard's closure resolver or uv, given as a function), then `check` the result;
   each violation's fix becomes a constraint, each rule that the resolved set triggers on a seed package a root;
   resolve again, until nothing new is added. What `check` still reports then is the lock's findings.
3. `assemble`: the resolved set with its files (the caller reads them from the index) into a `Lock`.
4. `check_lock`: a written lock against the knowledge base, its recorded anchor and target (`lock --check`).

An anchor constrains the lock; it is locked itself when something requires it or no input is given (a lock of
small packages under `torch==1.10.0` holds the bounds torch 1.10 needs without holding torch).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Set, Tuple

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from pinguard.engines.check import check
from pinguard.engines.family import labelled
from pinguard.engines.conditions import holds
from pinguard.engines.generate import ANCHOR, PAIRING, generate
from pinguard.engines.resolver import gpu_supported
from pinguard.errors import ImpossibleAnchor
from pinguard.kb_types import KnowledgeBase
from pinguard.model import Anchor, Context, Pin, Violation
from pinguard.specs import exact_version, implies, intersect, marker_environment, normalize

SEED_PACKAGES = ("pip", "setuptools", "wheel")
MAX_ROUNDS = 8
INPUT = "input"
LOCK_RULES = ("lock-file-hash", "lock-file-target", "lock-build", "lock-inputs", "lock-knowledge", "lock-seed")

Resolve = Callable[[Sequence[Requirement], Mapping[str, SpecifierSet]], Dict[str, Version]]


@dataclass(frozen=True)
class LockFile:
    """One wheel or sdist of a locked package, as an installer needs it."""

    filename: str
    url: str
    hashes: Mapping[str, str]
    size: Optional[int] = None
    upload_time: Optional[str] = None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def tags(self) -> FrozenSet[Tag]:
        try:
            return frozenset(parse_wheel_filename(self.filename)[3])
        except InvalidWheelFilename:
            return frozenset()


@dataclass
class LockedPackage:
    name: str
    version: Version
    wheels: List[LockFile] = field(default_factory=list)
    sdist: Optional[LockFile] = None
    index: Optional[str] = None
    rules: List[str] = field(default_factory=list)  # the rule ids (and anchor / pairing) behind its bounds
    reasons: List[str] = field(default_factory=list)  # why it is in the lock

    @property
    def files(self) -> List[LockFile]:
        return self.wheels + ([self.sdist] if self.sdist is not None else [])


@dataclass(frozen=True)
class Target:
    python: Version
    platform: str = "linux_x86_64"
    build: Optional[str] = None  # the torch build the family is held to (None: PyPI's default, unlabelled)
    gpu: Optional[Version] = None


@dataclass
class Lock:
    target: Target
    anchors: List[str]
    packages: List[LockedPackage]
    knowledge: str = ""  # sha256 of the knowledge base
    inputs: Dict[str, str] = field(default_factory=dict)  # input path (relative to the lock) -> sha256
    sources: List[Tuple[str, str]] = field(default_factory=list)  # (pip option, URL or location)
    build_index: Optional[Tuple[str, str]] = None  # where the held build is published (knowledge base)
    backend: str = ""
    version: str = ""  # pinguard's
    missing_hashes: List[str] = field(default_factory=list)  # file entries a reader found without a hash

    def package(self, name: str) -> Optional[LockedPackage]:
        return next((p for p in self.packages if p.name == name), None)


@dataclass
class LockPlan:
    anchors: List[Anchor]
    target: Target
    roots: List[Requirement]
    constraints: Dict[str, List[Tuple[SpecifierSet, str]]]  # name -> (bound, why: rule id / anchor / pairing)
    build_index: Optional[Tuple[str, str]] = None
    notes: List[str] = field(default_factory=list)

    def combined(self) -> Dict[str, SpecifierSet]:
        return {name: intersect(s for s, _ in bounds) for name, bounds in self.constraints.items()}


@dataclass
class Closed:
    plan: LockPlan
    resolved: Dict[str, Version]
    findings: List[Violation]
    rounds: int
    reasons: Dict[str, List[str]] = field(default_factory=dict)


def plan(kb: KnowledgeBase, anchors: Sequence[Anchor], requirements: Sequence[Requirement], python: Version,
         build: Optional[str] = None, gpu: Optional[Version] = None,
         input_constraints: Sequence[Requirement] = ()) -> LockPlan:
    """What to resolve (see the module docstring)."""
    constraints: Dict[str, List[Tuple[SpecifierSet, str]]] = {}
    build_index, notes, held = None, [], build
    if anchors:
        generated = generate(kb, anchors, python=python, build=build, with_=requirements)
        environment = marker_environment(python)
        for constraint in generated.constraints:
            if constraint.marker and not Marker(constraint.marker).evaluate(environment):
                continue
            specifier = constraint.specifier
            exact = exact_version(specifier)
            if constraint.name in kb.family.all and exact is not None and exact.local is None:
                specifier = held_spec(str(exact))  # the PyPI default build: no label may slip in
            for reason in constraint.rules or [ANCHOR]:
                constraints.setdefault(constraint.name, []).append((specifier, reason))
        held, build_index, notes = generated.explicit_build, generated.index, list(generated.notes)
        _check_gpu(kb, generated.release, held, gpu)
    for requirement in input_constraints:
        constraints.setdefault(normalize(requirement.name), []).append((requirement.specifier, INPUT))
    roots = list(requirements) or [Requirement(a.text) for a in anchors]
    target = Target(python=python, build=held, gpu=gpu)
    result = LockPlan(list(anchors), target, roots, constraints, build_index, notes)
    for name in SEED_PACKAGES:
        if name in constraints:
            _add_root(result, name)
    return result


def _check_gpu(kb: KnowledgeBase, release, build: Optional[str], gpu: Optional[Version]) -> None:
    if gpu is None or release is None:
        return
    chosen = build or release.default_build
    if gpu_supported(kb, release, chosen, gpu) is False:
        fitting = [b for b in release.builds if gpu_supported(kb, release, b, gpu)]
        raise ImpossibleAnchor("torch %s's %s build ships no kernels for sm_%s%s" % (
            release.torch, chosen, str(gpu).replace(".", ""),
            "; builds that do: %s (--cuda)" % ", ".join(fitting) if fitting else ""))


def _add_root(plan_: LockPlan, name: str) -> bool:
    if any(normalize(r.name) == name for r in plan_.roots):
        return False
    plan_.roots.append(Requirement(name))
    return True


def close(kb: KnowledgeBase, plan_: LockPlan, resolve: Resolve) -> Closed:
    """Resolve, check, add what the check asks for, until closed (see the module docstring)."""
    resolved: Dict[str, Version] = {}
    rounds = 0
    for rounds in range(1, MAX_ROUNDS + 1):
        resolved = resolve(plan_.roots, plan_.combined())
        added = _held_bounds(kb, plan_, resolved)
        added = _seed_roots(kb, plan_, resolved) or added
        added = _fix_bounds(_violations(kb, plan_, resolved), plan_, resolved) or added
        if not added:
            break
    findings = _violations(kb, plan_, resolved)
    return Closed(plan_, resolved, findings, rounds)


HELD = "torch-build-held"


def held_version(kb: KnowledgeBase, name: str, version: Version, build: Optional[str]) -> str:
    """The version string of `name` `version` on the held build (`+build` where that build carries labels)."""
    base = Version(version.base_version)
    try:
        release = kb.release(base) if name == "torch" else next(iter(kb.family_releases(name, base)), None)
    except Exception:  # noqa: BLE001 - a torch the knowledge base does not know: plain
        release = None
    return labelled(kb, release, name, base, build) if release is not None else str(base)


def held_spec(version_text: str) -> SpecifierSet:
    """`===1.10.0` for a plain version (a bare `==1.10.0` admits `+rocm4.2`), `==1.10.0+cu113` for a label."""
    return SpecifierSet(("==%s" if "+" in version_text else "===%s") % version_text)


def _held_bounds(kb: KnowledgeBase, plan_: LockPlan, resolved: Mapping[str, Version]) -> bool:
    """A family member a backend put on another build is held to the lock's build, and resolved again."""
    added = False
    for name in kb.family.all:
        version = resolved.get(name)
        if version is None:
            continue
        expected = held_version(kb, name, version, plan_.target.build)
        if str(version) != expected:
            plan_.constraints.setdefault(name, []).append((held_spec(expected), HELD))
            added = True
    return added


def _pins(plan_: LockPlan, resolved: Mapping[str, Version]) -> List[Pin]:
    """The resolved set, and the exact anchors it does not hold (the environment has them all the same)."""
    pins = [Pin(name, name, SpecifierSet("==%s" % version)) for name, version in sorted(resolved.items())]
    for anchor in plan_.anchors:
        if anchor.name not in resolved and anchor.version is not None:
            pins.append(Pin(anchor.name, anchor.display, anchor.specifier))
    return pins


def _violations(kb: KnowledgeBase, plan_: LockPlan, resolved: Mapping[str, Version]) -> List[Violation]:
    pins = _pins(plan_, resolved)
    return check(kb, pins, plan_.anchors, python=plan_.target.python, gpu=plan_.target.gpu).violations


def _fix_bounds(violations: Sequence[Violation], plan_: LockPlan, resolved: Mapping[str, Version]) -> bool:
    """Each violation's fix as a constraint (a bound the resolution breaks and that is not there yet)."""
    added = False
    for violation in violations:
        for text in violation.fix:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            name = normalize(requirement.name)
            version = resolved.get(name)
            bounds = plan_.constraints.setdefault(name, [])
            if version is None or requirement.specifier.contains(version, prereleases=True):
                continue
            if all(str(s) != str(requirement.specifier) for s, _ in bounds):
                bounds.append((requirement.specifier, violation.rule))
                added = True
    return added


def seed_rules(kb: KnowledgeBase, installed: Mapping[str, Version], context: Context) -> Dict[str, List[Tuple[
        SpecifierSet, str]]]:
    """Seed package -> the bounds of the constraint rules whose trigger holds for `installed`, whatever the seed's
    own version (it is in the environment anyway, at a version nobody chose)."""
    found: Dict[str, List[Tuple[SpecifierSet, str]]] = {}
    for rule in kb.rules:
        seeds = [n for n in rule.require if n in SEED_PACKAGES]
        if rule.kind != "constraint" or not seeds:
            continue
        for condition in rule.when:
            others = {n: s for n, s in condition.packages.items() if n not in seeds}
            if others and holds(dataclasses.replace(condition, packages=others), installed, context):
                for name in seeds:
                    found.setdefault(name, []).append((rule.require[name], rule.id))
                break
    return found


def _context(kb: KnowledgeBase, plan_: LockPlan, installed: Mapping[str, Version]) -> Context:
    torch = installed.get("torch")
    build = plan_.target.build or (torch.local if torch is not None else None)
    if build is None and torch is not None:
        try:
            build = kb.release(torch).default_build
        except Exception:  # noqa: BLE001 - an unknown torch has no known build
            build = None
    return Context(python=plan_.target.python, build=build, gpu=plan_.target.gpu)


def _seed_roots(kb: KnowledgeBase, plan_: LockPlan, resolved: Mapping[str, Version]) -> bool:
    """Seed packages a rule bounds become roots, with the bound as a constraint."""
    installed = {p.name: p.version for p in _pins(plan_, resolved) if p.version is not None}
    added = False
    for name, bounds in seed_rules(kb, installed, _context(kb, plan_, installed)).items():
        known = plan_.constraints.setdefault(name, [])
        for spec, rule in bounds:
            if all(r != rule for _, r in known):
                added = added or not implies([s for s, _ in known], spec)  # a new bound, not only a new reason
                known.append((spec, rule))
        added = _add_root(plan_, name) or added
    return added


def reasons(closed: Closed, requires: Callable[[str, Version], List[Requirement]]) -> Dict[str, List[str]]:
    """Why each package is in the lock: asked for, a seed a rule bounds, or required by which locked package."""
    why: Dict[str, List[str]] = {name: [] for name in closed.resolved}
    roots = {normalize(r.name) for r in closed.plan.roots}
    for name in why:
        if name in roots:
            bounds = [r for _, r in closed.plan.constraints.get(name, []) if r not in (ANCHOR, INPUT, PAIRING)]
            why[name].append("rule-forced" if name in SEED_PACKAGES and bounds else "requested")
    for name, version in sorted(closed.resolved.items()):
        for requirement in requires(name, version):
            other = normalize(requirement.name)
            if other in why and other != name:
                why[other].append("required by %s" % name)
    for name, found in why.items():
        if not found:
            found.append("dependency")
    return why


def assemble(closed: Closed, files: Mapping[str, Tuple[List[LockFile], Optional[LockFile], Optional[str]]],
             why: Mapping[str, List[str]]) -> List[LockedPackage]:
    """The locked packages, sorted by name: version, files (wheels, sdist, index), and the bounds' reasons."""
    packages = []
    for name, version in sorted(closed.resolved.items()):
        wheels, sdist, index = files[name]
        rules = [r for _, r in closed.plan.constraints.get(name, []) if r != INPUT]
        packages.append(LockedPackage(name, version, list(wheels), sdist, index, list(dict.fromkeys(rules)),
                                      list(why.get(name, []))))
    return packages


# -- lock --check ------------------------------------------------------------------------------------------------


def check_lock(kb: KnowledgeBase, lock: Lock, tags: Set[Tag], knowledge: str,
               inputs: Mapping[str, Optional[str]]) -> List[Violation]:
    """Every finding of a written lock (see `lock --check` in the README); `tags`: the target's wheel tags,
    `knowledge`: the knowledge base's digest now, `inputs`: each recorded input's digest now (None: gone)."""
    findings: List[Violation] = []
    for entry in lock.missing_hashes:
        findings.append(Violation("lock-file-hash", "a file entry has no hash: installers cannot verify it",
                                  {entry.split(" ")[0]: entry}, (), ("PEP 751: hashes are required",)))
    for package in lock.packages:
        if package.files and not any(f.filename for f in package.files):
            continue  # a hashed requirements file names no files
        if not any(w.tags & tags for w in package.wheels) and package.sdist is None:
            findings.append(Violation("lock-file-target", "no wheel for the target (Python %s, %s) and no sdist" % (
                lock.target.python, lock.target.platform), {package.name: str(package.version)}, (), ()))
    findings.extend(_build_findings(kb, lock))
    findings.extend(_digest_findings(lock, knowledge, inputs))
    anchors = [Anchor.parse(a) for a in lock.anchors]
    resolved = {p.name: p.version for p in lock.packages}
    lock_plan = LockPlan(anchors, lock.target, [], {})
    findings.extend(_violations(kb, lock_plan, resolved))
    installed = {p.name: p.version for p in _pins(lock_plan, resolved) if p.version is not None}
    for name, bounds in seed_rules(kb, installed, _context(kb, lock_plan, installed)).items():
        if name not in resolved:
            spec = tightest([s for s, _ in bounds])
            findings.append(Violation("lock-seed", "%s is not locked, but %s bound%s it: the environment's own copy "
                                      "stays free" % (name, ", ".join(r for _, r in bounds), "" if len(bounds) > 1
                                                      else "s"), {name: "not locked"}, ("%s%s" % (name, spec),),
                                      tuple(_rule_sources(kb, [r for _, r in bounds]))))
    return findings


def tightest(specs: Sequence[SpecifierSet]) -> SpecifierSet:
    """The bounds that no other implies (`<59.6` of `<59.6`, `<70`, `<82`)."""
    kept: List[SpecifierSet] = []
    for spec in specs:
        if any(implies([k], spec) for k in kept):
            continue
        kept = [k for k in kept if not implies([spec], k)] + [spec]
    return intersect(kept)


def _rule_sources(kb: KnowledgeBase, ids: Sequence[str]) -> List[str]:
    sources: List[str] = []
    for rule in kb.rules:
        if rule.id in ids:
            sources.extend(s for s in rule.sources if s not in sources)
    return sources


def _build_findings(kb: KnowledgeBase, lock: Lock) -> List[Violation]:
    """Family members on another build than the one the lock records (`check` reports builds mixed among them)."""
    findings = []
    for package in lock.packages:
        if package.name not in kb.family.all or not package.version.local:
            continue
        if lock.target.build is not None and package.version.local != lock.target.build:
            findings.append(Violation("lock-build", "%s is the +%s build; the lock is held to +%s" % (
                package.name, package.version.local, lock.target.build), {package.name: str(package.version)},
                (), ()))
    return findings


def _digest_findings(lock: Lock, knowledge: str, inputs: Mapping[str, Optional[str]]) -> List[Violation]:
    findings = []
    if lock.knowledge and knowledge and lock.knowledge != knowledge:
        findings.append(Violation("lock-knowledge", "the knowledge base changed since the lock was written: lock "
                                  "again", {"knowledge": lock.knowledge[:19]}, (), ()))
    for path, digest in sorted(lock.inputs.items()):
        now = inputs.get(path)
        if now != digest:
            findings.append(Violation("lock-inputs", "input %s %s since the lock was written: lock again" % (
                path, "is gone" if now is None else "changed"), {path: digest[:19]}, (), ()))
    return findings
