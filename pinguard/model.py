"""Plain data shared by the engines: releases, rules, anchors, constraints, violations.

Everything here is immutable data over `packaging` types; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Pattern, Set, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pinguard.claims import Evidence
from pinguard.errors import BadInput, quote
from pinguard.specs import check_size, exact_version, normalize, quote_detail

@dataclass(frozen=True)
class Context:
    """What is known about the target beyond package versions."""

    python: Optional[Version] = None  # target Python (X.Y); None = not fixed
    build: Optional[str] = None  # torch build label: cu113, cpu, rocm4.2 ...
    gpu: Optional[Version] = None  # GPU compute capability as a version (7.5)


@dataclass(frozen=True)
class Release:
    """One torch release and what pairs with it."""

    torch: Version
    family: Mapping[str, Version]  # family member (torch.toml [family]) -> paired release
    also: Mapping[str, Tuple[Version, ...]]  # other member releases that pin this torch too (torchvision 0.8.0)
    python: Tuple[str, ...]
    builds: Tuple[str, ...]
    default_build: str
    on_pypi: bool
    index: Optional[str]
    sources: Tuple[str, ...]
    confidence: str
    note: str = ""
    # member -> Pythons of `python` for which that member has no Linux x86_64 wheel on PyPI (torch.toml)
    missing_wheels: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)

    def pairs_with(self, member: str, version: Version) -> bool:
        """True when `member` `version` (local label ignored) is built for this torch release."""
        base = Version(version.base_version)
        return self.family.get(member) == base or base in self.also.get(member, ())

    def supports_python(self, python: Version) -> bool:
        return "%d.%d" % (python.major, python.minor) in self.python

    def member_supports_python(self, member: str, python: Version) -> bool:
        """Does the paired `member` have a wheel for `python` (one of this release's Pythons)?"""
        return self.supports_python(python) and "%d.%d" % (python.major, python.minor) not in \
            self.missing_wheels.get(member, ())


@dataclass(frozen=True)
class Condition:
    """One `when` table: every entry must hold."""

    packages: Mapping[str, SpecifierSet]  # normalized name -> specifier ("" = present at any version)
    python: Optional[SpecifierSet] = None
    builds: Optional[Tuple[str, ...]] = None
    gpu: Optional[SpecifierSet] = None


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str
    when: Tuple[Condition, ...]  # any one must hold
    require: Mapping[str, SpecifierSet]
    alternatives: Tuple[Mapping[str, SpecifierSet], ...]
    implicates: Tuple[str, ...]
    signatures: Tuple[Pattern, ...]
    kind: str  # "constraint" | "diagnostic"
    sources: Tuple[str, ...]
    confidence: str
    note: str = ""
    evidence: Tuple[Evidence, ...] = ()  # what the release files or metadata show (pinguard/claims.py)

    def packages(self) -> Set[str]:
        """Every package the rule names: in `when`, `require`, `implicates` and `alternatives`."""
        names: Set[str] = set(self.require) | set(self.implicates)
        for condition in self.when:
            names.update(condition.packages)
        for alternative in self.alternatives:
            names.update(alternative)
        return names

    def matches_traceback(self, text: str) -> Optional[str]:
        """The first signature found in ``text`` (its pattern), else None."""
        for pattern in self.signatures:
            if pattern.search(text):
                return pattern.pattern
        return None


@dataclass(frozen=True)
class Anchor:
    """A requirement the environment is held to (`torch==1.10.0+cu113`, `numpy==1.18.3`, `mmcv-full<2`)."""

    name: str  # normalized
    display: str  # as the user spelled it
    specifier: SpecifierSet
    text: str

    @property
    def version(self) -> Optional[Version]:
        return exact_version(self.specifier)

    @property
    def local(self) -> Optional[str]:
        version = self.version
        return version.local if version is not None else None

    @classmethod
    def parse(cls, text: str) -> "Anchor":
        requirement = parse_requirement(text, "anchor")
        return cls(normalize(requirement.name), requirement.name, requirement.specifier, text.strip())


def parse_requirement(text: str, what: str = "requirement") -> Requirement:
    """A PEP 508 requirement; BadInput (quoting at most a little of `text`) when it is not one or is absurdly big."""
    check_size(text, what)
    try:
        return Requirement(text.strip())
    except InvalidRequirement as exc:
        detail = str(exc).splitlines()[0] if str(exc) else "unparsable"
        raise BadInput("cannot parse %s %s: %s" % (what, quote(text.strip()), quote_detail(detail)))


@dataclass(frozen=True)
class Pin:
    """One line of a pin list."""

    name: str  # normalized
    display: str
    specifier: SpecifierSet
    line: int = 0

    @property
    def version(self) -> Optional[Version]:
        return exact_version(self.specifier)


@dataclass
class Constraint:
    """One output line: a package bound, why, and where the fact comes from."""

    name: str  # normalized
    specifier: SpecifierSet
    marker: str = ""
    rules: List[str] = field(default_factory=list)
    sources: List[str] = field(default_factory=list)
    display: str = ""

    @property
    def requirement(self) -> str:
        line = "%s%s" % (self.display or self.name, self.specifier)
        if self.marker:
            line += "; " + self.marker
        return line


@dataclass(frozen=True)
class Violation:
    """A broken fact in a pin list: which rule, which packages, the pin that fixes it."""

    rule: str
    summary: str
    packages: Mapping[str, str]  # name -> installed version
    fix: Tuple[str, ...]  # requirement strings that resolve it
    sources: Tuple[str, ...]
    confidence: str = "H"

    def as_dict(self) -> Dict[str, object]:
        return {
            "rule": self.rule,
            "summary": self.summary,
            "packages": dict(self.packages),
            "fix": list(self.fix),
            "sources": list(self.sources),
            "confidence": self.confidence,
        }


def compile_signature(pattern: str, where: str) -> Pattern:
    try:
        return re.compile(pattern, re.MULTILINE)
    except re.error as exc:
        from pinguard.errors import KnowledgeError

        raise KnowledgeError("%s: signature %r does not compile: %s" % (where, pattern, exc))
