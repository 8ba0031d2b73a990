"""What `lock` reads: its inputs (requirements files with their -r/-c includes, `pyproject.toml`), the project's
anchors (`pinguard.toml`, `[tool.pinguard]`), and the digests the lock records so `lock --check` can tell whether
any of them, or the knowledge base, changed since.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from packaging.requirements import Requirement
from packaging.version import Version

from pinguard.errors import BadInput, quote
from pinguard.kb import DATA_DIR
from pinguard.model import parse_requirement
from pinguard.sources.input_files import read_bytes, read_text
from pinguard.sources.pins import read_requirements

if sys.version_info >= (3, 11):
    import tomllib as _toml
else:  # pragma: no cover - exercised on the old Pythons pinguard supports
    import tomli as _toml

PROJECT_FILE = "pinguard.toml"


@dataclass
class LockInputs:
    requirements: List[Requirement] = field(default_factory=list)
    constraints: List[Requirement] = field(default_factory=list)
    files: List[str] = field(default_factory=list)  # every file read (includes too), for the digests
    anchors: List[str] = field(default_factory=list)  # from pinguard.toml / [tool.pinguard]
    cuda: Optional[str] = None
    python: Optional[str] = None
    where: List[str] = field(default_factory=list)  # where the anchors came from


def read_inputs(paths: Sequence[str], python: Optional[Version], extras: Sequence[str] = (),
                groups: Sequence[str] = ()) -> LockInputs:
    """Every input in order; a requirement named twice with different versions is bad input."""
    inputs = LockInputs()
    for path in paths:
        if os.path.basename(path) == "pyproject.toml":
            _pyproject(path, extras, groups, inputs)
        else:
            requirements, constraints, read = read_requirements(read_text(path, "requirements file"), path, python)
            for item in read.unjudged:
                raise BadInput("%s: %s is %s; pinguard locks index packages only" % (item.where, item.text, item.why))
            inputs.requirements.extend(requirements)
            inputs.constraints.extend(constraints)
            inputs.files.extend(read.files)
    if (extras or groups) and not any(os.path.basename(p) == "pyproject.toml" for p in paths):
        raise BadInput("--extra and --group select from a pyproject.toml input; none was given")
    _project_anchors(paths, inputs)
    return inputs


def _load_toml(path: str) -> Dict[str, Any]:
    try:
        return _toml.loads(read_text(path, "TOML file"))
    except _toml.TOMLDecodeError as exc:
        raise BadInput("%s is not valid TOML: %s" % (path, str(exc).splitlines()[0] if str(exc) else "unreadable"))


def _pyproject(path: str, extras: Sequence[str], groups: Sequence[str], inputs: LockInputs) -> None:
    data = _load_toml(path)
    project = data["project"] if isinstance(data.get("project"), dict) else {}
    lines = list(_strings(project.get("dependencies", []), path, "[project].dependencies"))
    optional = project.get("optional-dependencies") or {}
    for extra in extras:
        if extra not in optional:
            raise BadInput("%s has no optional dependencies %s (it has: %s)" % (
                path, quote(extra), ", ".join(sorted(optional)) or "none"))
        lines += _strings(optional[extra], path, "[project.optional-dependencies].%s" % extra)
    table = data.get("dependency-groups") or {}
    for group in groups:
        lines += _group(table, group, path, [])
    inputs.requirements.extend(parse_requirement(line, "requirement in %s" % path) for line in lines)
    inputs.files.append(path)


def _group(table: Mapping[str, Any], group: str, path: str, seen: List[str]) -> List[str]:
    """The requirement strings of a dependency group (PEP 735), include-group entries followed."""
    if group not in table:
        raise BadInput("%s has no dependency group %s (it has: %s)" % (path, quote(group),
                                                                     ", ".join(sorted(table)) or "none"))
    if group in seen:
        raise BadInput("%s: dependency group %s includes itself" % (path, quote(group)))
    lines: List[str] = []
    for entry in table[group] if isinstance(table[group], list) else []:
        if isinstance(entry, str):
            lines.append(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
            lines += _group(table, entry["include-group"], path, seen + [group])
        else:
            raise BadInput("%s: dependency group %s has an entry pinguard cannot read: %s" % (
                path, quote(group), quote(entry)))
    return lines


def _strings(value: Any, path: str, where: str) -> List[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInput("%s: %s must be a list of requirement strings" % (path, where))
    return list(value)


def _project_anchors(paths: Sequence[str], inputs: LockInputs) -> None:
    """Anchors (and build, Python) from `pinguard.toml` beside the first input (or here), else `[tool.pinguard]`."""
    directory = os.path.dirname(os.path.abspath(paths[0])) if paths else os.getcwd()
    candidates = [(os.path.join(directory, PROJECT_FILE), None), (os.path.join(directory, "pyproject.toml"), "tool")]
    for path, table in candidates:
        if not os.path.isfile(path):
            continue
        data = _load_toml(path)
        if table is not None:
            data = (data.get("tool") or {}).get("pinguard") or {}
        anchors = data.get("anchors")
        if anchors is None:
            continue
        inputs.anchors = _strings(anchors, path, "anchors")
        inputs.cuda = str(data["cuda"]) if data.get("cuda") else None
        inputs.python = str(data["python"]) if data.get("python") else None
        inputs.where.append(path if table is None else "%s [tool.pinguard]" % path)
        return


def file_digest(path: str) -> Optional[str]:
    """sha256 of a file's bytes, None when it cannot be read (gone)."""
    try:
        return "sha256:" + hashlib.sha256(read_bytes(path, "input file")).hexdigest()
    except BadInput:
        return None


def knowledge_digest(directory: Optional[str] = None) -> str:
    """sha256 over the knowledge files (names and bytes), the knowledge base a lock was checked against."""
    directory = directory or os.environ.get("PINGUARD_KNOWLEDGE_DIR") or DATA_DIR
    digest = hashlib.sha256()
    for name in sorted(os.listdir(directory)):
        if name.endswith(".toml"):
            with open(os.path.join(directory, name), "rb") as handle:
                digest.update(name.encode() + b"\0" + handle.read() + b"\0")
    return "sha256:" + digest.hexdigest()


def relative_digests(files: Sequence[str], lock_dir: str) -> Dict[str, str]:
    """input path relative to the lock's directory -> digest."""
    found = {}
    for path in files:
        digest = file_digest(path)
        if digest is not None:
            found[os.path.relpath(os.path.abspath(path), os.path.abspath(lock_dir))] = digest
    return found
