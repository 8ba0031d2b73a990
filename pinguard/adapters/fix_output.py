"""Render a `FixResult`: bare pins (the missions' mandate), an explanation, or JSON."""

from __future__ import annotations

import json
from typing import Any, Dict, List

from pinguard.engines.evidence import Evidence
from pinguard.engines.fix import FixResult
from pinguard.kb_types import KnowledgeBase


def render_fix(kb: KnowledgeBase, result: FixResult, fmt: str) -> str:
    if fmt == "json":
        return _json(result)
    if fmt == "explain":
        return _explain(result)
    if not result.ok:
        return ""
    return "".join("%s==%s\n" % pin for pin in result.pins)


def _evidence_json(evidence: Evidence) -> Dict[str, Any]:
    return {
        "failure": evidence.failure.describe() if evidence.failure else None,
        "moves": [{"dist": m.dist, "role": m.role, "need": m.hypothesis.need, "allowed": str(m.specifier),
                   "proofs": [{"dist": p.dist, "version": p.version, "fact": p.fact, "holds": p.holds}
                              for p in m.proofs()]} for m in evidence.moves],
        "looked_for": evidence.looked_for(),
    }


def _json(result: FixResult) -> str:
    payload = {
        "ok": result.ok,
        "pins": ["%s==%s" % pin for pin in result.pins] if result.ok else None,
        "changes": [{"name": c.display, "before": c.before, "after": c.after, "rules": c.reasons}
                    for c in result.changes],
        "plan": result.plan or None,
        "diagnoses": [{"rule": d.rule.id, "summary": d.rule.summary, "signature": d.signature,
                       "implicated": list(d.implicated), "trigger_holds": d.holds, "sources": list(d.rule.sources),
                       "confidence": d.rule.confidence} for d in result.diagnoses],
        "evidence": _evidence_json(result.evidence) if result.evidence is not None else None,
        "confirmed": result.confirmed,
        "violations_before": [v.as_dict() for v in result.violations_before],
        "remaining": [v.as_dict() for v in result.remaining],
        "assumptions": result.assumptions,
        "index": {"option": result.index_hint[0], "url": result.index_hint[1]} if result.index_hint else None,
        "considered": result.considered,
        "impossible": result.impossible,
    }
    return json.dumps(payload, indent=2) + "\n"


def _explain(result: FixResult) -> str:
    lines: List[str] = []
    if result.diagnoses:
        lines.append("diagnosis:")
        for diagnosis in result.diagnoses[:3]:
            rule = diagnosis.rule
            lines.append("  [%s] %s" % (rule.id, rule.summary))
            lines.append("    matched: /%s/" % diagnosis.signature)
            lines.append("    implicates: %s; trigger %s for these pins; confidence %s" % (
                ", ".join(diagnosis.implicated), "holds" if diagnosis.holds else "does not hold", rule.confidence))
            lines.append("    source: %s" % ", ".join(rule.sources[:3]))
    else:
        lines.append("diagnosis: no rule's error signature matches the traceback")
    lines += _explain_evidence(result)
    for violation in result.violations_before:
        lines.append("  check: [%s] %s" % (violation.rule, violation.summary))
    lines.append("assumed: %s" % "; ".join(result.assumptions) if result.assumptions else "assumed: nothing")
    if result.ok:
        lines.append("changes:" if result.changes else "changes: none")
        for change in result.changes:
            lines.append("  %s %s -> %s  (%s)" % (change.display, change.before, change.after,
                                                 ", ".join(change.reasons)))
        if result.plan:
            lines.append("plan: %s" % result.plan)
        for confirmed in result.confirmed:
            lines.append("import check: %s" % confirmed)
        if result.index_hint:
            lines.append("index: the +build pins are not on PyPI: pip install %s %s" % result.index_hint)
        for violation in result.remaining:
            lines.append("remains: [%s] %s (fix: %s; no change that keeps the anchor and the repair clears it)" % (
                violation.rule, violation.summary, " ".join(violation.fix) or "none known"))
    else:
        lines.append("no repair: %s" % result.impossible)
    for considered in result.considered:
        lines.append("considered: %s" % considered)
    return "\n".join(lines) + "\n"


def _explain_evidence(result: FixResult) -> List[str]:
    evidence = result.evidence
    if evidence is None or evidence.failure is None:
        return []
    lines = ["evidence: %s" % evidence.failure.describe()]
    if not evidence.moves:
        lines.append("  no release shows a fix; looked for %s" % evidence.looked_for())
    for move in evidence.moves:
        lines.append("  %s" % move.describe())
        for proof in move.proofs():
            lines.append("    %s %s" % ("+" if proof.holds else "-", proof.describe()))
    return lines
