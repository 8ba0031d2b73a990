"""Text and `--json` renderings of `pinguard lock` and `pinguard lock --check` results."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Sequence

from pinguard.engines.lock import Lock
from pinguard.model import Violation


def _finding_lines(findings: Sequence[Violation]) -> List[str]:
    lines = []
    for finding in findings:
        lines += ["", "  [%s] %s" % (finding.rule, finding.summary),
                  "    packages: %s" % ", ".join("%s==%s" % kv for kv in sorted(finding.packages.items()))]
        if finding.fix:
            lines.append("    fix:      %s" % " ".join(finding.fix))
        if finding.sources:
            lines.append("    source:   %s" % finding.sources[0])
    return lines


def _lock_dict(lock: Lock) -> Dict[str, Any]:
    return {
        "python": "%d.%d" % (lock.target.python.major, lock.target.python.minor),
        "platform": lock.target.platform,
        "build": lock.target.build,
        "anchors": list(lock.anchors),
        "backend": lock.backend,
        "packages": [{"name": p.name, "version": str(p.version), "index": p.index, "rules": p.rules,
                      "reasons": p.reasons, "files": len(p.files)} for p in lock.packages],
    }


def render_lock(lock, findings: Sequence[Violation], written: Sequence[str], as_json: bool,
                elapsed: float = 0.0) -> str:
    if as_json:
        payload: Dict[str, Any] = {"ok": not findings, "written": list(written),
                                   "findings": [f.as_dict() for f in findings], "seconds": round(elapsed, 3)}
        if lock is not None:
            payload["lock"] = _lock_dict(lock)
        return json.dumps(payload, indent=2) + "\n"
    if findings:
        lines = ["no lock written: the resolved set still breaks %d rule%s" % (
            len(findings), "" if len(findings) == 1 else "s")] + _finding_lines(findings)
        return "\n".join(lines) + "\n"
    forced = [p for p in lock.packages if p.rules]
    lines = ["locked %d packages for Python %d.%d on %s%s (%s)" % (
        len(lock.packages), lock.target.python.major, lock.target.python.minor, lock.target.platform,
        ", torch build %s" % lock.target.build if lock.target.build else "", lock.backend)]
    for package in forced:
        lines.append("  %s==%s  # %s" % (package.name, package.version, ", ".join(package.rules + [
            r for r in package.reasons if r == "rule-forced"])))
    lines += ["wrote %s" % path for path in written]
    return "\n".join(lines) + "\n"


def render_check(path: str, lock: Lock, findings: Sequence[Violation], as_json: bool) -> str:
    if as_json:
        return json.dumps({"lock": path, "ok": not findings, "anchors": lock.anchors,
                           "python": "%d.%d" % (lock.target.python.major, lock.target.python.minor),
                           "build": lock.target.build, "packages": len(lock.packages),
                           "findings": [f.as_dict() for f in findings]}, indent=2) + "\n"
    if not findings:
        return "ok: %s: %d packages, Python %d.%d, anchors %s, build %s\n" % (
            path, len(lock.packages), lock.target.python.major, lock.target.python.minor,
            " ".join(lock.anchors) or "none", lock.target.build or "PyPI default")
    lines = ["%s: %d finding%s" % (path, len(findings), "" if len(findings) == 1 else "s")]
    return "\n".join(lines + _finding_lines(findings)) + "\n"
