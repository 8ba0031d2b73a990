"""Text and JSON for guarded installs (`pinguard pip install`, the hook) and `pinguard doctor`. Pure."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from pinguard.engines.guard import PlanItem, Rewrite
from pinguard.engines.verdict import Verdict
from pinguard.violation_text import violation_lines, violation_title

#: How a guarded install learned its plan (the `method` of a verdict), in words.
METHODS = {
    "session": "pip's own resolver, judged in the same pip process before it installs",
    "report": "pip install --dry-run --report, then the judged plan installed with --no-deps",
    "requested": "the requested requirements only (this pip cannot report a plan); pip.conf constraints apply",
    "uv": "uv pip install --dry-run, then the judged plan installed with --no-deps",
    "hook": "the in-process hook inside pip",
    "prejudge": "the requirements named on the command line, before anything was resolved",
}


def plan_lines(verdict: Verdict, items: Sequence[PlanItem], indent: str = "  ") -> List[str]:
    if not verdict.changes:
        return ["%snothing to change" % indent]
    direct = {i.name: i for i in items if i.direct}
    lines = []
    for change in verdict.changes:
        text = change.describe()
        if change.name in direct and direct[change.name].url:
            text += " (from %s)" % direct[change.name].url
        lines.append("%s%s" % (indent, text))
    return lines


def verdict_lines(verdict: Verdict, items: Sequence[PlanItem], method: str, anchors: Sequence[str],
                  tool: str = "pip", dry_run: bool = False, request: str = "",
                  rewrite: Optional[Rewrite] = None, anchor_source: str = "") -> List[str]:
    label = ", ".join(anchors) if anchors else "no anchor recorded (pinguard init ANCHOR)"
    lines: List[str] = []
    if verdict.allowed:
        head = "pinguard: would allow" if dry_run else "pinguard: allowed"
        lines.append("%s (anchor: %s)" % (head, label))
    else:
        lines.append("pinguard: refused: this %s install would break the environment (anchor: %s)" % (tool, label))
    for violation in verdict.refusals:
        lines.extend(violation_lines(violation, fix_label="keep", anchor_source=anchor_source))
    if rewrite is not None and rewrite.lines:
        lines.append("  rewritten with these constraints:")
        for line in rewrite.lines:
            lines.append("    %s  # %s" % (line, rewrite.reasons.get(line, "")))
    if items or verdict.changes:
        lines.append("  plan (%s):" % METHODS.get(method, method))
        lines.extend(plan_lines(verdict, items, "    "))
    for violation in verdict.warnings:
        lines.append("  warning: already broken before this install: %s" % violation_title(violation))
    if method == "prejudge":
        request = ""  # the command line itself asks for what is refused: --rewrite cannot change that
    if not verdict.allowed:
        lines.append("  nothing was installed%s" % (
            "; to keep the anchor and let %s pick other versions: pinguard %s install --rewrite %s" % (
                tool, "pip" if tool == "pip" else "uv pip", request) if request and rewrite is None else ""))
    return lines


def verdict_json(verdict: Optional[Verdict], items: Sequence[PlanItem], method: str, anchors: Sequence[str],
                 *, dry_run: bool, installed: bool, exit_code: int, tool: str = "pip",
                 rewrite: Optional[Rewrite] = None, notes: Sequence[str] = (),
                 error: Optional[str] = None) -> Dict[str, Any]:
    return {
        "tool": tool,
        "anchors": list(anchors),
        "method": method,
        "method_description": METHODS.get(method, method),
        "dry_run": dry_run,
        "allowed": verdict.allowed if verdict is not None else None,
        "installed": installed,
        "exit_code": exit_code,
        "verdict": verdict.as_dict() if verdict is not None else None,
        "plan": [i.as_dict() for i in items],
        "rewrite": [{"constraint": l, "reason": rewrite.reasons.get(l, "")} for l in rewrite.lines] if rewrite else [],
        "notes": list(notes),
        "error": error,
    }


def refusal_summary(verdict: Verdict) -> str:
    """One line for pip's own error message (the hook)."""
    first = verdict.refusals[0] if verdict.refusals else None
    if first is None:
        return "pinguard refused this install"
    more = len(verdict.refusals) - 1
    return "pinguard refused this install: %s%s" % (violation_title(first), " (and %d more)" % more if more else "")
