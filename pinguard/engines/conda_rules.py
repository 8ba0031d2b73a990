"""conda_rules: conda requests and solved transactions judged against an anchor. Pure: data in, verdicts out.

The conda door of "one verdict engine, two doors": a conda transaction (records to unlink and to link) is turned
into the before/after package sets `engines.verdict.judge` understands (PyPI names, torch builds as `+cuXYZ`
labels), so anchors, the torch family pairing and every rule are judged exactly as for pip. Checks only conda
needs are added here:

- an anchored package's *record* may not be replaced, not even by the same version with another build
  (pytorch-1.10.0-py3.7_cuda11.3_cudnn8.2.0_0 -> py3.7_cpu_0, or a rebuild for another Python);
- the CUDA runtime selectors (cudatoolkit, cuda-version, pytorch-cuda, cuda-cudart; knowledge/names.toml) must
  agree with the CUDA in pytorch's build string;
- before the solver runs, a requested spec (`numpy=1.21`, `pytorch[build=*cpu*]`, `setuptools=65`) whose range
  cannot hold the anchor or a constraint the anchor implies is refused, and so is removing an anchored package;
- pip-over-conda double installs (pip's numpy over conda's numpy) are findings of `check --prefix`.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from pinguard.conda_names import CondaNames
from pinguard.conda_records import CondaRecord, PythonDist, TorchBuild, parse_build
from pinguard.conda_spec import CondaSpec, CondaSpecError
from pinguard.engines.check import ANCHOR_CHANGED
from pinguard.engines.generate import ANCHOR, PAIRING, generate
from pinguard.engines.verdict import Installed, Verdict, judge
from pinguard.errors import PinguardError
from pinguard.kb_types import KnowledgeBase
from pinguard.lightrecord import Record
from pinguard.model import Anchor, Pin, Violation
from pinguard.specs import marker_environment

CUDA_MIX = "conda-cuda-mix"
PIP_OVER_CONDA = "pip-over-conda"


class Package(Record):
    """A conda record seen with PyPI's eyes: record, pypi (normalized PyPI name; conda-only packages keep their
    conda name), version (torch family: 1.10.0+cu113, the build as a local label)."""

    __slots__ = _fields = ("record", "pypi", "version")
    record: CondaRecord
    pypi: str
    version: str


def _label_version(version: str, label: Optional[str]) -> str:
    if not label:
        return version
    try:
        parsed = Version(version)
    except InvalidVersion:
        return version
    if parsed.local:
        return version
    return "%s+%s" % (version, label)


def as_pypi(kb: KnowledgeBase, records: Iterable[CondaRecord], prefer: Iterable[str] = ()) -> Dict[str, Package]:
    """PyPI name -> Package for every record but python itself. Two records for one PyPI name (a metapackage and
    its library: opencv / py-opencv) keep the one conda calls by the PyPI name's primary conda name. A torch family
    record's backend becomes a `+label` (a labelled member without one in its build string follows pytorch's: conda's
    mutex keeps them together)."""
    names, family = kb.names, kb.family
    prefer = list(prefer)
    found: Dict[str, Package] = {}
    records = [r for r in records if r.name != "python"]
    torch_label = None
    for record in records:
        if names.pypi_name(record.name, prefer) == "torch":
            torch_label = parse_build(record.build).label
    for record in records:
        pypi = names.pypi_name(record.name, prefer)
        version = record.version
        if pypi in family.all:
            label = parse_build(record.build).label
            if label is None and pypi in family.members and pypi not in family.unlabelled:
                label = torch_label  # a build string without a backend: conda's mutex keeps it with pytorch
            version = _label_version(version, label)
        package = Package(record, pypi, version)
        if pypi in found and found[pypi].record.name == names.conda_name(pypi):
            continue
        found[pypi] = package
    return found


def python_of(records: Iterable[CondaRecord]) -> Optional[Version]:
    for record in records:
        if record.name == "python":
            parts = record.version.split(".")
            if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                return Version("%s.%s" % (parts[0], parts[1]))
    return None


def installed_set(kb: KnowledgeBase, records: Iterable[CondaRecord], dists: Iterable[PythonDist] = (),
                  prefer: Iterable[str] = ()) -> List[Installed]:
    """The environment as `judge` sees it: conda's records (installer "conda") and the Python distributions no conda
    record accounts for (installed by pip or uv)."""
    packages = as_pypi(kb, records, prefer)
    installed = [Installed(p.pypi, p.version, "conda") for p in packages.values()]
    for dist in dists:
        if dist.name not in packages and (dist.installer or "pip") != "conda":
            installed.append(Installed(dist.name, dist.version, dist.installer or "pip"))
    return installed


def conda_record_spec(record: CondaRecord) -> str:
    return "%s==%s=%s" % (record.name, record.version, record.build)


def _anchored_conda_names(names: CondaNames, anchors: Sequence[Anchor],
                          records: Mapping[str, CondaRecord]) -> Dict[str, Anchor]:
    """conda name -> anchor, for the anchors whose package is installed as a conda record."""
    prefer = [a.name for a in anchors]
    out = {}
    for record in records.values():
        pypi = names.pypi_name(record.name, prefer)
        for anchor in anchors:
            if anchor.name == pypi:
                out[record.name] = anchor
    return out


def anchored_record_changes(kb: KnowledgeBase, anchors: Sequence[Anchor], before: Mapping[str, CondaRecord],
                            unlink: Sequence[CondaRecord], link: Sequence[CondaRecord]) -> List[Violation]:
    """An anchored package's record unlinked and not linked back identically (version and build)."""
    violations = []
    unlinked = {r.name for r in unlink}
    linked = {r.name: r for r in link}
    for name, anchor in sorted(_anchored_conda_names(kb.names, anchors, before).items()):
        old = before[name]
        if name not in unlinked:
            continue
        new = linked.get(name)
        if new is not None and (new.version, new.build) == (old.version, old.build):
            continue
        if new is not None and not _holds(anchor, _record_version(kb, old, before.values())) and \
                _holds(anchor, _record_version(kb, new, [r for r in before.values() if r.name != name] + [new])):
            continue  # the record broke the anchor and this transaction puts it back: a repair
        if new is None:
            what = "removes %s" % old.dist
        elif new.version == old.version:
            what = "replaces %s with the build %s (%s -> %s)" % (old.dist, new.build, parse_build(old.build).describe(),
                                                                 parse_build(new.build).describe()) \
                if parse_build(old.build).describe() != parse_build(new.build).describe() else \
                "replaces %s with the build %s" % (old.dist, new.build)
        else:
            what = "replaces %s with %s" % (old.dist, new.dist)
        violations.append(Violation(
            ANCHOR_CHANGED, "the transaction %s, but the environment is anchored to %s" % (what, anchor.text),
            {anchor.name: old.version}, (conda_record_spec(old),), ()))
    return violations


