"""fix: repair a crashed pin list while keeping the anchor.

1. Diagnose: the crash text against every rule's signatures, plus `check` on the pin list.
2. Resolve: a resolvelib provider over package data (versions available for the target Python, their
   Requires-Dist) and the knowledge base (torch family pairing and builds, rule constraints as extra
   dependencies). Only implicated packages may move at first; a conflict frees the packages it names, round by
   round, so every pin that can stay, stays. Candidates are offered nearest first: the same minor series, then
   upward, then downward; a torch-family build (`+cu111`) after the plain versions.

The engine is pure: package data comes in through a `PackageData` object (the index in real use, a dict in tests).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pinguard.engines.check import BUILD_MIX, check
from pinguard.engines.family import labelled
from pinguard.engines.generate import PAIRING
from pinguard.errors import BadInput, PinguardError
from pinguard.kb import KnowledgeBase
from pinguard.model import FAMILY, Anchor, Context, Pin, Release, Rule
from pinguard.specs import intersect, normalize

try:  # resolvelib >= 0.9
    from resolvelib import AbstractProvider, BaseReporter, Resolver
    from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep
except ImportError:  # pragma: no cover - a declared dependency
    AbstractProvider = object  # type: ignore
    Resolver = None  # type: ignore

FAMILY_ALL = ("torch",) + FAMILY
STRUCTURAL = (PAIRING, BUILD_MIX)  # findings fixed alongside any diagnosis: family pairing, mixed CUDA builds
MAX_ROUNDS = 6
MAX_RESOLVER_ROUNDS = 400  # per attempt; a plan that needs more is dropped for the next one


class PackageData:
    """What the resolver asks of the outside world (see pinguard.sources.metadata.IndexPackageData)."""

    def versions(self, name: str, keep: Optional[Version] = None) -> List[Version]:
        raise NotImplementedError

    def requires(self, name: str, version: Version) -> List[Requirement]:
        raise NotImplementedError

    def exists(self, name: str) -> bool:
        raise NotImplementedError

    def prefetch(self, pins: Iterable[Tuple[str, Version]]) -> None:
        """Optional: warm whatever `requires` will read."""


@dataclass(frozen=True)
class Diagnosis:
    rule: Rule
    signature: str
    implicated: Tuple[str, ...]  # env names (normalized)
    holds: bool  # the rule's trigger holds for the pins as given


@dataclass
class Change:
    name: str
    display: str
    before: str
    after: str
    reasons: List[str] = field(default_factory=list)


@dataclass
class FixResult:
    pins: List[Tuple[str, str]]  # (display name, version) in the input order
    changes: List[Change]
    diagnoses: List[Diagnosis]
    violations_before: List[str]
    assumptions: List[str]
    index_hint: Optional[Tuple[str, str]] = None
    considered: List[str] = field(default_factory=list)
    impossible: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.impossible is None


# -- candidates ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    name: str
    version: Version

    @property
    def build(self) -> Optional[str]:
        return self.version.local


@dataclass(frozen=True)
class Req:
    name: str
    specifier: SpecifierSet
    why: str = ""


def closeness_order(versions: Sequence[Version], current: Optional[Version]) -> List[Version]:
    """Nearest first: current, same minor series (up, then down), then higher minors up, then lower down."""
    if current is None:
        return sorted(versions, reverse=True)
    base = Version(current.base_version)
    series = base.release[:2]

    def key(version: Version):
        plain = Version(version.base_version)
        if plain == base:
            return (0, 0, version.local is not None)
        same = plain.release[:2] == series
        up = plain > base
        group = 1 if same else (2 if up else 3)
        return (group, 0 if up else 1, plain if up else _neg(plain))

    return sorted(versions, key=key)


class _Neg:
    def __init__(self, version: Version) -> None:
        self.version = version

    def __lt__(self, other: "_Neg") -> bool:
        return self.version > other.version

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Neg) and self.version == other.version


def _neg(version: Version) -> "_Neg":
    return _Neg(version)


def _cuda(build: str) -> Optional[float]:
    if build.startswith("cu") and build[2:].isdigit():
        digits = build[2:]
        return float("%s.%s" % (digits[:-1], digits[-1]))
    return None


class FamilyData(PackageData):
    """torch and its family come from the knowledge base (builds included); everything else from `inner`."""

    def __init__(self, kb: KnowledgeBase, inner: PackageData, python: Version, gpu: Optional[Version]) -> None:
        self.kb, self.inner, self.python, self.gpu = kb, inner, python, gpu

    def _releases(self) -> List[Release]:
        return [r for r in self.kb.releases if r.supports_python(self.python)]

    def _builds(self, release: Release) -> List[str]:
        labelled = self.kb.labelled_builds(release)
        default = _cuda(release.default_build) or 0.0
        cuda = [b for b in labelled if _cuda(b) is not None and (self.gpu is None or gpu_supported(
            self.kb, release, b, self.gpu) is not False)]
        return sorted(cuda, key=lambda b: (abs((_cuda(b) or 0) - default), _cuda(b)))

    def versions(self, name: str, keep: Optional[Version] = None) -> List[Version]:
        if name not in FAMILY_ALL:
            return self.inner.versions(name, keep)
        found = []
        for release in self._releases():
            paired = name in release.family and release.member_supports_python(name, self.python)
            members = [release.torch] if name == "torch" else (
                [release.family[name]] if paired else []) + list(release.also.get(name, ()))
            for version in members:
                if release.on_pypi:
                    found.append(version)
                for build in self._builds(release):
                    if name == "torchaudio" and version < self.kb.index.torchaudio_labels_since:
                        continue
                    if name in ("torchtext", "torchdata"):
                        continue
                    found.append(Version("%s+%s" % (version, build)))
        if keep is not None and keep not in found:
            found.append(keep)
        return sorted(set(found))

    def requires(self, name: str, version: Version) -> List[Requirement]:
        base = Version(version.base_version)
        requirements: List[Requirement] = []
        try:
            if self.inner.exists(name):
                requirements = [r for r in self.inner.requires(name, base) if normalize(r.name) != "torch"]
        except PinguardError:
            requirements = []
        if name in FAMILY:
            owners = self.kb.family_releases(name, base)
            if len(owners) > 1:  # serves several torch releases (torchaudio 2.11.1: torch>=2.11; torchdata 0.7.1)
                requirements.append(Requirement("torch>=%s,<=%s" % (owners[0].torch, owners[-1].torch)))
            elif owners:
                torch = owners[0].torch
                if version.local:
                    requirements.append(Requirement("torch==%s+%s" % (torch, version.local)))
                elif self._has_labelled_builds(name, base, owners[0]):
                    # the plain (PyPI default) build goes with the plain torch, never with a +label build
                    requirements.append(Requirement("torch===%s" % torch))
                else:  # one wheel for every torch build: PEP 440 `==` admits 1.9.1+cu111 (torchaudio 0.9.1)
                    requirements.append(Requirement("torch==%s" % torch))
        return requirements

    def _has_labelled_builds(self, name: str, version: Version, release: Release) -> bool:
        return any(labelled(self.kb, release, name, version, b) != str(version)
                   for b in self.kb.labelled_builds(release))

    def exists(self, name: str) -> bool:
        return name in FAMILY_ALL or self.inner.exists(name)

    def prefetch(self, pins: Iterable[Tuple[str, Version]]) -> None:
        self.inner.prefetch([(n, Version(v.base_version)) for n, v in pins])


def gpu_supported(kb: KnowledgeBase, release: Release, build: str, gpu: Version) -> Optional[bool]:
    """Does `build` of `release` ship kernels for compute capability `gpu`? None when the data does not say."""
    for entry in kb.gpu.get("build_archs", []):
        try:
            if build not in entry.get("builds", []) or not SpecifierSet(entry.get("torch", "")).contains(
                    release.torch, prereleases=True):
                continue
        except Exception:  # noqa: BLE001 - malformed gpu data answers "unknown"
            continue
        sass = [Version(a) for a in entry.get("archs", [])]
        ptx = [Version(a) for a in entry.get("ptx", [])]
        if any(a.major == gpu.major and a <= gpu for a in sass) or any(p <= gpu for p in ptx):
            return True
        return False
    return None


# -- the resolvelib provider -----------------------------------------------------------------------------------


class _Provider(AbstractProvider):
    def __init__(self, fixer: "_Fixer", free: Set[str], root_specs: Mapping[str, SpecifierSet]) -> None:
        self.fixer = fixer
        self.free = free
        self.root_specs = root_specs
        self._ordered: Dict[str, List[Version]] = {}

    def identify(self, requirement_or_candidate) -> str:
        return requirement_or_candidate.name

    def get_preference(self, identifier, resolutions, candidates, information, *args, **kwargs):
        return (identifier in self.free, identifier)

    def _candidates(self, name: str) -> List[Version]:
        if name not in self._ordered:
            current = self.fixer.current.get(name)
            if name in self.free:
                versions = self.fixer.data.versions(name, keep=current)
                if current is not None and not current.is_prerelease:
                    versions = [v for v in versions if not v.is_prerelease]
                ordered = closeness_order(versions, current)
                plain = [v for v in ordered if v.local is None or (current is not None and v == current)]
                built = [v for v in ordered if v not in plain]
                self._ordered[name] = plain + built
            else:
                self._ordered[name] = [current] if current is not None else []
        return self._ordered[name]

    def find_matches(self, identifier, requirements, incompatibilities):
        specs = [r.specifier for r in requirements.get(identifier, ())]
        bad = {c.version for c in incompatibilities.get(identifier, ())}
        matches = []
        for version in self._candidates(identifier):
            if version in bad or not all(s.contains(version, prereleases=True) for s in specs):
                continue
            candidate = Candidate(identifier, version)
            if self.fixer.excluded(candidate):
                continue
            matches.append(candidate)
        return matches

    def is_satisfied_by(self, requirement, candidate) -> bool:
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate):
        return self.fixer.dependencies(candidate)


class _Fixer:
    def __init__(self, kb: KnowledgeBase, data: PackageData, env: Sequence[Pin], anchors: Sequence[Anchor],
                 python: Version, gpu: Optional[Version], rules: Sequence[Rule]) -> None:
        self.kb, self.data, self.env, self.anchors, self.python, self.gpu = kb, data, env, anchors, python, gpu
        self.rules = rules
        self.current: Dict[str, Version] = {p.name: p.version for p in env if p.version is not None}
        self.names = set(self.current)
        self.anchored = {a.name: a for a in anchors}
        self.free: Set[str] = set()

    def context_for(self, candidate: Optional[Candidate]) -> Context:
        torch = candidate.version if candidate is not None and candidate.name == "torch" else self.current.get(
            "torch")
        build = None
        if candidate is not None and candidate.name in FAMILY_ALL and candidate.build:
            build = candidate.build
        elif torch is not None:
            build = torch.local
            if build is None:
                try:
                    build = self.kb.release(torch).default_build
                except PinguardError:
                    build = None
        return Context(python=self.python, build=build, gpu=self.gpu)

    def _rule_effects(self, candidate: Candidate) -> Tuple[bool, List[Req]]:
        """(excluded?, extra requirements) the rules put on this candidate."""
        context = self.context_for(candidate)
        extra: List[Req] = []
        for rule in self.rules:
            for condition in rule.when:
                spec = condition.packages.get(candidate.name)
                if spec is None or not spec.contains(candidate.version, prereleases=True):
                    continue
                others = [n for n in condition.packages if n != candidate.name and n not in rule.require]
                if any(n in self.free for n in others):
                    continue  # that package's own candidates carry this rule as a dependency
                if not all(n in self.current and condition.packages[n].contains(self.current[n], prereleases=True)
                           for n in others):
                    continue
                if condition.python is not None and not condition.python.contains(self.python, prereleases=True):
                    continue
                if condition.builds is not None and context.build not in condition.builds:
                    continue
                if condition.gpu is not None and (self.gpu is None or not condition.gpu.contains(self.gpu)):
                    continue
                for name, required in rule.require.items():
                    if name == candidate.name:
                        if not required.contains(candidate.version, prereleases=True):
                            return True, []
                    elif name in self.names:
                        if self._anchor_blocks(name, required):
                            return True, []  # cheap: no point asking the resolver to move an anchor
                        extra.append(Req(name, required, rule.id))
                break
        return False, extra

    def _anchor_blocks(self, name: str, required: SpecifierSet) -> bool:
        """An anchor pinned to versions outside `required` (build labels aside) can never satisfy it."""
        anchor = self.anchored.get(name)
        if anchor is None or anchor.version is None:
            return False
        return not required.contains(anchor.version, prereleases=True) and not required.contains(
            Version(anchor.version.base_version), prereleases=True)

    def excluded(self, candidate: Candidate) -> bool:
        return self._rule_effects(candidate)[0]

    def dependencies(self, candidate: Candidate) -> List[Req]:
        deps: List[Req] = []
        for requirement in self.data.requires(candidate.name, candidate.version):
            name = normalize(requirement.name)
            if name in self.names and name != candidate.name:
                deps.append(Req(name, requirement.specifier, "requires-dist"))
        deps.extend(self._rule_effects(candidate)[1])
        return deps

    def resolve(self, free: Set[str], root_specs: Mapping[str, SpecifierSet]) -> Dict[str, Version]:
        self.free = set(free)
        provider = _Provider(self, free, root_specs)
        requirements = []
        for name, version in self.current.items():
            if name in free:
                specs = [root_specs.get(name, SpecifierSet())]
                if name in self.anchored:
                    specs.append(self.anchored[name].specifier)
                requirements.append(Req(name, intersect(specs), "root"))
            else:
                requirements.append(Req(name, SpecifierSet("==%s" % version), "pinned"))
        result = Resolver(provider, BaseReporter()).resolve(requirements, max_rounds=MAX_RESOLVER_ROUNDS)
        return {name: candidate.version for name, candidate in result.mapping.items()}


# -- diagnosis ---------------------------------------------------------------------------------------------------


def diagnose(kb: KnowledgeBase, env: Sequence[Pin], traceback: str, context: Context) -> List[Diagnosis]:
    """Rules whose signature is in the crash text and that point at packages in the pin list."""
    from pinguard.engines.conditions import rule_holds

    installed = {p.name: p.version for p in env if p.version is not None}
    found = []
    for rule in kb.rules:
        signature = rule.matches_traceback(traceback) if traceback else None
        if signature is None:
            continue
        implicated = tuple(n for n in rule.implicates if n in installed) or tuple(
            n for n in rule.require if n in installed)
        if not implicated:
            continue
        found.append(Diagnosis(rule, signature, implicated, rule_holds(rule, installed, context)))
    found.sort(key=lambda d: (not d.holds, d.rule.kind != "constraint"))
    return found


# -- the whole job -----------------------------------------------------------------------------------------------


def fix(kb: KnowledgeBase, data: PackageData, env: Sequence[Pin], anchors: Sequence[Anchor], python: Version,
        traceback: str = "", gpu: Optional[Version] = None, assumptions: Sequence[str] = ()) -> FixResult:
    if Resolver is None:
        raise BadInput("pinguard fix needs resolvelib (pip install resolvelib)")
    for pin in env:
        if pin.version is None:
            raise BadInput("env line %r is not an exact pin (name==version)" % ("%s%s" % (pin.display, pin.specifier)))
    names = {p.name for p in env}
    for anchor in anchors:
        if anchor.name not in names:
            raise BadInput("the anchor %s is not in the environment list" % anchor.text)
    installed = {p.name: p.version for p in env}
    family_data = FamilyData(kb, data, python, gpu)
    family_data.prefetch(list(installed.items()))
    for pin in env:
        if not family_data.exists(pin.name):
            raise BadInput("unknown package %s: not on the index" % pin.display)
    torch = installed.get("torch")
    build = torch.local if torch is not None and torch.local else None
    if torch is not None and build is None:
        try:
            build = kb.release(torch).default_build
        except PinguardError:
            build = None
    context = Context(python=python, build=build, gpu=gpu)
    diagnoses = diagnose(kb, env, traceback, context)
    violations = check(kb, env, anchors, python=python, gpu=gpu).violations
    anchored = {a.name: a for a in anchors}

    implicated: Set[str] = set()
    for diagnosis in diagnoses[:1] + [d for d in diagnoses[1:] if d.holds]:
        implicated.update(diagnosis.implicated)
    for violation in violations:
        if diagnoses and violation.rule not in STRUCTURAL:
            continue  # with a diagnosed crash, other rule findings are left alone (smallest change)
        for line in violation.fix:
            try:
                implicated.add(normalize(Requirement(line).name))
            except Exception:  # noqa: BLE001 - a fix text that is not a requirement names no package
                continue
    implicated &= names
    if "torch" in implicated or any(n in implicated for n in FAMILY):
        implicated.update(n for n in FAMILY_ALL if n in names and (n not in anchored or _admits_builds(anchored[n])))
    # Rules the pins already break but the crash does not point at stay out of the search: moving packages to
    # satisfy them would be a change nobody asked for (the environment ran that far with them).
    diagnosed = {d.rule.id for d in diagnoses}
    already = {v.rule for v in violations} - diagnosed
    rules = [r for r in kb.rules if r.kind == "constraint" and r.id not in already] + [
        d.rule for d in diagnoses if d.rule.kind != "constraint"]
    fixer = _Fixer(kb, family_data, env, anchors, python, gpu, rules)

    result = FixResult([(p.display, str(p.version)) for p in env], [], diagnoses,
                       ["[%s] %s" % (v.rule, v.summary) for v in violations], list(assumptions))
    if not implicated:
        result.impossible = ("no known cause: no rule's error signature matches the traceback and the pins break "
                             "no known rule, so there is nothing to change")
        return result

    plans = _plans(diagnoses, anchored, names)
    last_error = ""
    for plan_name, plan_specs in plans:
        free = (implicated | set(plan_specs)) & names
        free = {n for n in free if n not in anchored or _admits_more(anchored[n], installed[n])}
        root = {n: intersect([s] + ([anchored[n].specifier] if n in anchored else [])) for n, s in plan_specs.items()
                if n in names}
        for n in free:
            if n in anchored and n not in root:
                root[n] = anchored[n].specifier
        if any(n in anchored and not _satisfiable_with(root[n], installed[n], anchored[n]) for n in root):
            last_error = "%s contradicts the anchor" % plan_name
            result.considered.append("%s: contradicts the anchor %s" % (plan_name, ", ".join(a.text for a in anchors)))
            continue
        resolution, error = _resolve_widening(fixer, free, root, anchored, names)
        if resolution is None:
            last_error = error
            result.considered.append("%s: %s" % (plan_name, error))
            continue
        remaining = check(kb, [Pin(n, n, SpecifierSet("==%s" % v)) for n, v in resolution.items()], anchors,
                          python=python, gpu=gpu).violations
        changed = {n for n in resolution if resolution[n] != installed[n]}
        leftovers = [v for v in remaining if set(v.packages) & (changed | implicated)]
        if leftovers:
            last_error = "; ".join("[%s] %s" % (v.rule, v.summary) for v in leftovers)
            result.considered.append("%s: leaves %s" % (plan_name, last_error))
            continue
        _fill(result, env, resolution, diagnoses, plan_name, kb)
        return result
    result.impossible = "no repair keeps %s: %s" % (", ".join(a.text for a in anchors), last_error)
    return result


def _admits_builds(anchor: Anchor) -> bool:
    """`torch==1.8.0` admits `1.8.0+cu111`; `torch==1.8.0+cu102` admits nothing else."""
    version = anchor.version
    return version is None or version.local is None


def _admits_more(anchor: Anchor, current: Version) -> bool:
    return anchor.version is None or _admits_builds(anchor)


def _satisfiable_with(spec: SpecifierSet, current: Version, anchor: Anchor) -> bool:
    from pinguard.specs import satisfiable

    known = [current, Version(current.base_version)]
    return satisfiable([spec, anchor.specifier], known)


def _plans(diagnoses: Sequence[Diagnosis], anchored: Mapping[str, Anchor],
           names: Set[str]) -> List[Tuple[str, Dict[str, SpecifierSet]]]:
    """The diagnosed rule's own fix first, then its alternatives; with no diagnosis, the rules' constraints only."""
    if not diagnoses:
        return [("the rules' constraints", {})]
    plans: List[Tuple[str, Dict[str, SpecifierSet]]] = []
    for diagnosis in diagnoses[:3]:
        rule = diagnosis.rule
        plans.append(("rule %s" % rule.id, {n: s for n, s in rule.require.items() if n in names}))
        for index, alternative in enumerate(rule.alternatives, 1):
            plans.append(("rule %s, alternative %d" % (rule.id, index),
                          {n: s for n, s in alternative.items() if n in names}))
    return plans


def _resolve_widening(fixer: _Fixer, free: Set[str], root: Dict[str, SpecifierSet],
                      anchored: Mapping[str, Anchor], names: Set[str]) -> Tuple[Optional[Dict[str, Version]], str]:
    free = set(free)
    error = ""
    for _ in range(MAX_ROUNDS):
        try:
            return fixer.resolve(free, root), ""
        except ResolutionTooDeep:
            return None, "the search took too many rounds"
        except ResolutionImpossible as exc:
            blamed = set()
            for cause in exc.causes:
                blamed.add(cause.requirement.name)
                if cause.parent is not None:
                    blamed.add(cause.parent.name)
            error = "; ".join(sorted({"%s%s (needed by %s)" % (c.requirement.name, c.requirement.specifier,
                                                                 c.parent.name + " " + str(c.parent.version)
                                                                 if c.parent is not None else "the request")
                                      for c in exc.causes}))
            widen = {n for n in blamed & names if n not in free and (n not in anchored or _admits_builds(anchored[n]))}
            if not widen:
                return None, "conflict: " + error
            free |= widen
    return None, "conflict: " + error


def _fill(result: FixResult, env: Sequence[Pin], resolution: Mapping[str, Version],
          diagnoses: Sequence[Diagnosis], plan_name: str, kb: KnowledgeBase) -> None:
    reasons = {n: [d.rule.id for d in diagnoses if n in d.implicated or n in d.rule.require] for n in resolution}
    result.pins = []
    for pin in env:
        after = resolution.get(pin.name, pin.version)
        result.pins.append((pin.display, str(after)))
        if after != pin.version:
            result.changes.append(Change(pin.name, pin.display, str(pin.version), str(after),
                                         reasons.get(pin.name) or ["needed by the change (%s)" % plan_name]))
    torch = resolution.get("torch")
    if torch is not None and torch.local:
        try:
            release = kb.release(torch)
            result.index_hint = kb.index_for(release, torch.local)
        except PinguardError:
            pass
