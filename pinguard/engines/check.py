"""check: a pin list + anchors -> every violated fact, each with the pin that fixes it. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from packaging.markers import Marker
from packaging.version import Version

from pinguard.engines.conditions import rule_holds
from pinguard.engines.family import labelled
from pinguard.engines.generate import PAIRING, generate
from pinguard.errors import PinguardError
from pinguard.kb_types import KnowledgeBase
from pinguard.model import Anchor, Context, Pin, Release, Violation
from pinguard.specs import marker_environment, satisfiable

ANCHOR_CHANGED = "anchor-changed"
BUILD_MIX = "cuda-build-mix"


@dataclass
class CheckResult:
    anchors: List[Anchor]
    context: Context
    violations: List[Violation] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)


def installed_versions(pins: Sequence[Pin]) -> Dict[str, Version]:
    return {p.name: p.version for p in pins if p.version is not None}


def check(kb: KnowledgeBase, pins: Sequence[Pin], anchors: Sequence[Anchor],
          python: Optional[Version] = None, gpu: Optional[Version] = None) -> CheckResult:
    installed = installed_versions(pins)
    by_name = {p.name: p for p in pins}
    release = _torch_release(kb, installed, anchors)
    torch = installed.get("torch")
    build = (torch.local if torch is not None and torch.local else None) or next(
        (a.local for a in anchors if a.name == "torch" and a.local), None)
    context = Context(python=python, build=build or (release.default_build if release else None), gpu=gpu)
    result = CheckResult(list(anchors), context)
    found: Dict[Tuple[str, str], Violation] = {}

    def report(violation: Violation) -> None:
        key = (violation.rule, ",".join(violation.fix) or ",".join(sorted(violation.packages)))
        found.setdefault(key, violation)

    for anchor in anchors:
        version = installed.get(anchor.name)
        if anchor.name not in by_name:
            result.notes.append("anchor %s is not in the pin list" % anchor.text)
        elif version is not None and not anchor.specifier.contains(version, prereleases=True):
            report(Violation(ANCHOR_CHANGED, "%s %s does not satisfy the anchor %s" % (
                anchor.display, version, anchor.text), {anchor.name: str(version)}, (anchor.text,), ()))
    if release is not None:
        for violation in _family(kb, release, installed, anchors, build):
            report(violation)
    elif torch is not None:
        result.notes.append("torch %s is not a release pinguard knows; family pairing not checked" % torch)
    for violation in _build_mix(kb, installed, release):
        report(violation)
    for violation in _rules(kb, installed, context):
        report(violation)
    for violation in _generated(kb, anchors, by_name, installed, python):
        report(violation)
    result.violations = list(found.values())
    return result


def _torch_release(kb: KnowledgeBase, installed: Mapping[str, Version], anchors: Sequence[Anchor]) -> Optional[Release]:
    torch = installed.get("torch") or next((a.version for a in anchors if a.name == "torch" and a.version), None)
    if torch is None:
        return None
    try:
        return kb.release(torch)
    except PinguardError:
        return None


def _family(kb: KnowledgeBase, release: Release, installed: Mapping[str, Version],
            anchors: Sequence[Anchor], build: Optional[str]) -> List[Violation]:
    anchored = {a.name for a in anchors}
    violations = []
    torch_text = str(installed.get("torch") or release.torch)
    for member in kb.family.members:
        version = installed.get(member)
        if version is None:
            continue
        paired = release.family.get(member)
        if release.pairs_with(member, version):
            continue
        packages = {"torch": torch_text, member: str(version)}
        if member in anchored and "torch" not in anchored:
            owners = kb.family_releases(member, version)
            fix = tuple("torch==%s" % r.torch for r in owners[:1])
            summary = "torch %s is not the release %s %s is built for (%s)" % (
                torch_text, member, version, ", ".join(str(r.torch) for r in owners) or "unknown")
        elif paired is None:
            fix = ()
            summary = "no %s release is built for torch %s; %s %s is built for another torch" % (
                member, release.torch, member, version)
        else:
            fix = ("%s==%s" % (member, labelled(kb, release, member, paired, build)),)
            owners = kb.family_releases(member, version)
            summary = "%s %s is built for torch %s, not torch %s; torch %s pairs with %s %s" % (
                member, version, ", ".join(str(r.torch) for r in owners) or "another release",
                release.torch, release.torch, member, paired)
        sources = tuple(src for src in release.sources if not src.startswith("meta:") or src.startswith(
            "meta:%s==" % member)) + _related_sources(kb, member, version, installed)
        violations.append(Violation(PAIRING, summary, packages, fix, sources, release.confidence))
    return violations


def _related_sources(kb: KnowledgeBase, member: str, version: Version,
                     installed: Mapping[str, Version]) -> Tuple[str, ...]:
    """Sources of the rules that describe this particular mispairing (e.g. tv03-libcudart90)."""
    related: List[str] = []
    for rule in kb.rules:
        if member in rule.implicates and any(
                member in c.packages and c.packages[member].contains(version, prereleases=True) for c in rule.when):
            related.extend(s for s in rule.sources if s not in related)
    return tuple(related)


def _build_mix(kb: KnowledgeBase, installed: Mapping[str, Version], release: Optional[Release]) -> List[Violation]:
    """Builds for different CUDA versions side by side: family labels, then packages whose name says their CUDA
    (gpu.toml [[cuda_wheels]]: nvidia-*-cuNN, cupy-cudaNN)."""
    violations = []
    labels = {n: installed[n].local for n in kb.family.all if n in installed and installed[n].local}
    if labels and release is not None:  # a plain pin of a CUDA-built member is PyPI's default build
        for name in kb.family.all:
            if name in installed and name not in labels and kb.carries_label(name, installed[name]):
                labels[name] = release.default_build
    torch_label = labels.get("torch")
    if len(set(labels.values())) > 1:
        fix = tuple("%s==%s" % (n, labelled(kb, release, n, Version(installed[n].base_version), torch_label)
                                 if release is not None else "%s+%s" % (installed[n].base_version, torch_label))
                    for n in sorted(labels) if n != "torch" and torch_label and labels[n] != torch_label)
        violations.append(Violation(BUILD_MIX, "torch family builds for different CUDA versions: %s" % ", ".join(
            "%s +%s" % (n, l) for n, l in sorted(labels.items())), {n: str(installed[n]) for n in labels},
            fix, _rule_sources(kb, "torchvision-cuda-mismatch")))
    torch_major = _cuda_major(torch_label) if torch_label else None
    violations.extend(_cuda_wheel_mix(kb, installed, torch_major))
    return violations


def _cuda_wheel_mix(kb: KnowledgeBase, installed: Mapping[str, Version], torch_major: Optional[str]
                    ) -> List[Violation]:
    """nvidia-* wheels of several CUDA majors (torch's counted), or a cupy for another CUDA major than torch's."""
    violations = []
    majors: Dict[str, List[str]] = {}
    for name in installed:
        found = kb.gpu.cuda_wheel(name)
        if found is None:
            continue
        naming, major = found
        if naming.compared == "together":
            majors.setdefault(major, []).append(name)
        elif torch_major is not None and major != torch_major:
            wanted = naming.for_major(torch_major)
            violations.append(Violation(
                BUILD_MIX, "%s is built for CUDA %s but torch %s is built for CUDA %s" % (
                    name, major, installed["torch"], torch_major),
                {name: str(installed[name]), "torch": str(installed["torch"])}, (wanted,) if wanted else (),
                _rule_sources(kb, "cupy-cudart-symbol")))
    if torch_major is not None and majors:
        majors.setdefault(torch_major, []).append("torch")
    if len(majors) > 1:
        packages = {n: str(installed[n]) for names in majors.values() for n in names}
        violations.append(Violation(BUILD_MIX, "CUDA %s builds side by side (%s)" % (
            " and ".join(sorted(majors)), ", ".join(sorted(packages))), packages, (),
            _rule_sources(kb, "torchvision-cuda-mismatch")))
    return violations


def _cuda_major(label: str) -> Optional[str]:
    """cu113 -> "11", cu102 -> "10", cu130 -> "13"; None for cpu/rocm."""
    if not label.startswith("cu") or not label[2:].isdigit():
        return None
    return label[2:-1]


def _rule_sources(kb: KnowledgeBase, rule_id: str) -> Tuple[str, ...]:
    try:
        return kb.rule(rule_id).sources
    except KeyError:
        return kb.index.sources


def _rules(kb: KnowledgeBase, installed: Mapping[str, Version], context: Context) -> List[Violation]:
    violations = []
    for rule in kb.rules:
        if rule.kind != "constraint" or not rule_holds(rule, installed, context):
            continue
        for name, spec in rule.require.items():
            version = installed.get(name)
            if version is None or spec.contains(version, prereleases=True):
                continue
            trigger = {n: str(installed[n]) for c in rule.when for n in c.packages if n in installed}
            trigger[name] = str(version)
            violations.append(Violation(rule.id, rule.summary, trigger, ("%s%s" % (name, spec),),
                                        rule.sources, rule.confidence))
    return violations


def _generated(kb: KnowledgeBase, anchors: Sequence[Anchor], by_name: Mapping[str, Pin],
               installed: Mapping[str, Version], python: Optional[Version]) -> List[Violation]:
    """Constraints the anchors imply (transitively) that a pinned package breaks."""
    if not anchors:
        return []
    try:
        generated = generate(kb, anchors, python=python)
    except PinguardError:
        return []
    rules = {r.id: r for r in kb.rules}
    environment = None
    if python is not None:
        environment = marker_environment(python)
    violations = []
    for constraint in generated.constraints:
        pin = by_name.get(constraint.name)
        if pin is None or constraint.rules == ["anchor"] or constraint.rules[0] == PAIRING:
            continue
        if constraint.marker and environment is not None and not Marker(constraint.marker).evaluate(environment):
            continue
        version = installed.get(constraint.name)
        broken = (not constraint.specifier.contains(version, prereleases=True)) if version is not None else (
            not satisfiable([constraint.specifier, pin.specifier]))
        if not broken:
            continue
        rule = rules.get(next((r for r in constraint.rules if r in rules), ""))
        violations.append(Violation(
            rule.id if rule else constraint.rules[0],
            rule.summary if rule else "implied by the anchors",
            {constraint.name: str(version or pin.specifier)},
            (constraint.requirement,), tuple(constraint.sources), rule.confidence if rule else "H"))
    return violations
