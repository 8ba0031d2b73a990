"""generate: anchors -> every constraint they imply (family pairing + rules, transitively). Pure.

What a rule's trigger is evaluated against: the packages the user *asked for* (anchors, `--with` requirements and
the torch-family members paired with an anchor), each with the range of versions it may take (its request,
narrowed by the bounds generated rules put on it). A rule applies when its trigger can hold for them:

- a versioned request (`torch==1.10.0`, `mmcv-full<2`, `--with mmdet==2.17.0`) may be any version of its range, so
  a trigger holds when it overlaps the range: the bound then protects every version the user allows;
- an unversioned request (`--with matplotlib`) is *some* version, the one the resolver picks (for a plain install
  the newest for the target), not every version at once: a trigger on its version holds only when the whole range
  lies inside it. `--with matplotlib` therefore brings no `pyparsing<3` (matplotlib < 3.5) and `--with mmdet` none
  of the mutually exclusive mmcv windows; `--with mmdet==2.17.0 --with mmcv-full` does bring the yapf bound,
  because mmdet 2.17's window holds mmcv-full below 1.7.2;
- a package only a rule bounds is not asked for: the bound holds if it is installed, it does not install it, so it
  reaches no other rule's trigger (`mmcv-full!=1.3.10` in a cu111 file brings no yapf bound).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pinguard.engines.conditions import may_hold
from pinguard.engines.family import candidate_releases, check_build, family_pins
from pinguard.errors import BadInput, ImpossibleAnchor
from pinguard.kb_types import KnowledgeBase
from pinguard.model import Anchor, Constraint, Context, Release
from pinguard.specs import implies, intersect, normalize, satisfiable

PAIRING = "torch-family-pairing"
ANCHOR = "anchor"
WITH = "with"
REQUESTS = (ANCHOR, WITH, PAIRING)  # the facts that say a package is asked for, not only bounded


@dataclass
class _Fact:
    specifier: SpecifierSet
    reason: str
    sources: Tuple[str, ...]
    marker: str = ""


@dataclass
class Generated:
    """The result of `generate`: constraints plus what a renderer needs to say about them."""

    anchors: List[Anchor]
    context: Context
    release: Optional[Release]
    explicit_build: Optional[str]
    constraints: List[Constraint]
    index: Optional[Tuple[str, str]] = None  # (pip option, URL) reaching the chosen build
    notes: List[str] = field(default_factory=list)
    dropped: List[str] = field(default_factory=list)  # one line per family member left out (no wheel for Python)


def generate(kb: KnowledgeBase, anchors: Sequence[Anchor], python: Optional[Version] = None,
             build: Optional[str] = None, with_: Sequence[Requirement] = ()) -> Generated:
    if not anchors:
        raise BadInput("give at least one anchor, e.g. torch==1.10.0")
    facts: Dict[str, List[_Fact]] = {}
    display: Dict[str, str] = {}

    def add(name: str, fact: _Fact) -> None:
        facts.setdefault(name, []).append(fact)

    for anchor in anchors:
        add(anchor.name, _Fact(anchor.specifier, ANCHOR, ()))
        display.setdefault(anchor.name, anchor.display)
    for requirement in with_:
        add(normalize(requirement.name), _Fact(requirement.specifier, WITH, ()))

    explicit_build = _explicit_build(kb, anchors, build)
    dropped: List[str] = []
    release, notes = _pair_family(kb, anchors, facts, python, explicit_build, add, dropped)
    if explicit_build is not None and release is None:
        raise BadInput("--cuda needs a torch (or torchvision/torchaudio) anchor that selects one torch release")
    context = Context(python=python,
                      build=explicit_build or (release.default_build if release else None))
    _apply_rules(kb, facts, context, add)
    constraints = _collect(kb, facts, display)
    index = None
    if release is not None and (explicit_build is not None or not release.on_pypi):
        if explicit_build == release.default_build and explicit_build not in kb.labelled_builds(release):
            notes.append("%s is PyPI's default build of torch %s, published without a label: plain pins" % (
                explicit_build, release.torch))
        elif release.torch < kb.index.local_labels_since:
            notes.append("torch %s builds carry no +%s label, so pip cannot select the build by version; install "
                         "it from %s" % (release.torch, explicit_build,
                                         kb.index.url.replace("{build}", explicit_build or "")))
        else:
            index = kb.index_for(release, explicit_build or release.default_build)
    return Generated(list(anchors), context, release, explicit_build, constraints, index, notes + dropped, dropped)


def _explicit_build(kb: KnowledgeBase, anchors: Sequence[Anchor], build: Optional[str]) -> Optional[str]:
    labels = {a.local for a in anchors if a.name in kb.family.all and a.local}
    if len(labels) > 1:
        raise ImpossibleAnchor("anchors name different builds: %s" % ", ".join(sorted(labels)))
    label = labels.pop() if labels else None
    if build and label and build != label:
        raise ImpossibleAnchor("--cuda %s contradicts the anchor's +%s build" % (build, label))
    return build or label


def _pair_family(kb, anchors, facts, python, explicit_build, add, dropped):
    """Add the family pins (or bounds, for a range anchor) and return the selected release.

    A paired member without a wheel for `python` is left out (a line in `dropped`); with no Python given, its pin
    carries a marker excluding the Pythons it has no wheel for. An anchored member is never left out: the anchor
    then contradicts the Python (candidate_releases says so).
    """
    specs = {a.name: a.specifier for a in anchors if a.name in kb.family.all}
    notes: List[str] = []
    if not specs:
        return None, notes
    releases = candidate_releases(kb, specs, python)
    if len(releases) == 1:
        release = releases[0]
        check_build(kb, release, explicit_build)
        for name, version in family_pins(kb, release, explicit_build).items():
            if name != "torch" and python is not None and not release.member_supports_python(name, python):
                dropped.append(_dropped(name, str(release.family[name]), python, "torch %s" % release.torch))
                continue
            marker = "" if name in specs else _no_wheel_marker(release.missing_wheels.get(name, ()))
            add(name, _Fact(SpecifierSet("==" + version), PAIRING, release.sources, marker))
        return release, notes
    for member in kb.family.all:
        versions = sorted({r.torch if member == "torch" else r.family.get(member) for r in releases} - {None})
        usable = sorted({r.torch if member == "torch" else r.family.get(member) for r in releases
                         if python is None or member == "torch" or r.member_supports_python(member, python)} - {None})
        if versions and not usable:
            dropped.append(_dropped(member, "%s ... %s" % (versions[0], versions[-1]), python,
                                    "torch %s ... %s" % (releases[0].torch, releases[-1].torch)))
        elif usable:
            bound = SpecifierSet(">=%s,<=%s" % (usable[0], usable[-1]))
            add(member, _Fact(bound, PAIRING, tuple(s for r in releases for s in r.sources[:1])))
    notes.append("the anchors admit %d torch releases (%s ... %s): family members are bounded, not pinned" % (
        len(releases), releases[0].torch, releases[-1].torch))
    return None, notes


def _dropped(member: str, versions: str, python: Version, paired: str) -> str:
    return "%s %s (paired with %s) has no wheel for Python %d.%d on PyPI: left out" % (
        member, versions, paired, python.major, python.minor)


def _no_wheel_marker(pythons: Sequence[str]) -> str:
    return " and ".join('python_version != "%s"' % p for p in pythons)


def _known(facts: Dict[str, List[_Fact]]) -> Tuple[Dict[str, SpecifierSet], Set[str]]:
    """The packages asked for with the range each may take (rule bounds narrow it), and which came unversioned."""
    known: Dict[str, SpecifierSet] = {}
    unversioned: Set[str] = set()
    for name, entries in facts.items():
        asked = [f for f in entries if f.reason in REQUESTS]
        if not asked:
            continue
        known[name] = intersect(f.specifier for f in entries if f.reason in REQUESTS or not f.marker)
        if not any(str(f.specifier) for f in asked):
            unversioned.add(name)
    return known, unversioned


def _apply_rules(kb: KnowledgeBase, facts, context: Context, add) -> None:
    """Apply every constraint rule whose trigger may hold for what was asked for, until nothing new is triggered."""
    applied = set()
    changed = True
    while changed:
        changed = False
        known, unversioned = _known(facts)
        for rule in kb.rules:
            if rule.kind != "constraint" or rule.id in applied:
                continue
            markers = [m for m in (may_hold(c, known, context, rule.require, unversioned) for c in rule.when)
                       if m is not None]
            if not markers:
                continue
            marker = "" if "" in markers else " or ".join("(%s)" % m if len(markers) > 1 else m for m in markers)
            for name, spec in rule.require.items():
                add(name, _Fact(spec, rule.id, rule.sources, marker))
            applied.add(rule.id)
            changed = True


def _collect(kb: KnowledgeBase, facts: Dict[str, List[_Fact]], display: Dict[str, str]) -> List[Constraint]:
    constraints: List[Constraint] = []
    for name in _ordered(kb, facts):
        groups: Dict[str, List[_Fact]] = {}
        for fact in facts[name]:
            groups.setdefault(fact.marker, []).append(fact)
        for marker in sorted(groups):
            entries = groups[marker]
            specs = [f.specifier for f in entries if str(f.specifier)]
            if not specs:
                continue
            if not marker:
                _check_satisfiable(kb, name, entries)
            entries = _without_implied(entries)
            specs = [f.specifier for f in entries if str(f.specifier)]
            reasons = _unique(f.reason for f in entries)
            sources = _unique(s for f in entries for s in f.sources)
            constraints.append(Constraint(name, intersect(specs), marker, reasons, sources,
                                          display.get(name, name)))
    return constraints


def _without_implied(entries: List[_Fact]) -> List[_Fact]:
    """Drop bounds the others already imply (`<70` next to `<59.6`; anything next to the pin it admits)."""
    kept = list(entries)
    for fact in sorted(entries, key=lambda f: (f.reason == ANCHOR, f.reason == PAIRING)):
        others = [f.specifier for f in kept if f is not fact and str(f.specifier)]
        if fact.reason != ANCHOR and others and implies(others, fact.specifier):
            kept.remove(fact)
    return kept


def _check_satisfiable(kb: KnowledgeBase, name: str, entries: List[_Fact]) -> None:
    known_versions = [r.torch for r in kb.releases] if name == "torch" else [
        r.family[name] for r in kb.releases if name in r.family]
    if satisfiable([f.specifier for f in entries], known_versions):
        return
    parts = ["%s%s (%s)" % (name, f.specifier, _reason_text(f.reason)) for f in entries if str(f.specifier)]
    raise ImpossibleAnchor("contradictory constraints on %s: %s" % (name, " vs ".join(parts)))


def _reason_text(reason: str) -> str:
    return {ANCHOR: "anchor", WITH: "--with", PAIRING: "torch family pairing"}.get(reason, "rule " + reason)


def _ordered(kb: KnowledgeBase, facts: Dict[str, List[_Fact]]) -> List[str]:
    family = [n for n in kb.family.all if n in facts]
    return family + sorted(n for n in facts if n not in family)


def _unique(items) -> List[str]:
    seen: List[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