def _holds(anchor: Anchor, version: str) -> bool:
    try:
        return anchor.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def _record_version(kb: KnowledgeBase, record: CondaRecord, context: Iterable[CondaRecord]) -> str:
    """The PyPI-style version of `record` among `context` (torch family builds become +cuXYZ labels)."""
    for package in as_pypi(kb, list(context) + [record]).values():
        if package.record is record:
            return package.version
    return record.version


def _major_minor(version: str) -> Optional[Tuple[int, int]]:
    found = re.match(r"^(\d+)\.(\d+)", version)
    if not found:
        found = re.match(r"^(\d+)$", version)
        return (int(found.group(1)), 0) if found else None
    return int(found.group(1)), int(found.group(2))


def torch_record(names: CondaNames, records: Iterable[CondaRecord]) -> Optional[CondaRecord]:
    for record in records:
        if names.pypi_name(record.name) == "torch" and record.name in ("pytorch", "torch"):
            return record
    return None


def cuda_findings(names: CondaNames, records: Iterable[CondaRecord]) -> List[Violation]:
    """CUDA runtime selectors (cudatoolkit 10.2 ...) that disagree with the CUDA pytorch's build was made for."""
    records = list(records)
    torch = torch_record(names, records)
    if torch is None:
        return []
    build = parse_build(torch.build)
    if build.kind != "cuda" or build.cuda is None:
        return []
    major, minor = build.cuda
    violations = []
    for record in records:
        selector = names.selector(record.name)
        if selector is None:
            continue
        have = _major_minor(record.version)
        if have is None:
            continue
        match = selector.match if build.flavor == "pytorch" else selector.match_conda_forge
        if match == "minor":
            ok = have == (major, minor)
            wanted = "%s %d.%d.*" % (record.name, major, minor)
        else:
            ok = have[0] == major and (not selector.at_least or have >= (major, minor))
            wanted = "%s >=%d.%d,<%d" % (record.name, major, minor, major + 1)
        if ok:
            continue
        violations.append(Violation(
            CUDA_MIX, "%s %s is CUDA %d.%d, but %s is built for CUDA %d.%d: a CUDA %d.%d runtime next to a CUDA "
            "%d.%d pytorch fails at import or at the first kernel" % (
                record.name, record.version, have[0], have[1], torch.dist, major, minor, have[0], have[1], major,
                minor),
            {"torch": torch.version, record.name: record.version}, (wanted,), selector.sources,
            selector.confidence))
    return violations


