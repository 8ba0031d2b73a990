"""`pinguard doctor`: read the live environment (probe, GPU, pip check, pinguard.toml, what each installer frontend
says of its own files), diagnose, render."""

from __future__ import annotations

import json
from typing import List, Optional, Sequence, Tuple

from pinguard import __version__, kb as kb_module
from pinguard.adapters import install_state
from pinguard.adapters.frontend import DoctorTarget, frontends
from pinguard.engines.doctor import Facts, Finding, diagnose
from pinguard.model import Anchor
from pinguard.sources.environment import pip_check, read_environment
from pinguard.sources.gpu_probe import probe_gpu


def collect(python: Optional[str]) -> Facts:
    env = read_environment(python)
    state = install_state.read_state(env.prefix)
    anchors = [Anchor.parse(a) for a in (state.anchors if state else [])]
    python_option = " --python %s" % env.executable if python else ""
    target = DoctorTarget(env, state, python_option)
    protection = [finding for frontend in frontends() for finding in frontend.doctor(target)]
    return Facts(prefix=env.prefix, python=env.python, python_text=env.python_text, pip=env.pip,
                 distributions=env.distributions, conda=env.conda, torch=env.torch, gpu=probe_gpu(),
                 anchors=anchors, initialized=state is not None, protection=protection, pip_check=pip_check(env),
                 python_option=python_option)


def run(python: Optional[str]) -> Tuple[Facts, List[Finding]]:
    facts = collect(python)
    return facts, diagnose(kb_module.load(), facts)


def render_text(facts: Facts, findings: Sequence[Finding]) -> str:
    counts = {s: sum(1 for f in findings if f.severity == s) for s in ("error", "warning")}
    lines = ["pinguard doctor: %s (Python %s, pip %s): %d error%s, %d warning%s" % (
        facts.prefix, facts.python_text, facts.pip or "not installed", counts["error"],
        "" if counts["error"] == 1 else "s", counts["warning"], "" if counts["warning"] == 1 else "s")]
    for finding in findings:
        lines.append("%-7s [%s] %s" % (finding.severity, finding.code, finding.summary))
        if finding.fix:
            lines.append("        fix: %s" % finding.fix)
        sources = finding.details.get("sources") if isinstance(finding.details, dict) else None
        if sources:
            lines.append("        source: %s" % sources[0])
    return "\n".join(lines) + "\n"


def render_json(facts: Facts, findings: Sequence[Finding]) -> str:
    return json.dumps({
        "pinguard": __version__,
        "prefix": facts.prefix,
        "python": facts.python_text,
        "pip": facts.pip,
        "anchors": [a.text for a in facts.anchors],
        "gpu": dict(facts.gpu),
        "errors": sum(1 for f in findings if f.severity == "error"),
        "warnings": sum(1 for f in findings if f.severity == "warning"),
        "findings": [f.as_dict() for f in findings],
    }, indent=2) + "\n"
