"""conda_request: judge requested conda specs against a guard table. Pure, and light enough for conda's pre-solve.

A guard table is plain JSON-able data computed from the anchors and the knowledge base by
`engines.conda_rules.guard_table` (at `pinguard init` time it is stored in `<prefix>/etc/pinguard/guard.json`, so
the pre-solve hook needs neither the knowledge base nor `packaging`):

    {"anchors": ["numpy==1.19.5", ...],
     "anchored": {"numpy": "numpy"},                      # conda name -> PyPI name of each anchored package
     "guards": [{"conda": ["numpy"], "pypi": "numpy", "spec": "==1.19.5",   # conda version spec to stay within
                 "build": "py37h3e96413_3",               # the anchored record's build ("" = any)
                 "rule": "anchor-changed", "requirement": "numpy==1.19.5", "anchor": true,
                 "summary": "...", "sources": [...], "confidence": "H"}, ...],
     "cuda": {"record": "pytorch-1.10.0-py3.7_cuda11.3_cudnn8.2.0_0", "major": 11, "minor": 3,
              "selectors": {"cudatoolkit": {"match": "minor", "at_least": true, "sources": [...], ...}}}}

`judge_request_table` answers: which requested specs cannot be met without leaving a guard (a version range that
cannot hold the anchor or a constraint the anchor implies, a build glob that excludes the anchored build, a CUDA
runtime that is not pytorch's), and which removals would remove an anchored package.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from pinguard.conda_spec import CondaSpec, VersionSpec
from pinguard.pep503 import normalize

ANCHOR_CHANGED = "anchor-changed"  # = engines.check.ANCHOR_CHANGED (not imported: this module stays light)
CUDA_MIX = "conda-cuda-mix"  # = engines.conda_rules.CUDA_MIX
_NUMBER = re.compile(r"\d+(?:\.\d+)*")


class Refusal:
    """A refused request; has the attributes of model.Violation that the plugin prints."""

    __slots__ = ("rule", "summary", "packages", "fix", "sources", "confidence")

    def __init__(self, rule: str, summary: str, packages: Mapping[str, str], fix: Sequence[str],
                 sources: Sequence[str] = (), confidence: str = "H") -> None:
        self.rule, self.summary, self.packages = rule, summary, dict(packages)
        self.fix, self.sources, self.confidence = tuple(fix), tuple(sources), confidence

    def __repr__(self) -> str:
        return "Refusal(%r, %r)" % (self.rule, self.summary)


def _probes(*specs: str) -> List[str]:
    """Versions straddling every boundary either spec mentions (1.21 -> 1.21, 1.21.0, 1.21.1, 1.22, 1.20.999...)."""
    found = {"0", "0.0.1", "99999"}
    for spec in specs:
        for text in _NUMBER.findall(spec or ""):
            parts = [int(p) for p in text.split(".")]
            found.add(text)
            found.add(".".join(map(str, parts + [0])))
            found.add(".".join(map(str, parts + [1])))
            found.add(".".join(map(str, parts[:-1] + [parts[-1] + 1])))
            if parts[-1] > 0:
                found.add(".".join(map(str, parts[:-1] + [parts[-1] - 1, 999])))
            elif len(parts) > 1 and parts[-2] > 0:
                found.add(".".join(map(str, parts[:-2] + [parts[-2] - 1, 999])))
    return sorted(found)


def specs_meet(request: Optional[str], guard: Optional[str]) -> bool:
    """Can one version satisfy both conda version specs? (None = any version.)"""
    if not request or not guard:
        return True
    left, right = VersionSpec(request), VersionSpec(guard)
    return any(left.match(v) and right.match(v) for v in _probes(request, guard))


def _cuda_candidates(major: int, minor: int, match: str) -> List[str]:
    if match == "minor":
        return ["%d.%d" % (major, minor)] + ["%d.%d.%d" % (major, minor, p) for p in (0, 1, 2, 89, 100)]
    out = []
    for m in range(minor, 10):
        out.extend(["%d.%d" % (major, m), "%d.%d.0" % (major, m)])
    return out


def judge_request_table(table: Mapping[str, Any], specs_to_add: Sequence[CondaSpec],
                        specs_to_remove: Sequence[CondaSpec],
                        installed: Mapping[str, Tuple[str, str]]) -> List[Refusal]:
    """Refusals for a request; `installed`: conda name -> (version, build) of the environment's records."""
    anchored: Dict[str, str] = dict(table.get("anchored") or {})
    anchors = {}
    for text in table.get("anchors") or ():
        anchors[_name(str(text))] = str(text)
    refusals: List[Refusal] = []
    for spec in specs_to_remove:
        if spec.name in anchored and spec.name in installed:
            version, build = installed[spec.name]
            pypi = anchored[spec.name]
            refusals.append(Refusal(ANCHOR_CHANGED, "removing %s would remove %s-%s-%s, but the environment is "
                                    "anchored to %s" % (spec, spec.name, version, build, anchors.get(pypi, pypi)),
                                    {pypi: version}, ("%s==%s=%s" % (spec.name, version, build),)))
    guards = list(table.get("guards") or ())
    cuda = table.get("cuda") or {}
    for spec in specs_to_add:
        for guard in guards:
            if spec.name not in guard.get("conda", ()):
                continue
            pypi = str(guard.get("pypi") or spec.name)
            have = installed.get(spec.name, (spec.version or "any", ""))[0]
            if not specs_meet(spec.version, guard.get("spec")):
                if guard.get("anchor"):
                    summary = "the request %s excludes %s, the anchor of this environment" % (
                        spec, guard["requirement"])
                else:
                    summary = "the request %s excludes %s, which the anchor requires (%s)" % (
                        spec, guard["requirement"], guard.get("summary") or "implied by the anchor")
                refusals.append(Refusal(str(guard.get("rule") or ANCHOR_CHANGED), summary, {pypi: have},
                                        (str(guard["requirement"]),), guard.get("sources") or (),
                                        str(guard.get("confidence") or "H")))
            elif guard.get("anchor") and spec.build and spec.name in installed and not spec.matches_build(
                    installed[spec.name][1]):
                version, build = installed[spec.name]
                refusals.append(Refusal(ANCHOR_CHANGED, "the request %s excludes the anchored build %s-%s-%s" % (
                    spec, spec.name, version, build), {pypi: version}, ("%s==%s=%s" % (spec.name, version, build),)))
        selectors = cuda.get("selectors") or {}
        selector = selectors.get(spec.name) if isinstance(selectors, dict) else None
        if selector and spec.version:
            major, minor = int(cuda["major"]), int(cuda["minor"])
            if not any(spec.matches_version(v) for v in _cuda_candidates(major, minor, selector["match"])):
                refusals.append(Refusal(
                    CUDA_MIX, "the request %s is not CUDA %d.%d, the CUDA the anchored %s is built for" % (
                        spec, major, minor, cuda.get("record")),
                    {"torch": str(cuda.get("version", "")), spec.name: spec.version},
                    ("%s %d.%d.*" % (spec.name, major, minor),), selector.get("sources") or (),
                    str(selector.get("confidence") or "H")))
    return refusals


def _name(requirement: str) -> str:
    found = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return normalize(found.group(1)) if found else requirement