def _key(violation: Violation) -> tuple:
    return (violation.rule, tuple(sorted(violation.packages.items())))


def apply_transaction(before: Mapping[str, CondaRecord], unlink: Sequence[CondaRecord],
                      link: Sequence[CondaRecord]) -> Dict[str, CondaRecord]:
    after = dict(before)
    for record in unlink:
        if record.name in after:
            del after[record.name]
    for record in link:
        after[record.name] = record
    return after


_JUDGED: Dict[int, frozenset] = {}


def judged_names(kb: KnowledgeBase, anchors: Sequence[Anchor]):
    """A predicate on PyPI names: can this package take part in any verdict? True for the anchors, python, the torch
    family, every package a rule names (in `when`, `require`, `alternatives`), conda's CUDA packages and the CUDA
    wheels check's build-mix test recognises by name (gpu.toml [[cuda_wheels]]: nvidia-*-cuNN, cupy-cudaNN). judge
    and check look at nothing else, so leaving the rest out changes no verdict."""
    known = _JUDGED.get(id(kb))
    if known is None:
        names = {"python"} | set(kb.family.all) | set(kb.names.conda_only)
        for rule in kb.rules:
            names.update(rule.packages())
        known = _JUDGED[id(kb)] = frozenset(names)
    anchored = {a.name for a in anchors}
    return lambda name: name in known or name in anchored or kb.gpu.cuda_wheel(name) is not None


