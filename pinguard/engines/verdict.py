"""verdict: judge a planned change to an environment against its anchors. Pure; one engine, two doors.

The pip guard (`pinguard pip install`) and the conda plugin (post-solve hook) both describe what they are about to
do as a before/after pair of package sets and ask `judge`. A change is refused when it:

- changes an anchor package (another version, or another build of the same version);
- overwrites a package another installer owns (conda) with pip;
- introduces a violation `check` finds (a rule, the torch family pairing, mixed CUDA builds) that was not there
  before. Violations the environment already had are reported as warnings, not reasons to refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from pinguard.engines.check import ANCHOR_CHANGED, check
from pinguard.kb_types import KnowledgeBase
from pinguard.model import Anchor, Pin, Violation

CONDA_OWNED = "conda-owned"


@dataclass(frozen=True)
class Installed:
    """One installed distribution as the environment reader sees it."""

    name: str  # normalized
    version: str
    installer: str = ""  # INSTALLER content: pip, conda, uv, ...


@dataclass(frozen=True)
class Change:
    name: str
    before: Optional[str]  # None = not installed
    after: Optional[str]  # None = removed

    def describe(self) -> str:
        if self.before is None:
            return "install %s %s" % (self.name, self.after)
        if self.after is None:
            return "remove %s %s" % (self.name, self.before)
        return "%s %s -> %s" % (self.name, self.before, self.after)


@dataclass
class Verdict:
    allowed: bool
    refusals: List[Violation] = field(default_factory=list)
    warnings: List[Violation] = field(default_factory=list)
    changes: List[Change] = field(default_factory=list)

    def as_dict(self) -> Dict[str, object]:
        return {
            "allowed": self.allowed,
            "refusals": [v.as_dict() for v in self.refusals],
            "warnings": [v.as_dict() for v in self.warnings],
            "changes": [{"name": c.name, "before": c.before, "after": c.after} for c in self.changes],
        }


def _pins(versions: Mapping[str, str]) -> List[Pin]:
    pins = []
    for name, version in sorted(versions.items()):
        try:
            Version(version)
        except InvalidVersion:
            continue  # legacy versions cannot be judged; they are neither pinned nor refused
        pins.append(Pin(name, name, SpecifierSet("==" + version)))
    return pins


def _holds(anchor: Anchor, version: Optional[str]) -> bool:
    """Does `version` satisfy the anchor? (None = absent; a version PEP 440 cannot read does not.)"""
    if version is None:
        return False
    try:
        return anchor.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def _key(violation: Violation) -> tuple:
    return (violation.rule, tuple(sorted(violation.packages)), violation.fix)


def judge(kb: KnowledgeBase, installed: Sequence[Installed], planned: Mapping[str, str],
          anchors: Sequence[Anchor], python: Optional[Version] = None, removals: Sequence[str] = (),
          installer: str = "pip") -> Verdict:
    """Judge installing `planned` (name -> version) and removing `removals` over `installed`."""
    before = {d.name: d.version for d in installed}
    owners = {d.name: d.installer for d in installed}
    after = dict(before)
    after.update(planned)
    for name in removals:
        after.pop(name, None)
    changes = [Change(n, before.get(n), after.get(n)) for n in sorted(set(before) | set(after))
               if before.get(n) != after.get(n)]
    refusals: List[Violation] = []
    warnings_before: List[Violation] = []
    for anchor in anchors:
        old, new = before.get(anchor.name), after.get(anchor.name)
        if old is not None and new != old and (_holds(anchor, old) or not _holds(anchor, new)):
            what = "remove it" if new is None else "replace %s with %s" % (old, new)
            refusals.append(Violation(ANCHOR_CHANGED, "the plan would %s, but the environment is anchored to %s" % (
                what, anchor.text), {anchor.name: old}, (anchor.text,), ()))
        elif new is not None and new != old and not _holds(anchor, new):
            refusals.append(Violation(ANCHOR_CHANGED, "the plan would install %s %s, outside the anchor %s" % (
                anchor.name, new, anchor.text), {anchor.name: new}, (anchor.text,), ()))
        elif new is not None and new == old and not _holds(anchor, new):
            # already broken before this plan: a warning; a plan that moves it back into the anchor is allowed above
            warnings_before.append(Violation(ANCHOR_CHANGED, "%s %s does not satisfy the anchor %s (it did not before "
                                             "this plan either)" % (anchor.name, new, anchor.text), {anchor.name: new},
                                             (anchor.text,), ()))
    for change in changes:
        owner = owners.get(change.name, "")
        if change.before is not None and owner and owner != installer and owner == "conda":
            refusals.append(Violation(CONDA_OWNED, "%s %s was installed by conda; %s would overwrite it, leaving "
                                      "conda's record stale" % (change.name, change.before, installer),
                                      {change.name: change.before},
                                      ("conda install %s=%s" % (change.name, change.after) if change.after else "",),
                                      kb.finding_sources(CONDA_OWNED)))
    old_keys = {_key(v) for v in check(kb, _pins(before), anchors, python=python).violations}
    changed = {c.name for c in changes}
    warnings: List[Violation] = list(warnings_before)
    for violation in check(kb, _pins(after), anchors, python=python).violations:
        if violation.rule == ANCHOR_CHANGED:
            continue  # judged above with the before/after view
        if _key(violation) in old_keys or not (set(violation.packages) & changed):
            warnings.append(violation)
        else:
            refusals.append(violation)
    return Verdict(not refusals, refusals, warnings, changes)
