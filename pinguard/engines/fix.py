"""fix: repair a crashed pin list while keeping the anchor. Pure.

1. Diagnose: the crash text against every rule's signatures, `check` on the pin list, and — when the crash was
   classified and release files can be read — the evidence engine (pinguard.engines.evidence): which release of
   which distribution has the missing name, module or parameter, or no longer needs it.
2. Repair the crash: each diagnosed rule's fix, then its alternatives, then each evidence move, is a plan for the
   resolver (pinguard.engines.resolver): only implicated packages may move at first, nearest version first; a
   conflict frees the packages it names. A plan is kept when its resolution introduces no violation the pins did
   not already have, and every release an evidence move chose passes the import check against the other pins.
3. Then clear other violations where the anchor allows; whatever remains is reported (`remaining`), never a
   reason to give up the repair: a rule the input pins already broke and the crash does not involve does not turn
   a repair into "no repair".

Structural findings (family pairing, mixed CUDA builds) are fixed alongside any cause. A crash with a traceback
whose cause neither a rule nor the evidence finds gets no repair, with what was looked for and where.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Set, Tuple

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pinguard.api_types import ApiView
from pinguard.crash import Failure
from pinguard.engines.check import BUILD_MIX, check
from pinguard.engines.conditions import rule_holds
from pinguard.engines.evidence import Evidence, Move, confirm, gather
from pinguard.engines.generate import PAIRING
from pinguard.engines.resolver import (FamilyData, PinResolver, Resolver, UnlistedVersions,
                                       admits_builds, closeness_order, resolve_widening)
from pinguard.errors import BadInput, PinguardError
from pinguard.kb_types import KnowledgeBase
from pinguard.model import Anchor, Context, Pin, Rule, Violation
from pinguard.package_data import PackageData
from pinguard.specs import intersect, normalize, satisfiable

__all__ = ["Diagnosis", "FixResult", "PackageData", "PinChange", "closeness_order", "diagnose", "fix"]

STRUCTURAL = (PAIRING, BUILD_MIX)  # findings fixed alongside any cause: family pairing, mixed CUDA builds
MAX_CONFIRM = 4  # releases an evidence plan may reject by the import check before the plan is dropped


@dataclass(frozen=True)
class Diagnosis:
    rule: Rule
    signature: str
    implicated: Tuple[str, ...]  # env names (normalized)
    holds: bool  # the rule's trigger holds for the pins as given


@dataclass
class PinChange:
    name: str
    display: str
    before: str
    after: str
    reasons: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    name: str
    specs: Mapping[str, SpecifierSet]
    move: Optional[Move] = None
    rules: Tuple[str, ...] = ()


@dataclass
class FixResult:
    pins: List[Tuple[str, str]]  # (display name, version) in the input order
    changes: List[PinChange]
    diagnoses: List[Diagnosis]
    violations_before: List[Violation]
    assumptions: List[str]
    index_hint: Optional[Tuple[str, str]] = None
    considered: List[str] = field(default_factory=list)
    impossible: Optional[str] = None
    evidence: Optional[Evidence] = None
    plan: str = ""
    remaining: List[Violation] = field(default_factory=list)  # violations the repaired pins still have
    confirmed: List[str] = field(default_factory=list)  # evidence: the releases the import check read

    @property
    def ok(self) -> bool:
        return self.impossible is None


def diagnose(kb: KnowledgeBase, env: Sequence[Pin], traceback: str, context: Context,
             unlisted: Optional[UnlistedVersions] = None) -> List[Diagnosis]:
    """Rules whose signature is in the crash text and that point at packages in the pin list.

    A rule about a package the list does not name (protobuf, which pip installs for tensorboard) points at the
    listed packages that require it, and its trigger is judged with the release pip would install."""
    installed = {p.name: p.version for p in env if p.version is not None}
    found = []
    for rule in kb.rules:
        signature = rule.matches_traceback(traceback) if traceback else None
        if signature is None:
            continue
        implicated = tuple(n for n in rule.implicates if n in installed) or tuple(
            n for n in rule.require if n in installed)
        seen = dict(installed)
        if unlisted is not None:
            absent = [n for n in rule.packages() if n not in installed]
            for name in absent:
                version = unlisted.version(name)
                if version is not None:
                    seen[name] = version
            if not implicated:
                implicated = tuple(dict.fromkeys(r for n in rule.implicates if n in absent
                                                 for r in unlisted.requirers(n)))
        if not implicated:
            continue
        found.append(Diagnosis(rule, signature, implicated, rule_holds(rule, seen, context)))
    found.sort(key=lambda d: (not d.holds, d.rule.kind != "constraint"))
    return found


def fix(kb: KnowledgeBase, data: PackageData, env: Sequence[Pin], anchors: Sequence[Anchor], python: Version,
        traceback: str = "", gpu: Optional[Version] = None, assumptions: Sequence[str] = (),
        failure: Optional[Failure] = None, api: Optional[ApiView] = None) -> FixResult:
    """Repair `env` (exact pins) so that the crash goes away and every anchor holds (see the module docstring)."""
    if Resolver is None:
        raise BadInput("pinguard fix needs resolvelib (pip install resolvelib)")
    installed = _validated(env, anchors)
    family = FamilyData(kb, data, python, gpu)
    family.prefetch(list(installed.items()))
    for pin in env:
        if not family.exists(pin.name):
            raise BadInput("unknown package %s: not on the index" % pin.display)
    context = Context(python=python, build=_build(kb, installed), gpu=gpu)
    diagnoses = diagnose(kb, env, traceback, context, UnlistedVersions(family, installed))
    violations = check(kb, env, anchors, python=python, gpu=gpu).violations
    evidence = None
    if failure is not None and api is not None:
        evidence = functools.partial(gather, failure, installed, {a.name for a in anchors},
                                     _versions_for_evidence(family, installed), api, kb.imports, family.requires)
    result = FixResult([(p.display, str(p.version)) for p in env], [], diagnoses, list(violations),
                       list(assumptions))
    repair = _Repair(kb, family, env, anchors, python, gpu, diagnoses, violations, evidence, api)
    return repair.run(result, bool(traceback.strip()))


def _versions_for_evidence(family: FamilyData, installed: Mapping[str, Version]) -> Callable[[str], List[Version]]:
    """Releases the evidence may move to: those with a wheel for the target, when the pinned one has one."""
    def versions(name: str) -> List[Version]:
        binary = family.binary_versions(name)
        current = installed.get(name)
        if binary and current is not None and Version(current.base_version) in binary:
            return binary
        return family.versions(name)
    return versions


def _validated(env: Sequence[Pin], anchors: Sequence[Anchor]) -> Dict[str, Version]:
    for pin in env:
        if pin.version is None:
            raise BadInput("env line %r is not an exact pin (name==version)" % ("%s%s" % (pin.display, pin.specifier)))
    names = {p.name for p in env}
    for anchor in anchors:
        if anchor.name not in names:
            raise BadInput("the anchor %s is not in the environment list" % anchor.text)
    return {p.name: p.version for p in env if p.version is not None}


def _build(kb: KnowledgeBase, installed: Mapping[str, Version]) -> Optional[str]:
    torch = installed.get("torch")
    if torch is None:
        return None
    if torch.local:
        return torch.local
    try:
        return kb.release(torch).default_build
    except PinguardError:
        return None


class _Repair:
    """One fix run: the plans, their resolutions, and the policy that picks one."""

    def __init__(self, kb: KnowledgeBase, family: FamilyData, env: Sequence[Pin], anchors: Sequence[Anchor],
                 python: Version, gpu: Optional[Version], diagnoses: List[Diagnosis], violations: List[Violation],
                 evidence: Optional[Callable[[], Evidence]], api: Optional[ApiView]) -> None:
        self.kb, self.family, self.env, self.anchors = kb, family, env, anchors
        self.python, self.gpu, self.diagnoses, self.violations = python, gpu, diagnoses, violations
        self.read_evidence, self.api = evidence, api
        self.evidence: Optional[Evidence] = None
        self.installed = {p.name: p.version for p in env if p.version is not None}
        self.names = set(self.installed)
        self.anchored = {a.name: a for a in anchors}
        diagnosed = {d.rule.id for d in diagnoses}
        # Rules the pins already break but the crash does not point at stay out of the search: moving packages to
        # satisfy them would be a change nobody asked for (the environment ran that far with them).
        self.already = {v.rule for v in violations} - diagnosed
        self.before = {_key(v) for v in violations}
        self.cleanup_reasons: Dict[str, List[str]] = {}  # package -> the findings its change clears

    # -- the policy ---------------------------------------------------------------------------------------------

    def run(self, result: FixResult, crashed: bool) -> FixResult:
        """The rules' plans first; the releases' files are read only when no rule repairs the crash."""
        plans = self._rule_plans()
        implicated = self._implicated(cause=bool(plans) or crashed)
        found, error = self._first_repair(plans, implicated, result)
        if found is None and self.read_evidence is not None:
            self.evidence = result.evidence = self.read_evidence()
            evidence_plans = self._evidence_plans()
            plans += evidence_plans
            if evidence_plans:
                implicated = self._implicated(cause=True)
                found, error = self._first_repair(evidence_plans, implicated, result)
        if found is None and not plans and implicated:  # no cause for a crash, or no crash: the pins' own findings
            fallback = Plan("the pins' family and build findings" if crashed else "the rules' constraints", {})
            plans = [fallback]
            found, error = self._first_repair(plans, implicated, result)
        if found is None:
            result.impossible = self._no_cause() if not plans else "no repair keeps %s: %s" % (
                ", ".join(a.text for a in self.anchors), error)
            return result
        plan, resolution = found
        resolution = self._clear_others(plan, resolution, implicated, result)
        self._fill(result, plan, resolution)
        return result

    def _no_cause(self) -> str:
        if self.evidence is not None:
            return "no known cause: no rule's error signature matches the traceback and the releases' files show " \
                   "no fix; looked for %s" % self.evidence.looked_for()
        return ("no known cause: no rule's error signature matches the traceback and the pins break no known rule, "
                "so there is nothing to change")

    def _rule_plans(self) -> List[Plan]:
        plans: List[Plan] = []
        for diagnosis in self.diagnoses[:3]:
            rule = diagnosis.rule
            plans.append(Plan("rule %s" % rule.id, {n: s for n, s in rule.require.items() if n in self.names},
                              rules=(rule.id,)))
            for index, alternative in enumerate(rule.alternatives, 1):
                plans.append(Plan("rule %s, alternative %d" % (rule.id, index),
                                  {n: s for n, s in alternative.items() if n in self.names}, rules=(rule.id,)))
        return plans

    def _evidence_plans(self) -> List[Plan]:
        moves = self.evidence.moves if self.evidence is not None else []
        return [Plan("evidence: %s" % move.describe(), {move.dist: move.specifier}, move=move) for move in moves]

    def _implicated(self, cause: bool) -> Set[str]:
        implicated: Set[str] = set()
        for diagnosis in self.diagnoses[:1] + [d for d in self.diagnoses[1:] if d.holds]:
            implicated.update(diagnosis.implicated)
        for violation in self.violations:
            if cause and violation.rule not in STRUCTURAL:
                continue  # with a cause for the crash, other rule findings wait for the clean-up pass
            implicated.update(_fix_names(violation))
        implicated &= self.names
        if implicated & set(self.kb.family.all):
            implicated.update(n for n in self.kb.family.all if n in self.names and (
                n not in self.anchored or admits_builds(self.anchored[n])))
        return implicated

    def _first_repair(self, plans: List[Plan], implicated: Set[str], result: FixResult
                      ) -> Tuple[Optional[Tuple[Plan, Dict[str, Version]]], str]:
        """The first plan that resolves, or (None, the last plan's reason)."""
        last_error = ""
        for plan in plans:
            resolution, error = self._try(plan, implicated, self._rules(), result)
            if resolution is not None:
                return (plan, resolution), ""
            last_error = error
            result.considered.append("%s: %s" % (plan.name, error))
        return None, last_error

    def _rules(self, also: Sequence[str] = ()) -> List[Rule]:
        skip = self.already - set(also)
        return [r for r in self.kb.rules if r.kind == "constraint" and r.id not in skip] + [
            d.rule for d in self.diagnoses if d.rule.kind != "constraint"]

    # -- one plan -----------------------------------------------------------------------------------------------

    def _try(self, plan: Plan, implicated: Set[str], rules: List[Rule], result: FixResult
             ) -> Tuple[Optional[Dict[str, Version]], str]:
        free, root = self._free_and_root(plan, implicated)
        if any(n in self.anchored and not self._satisfiable(root[n], n) for n in root):
            return None, "contradicts the anchor %s" % ", ".join(a.text for a in self.anchors)
        resolver = PinResolver(self.kb, self.family, self.env, self.anchors, self.python, self.gpu, rules,
                               derive_for=[d.rule.id for d in self.diagnoses])
        for _ in range(MAX_CONFIRM + 1):
            resolution, error = resolve_widening(resolver, free, root, self.anchored, self.names)
            if resolution is None:
                return None, error
            rejected = self._unconfirmed(plan, resolution, result)
            if rejected is None:
                break
            dist, version, why = rejected
            root[dist] = intersect([root.get(dist, SpecifierSet()), SpecifierSet("!=%s" % version)])
            result.considered.append("%s: %s %s rejected: %s" % (plan.name, dist, version, why))
        else:
            return None, "every release it chose fails the import check"
        introduced = [v for v in self._check(resolution) if _key(v) not in self.before and set(v.packages) & (
            self._changed(resolution) | implicated)]
        if introduced:
            return None, "leaves " + "; ".join("[%s] %s" % (v.rule, v.summary) for v in introduced)
        return resolution, ""

    def _free_and_root(self, plan: Plan, implicated: Set[str]) -> Tuple[Set[str], Dict[str, SpecifierSet]]:
        free = (implicated | set(plan.specs) | self._coupled(plan)) & self.names
        free = {n for n in free if n not in self.anchored or admits_builds(self.anchored[n])}
        root = {n: intersect([s] + ([self.anchored[n].specifier] if n in self.anchored else []))
                for n, s in plan.specs.items() if n in self.names}
        for name in free:
            if name in self.anchored and name not in root:
                root[name] = self.anchored[name].specifier
        return free, root

    def _coupled(self, plan: Plan) -> Set[str]:
        """For an evidence move: the listed packages the moved one requires. They move with it when its nearer
        releases pin them (transformers pins tokenizers, tensorflow its tensorboard), instead of the move going far
        back to a release that requires nothing listed."""
        if plan.move is None:
            return set()
        dist = plan.move.dist
        try:
            required = self.family.requires(dist, self.installed[dist])
        except PinguardError:
            return set()
        return {normalize(r.name) for r in required} & self.names

    def _satisfiable(self, spec: SpecifierSet, name: str) -> bool:
        current = self.installed[name]
        return satisfiable([spec, self.anchored[name].specifier], [current, Version(current.base_version)])

    def _unconfirmed(self, plan: Plan, resolution: Mapping[str, Version], result: FixResult
                     ) -> Optional[Tuple[str, Version, str]]:
        """(dist, version, why) when the release an evidence move chose fails the import check."""
        move = plan.move
        if move is None or self.api is None or move.dist not in resolution:
            return None
        version = resolution[move.dist]
        problems = confirm(move, Version(version.base_version), resolution, self.api, self.kb.imports,
                           self.installed)
        line = "%s %s: %s" % (move.dist, version, problems[0].describe() if problems else
                              "its imports find what they need in the other pins")
        if line not in result.confirmed:
            result.confirmed.append(line)
        return (move.dist, version, problems[0].describe()) if problems else None

    def _check(self, resolution: Mapping[str, Version]) -> List[Violation]:
        pins = [Pin(n, n, SpecifierSet("==%s" % v)) for n, v in resolution.items()]
        return check(self.kb, pins, self.anchors, python=self.python, gpu=self.gpu).violations

    def _changed(self, resolution: Mapping[str, Version]) -> Set[str]:
        return {n for n in resolution if resolution[n] != self.installed[n]}

    # -- after the crash: the other findings --------------------------------------------------------------------

    def _clear_others(self, plan: Plan, resolution: Dict[str, Version], implicated: Set[str],
                      result: FixResult) -> Dict[str, Version]:
        """Clear, one by one, violations the repaired pins still have, keeping the repair; report the rest."""
        for violation in [v for v in self._check(resolution) if v.rule not in STRUCTURAL]:
            if violation.rule not in {r.id for r in self.kb.rules}:
                continue
            keep = {n: SpecifierSet("==%s" % v) for n, v in resolution.items() if v != self.installed[n]}
            specs = dict(plan.specs, **{n: intersect([keep[n], plan.specs[n]]) if n in plan.specs else keep[n]
                                        for n in keep})
            cleanup = Plan("%s, then clearing [%s]" % (plan.name, violation.rule), specs, plan.move, plan.rules)
            wider = implicated | _fix_names(violation) | set(keep)
            cleared, error = self._try(cleanup, wider, self._rules(also=[violation.rule]), result)
            if cleared is not None and _key(violation) not in {_key(v) for v in self._check(cleared)}:
                for name in cleared:
                    if cleared[name] != resolution.get(name):
                        self.cleanup_reasons.setdefault(name, []).append("clears [%s]" % violation.rule)
                resolution = cleared
            else:
                result.considered.append("clearing [%s] too: %s" % (violation.rule, error or "it stays"))
        result.remaining = [v for v in self._check(resolution)]
        return resolution

    def _fill(self, result: FixResult, plan: Plan, resolution: Mapping[str, Version]) -> None:
        reasons: Dict[str, List[str]] = {}
        for diagnosis in self.diagnoses:
            for name in set(diagnosis.implicated) | set(diagnosis.rule.require):
                reasons.setdefault(name, []).append(diagnosis.rule.id)
        if plan.move is not None:
            reasons.setdefault(plan.move.dist, []).insert(0, "evidence")
        for name, cleared in self.cleanup_reasons.items():
            reasons.setdefault(name, []).extend(cleared)
        result.plan = plan.name
        result.pins = []
        for pin in self.env:
            after = resolution.get(pin.name, pin.version)
            result.pins.append((pin.display, str(after)))
            if after != pin.version:
                result.changes.append(PinChange(pin.name, pin.display, str(pin.version), str(after),
                                                reasons.get(pin.name) or ["needed by the change (%s)" % plan.name]))
        torch = resolution.get("torch")
        if torch is not None and torch.local:
            try:
                result.index_hint = self.kb.index_for(self.kb.release(torch), torch.local)
            except PinguardError:
                pass


def _key(violation: Violation) -> Tuple[str, str]:
    return violation.rule, ",".join(sorted(violation.packages))


def _fix_names(violation: Violation) -> Set[str]:
    names = set()
    for line in violation.fix:
        try:
            names.add(normalize(Requirement(line).name))
        except Exception:  # noqa: BLE001 - a fix text that is not a requirement names no package
            continue
    return names