def judge_transaction(kb: KnowledgeBase, anchors: Sequence[Anchor], before_records: Sequence[CondaRecord],
                      unlink: Sequence[CondaRecord], link: Sequence[CondaRecord], dists: Sequence[PythonDist] = (),
                      python: Optional[Version] = None) -> Verdict:
    """The post-solve verdict: judge(before, after) plus conda's own checks; refuses what either refuses."""
    names = kb.names
    prefer = [a.name for a in anchors]
    # Only packages the knowledge base, the anchors or the CUDA checks speak of can change a verdict (see
    # `judged_names`); judging the other few hundred records of a real environment would only cost time.
    keep = judged_names(kb, anchors)
    before = {r.name: r for r in before_records if keep(names.pypi_name(r.name, prefer))}
    unlink = [r for r in unlink if keep(names.pypi_name(r.name, prefer))]
    link = [r for r in link if keep(names.pypi_name(r.name, prefer))]
    dists = [d for d in dists if keep(d.name)]
    after = apply_transaction(before, unlink, link)
    old = as_pypi(kb, before.values(), prefer)
    new = as_pypi(kb, after.values(), prefer)
    installed = installed_set(kb, before.values(), dists, prefer)
    planned = {n: p.version for n, p in new.items() if n not in old or old[n].version != p.version}
    removals = [n for n in old if n not in new]
    python_after = python_of(after.values()) or python
    verdict = judge(kb, installed, planned, anchors, python=python_after, removals=removals, installer="conda")
    own = anchored_record_changes(kb, anchors, before, unlink, link)
    covered = {name for v in own for name in v.packages}
    refusals = [v for v in verdict.refusals if not (v.rule == ANCHOR_CHANGED and set(v.packages) & covered)]
    refusals = own + refusals
    old_cuda = {_key(v) for v in cuda_findings(names, before.values())}
    warnings = list(verdict.warnings)
    for violation in cuda_findings(names, after.values()):
        (warnings if _key(violation) in old_cuda else refusals).append(violation)
    return Verdict(not refusals, refusals, warnings, verdict.changes)


# --- before the solver: requested specs ---------------------------------------------------------------------


def guard_table(kb: KnowledgeBase, anchors: Sequence[Anchor], records: Sequence[CondaRecord],
                python: Optional[Version] = None) -> Dict[str, object]:
    """The anchors and the constraints they imply, in conda's names and version specs (engines/conda_request.py
    describes the format): what the pre-solve hook holds requests to. JSON-able; `pinguard init` stores it."""
    from pinguard.conda_spec import from_pep440

    names = kb.names
    installed = {r.name: r for r in records}
    anchored_records = _anchored_conda_names(names, anchors, installed)
    anchored: Dict[str, str] = {}
    guards: List[Dict[str, object]] = []
    for anchor in anchors:
        condas = names.conda_names(anchor.name)
        for conda in condas:
            anchored[conda] = anchor.name
        record = next((installed[c] for c in condas if c in installed and c in anchored_records), None)
        guards.append({"conda": condas, "pypi": anchor.name, "spec": from_pep440(anchor.specifier),
                       "build": record.build if record is not None else "", "rule": ANCHOR_CHANGED,
                       "requirement": anchor.text, "anchor": True, "summary": "", "sources": [], "confidence": "H"})
    rules = {r.id: r for r in kb.rules}
    for name, constraints in sorted(_constraints(kb, anchors, python).items()):
        for constraint in constraints:
            if constraint.rules == [ANCHOR]:
                continue
            rule = rules.get(next((r for r in constraint.rules if r in rules), ""))
            guards.append({
                "conda": names.conda_names(name), "pypi": name, "spec": from_pep440(constraint.specifier),
                "build": "", "rule": rule.id if rule else constraint.rules[0], "requirement": constraint.requirement,
                "anchor": False,
                "summary": rule.summary if rule else ("the torch family pairing" if PAIRING in constraint.rules
                                                      else "implied by the anchor"),
                "sources": list(constraint.sources), "confidence": rule.confidence if rule else "H"})
    table: Dict[str, object] = {"version": 1, "anchors": [a.text for a in anchors], "anchored": anchored,
                                "guards": guards, "cuda": {},
                                "python": "%d.%d" % (python.major, python.minor) if python else None}
    torch = torch_record(names, records)
    build = parse_build(torch.build) if torch is not None else TorchBuild("unknown")
    if torch is not None and torch.name in anchored_records and build.cuda:
        selectors = {}
        for selector in names.cuda_selectors:
            selectors[selector.conda] = {
                "match": selector.match if build.flavor == "pytorch" else selector.match_conda_forge,
                "at_least": selector.at_least, "sources": list(selector.sources), "confidence": selector.confidence}
        table["cuda"] = {"record": torch.dist, "version": torch.version, "major": build.cuda[0],
                         "minor": build.cuda[1], "selectors": selectors}
    return table


