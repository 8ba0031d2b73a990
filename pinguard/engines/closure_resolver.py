"""The closure resolver `lock` uses: requirements -> the whole dependency set for one target, newest first like pip.

It shares fix's resolvelib provider (`resolver._Provider`), `FamilyData` (the torch family's pairings from the
knowledge base) and `Candidate`/`Req`; what differs from fix is only which candidates a package has:

- every package is free and takes its newest release first (pre-releases only when nothing final fits, as pip);
- *constraints* (the anchors, pinguard's generated bounds, rule bounds the lock loop adds) filter candidates but
  never pull a package in; requirements (the inputs, Requires-Dist, extras) do;
- the torch family is held to one build whatever its labels sort as: with build `cu113` only `+cu113` releases of
  the members that carry labels; with PyPI's unlabelled default build, only plain versions (`+rocm4.2` sorts above
  `+cu113` and plain as a string, so a bare `torch==1.10.0` would otherwise take it);
- `name[extra]` is a package of its own that requires `name` at the same version plus the extra's requirements.

Pure: the package data comes through a `PackageData`.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pinguard.engines.family import labelled
from pinguard.engines.resolver import Candidate, FamilyData, Req, Resolver, _Provider
from pinguard.errors import PinguardError, UnknownPackage
from pinguard.kb_types import KnowledgeBase
from pinguard.package_data import PackageData
from pinguard.specs import intersect, normalize

try:
    from resolvelib import BaseReporter
    from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep
except ImportError:  # pragma: no cover - a declared dependency
    BaseReporter = object  # type: ignore

MAX_ROUNDS = 2000


class NoLock(PinguardError):
    """The requirements cannot be resolved under the anchor and the rules (exit 1: a finding, not bad input)."""

    exit_code = 1


def split_extra(identifier: str) -> Tuple[str, Optional[str]]:
    """`name[extra]` -> (name, extra); `name` -> (name, None)."""
    if identifier.endswith("]") and "[" in identifier:
        name, _, extra = identifier[:-1].partition("[")
        return name, extra
    return identifier, None


def requirement_reqs(requirement: Requirement, why: str) -> List[Req]:
    """A requirement as resolver requirements: the package, and one `name[extra]` per extra."""
    name = normalize(requirement.name)
    reqs = [Req(name, requirement.specifier, why)]
    reqs.extend(Req("%s[%s]" % (name, normalize(extra)), requirement.specifier, why)
                for extra in sorted(requirement.extras))
    return reqs


class _ClosureProvider(_Provider):
    """fix's provider with the closure's candidate order: newest first, the held build only."""

    def _candidates(self, name: str) -> List[Version]:
        if name not in self._ordered:
            self._ordered[name] = self.fixer.candidates(name)  # type: ignore[attr-defined] # a ClosureResolver
        return self._ordered[name]

    def get_preference(self, identifier, resolutions, candidates, information, *args, **kwargs):
        exact = any(str(r.specifier).startswith(("==", "===")) for r, _ in information.get(identifier, ()))
        return (not exact, identifier in self.fixer.constraints, identifier)


class ClosureResolver:
    """Resolves requirements to a closed set for one target (see the module docstring)."""

    def __init__(self, kb: KnowledgeBase, data: PackageData, python: Version, build: Optional[str],
                 gpu: Optional[Version] = None) -> None:
        self.kb, self.inner, self.python, self.build = kb, data, python, build
        self.data = FamilyData(kb, data, python, gpu)
        self.current: Dict[str, Version] = {}
        self.constraints: Dict[str, SpecifierSet] = {}

    # -- what _Provider asks ---------------------------------------------------------------------------------

    def candidates(self, identifier: str) -> List[Version]:
        name, _ = split_extra(identifier)
        try:
            versions = self.inner.versions(name)
        except UnknownPackage:
            return []
        if name in self.kb.family.all:
            versions = [v for v in versions if self.held(name, v)]
        spec = self.constraints.get(name, SpecifierSet())
        versions = [v for v in versions if spec.contains(v, prereleases=True)]  # never read what a bound excludes
        final = [v for v in versions if not v.is_prerelease]
        return sorted(final or versions, reverse=True)

    def held(self, name: str, version: Version) -> bool:
        """Is `version` of family member `name` the held build (the label `labelled` gives it, or plain)?"""
        base = Version(version.base_version)
        try:
            release = self.kb.release(base) if name == "torch" else next(
                iter(self.kb.family_releases(name, base)), None)
        except PinguardError:
            release = None
        if release is None:
            return version.local is None
        return str(version) == labelled(self.kb, release, name, base, self.build)

    def excluded(self, candidate: Candidate) -> bool:
        name, _ = split_extra(candidate.name)
        spec = self.constraints.get(name)
        return spec is not None and not spec.contains(candidate.version, prereleases=True)

    def dependencies(self, candidate: Candidate) -> List[Req]:
        name, extra = split_extra(candidate.name)
        deps: List[Req] = []
        if extra is not None:  # the package itself at the same version, then what the extra adds
            deps.append(Req(name, SpecifierSet("===%s" % candidate.version), "extra"))
            requirements = self.inner.requires_extra(name, candidate.version, extra)
        elif name in self.kb.family.members:  # the knowledge base's pairing with torch replaces the metadata's
            requirements = self.data.requires(name, candidate.version)
        else:
            requirements = self.inner.requires(name, candidate.version)
        for requirement in requirements:
            if normalize(requirement.name) != name:
                deps.extend(requirement_reqs(requirement, "%s %s" % (name, candidate.version)))
        self.inner.prefetch_pages(split_extra(d.name)[0] for d in deps)
        return deps

    # -- resolving ---------------------------------------------------------------------------------------------

    def resolve(self, requirements: Sequence[Req], constraints: Mapping[str, SpecifierSet]) -> Dict[str, Version]:
        """name -> version for everything the requirements need (extras folded into their package)."""
        self.constraints = dict(constraints)
        provider = _ClosureProvider(self, set(), {})  # type: ignore[arg-type] # answers what fix's provider asks
        self.inner.prefetch_pages(split_extra(r.name)[0] for r in requirements)
        try:
            result = Resolver(provider, BaseReporter()).resolve(list(requirements), max_rounds=MAX_ROUNDS)
        except ResolutionTooDeep:
            raise NoLock("no lock: the search took more than %d rounds" % MAX_ROUNDS) from None
        except ResolutionImpossible as exc:
            raise NoLock("no lock under the anchor and the rules: %s" % self.describe(exc.causes)) from None
        return {name: c.version for name, c in result.mapping.items() if split_extra(name)[1] is None}

    def describe(self, causes: Iterable) -> str:
        parts = set()
        for cause in causes:
            name = split_extra(cause.requirement.name)[0]
            held = self.constraints.get(name)
            parts.add("%s%s (needed by %s)%s" % (
                cause.requirement.name, cause.requirement.specifier or "",
                "%s %s" % (cause.parent.name, cause.parent.version) if cause.parent is not None else "the request",
                "; held to %s" % held if held is not None and str(held) else ""))
        return "; ".join(sorted(parts))


def combine(constraints: Mapping[str, Sequence[SpecifierSet]]) -> Dict[str, SpecifierSet]:
    """name -> one specifier set per package."""
    return {name: intersect(specs) for name, specs in constraints.items()}

