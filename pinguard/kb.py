"""The knowledge base: TOML files in `pinguard/knowledge/`, loaded and validated on first use, into the typed
records of `pinguard/kb_types.py` (which the engines import; this loader reads files).

A damaged entry raises `KnowledgeError` naming the file and the entry, so a bad edit to the data is caught the
first time any command runs (and by the test suite), not as a wrong answer later.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence, Tuple

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from pinguard.claims import parse_evidence
from pinguard.claims import version_field as _version  # one reader of a knowledge file's version fields
from pinguard.conda_names import legacy_table as legacy_names
from pinguard.conda_names import parse as parse_names
from pinguard.errors import KnowledgeError, require_sources
from pinguard.kb_types import (BuildArchs, CudaWheelNaming, DefaultGpu, DriverMinimum, FindingSource, GpuArch,
                               GpuData, IndexInfo, KnowledgeBase, TorchFamily, compile_wheel_pattern,
                               describe_pythons)
from pinguard.model import Condition, Release, Rule, compile_signature
from pinguard.specs import normalize

if sys.version_info >= (3, 11):
    import tomllib as _toml
else:  # pragma: no cover - exercised on the old Pythons pinguard supports
    import tomli as _toml

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "knowledge")
RULE_KINDS = ("constraint", "diagnostic")
SPECIAL_KEYS = ("python", "build", "gpu")


_CACHE: Dict[str, KnowledgeBase] = {}


def load(directory: Optional[str] = None) -> KnowledgeBase:
    """The knowledge base in `directory` (default: the shipped one), loaded once per process."""
    directory = directory or os.environ.get("PINGUARD_KNOWLEDGE_DIR") or DATA_DIR
    if directory not in _CACHE:
        _CACHE[directory] = _load(directory)
    return _CACHE[directory]


def _read(directory: str, name: str, required: bool = True) -> Dict[str, Any]:
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        if required:
            raise KnowledgeError("knowledge file %s is missing" % path)
        return {}
    try:
        with open(path, "rb") as handle:
            return _toml.load(handle)
    except OSError as exc:
        raise KnowledgeError("cannot read knowledge file %s: %s" % (path, exc.strerror or exc))
    except UnicodeDecodeError as exc:
        raise KnowledgeError("knowledge file %s is not valid TOML: not UTF-8 (byte %d)" % (path, exc.start))
    except _toml.TOMLDecodeError as exc:
        raise KnowledgeError("knowledge file %s is not valid TOML: %s" % (path, exc))


def _load(directory: str) -> KnowledgeBase:
    torch_data = _read(directory, "torch.toml")
    rules_data = _read(directory, "rules.toml")
    gpu_data = _read(directory, "gpu.toml", required=False)
    names_data = _read(directory, "names.toml", required=False)
    imports_data = _read(directory, "imports.toml", required=False)
    family = _family(torch_data.get("family"))
    releases = tuple(_release(entry, i, family) for i, entry in enumerate(torch_data.get("release", [])))
    if not releases:
        raise KnowledgeError("torch.toml: no [[release]] entries")
    seen = set()
    for release in releases:
        if release.torch in seen:
            raise KnowledgeError("torch.toml: release %s is listed twice" % release.torch)
        seen.add(release.torch)
    rules = tuple(_rule(entry, i) for i, entry in enumerate(rules_data.get("rule", [])))
    ids = [rule.id for rule in rules]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise KnowledgeError("rules.toml: duplicate rule ids: %s" % ", ".join(duplicates))
    if names_data.get("meta"):
        _sources(names_data["meta"], "names.toml: [meta]")
    names = parse_names(names_data)
    conda = {k: v for k, v in names.to_conda.items() if k != v}
    conda.update(legacy_names(names_data))
    return KnowledgeBase(
        releases=tuple(sorted(releases, key=lambda r: r.torch)),
        family=family,
        index=_index(torch_data.get("index")),
        rules=rules,
        gpu=parse_gpu(gpu_data),
        conda_names=conda,
        names=names,
        imports=_imports(imports_data),
        findings=_findings(names_data),
    )


def _family(entry: Any) -> TorchFamily:
    where = "torch.toml: [family]"
    if not isinstance(entry, dict):
        raise KnowledgeError("%s is missing" % where)
    members = tuple(normalize(m) for m in _strings(entry.get("members"), where, "members"))
    unlabelled = tuple(normalize(m) for m in _strings(entry.get("unlabelled"), where, "unlabelled"))
    if not members or "torch" in members or len(set(members)) != len(members):
        raise KnowledgeError("%s: members must list the packages paired with torch, each once" % where)
    stray = [m for m in unlabelled if m not in members]
    if stray:
        raise KnowledgeError("%s: unlabelled names %s, which is not a member" % (where, ", ".join(stray)))
    sources, confidence = require_sources(entry, where)
    return TorchFamily(members, unlabelled, sources, confidence)


def _findings(data: Mapping[str, Any]) -> Dict[str, FindingSource]:
    """names.toml [[finding]]: the sources of the findings the engines make themselves."""
    found: Dict[str, FindingSource] = {}
    for index, entry in _entries(data, "finding", "names.toml"):
        where = _where("names.toml", "finding", index, entry)
        finding = entry.get("id")
        if not isinstance(finding, str) or not finding:
            raise KnowledgeError("%s has no id" % where)
        sources, confidence = require_sources(entry, where)
        found[finding] = FindingSource(finding, sources, confidence)
    return found


def _entries(data: Mapping[str, Any], kind: str, file: str) -> Iterator[Tuple[int, Mapping[str, Any]]]:
    entries = data.get(kind, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise KnowledgeError("%s: [[%s]] must be an array of tables" % (file, kind))
    return enumerate(entries)


def _imports(data: Mapping[str, Any]) -> Dict[str, Tuple[str, ...]]:
    """imports.toml: import name (possibly dotted) -> the distributions that install it."""
    table: Dict[str, Tuple[str, ...]] = {}
    for index, entry in enumerate(data.get("import", [])):
        where = _where("imports.toml", "import", index, entry)
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
            raise KnowledgeError("%s has no name" % where)
        _sources(entry, where)
        dists = _strings(entry.get("dists"), where, "dists")
        if not dists:
            raise KnowledgeError("%s lists no distributions" % where)
        table[entry["name"]] = tuple(normalize(d) for d in dists)
    return table


def _where(file: str, kind: str, index: int, entry: Mapping[str, Any], key: str = "") -> str:
    label = entry.get(key) if key else entry.get("id") or entry.get("torch") or entry.get("name")
    return "%s: %s %s" % (file, kind, label if label not in (None, "") else "#%d" % (index + 1))


def _sources(entry: Mapping[str, Any], where: str) -> Tuple[str, ...]:
    return require_sources(entry, where)[0]


def _specifier(value: Any, where: str, key: str) -> SpecifierSet:
    if not isinstance(value, str):
        raise KnowledgeError("%s: %s must be a specifier string, not %r" % (where, key, value))
    try:
        return SpecifierSet(value)
    except InvalidSpecifier:
        raise KnowledgeError("%s: %s = %r is not a valid PEP 440 specifier" % (where, key, value))


def _strings(value: Any, where: str, key: str) -> Tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise KnowledgeError("%s: %s must be a list of strings" % (where, key))
    return tuple(value)


def _index(entry: Any) -> IndexInfo:
    if not isinstance(entry, dict):
        raise KnowledgeError("torch.toml: the [index] table is missing")
    where = "torch.toml: [index]"
    return IndexInfo(
        url=str(entry.get("url", "")),
        find_links=str(entry.get("find_links", "")),
        find_links_before=_version(entry.get("find_links_before"), where, "find_links_before"),
        local_labels_since=_version(entry.get("local_labels_since"), where, "local_labels_since"),
        labelled_default_since=_version(entry.get("labelled_default_since"), where, "labelled_default_since"),
        torchaudio_labels_since=_version(entry.get("torchaudio_labels_since"), where, "torchaudio_labels_since"),
        sources=_sources(entry, where),
    )


def _release(entry: Mapping[str, Any], index: int, members: TorchFamily) -> Release:
    where = _where("torch.toml", "release", index, entry)
    sources = _sources(entry, where)
    family = {}
    for member in members.members:
        if member in entry:
            family[member] = _version(entry[member], where, member)
    builds = _strings(entry.get("builds"), where, "builds")
    default = str(entry.get("default_build", ""))
    on_pypi = bool(entry.get("on_pypi", True))
    if on_pypi and default not in builds:
        raise KnowledgeError("%s: default_build %r is not among its builds" % (where, default))
    python = _strings(entry.get("python"), where, "python")
    if not python:
        raise KnowledgeError("%s: python list is empty" % where)
    also = {}
    for member, versions in (entry.get("also") or {}).items():
        if member not in members.members:
            raise KnowledgeError("%s: also.%s is not a torch family member" % (where, member))
        also[member] = tuple(_version(v, where, "also." + member) for v in _strings(versions, where, "also"))
    return Release(
        torch=_version(entry.get("torch"), where, "torch"),
        family=family,
        also=also,
        python=python,
        builds=builds,
        default_build=default,
        on_pypi=on_pypi,
        index=entry.get("index"),
        sources=sources,
        confidence=str(entry["confidence"]),
        note=str(entry.get("note", "")),
        missing_wheels=_missing_wheels(entry.get("missing_wheels"), family, python, where),
    )


def _missing_wheels(table: Any, family: Mapping[str, Version], python: Sequence[str],
                    where: str) -> Dict[str, Tuple[str, ...]]:
    """member -> the release's Pythons that member has no wheel for; each must be a paired member and a listed
    Python."""
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise KnowledgeError("%s: missing_wheels must be a table of member = [Python, ...]" % where)
    missing = {}
    for member, pythons in table.items():
        if member not in family:
            raise KnowledgeError("%s: missing_wheels.%s names no paired family member" % (where, member))
        values = _strings(pythons, where, "missing_wheels." + member)
        stray = [p for p in values if p not in python]
        if stray or not values:
            raise KnowledgeError("%s: missing_wheels.%s must list some of the release's Pythons (%s), not %s" % (
                where, member, describe_pythons(python), describe_pythons(stray) if stray else "none"))
        missing[member] = values
    return missing


def _packages(table: Mapping[str, Any], where: str, key: str) -> Dict[str, SpecifierSet]:
    if not isinstance(table, dict):
        raise KnowledgeError("%s: %s must be a table of package = specifier" % (where, key))
    return {normalize(name): _specifier(spec, where, "%s.%s" % (key, name)) for name, spec in table.items()}


def _condition(table: Any, where: str) -> Condition:
    if not isinstance(table, dict):
        raise KnowledgeError("%s: each `when` entry must be a table" % where)
    packages = {k: v for k, v in table.items() if k not in SPECIAL_KEYS}
    builds = table.get("build")
    if isinstance(builds, str):
        builds = [builds]
    return Condition(
        packages=_packages(packages, where, "when"),
        python=_specifier(table["python"], where, "when.python") if "python" in table else None,
        builds=_strings(builds, where, "when.build") if builds is not None else None,
        gpu=_specifier(table["gpu"], where, "when.gpu") if "gpu" in table else None,
    )


def _rule(entry: Mapping[str, Any], index: int) -> Rule:
    where = _where("rules.toml", "rule", index, entry)
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        raise KnowledgeError("%s has no id" % where)
    sources = _sources(entry, where)
    when = entry.get("when", {})
    conditions = tuple(_condition(t, where) for t in (when if isinstance(when, list) else [when]))
    require = _packages(entry.get("require", {}), where, "require")
    alternatives = tuple(_packages(t, where, "alternatives") for t in entry.get("alternatives", []))
    kind = entry.get("kind", "constraint")
    if kind not in RULE_KINDS:
        raise KnowledgeError("%s: kind %r is not one of %s" % (where, kind, ", ".join(RULE_KINDS)))
    if kind == "constraint" and not any(c.packages for c in conditions):
        raise KnowledgeError("%s: a constraint rule needs a package in `when` (else use kind = \"diagnostic\")" % where)
    implicates = tuple(normalize(n) for n in _strings(entry.get("implicates"), where, "implicates")) or tuple(require)
    signatures = tuple(compile_signature(p, where) for p in _strings(entry.get("signatures"), where, "signatures"))
    summary = entry.get("summary")
    if not isinstance(summary, str) or not summary:
        raise KnowledgeError("%s has no summary" % where)
    return Rule(
        id=rule_id,
        summary=summary.strip(),
        when=conditions,
        require=require,
        alternatives=alternatives,
        implicates=implicates,
        signatures=signatures,
        kind=kind,
        sources=sources,
        confidence=str(entry["confidence"]),
        note=str(entry.get("note", "")),
        evidence=parse_evidence(entry.get("evidence"), where, require),
    )


# -- gpu.toml ----------------------------------------------------------------------------------------------------


def _text(entry: Mapping[str, Any], where: str, key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise KnowledgeError("%s: %s must be a non-empty string" % (where, key))
    return value


def _gpu_entries(data: Mapping[str, Any], kind: str, key: str) -> Iterator[Tuple[Mapping[str, Any], str]]:
    """(entry, where) of each [[kind]] of gpu.toml, `where` naming the entry by its `key`."""
    for index, entry in _entries(data, kind, "gpu.toml"):
        yield entry, _where("gpu.toml", kind, index, entry, key)


def _arch(entry: Mapping[str, Any], where: str) -> GpuArch:
    max_cuda = entry.get("max_cuda")
    sources, confidence = require_sources(entry, where)
    return GpuArch(_version(entry.get("sm"), where, "sm"), _text(entry, where, "name"),
                   _strings(entry.get("examples"), where, "examples"),
                   _version(entry.get("min_cuda"), where, "min_cuda"),
                   _version(max_cuda, where, "max_cuda") if max_cuda is not None else None, sources, confidence)


def _build_archs(entry: Mapping[str, Any], where: str) -> BuildArchs:
    builds = _strings(entry.get("builds"), where, "builds")
    if not builds:
        raise KnowledgeError("%s: builds is empty" % where)
    sources, confidence = require_sources(entry, where)
    return BuildArchs(_specifier(entry.get("torch"), where, "torch"), builds,
                      tuple(_version(a, where, "archs") for a in _strings(entry.get("archs"), where, "archs")),
                      tuple(_version(a, where, "ptx") for a in _strings(entry.get("ptx"), where, "ptx")),
                      sources, confidence)


def _driver(entry: Mapping[str, Any], where: str, key: str) -> DriverMinimum:
    cuda = entry.get(key)
    if key == "cuda_major" and (not isinstance(cuda, int) or isinstance(cuda, bool)):
        raise KnowledgeError("%s: cuda_major must be an integer, not %r" % (where, cuda))
    sources, confidence = require_sources(entry, where)
    return DriverMinimum(_version(cuda, where, key), _version(entry.get("linux"), where, "linux"), sources, confidence)


CUDA_DIGITS = ("major", "major-minor")
CUDA_COMPARED = ("together", "with-torch")


def _cuda_wheels(entry: Mapping[str, Any], where: str) -> CudaWheelNaming:
    pattern = _text(entry, where, "pattern")
    try:
        compiled = compile_wheel_pattern(pattern)
    except (re.error, ValueError) as exc:
        raise KnowledgeError("%s: pattern %r is not a regular expression with a `cuda` group (%s)" % (
            where, pattern, exc))
    digits = entry.get("digits")
    if digits not in CUDA_DIGITS:
        raise KnowledgeError("%s: digits %r is not one of %s" % (where, digits, ", ".join(CUDA_DIGITS)))
    compared = entry.get("compared")
    if compared not in CUDA_COMPARED:
        raise KnowledgeError("%s: compared %r is not one of %s" % (where, compared, ", ".join(CUDA_COMPARED)))
    per_major, since = entry.get("per_major", ""), entry.get("per_major_since", 0)
    if not isinstance(per_major, str) or (per_major and "{major}" not in per_major) or not isinstance(since, int):
        raise KnowledgeError("%s: per_major must name a package with {major}, per_major_since be an integer" % where)
    sources, confidence = require_sources(entry, where)
    return CudaWheelNaming(_text(entry, where, "family"), compiled, str(digits), str(compared), per_major, since,
                           sources, confidence)


def _default_gpu(entry: Any, archs: Sequence[GpuArch]) -> Optional[DefaultGpu]:
    if entry is None:
        return None
    where = "gpu.toml: [default_gpu]"
    if not isinstance(entry, dict):
        raise KnowledgeError("%s must be a table" % where)
    sm = _version(entry.get("sm"), where, "sm")
    if sm not in {a.sm for a in archs}:
        raise KnowledgeError("%s: sm %s is not an [[arch]]" % (where, sm))
    sources, confidence = require_sources(entry, where)
    return DefaultGpu(sm, _text(entry, where, "name"), _text(entry, where, "example"), _text(entry, where, "why"),
                      sources, confidence)


def parse_gpu(data: Mapping[str, Any]) -> GpuData:
    """gpu.toml as typed records; a damaged entry is a KnowledgeError naming it (an absent file: no GPU facts)."""
    archs = tuple(_arch(e, where) for e, where in _gpu_entries(data, "arch", "sm"))
    return GpuData(
        archs=archs,
        build_archs=tuple(_build_archs(e, where) for e, where in _gpu_entries(data, "build_archs", "torch")),
        drivers=tuple(_driver(e, where, "cuda") for e, where in _gpu_entries(data, "driver", "cuda")),
        driver_compat=tuple(_driver(e, where, "cuda_major")
                            for e, where in _gpu_entries(data, "driver_compat", "cuda_major")),
        default=_default_gpu(data.get("default_gpu"), archs),
        cuda_wheels=tuple(_cuda_wheels(e, where) for e, where in _gpu_entries(data, "cuda_wheels", "family")),
    )