def judge_request(kb: KnowledgeBase, anchors: Sequence[Anchor], specs_to_add: Sequence[CondaSpec],
                  specs_to_remove: Sequence[CondaSpec], records: Sequence[CondaRecord],
                  python: Optional[Version] = None, table: Optional[Mapping[str, object]] = None) -> List[Violation]:
    """The pre-solve verdict: requested specs that cannot be met without breaking the anchor (or a constraint it
    implies, or pytorch's CUDA), and removals of anchored packages. `table`: a stored guard table to use instead
    of computing one."""
    from pinguard.engines.conda_request import judge_request_table

    if table is None:
        table = guard_table(kb, anchors, records, python)
    installed = {r.name: (r.version, r.build) for r in records}
    try:
        found = judge_request_table(table, specs_to_add, specs_to_remove, installed)
    except CondaSpecError as exc:
        raise PinguardError("cannot judge the request: %s" % exc)
    return [Violation(r.rule, r.summary, r.packages, r.fix, r.sources, r.confidence) for r in found]


def _constraints(kb: KnowledgeBase, anchors: Sequence[Anchor], python: Optional[Version]):
    """PyPI name -> the constraints the anchors imply (markers evaluated when the Python is known)."""
    try:
        generated = generate(kb, anchors, python=python)
    except PinguardError:
        return {}
    environment = None
    if python is not None:
        environment = marker_environment(python)
    out: Dict[str, list] = {}
    for constraint in generated.constraints:
        if constraint.marker:
            if environment is None or not Marker(constraint.marker).evaluate(environment):
                continue
        out.setdefault(constraint.name, []).append(constraint)
    return out


# --- reading an environment: check --prefix, doctor ----------------------------------------------------------


def double_installs(kb: KnowledgeBase, records: Sequence[CondaRecord], dists: Sequence[PythonDist],
                    prefer: Iterable[str] = ()) -> List[Violation]:
    """pip (or uv) installed a distribution over the one a conda record owns: conda's record is stale, `conda
    remove/update` will break the files, and the version Python imports is not the one conda solved for."""
    packages = as_pypi(kb, records, prefer)
    violations = []
    by_name: Dict[str, List[PythonDist]] = {}
    for dist in dists:
        by_name.setdefault(dist.name, []).append(dist)
    for name, found in sorted(by_name.items()):
        package = packages.get(name)
        if package is None:
            continue
        foreign = [d for d in found if d.installer and d.installer != "conda"]
        if not foreign:
            continue
        dist = foreign[0]
        violations.append(Violation(
            PIP_OVER_CONDA, "%s %s was installed by %s over conda's %s: conda's record is stale, and the next conda "
            "transaction on it will break the files" % (name, dist.version, dist.installer, package.record.dist),
            {name: dist.version}, ("conda install --force-reinstall %s" % conda_record_spec(package.record),),
            kb.finding_sources(PIP_OVER_CONDA)))
    return violations


def prefix_pins(kb: KnowledgeBase, records: Sequence[CondaRecord], dists: Sequence[PythonDist],
                prefer: Iterable[str] = ()) -> List[Pin]:
    """The environment as a pin list with PyPI names; what Python imports wins (pip's copy over conda's)."""
    versions = {p.pypi: p.version for p in as_pypi(kb, records, prefer).values()}
    for dist in dists:
        if dist.installer and dist.installer != "conda":
            versions[dist.name] = dist.version
        else:
            versions.setdefault(dist.name, dist.version)
    pins = []
    for name, version in sorted(versions.items()):
        try:
            Version(version)
        except InvalidVersion:
            continue
        pins.append(Pin(name, name, SpecifierSet("==" + version)))
    return pins
