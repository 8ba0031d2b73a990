"""guard: what a guarded install is judged on, and how a refused plan is rewritten. Pure.

The pip guard (`pinguard pip install`, the in-process hook) and the uv guard describe the environment and the
plan as plain data; this module turns them into `verdict.judge` calls:

- `installed_view`: the probe's distributions -> `Installed` (a package conda records is conda's);
- `prejudge`: the requirements named on the command line, before anything is resolved (an exact pin is judged as
  a plan; a range is refused when no version in it keeps the anchors and rules);
- `judge_plan`: what the resolver would install, over what is installed;
- `rewrite_constraints`: constraints that steer the resolver away from every refusal (the anchors' installed
  versions, conda's packages where they are, each rule's fix), for `--rewrite`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

from pinguard.engines.check import ANCHOR_CHANGED, check
from pinguard.engines.generate import generate
from pinguard.engines.verdict import CONDA_OWNED, Installed, Verdict, judge
from pinguard.errors import PinguardError
from pinguard.kb_types import KnowledgeBase
from pinguard.model import Anchor, Pin, Violation
from pinguard.specs import exact_version, marker_environment, normalize, satisfiable


@dataclass(frozen=True)
class PlanItem:
    name: str  # normalized
    version: str
    url: Optional[str] = None
    direct: bool = False
    editable: bool = False

    def as_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "version": self.version, "url": self.url, "direct": self.direct,
                "editable": self.editable}


def plan_items(raw: Sequence[Mapping[str, Any]]) -> List[PlanItem]:
    items = []
    for entry in raw:
        name = entry.get("name")
        if not name:
            continue
        items.append(PlanItem(normalize(str(name)), str(entry.get("version") or ""), entry.get("url"),
                              bool(entry.get("direct")), bool(entry.get("editable"))))
    return items


def installed_view(distributions: Sequence[Mapping[str, Any]], conda: Optional[Mapping[str, str]]) -> List[Installed]:
    """One `Installed` per name (the first on sys.path). A package with a conda-meta record, or whose INSTALLER
    says conda, is conda's: pip replacing it leaves conda's record stale."""
    records = {normalize(k): v for k, v in (conda or {}).items()}
    seen: Dict[str, Installed] = {}
    for item in distributions:
        name = normalize(str(item.get("name") or ""))
        if not name or name in seen:
            continue
        installer = str(item.get("installer") or "").strip().lower()
        if name in records:
            installer = "conda"
        seen[name] = Installed(name, str(item.get("version") or ""), installer)
    return [seen[n] for n in sorted(seen)]


def judge_plan(kb: KnowledgeBase, installed: Sequence[Installed], items: Sequence[PlanItem],
               anchors: Sequence[Anchor], python: Optional[Version], installer: str = "pip") -> Verdict:
    planned = {i.name: i.version for i in items if i.version}
    return judge(kb, installed, planned, anchors, python=python, installer=installer)


def prejudge(kb: KnowledgeBase, installed: Sequence[Installed], requirements: Sequence[Requirement],
             anchors: Sequence[Anchor], python: Optional[Version], installer: str = "pip") -> Verdict:
    """Judge what the command line asks for, before any resolution.

    An exact pin (`numpy==1.21.6`) is judged as if it were the plan. A range is refused only when it cannot
    be satisfied together with an anchor or with a constraint the anchors imply (`setuptools>=60` under
    torch 1.10.0). Requirements whose markers do not apply to the target Python are skipped.
    """
    environment = None
    if python is not None:
        environment = marker_environment(python)
    planned: Dict[str, str] = {}
    ranges: List[Pin] = []
    for requirement in requirements:
        if requirement.marker is not None and environment is not None:
            try:
                if not requirement.marker.evaluate(environment):
                    continue
            except Exception:  # noqa: BLE001 - an unknown marker variable: judge the requirement anyway
                pass
        name = normalize(requirement.name)
        version = exact_version(requirement.specifier)
        if version is not None:
            planned[name] = str(version)
        elif str(requirement.specifier):
            ranges.append(Pin(name, requirement.name, requirement.specifier))
    verdict = judge(kb, installed, planned, anchors, python=python, installer=installer)
    by_anchor = {a.name: a for a in anchors}
    refusals = list(verdict.refusals)
    seen = {(v.rule, tuple(sorted(v.packages))) for v in refusals}
    for pin in ranges:
        anchor = by_anchor.get(pin.name)
        if anchor is not None and not satisfiable([anchor.specifier, pin.specifier]):
            refusals.append(Violation(ANCHOR_CHANGED, "the request %s%s admits no version of the anchor %s" % (
                pin.display, pin.specifier, anchor.text), {pin.name: str(pin.specifier)}, (anchor.text,), ()))
    if ranges and anchors:
        for violation in check(kb, ranges, anchors, python=python).violations:
            key = (violation.rule, tuple(sorted(violation.packages)))
            if violation.rule == ANCHOR_CHANGED or key in seen:
                continue
            if set(violation.packages) & {p.name for p in ranges}:
                seen.add(key)
                refusals.append(violation)
    return Verdict(not refusals, refusals, verdict.warnings, verdict.changes)


@dataclass
class Rewrite:
    """Constraints added so the resolver keeps the anchors, each with its reason."""

    lines: List[str] = field(default_factory=list)
    reasons: Dict[str, str] = field(default_factory=dict)

    def add(self, line: str, reason: str) -> bool:
        if not line or line in self.reasons:
            return False
        self.lines.append(line)
        self.reasons[line] = reason
        return True


def _valid(version: str) -> bool:
    try:
        Version(version)
        return True
    except InvalidVersion:
        return False


def rewrite_constraints(kb: KnowledgeBase, installed: Sequence[Installed], anchors: Sequence[Anchor],
                        verdict: Verdict, python: Optional[Version], build: Optional[str] = None,
                        previous: Optional[Rewrite] = None) -> Tuple[Rewrite, bool]:
    """(the constraints for the next plan, whether anything was added). Round after round the set only grows."""
    rewrite = previous or Rewrite()
    added = False
    versions = {i.name: i.version for i in installed}
    for anchor in anchors:
        current = versions.get(anchor.name)
        if current and _valid(current) and anchor.specifier.contains(Version(current), prereleases=True):
            added |= rewrite.add("%s==%s" % (anchor.display, current), "anchor %s, installed" % anchor.text)
        else:
            added |= rewrite.add(anchor.text, "anchor")
    try:
        generated = generate(kb, anchors, python=python, build=build) if anchors else None
    except PinguardError:
        generated = None
    if generated is not None:
        for constraint in generated.constraints:
            if constraint.name in {a.name for a in anchors}:
                continue
            added |= rewrite.add(constraint.requirement, ", ".join(constraint.rules))
    for violation in verdict.refusals:
        if violation.rule == CONDA_OWNED:
            for name, version in violation.packages.items():
                added |= rewrite.add("%s==%s" % (name, version), "%s: conda's package stays where it is" % name)
        elif violation.rule == ANCHOR_CHANGED:
            continue  # the anchor lines above hold it
        else:
            for fix in violation.fix:
                added |= rewrite.add(fix, violation.rule)
    return rewrite, added
