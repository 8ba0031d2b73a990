"""`pinguard knowledge verify`: which checks to run, and what their findings add up to. Pure.

The checks themselves live in verify_family (torch.toml: pairings, Python lists, new releases) and verify_rules
(rules.toml: each rule's evidence); each is a function of a `ReleaseView` returning one `Finding`. The caller
(pinguard/adapters/knowledge_verify.py) runs them, in parallel, against the index.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from pinguard.engines.verify_family import known_versions, new_release_check, release_checks
from pinguard.engines.verify_rules import evidence_checks
from pinguard.errors import BadInput
from pinguard.kb_types import KnowledgeBase
from pinguard.model import Release, Rule
from pinguard.verify_types import DISAGREED, NEW, SOURCES, STATUSES, UNVERIFIABLE, Finding, ReleaseView

Check = Callable[[ReleaseView], Finding]
T = TypeVar("T")

#: How a rule stands once its evidence is read: every machine claim agreed (`code`), and it also has claims only
#: its sources back (`code+sources`); only such claims (`sources`); a claim disagreed; a claim could not be read.
RULE_STATES = ("code", "code+sources", "sources", "disagreed", "unverifiable", "no evidence")


@dataclass
class Plan:
    """The checks to run, in the order their findings are shown."""

    checks: List[Tuple[str, Check]] = field(default_factory=list)  # (kind, check)
    releases: List[Release] = field(default_factory=list)
    rules: List[Rule] = field(default_factory=list)


def spread(items: Sequence[T], count: Optional[int]) -> List[T]:
    """`count` items evenly spread over `items` (first and last included), or all of them."""
    if count is None or count >= len(items):
        return list(items)
    if count <= 1:
        return [items[len(items) // 2]] if count == 1 else []
    step = (len(items) - 1) / (count - 1)
    return [items[round(i * step)] for i in range(count)]


def select_releases(kb: KnowledgeBase, wanted: Optional[Sequence[str]]) -> List[Release]:
    if not wanted:
        return list(kb.releases)
    chosen = []
    for text in wanted:
        matches = [r for r in kb.releases if str(r.torch) == text or fnmatch.fnmatchcase(str(r.torch), text)]
        if not matches:
            raise BadInput("--releases %s: torch.toml lists no such torch release (known: %s ... %s)" % (
                text, kb.releases[0].torch, kb.releases[-1].torch))
        chosen += [r for r in matches if r not in chosen]
    return sorted(chosen, key=lambda r: r.torch)


def select_rules(kb: KnowledgeBase, wanted: Optional[Sequence[str]]) -> List[Rule]:
    if not wanted:
        return list(kb.rules)
    chosen = []
    for pattern in wanted:
        matches = [r for r in kb.rules if r.id == pattern or fnmatch.fnmatchcase(r.id, pattern)]
        if not matches:
            raise BadInput("--rules %s: rules.toml has no rule with that id (a glob such as 'mmdet-*' works)"
                           % pattern)
        chosen += [r for r in matches if r not in chosen]
    return [r for r in kb.rules if r in chosen]


def plan(kb: KnowledgeBase, releases: Optional[Sequence[str]] = None, rules: Optional[Sequence[str]] = None,
         sample: Optional[int] = None) -> Plan:
    """The checks for a selection: `releases` (torch versions or globs) limits the torch.toml checks, `rules`
    (ids or globs) the evidence checks; giving only one of them skips the other part. `sample` keeps that many
    torch releases and that many rules with machine-checkable evidence, evenly spread. New releases are looked
    for unless the torch releases were chosen by name."""
    if sample is not None and sample < 1:
        raise BadInput("--sample takes a number of at least 1, not %d" % sample)
    result = Plan()
    if releases or not rules:
        result.releases = spread(select_releases(kb, releases), sample)
    if rules or not releases:
        chosen = select_rules(kb, rules)
        if sample is not None:
            chosen = spread([r for r in chosen if any(e.machine for e in r.evidence)], sample)
        result.rules = chosen
    for release in result.releases:
        result.checks.extend(release_checks(release))
    if not releases and (result.releases or not rules):
        known = known_versions(kb.releases, kb.family.members)
        for dist in kb.family.all:
            result.checks.append(("release", new_release_check(dist, known.get(dist, []), dist != "torch")))
    for rule in result.rules:
        result.checks.extend(("evidence", check) for check in evidence_checks(rule))
    return result


def rule_states(rules: Sequence[Rule], findings: Sequence[Finding]) -> Dict[str, str]:
    """rule id -> one of RULE_STATES."""
    by_rule: Dict[str, List[Finding]] = {}
    for finding in findings:
        if finding.rule:
            by_rule.setdefault(finding.rule, []).append(finding)
    states = {}
    for rule in rules:
        statuses = [f.status for f in by_rule.get(rule.id, [])]
        machine = [s for s in statuses if s != SOURCES]
        if not statuses:
            states[rule.id] = "no evidence"
        elif DISAGREED in machine:
            states[rule.id] = "disagreed"
        elif UNVERIFIABLE in machine:
            states[rule.id] = "unverifiable"
        elif machine:
            states[rule.id] = "code+sources" if SOURCES in statuses else "code"
        else:
            states[rule.id] = "sources"
    return states


def summarize(result: Plan, findings: Sequence[Finding]) -> Dict[str, object]:
    """Counts for the table's last lines, the bench and --json."""
    by_check: Dict[str, Dict[str, int]] = {}
    for finding in findings:
        counts = by_check.setdefault(finding.check, {s: 0 for s in STATUSES})
        counts[finding.status] += 1
    states = rule_states(result.rules, findings)
    rules = {state: sum(1 for s in states.values() if s == state) for state in RULE_STATES}
    totals = {s: sum(1 for f in findings if f.status == s) for s in STATUSES}
    return {"checks": by_check, "totals": totals, "rules": rules, "rule_states": states,
            "releases": len(result.releases), "rules_selected": len(result.rules),
            "new": [f.detail for f in findings if f.status == NEW]}


def exit_status(findings: Sequence[Finding]) -> int:
    """1 when a claim disagreed with the releases, else 0."""
    return 1 if any(f.status == DISAGREED for f in findings) else 0

