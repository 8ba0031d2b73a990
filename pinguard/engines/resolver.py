"""The resolver fix and lock share: a resolvelib provider over package data and the knowledge base.

Package data comes through a `PackageData` (the index in real use, a dict in tests); `FamilyData` puts the torch
family in front of it from the knowledge base (pairings and `+cuXXX` builds, filtered by the GPU's kernels).
`PinResolver` resolves a pin list: every listed package keeps its pin unless it is *free*; free packages take
candidates nearest first (the same minor series, then upward, then downward; a torch-family build after the plain
versions); the rules add their bounds as extra dependencies; Requires-Dist between listed packages hold.
`resolve_widening` frees, round by round, the packages a conflict names, so every pin that can stay, stays.

Pure: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pinguard.engines.family import labelled
from pinguard.errors import PinguardError
from pinguard.kb_types import KnowledgeBase
from pinguard.model import Anchor, Condition, Context, Pin, Release, Rule
from pinguard.package_data import PackageData
from pinguard.specs import intersect, normalize

try:  # resolvelib >= 0.9
    from resolvelib import AbstractProvider, BaseReporter, Resolver
    from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep
except ImportError:  # pragma: no cover - a declared dependency
    AbstractProvider = object  # type: ignore
    Resolver = None  # type: ignore

MAX_ROUNDS = 6
PREFETCH = 8  # candidates whose metadata is read together when the resolver first looks at a package
MAX_RESOLVER_ROUNDS = 400  # per attempt; a plan that needs more is dropped for the next one


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
        if name not in self.kb.family.all:
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
                    if not self.kb.carries_label(name, version):
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
        if name in self.kb.family.members:
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
        return name in self.kb.family.all or self.inner.exists(name)

    def binary_versions(self, name: str) -> Optional[List[Version]]:
        return self.versions(name) if name in self.kb.family.all else self.inner.binary_versions(name)

    def prefetch(self, pins: Iterable[Tuple[str, Version]]) -> None:
        self.inner.prefetch([(n, Version(v.base_version)) for n, v in pins])


def gpu_supported(kb: KnowledgeBase, release: Release, build: str, gpu: Version) -> Optional[bool]:
    """Does `build` of `release` ship kernels for compute capability `gpu`? None when the data does not say."""
    entry = kb.gpu.build_archs_for(release.torch, build)
    return entry.runs_on(gpu) if entry is not None else None


# -- the resolvelib provider -----------------------------------------------------------------------------------


class _Provider(AbstractProvider):  # type: ignore[misc,valid-type]
    def __init__(self, fixer: "PinResolver", free: Set[str], root_specs: Mapping[str, SpecifierSet]) -> None:
        self.fixer = fixer
        self.free = free
        self.root_specs = root_specs
        self._ordered: Dict[str, List[Version]] = {}
        self._warmed: Set[Tuple[str, Version]] = set()

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

    def _warm(self, name: str, versions: List[Version]) -> None:
        """Read the metadata of the next candidates together: the resolver will ask for them one by one."""
        fresh = [v for v in versions if (name, v) not in self._warmed]
        if len(fresh) > 1:
            self._warmed.update((name, v) for v in fresh)
            self.fixer.data.prefetch([(name, v) for v in fresh])

    def find_matches(self, identifier, requirements, incompatibilities):
        specs = [r.specifier for r in requirements.get(identifier, ())]
        bad = {c.version for c in incompatibilities.get(identifier, ())}
        matches = []
        fitting = [v for v in self._candidates(identifier)
                   if v not in bad and all(s.contains(v, prereleases=True) for s in specs)]
        self._warm(identifier, fitting[:PREFETCH])
        for version in fitting:
            candidate = Candidate(identifier, version)
            if self.fixer.excluded(candidate):
                continue
            matches.append(candidate)
        return matches

    def is_satisfied_by(self, requirement, candidate) -> bool:
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate):
        return self.fixer.dependencies(candidate)


class UnlistedVersions:
    """The release pip would install for a package the pin list does not name: the newest one that every listed
    package requiring it allows (its Requires-Dist on the target). Rules can only exclude such a release, never
    choose it: pip, not pinguard, picks it."""

    def __init__(self, data: PackageData, pins: Mapping[str, Version]) -> None:
        self.data, self.pins = data, pins
        self._specs: Dict[Tuple[str, str, str], Optional[SpecifierSet]] = {}

    def requirers(self, name: str) -> List[str]:
        """Listed packages whose pinned release requires `name`."""
        return sorted(p for p, v in self.pins.items() if self._spec(p, v, name) is not None)

    def version(self, name: str, candidate: Optional["Candidate"] = None) -> Optional[Version]:
        """The newest release of `name` the pins allow (with `candidate` in place of its package's pin); None when
        nothing listed requires it (it is not installed) or no release fits."""
        specs = []
        for package, pinned in self.pins.items():
            if candidate is not None and package == candidate.name:
                pinned = candidate.version
            spec = self._spec(package, pinned, name)
            if spec is not None:
                specs.append(spec)
        if candidate is not None and candidate.name not in self.pins:
            spec = self._spec(candidate.name, candidate.version, name)
            if spec is not None:
                specs.append(spec)
        if not specs:
            return None
        try:
            releases = self.data.versions(name)
        except PinguardError:
            return None
        fitting = [v for v in releases if not v.is_prerelease and all(s.contains(v, prereleases=True) for s in specs)]
        return max(fitting) if fitting else None

    def _spec(self, package: str, version: Version, name: str) -> Optional[SpecifierSet]:
        key = (package, str(version), name)
        if key not in self._specs:
            found = None
            try:
                for requirement in self.data.requires(package, version):
                    if normalize(requirement.name) == name:
                        found = intersect([found or SpecifierSet(), requirement.specifier])
            except PinguardError:
                found = None
            self._specs[key] = found
        return self._specs[key]


class PinResolver:
    """Resolves one pin list (see the module docstring); `free` names may move, the rest keep their pins."""

    def __init__(self, kb: KnowledgeBase, data: PackageData, env: Sequence[Pin], anchors: Sequence[Anchor],
                 python: Version, gpu: Optional[Version], rules: Sequence[Rule],
                 derive_for: Iterable[str] = ()) -> None:
        self.kb, self.data, self.env, self.anchors, self.python, self.gpu = kb, data, env, anchors, python, gpu
        self.rules = rules
        self.derive_for = set(derive_for)  # rules judged with the releases pip would install for unlisted packages
        self.current: Dict[str, Version] = {p.name: p.version for p in env if p.version is not None}
        self.names = set(self.current)
        self.anchored = {a.name: a for a in anchors}
        self.free: Set[str] = set()
        self.unlisted = UnlistedVersions(data, self.current)

    def context_for(self, candidate: Optional[Candidate]) -> Context:
        torch = candidate.version if candidate is not None and candidate.name == "torch" else self.current.get(
            "torch")
        build = None
        if candidate is not None and candidate.name in self.kb.family.all and candidate.build:
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
                derived = self._unlisted(condition, candidate, rule.id in self.derive_for)
                if derived is None:
                    continue
                others = [n for n in condition.packages if n != candidate.name and n not in rule.require
                          and n in self.names]
                if any(n in self.free for n in others):
                    continue  # that package's own candidates carry this rule as a dependency
                if not all(condition.packages[n].contains(self.current[n], prereleases=True) for n in others):
                    continue
                if not _special_holds(condition, self.python, context.build, self.gpu):
                    continue
                for name, required in rule.require.items():
                    if name == candidate.name:
                        if not required.contains(candidate.version, prereleases=True):
                            return True, []
                    elif name in self.names:
                        if self._anchor_blocks(name, required):
                            return True, []  # cheap: no point asking the resolver to move an anchor
                        extra.append(Req(name, required, rule.id))
                    elif name in derived and not required.contains(derived[name], prereleases=True):
                        return True, []  # pip would install derived[name]; only moving this candidate helps
                break
        return False, extra

    def _unlisted(self, condition: Condition, candidate: Candidate, derive: bool) -> Optional[Dict[str, Version]]:
        """The releases pip would install for the condition's unlisted packages (with this candidate), or None
        when the condition cannot hold for them. Only a rule the crash diagnosed is judged that way (the crash shows
        the unlisted package is there at a release it breaks with); other rules never hold for unlisted packages,
        whose installed release (setuptools, pip...) nobody knows."""
        derived: Dict[str, Version] = {}
        for name, spec in condition.packages.items():
            if name == candidate.name or name in self.names:
                continue
            if not derive:
                return None
            version = self.unlisted.version(name, candidate)
            if version is None or not spec.contains(version, prereleases=True):
                return None
            derived[name] = version
        return derived

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


def _special_holds(condition: Condition, python: Version, build: Optional[str], gpu: Optional[Version]) -> bool:
    """The Python, build and GPU parts of a rule condition."""
    if condition.python is not None and not condition.python.contains(python, prereleases=True):
        return False
    if condition.builds is not None and build not in condition.builds:
        return False
    return condition.gpu is None or (gpu is not None and condition.gpu.contains(gpu))


def admits_builds(anchor: Anchor) -> bool:
    """`torch==1.8.0` admits `1.8.0+cu111`; `torch==1.8.0+cu102` admits nothing else."""
    version = anchor.version
    return version is None or version.local is None


def resolve_widening(fixer: PinResolver, free: Set[str], root: Dict[str, SpecifierSet],
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
            widen = {n for n in blamed & names if n not in free and (n not in anchored or admits_builds(anchored[n]))}
            if not widen:
                return None, "conflict: " + error
            free |= widen
    return None, "conflict: " + error
