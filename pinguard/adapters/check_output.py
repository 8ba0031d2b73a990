"""Render a `check` result (pin list or conda prefix): text on stdout with notes for stderr, or JSON. Pure."""

from __future__ import annotations

import json
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from pinguard.engines.check import CheckResult
from pinguard.model import Anchor
from pinguard.violation_text import violation_lines


def render_check(result: CheckResult, anchors: Sequence[Anchor], count: int, python_text: Any, as_json: bool,
                 unjudged: Sequence[Any] = (), extra: Optional[Mapping[str, Any]] = None) -> Tuple[str, List[str]]:
    """(stdout text, stderr lines) for a check of `count` pins; `extra` keys lead the JSON payload."""
    if as_json:
        payload = dict(extra or {})
        payload.update({
            "anchors": [a.text for a in anchors],
            "python": python_text,
            "clean": not result.violations,
            "violations": [v.as_dict() for v in result.violations],
            "unjudged": [u.as_dict() for u in unjudged],
            "notes": result.notes,
        })
        return json.dumps(payload, indent=2) + "\n", []
    judged = count - len([u for u in unjudged if u.why.startswith("no exact")])
    notes = ["note: %s" % note for note in result.notes]
    notes += ["note: not judged: %s (%s): %s" % (u.text, u.where, u.why) for u in unjudged]
    return _text(result, anchors, judged), notes


def _text(result: CheckResult, anchors: Sequence[Anchor], count: int) -> str:
    label = ", ".join(a.text for a in anchors)
    violations = result.violations
    if not violations:
        lines = ["ok: %d pins are consistent with %s" % (count, label)]
    else:
        lines = ["%d violation%s of %s:" % (len(violations), "" if len(violations) == 1 else "s", label)]
    for violation in violations:
        lines.append("")
        lines.extend(violation_lines(violation, sources=3))
    return "\n".join(lines) + "\n"
