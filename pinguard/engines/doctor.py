"""doctor: findings about one live environment, each with the command that fixes it. Pure.

Input is what the sources read (the environment probe, the GPU probe, `pip check`, pinguard.toml) and what the
installer frontends found about their own files (adapters/frontend.py); output is a list of `Finding`s, most severe
first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from pinguard.engines.check import check
from pinguard.engines.guard import installed_view
from pinguard.errors import PinguardError
from pinguard.kb_types import KnowledgeBase
from pinguard.model import Anchor, Pin
from pinguard.specs import normalize

SEVERITIES = ("error", "warning", "info")
_PIP_CHECK_HAS = re.compile(r"^(?P<who>\S+) (?P<version>\S+) has requirement (?P<req>.+), but you have "
                            r"(?P<name>\S+) (?P<have>\S+)\.?$")
_PIP_CHECK_REQUIRES = re.compile(r"^(?P<who>\S+) (?P<version>\S+) requires (?P<name>[^,]+), which is not installed\.?$")


@dataclass
class Finding:
    severity: str  # error | warning | info
    code: str
    summary: str
    fix: str = ""
    details: Dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> Dict[str, Any]:
        return {"severity": self.severity, "code": self.code, "summary": self.summary, "fix": self.fix or None,
                "details": self.details}


@dataclass
class Facts:
    """Everything doctor looks at, read by sources/adapters."""

    prefix: str
    python: Optional[Version]  # None: the interpreter reported a version pinguard cannot read
    python_text: str
    pip: Optional[str]
    distributions: Sequence[Mapping[str, Any]]
    conda: Optional[Mapping[str, str]]
    torch: Optional[Mapping[str, Any]]
    gpu: Mapping[str, Any]
    anchors: Sequence[Anchor] = ()
    initialized: bool = False
    protection: Sequence[Finding] = ()  # the frontends' findings about their files (pip.conf, the hook, ...)
    pip_check: Optional[Sequence[str]] = None
    python_option: str = ""  # " --python PATH" for fix commands, "" for the environment pinguard runs in
    notes: List[str] = field(default_factory=list)


def _v(text: str) -> Optional[Version]:
    try:
        return Version(text)
    except (InvalidVersion, TypeError):
        return None


def _cuda_of(label: Optional[str]) -> Optional[str]:
    if label and label.startswith("cu") and label[2:].isdigit() and len(label) > 3:
        return "%s.%s" % (label[2:-1], label[-1])
    return None


def diagnose(kb: KnowledgeBase, facts: Facts) -> List[Finding]:
    findings: List[Finding] = []
    py = facts.python_option
    installed = installed_view(facts.distributions, facts.conda)
    versions = {i.name: i.version for i in installed}
    findings.extend(_protection(facts, versions))
    findings.extend(_anchors(facts, versions))
    gpu_cc = None
    for gpu in facts.gpu.get("gpus", []):
        gpu_cc = _v(gpu.get("compute_capability") or "")
        if gpu_cc is not None:
            break
    pins = [Pin(name, name, SpecifierSet("==" + version)) for name, version in sorted(versions.items())
            if _v(version) is not None]
    try:
        result = check(kb, pins, list(facts.anchors), python=facts.python, gpu=gpu_cc)
        for violation in result.violations:
            fix = " ".join('"%s"' % f for f in violation.fix if f)
            findings.append(Finding("error", violation.rule, violation.summary,
                                    "pinguard pip install%s %s" % (py, fix) if fix else "",
                                    {"packages": dict(violation.packages), "sources": list(violation.sources)}))
    except PinguardError as exc:
        findings.append(Finding("warning", "check-failed", "the installed packages could not be checked: %s" % exc))
    findings.extend(_torch(kb, facts, versions, gpu_cc))
    findings.extend(_gpu(kb, facts))
    findings.extend(_both(facts, versions))
    findings.extend(_records(facts, py))
    findings.extend(_pip_check(facts, py))
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: order.get(f.severity, 9))


def _protection(facts: Facts, versions: Mapping[str, str]) -> List[Finding]:
    py = facts.python_option
    if not facts.initialized:
        torch = versions.get("torch")
        suggestion = "torch==%s" % torch if torch else "ANCHOR"
        return [Finding("warning", "not-protected", "no pinguard.toml in %s: later pip and uv installs are not held "
                        "to an anchor" % facts.prefix, "pinguard init%s %s" % (py, suggestion))]
    return [Finding("info", "protected", "anchored to %s" % ", ".join(a.text for a in facts.anchors))] + list(
        facts.protection)


def _anchors(facts: Facts, versions: Mapping[str, str]) -> List[Finding]:
    found = []
    for anchor in facts.anchors:
        version = versions.get(anchor.name)
        if version is None:
            found.append(Finding("info", "anchor-not-installed", "%s is not installed yet; `pip install %s` gets "
                                 "the anchored version" % (anchor.text, anchor.display)))
        elif _v(version) is not None and anchor.specifier.contains(Version(version), prereleases=True):
            found.append(Finding("info", "anchor-ok", "%s %s satisfies the anchor %s" % (anchor.display, version,
                                                                                          anchor.text)))
    return found


def _torch(kb: KnowledgeBase, facts: Facts, versions: Mapping[str, str], gpu_cc: Optional[Version]) -> List[Finding]:
    torch = versions.get("torch")
    if torch is None:
        return [Finding("info", "torch", "torch is not installed")]
    version = _v(torch)
    label = version.local if version is not None else None
    cuda = (facts.torch or {}).get("cuda")
    hip = (facts.torch or {}).get("hip")
    release = None
    if version is not None:
        try:
            release = kb.release(version)
        except PinguardError:
            release = None
    build = label or (release.default_build if release else None)
    if cuda:
        runtime = "CUDA %s" % cuda
    elif hip:
        runtime = "ROCm %s" % hip
    elif build == "cpu" or (facts.torch or {}).get("version_py"):
        runtime = "CPU only"
    else:
        runtime = "CUDA %s (from the build label)" % _cuda_of(build) if _cuda_of(build) else "build unknown"
    found = [Finding("info", "torch-build", "torch %s, build %s, %s" % (torch, build or "unknown", runtime),
                     details={"version": torch, "build": build, "cuda": cuda, "hip": hip})]
    for member in kb.family.members[:2]:
        other = versions.get(member)
        if other is None:
            continue
        other_v = _v(other)
        found.append(Finding("info", "%s-build" % member, "%s %s, build %s" % (
            member, other, (other_v.local if other_v is not None and other_v.local else "unlabelled (PyPI's)"))))
    if gpu_cc is not None and release is not None and build and build.startswith("cu"):
        from pinguard.engines.resolver import gpu_supported

        supported = gpu_supported(kb, release, build, gpu_cc)
        if supported is False:
            found.append(Finding("error", "gpu-arch", "torch %s (%s) ships no kernels for this GPU (sm_%s)" % (
                torch, build, str(gpu_cc).replace(".", "")), "pinguard fix --anchor torch==%s --gpu sm_%s --env "
                "<(pip freeze) --python %s" % (release.torch, str(gpu_cc).replace(".", ""), facts.python)))
    driver = _v(str(facts.gpu.get("driver") or "").split()[0]) if facts.gpu.get("driver") else None
    needed = _min_driver(kb, cuda or _cuda_of(build))
    if driver is not None and needed is not None and driver < needed[0]:
        found.append(Finding("error", "driver-too-old", "the NVIDIA driver %s is older than CUDA %s needs (>= %s)" % (
            driver, cuda or _cuda_of(build), needed[0]), "upgrade the driver to >= %s, or anchor a torch build for an "
            "older CUDA (pinguard generate torch==%s --cuda cuXYZ)" % (needed[0], release.torch if release else torch),
            {"source": needed[1]}))
    return found


def _min_driver(kb: KnowledgeBase, cuda: Optional[str]):
    """(minimum Linux driver, source) for a CUDA runtime: the minor-version compatibility floor of its major."""
    cuda_v = _v(cuda or "")
    entry = kb.gpu.min_driver(cuda_v) if cuda_v is not None else None
    return (entry.linux, entry.sources[0]) if entry is not None else None


def _gpu(kb: KnowledgeBase, facts: Facts) -> List[Finding]:
    gpu = facts.gpu
    if not gpu.get("seen"):
        return [Finding("info", "no-gpu", "no GPU seen (%s)" % "; ".join(gpu.get("how") or ["no NVIDIA driver"]))]
    found = []
    for item in gpu.get("gpus", []):
        cc = item.get("compute_capability")
        found.append(Finding("info", "gpu", "GPU %s, compute capability %s (sm_%s), driver %s" % (
            item.get("name"), cc, (cc or "?").replace(".", ""), item.get("driver")), details=dict(item)))
    if not found:
        found.append(Finding("info", "gpu", "NVIDIA driver %s (no nvidia-smi to name the GPU)" % gpu.get("driver")))
    return found


def _both(facts: Facts, versions: Mapping[str, str]) -> List[Finding]:
    found = []
    conda = {normalize(k): v for k, v in (facts.conda or {}).items()}
    by_name: Dict[str, List[Mapping[str, Any]]] = {}
    for item in facts.distributions:
        by_name.setdefault(item["name"], []).append(item)
    for name, items in sorted(by_name.items()):
        if name in conda and any((i.get("installer") or "").lower() not in ("", "conda") for i in items):
            item = next(i for i in items if (i.get("installer") or "").lower() not in ("", "conda"))
            found.append(Finding("warning", "pip-over-conda", "%s: conda installed %s, %s installed %s over it; "
                                 "conda's record is stale" % (name, conda[name], item.get("installer"),
                                                              item.get("version")),
                                 "pip uninstall -y %s && conda install --force-reinstall %s=%s" % (
                                     name, name, conda[name])))
        if len(items) > 1:
            found.append(Finding("warning", "duplicate", "%s is installed %d times (%s); Python imports the first" % (
                name, len(items), ", ".join("%s in %s" % (i.get("version"), i.get("location")) for i in items)),
                "pip install --force-reinstall --no-deps %s==%s" % (name, items[0].get("version"))))
    return found


def _records(facts: Facts, py: str) -> List[Finding]:
    found = []
    conda = {normalize(k) for k in (facts.conda or {})}
    for item in facts.distributions:
        if item.get("record") or item.get("kind") == "egg":
            continue
        name, version = item["name"], item.get("version")
        owner = "conda" if name in conda or (item.get("installer") or "").lower() == "conda" else ""
        fix = ("conda install --force-reinstall %s=%s" % (name, version) if owner else
               "pinguard pip install%s --ignore-installed --no-deps %s==%s" % (py, name, version))
        what = "RECORD" if item.get("kind") == "dist-info" else "installed-files.txt (a distutils install)"
        found.append(Finding("warning", "no-record", "%s %s has no %s: pip cannot uninstall it (\"Cannot uninstall "
                             "%s\") and will fail to upgrade or replace it" % (name, version, what, name), fix,
                             {"path": item.get("path")}))
    return found


def _pip_check(facts: Facts, py: str) -> List[Finding]:
    if facts.pip_check is None:
        return [Finding("info", "pip-check", "pip check not run (no pip in the environment)")]
    found = []
    for line in facts.pip_check:
        has = _PIP_CHECK_HAS.match(line)
        requires = _PIP_CHECK_REQUIRES.match(line)
        if has:
            fix = 'pinguard pip install%s "%s"' % (py, has.group("req").strip())
        elif requires:
            fix = 'pinguard pip install%s "%s"' % (py, requires.group("name").strip())
        else:
            fix = ""
        found.append(Finding("warning", "pip-check", line, fix))
    return found
