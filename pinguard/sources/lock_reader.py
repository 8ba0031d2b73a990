"""Read a written lock back into the lock model: a PEP 751 `pylock.toml` (pinguard's, uv's, pip's) or a hashed
requirements file (pinguard's `# pinguard:` lines carry the anchor, target and digests). For `lock --check` and
`check`. Anything that is not a lock is bad input; a file entry without a hash is recorded, not refused, so that the
check can report it as a finding."""

from __future__ import annotations

import re
import sys
from typing import Any, Dict, List, Mapping, Optional, Tuple

from packaging.requirements import InvalidRequirement, Requirement
from pinguard.pep503 import normalize
from packaging.version import InvalidVersion, Version

from pinguard.engines.lock import Lock, LockedPackage, LockFile, Target
from pinguard.errors import BadInput, quote
from pinguard.sources.input_files import read_text

if sys.version_info >= (3, 11):
    import tomllib as _toml
else:  # pragma: no cover - exercised on the old Pythons pinguard supports
    import tomli as _toml

SOURCE_KINDS = ("vcs", "directory", "archive")
_PYTHON = re.compile(r"^==\s*(\d+)\.(\d+)(\.\*)?$")
_ENV_PYTHON = re.compile(r"python_version\s*==\s*[\"'](\d+)\.(\d+)[\"']")
_HASH = re.compile(r"--hash[=\s]+([A-Za-z0-9_]+):([0-9a-fA-F]+)")
_PINGUARD_LINE = re.compile(r"^#\s*pinguard:\s*(input\s+(?P<path>.+?)|(?P<key>[a-z-]+))\s*=\s*(?P<value>.*)$")


def looks_like_pylock(path: str, text: str) -> bool:
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return name.endswith(".toml") or text.lstrip().startswith("lock-version")


def read_lock(path: str, python: Optional[Version] = None) -> Lock:
    """The lock at `path` (pylock.toml by name or content, else a hashed requirements file)."""
    text = read_text(path, "lock file")
    if looks_like_pylock(path, text):
        return parse_pylock(text, path, python)
    return parse_hashed_requirements(text, path, python)


def parse_pylock(text: str, where: str, python: Optional[Version] = None) -> Lock:
    try:
        data = _toml.loads(text)
    except _toml.TOMLDecodeError as exc:
        raise BadInput("%s is not valid TOML: %s" % (where, str(exc).splitlines()[0] if str(exc) else "unreadable"))
    version = str(data.get("lock-version", ""))
    if not version:
        raise BadInput("%s is not a PEP 751 lock: no lock-version" % where)
    if version.split(".")[0] != "1":
        raise BadInput("%s has lock-version %s; pinguard reads version 1 locks" % (where, quote(version)))
    if not isinstance(data.get("created-by"), str):
        raise BadInput("%s is not a PEP 751 lock: no created-by" % where)
    packages = data.get("packages")
    if not isinstance(packages, list):
        raise BadInput("%s is not a PEP 751 lock: no [[packages]]" % where)
    tool = ((data.get("tool") or {}).get("pinguard") or {}) if isinstance(data.get("tool"), dict) else {}
    target = _target(tool, data, where, python)
    lock = Lock(target, [str(a) for a in tool.get("anchors", [])], [])
    for number, entry in enumerate(packages, 1):
        lock.packages.append(_package(entry, "%s: package %d" % (where, number), lock.missing_hashes))
    lock.knowledge = str(tool.get("knowledge", ""))
    lock.inputs = {str(k): str(v) for k, v in (tool.get("inputs") or {}).items()}
    lock.sources = [(str(s[0]), str(s[1])) for s in tool.get("sources", []) if isinstance(s, list) and len(s) == 2]
    lock.backend, lock.version = str(tool.get("backend", "")), str(tool.get("version", ""))
    return lock


def _target(tool: Mapping[str, Any], data: Mapping[str, Any], where: str, python: Optional[Version]) -> Target:
    """The target from [tool.pinguard], else from requires-python / environments, else `python` (--python)."""
    text = tool.get("python")
    if text is None:
        found = _PYTHON.match(str(data.get("requires-python", "")).strip()) or next(
            (m for m in (_ENV_PYTHON.search(str(e)) for e in data.get("environments", []) or []) if m), None)
        text = "%s.%s" % found.groups()[:2] if found else None
    if text is None and python is not None:
        text = "%d.%d" % (python.major, python.minor)
    if text is None:
        raise BadInput("%s does not say which Python it is for (no exact requires-python, no [tool.pinguard]): "
                       "give --python X.Y" % where)
    try:
        gpu = Version(str(tool["gpu"])) if tool.get("gpu") else None
        return Target(Version(str(text)), str(tool.get("platform", "linux_x86_64")), tool.get("build") or None, gpu)
    except InvalidVersion:
        raise BadInput("%s: [tool.pinguard] python or gpu is not a version" % where)


def _package(entry: Any, where: str, missing: List[str]) -> LockedPackage:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise BadInput("%s has no name" % where)
    name = normalize(entry["name"])
    kinds = [k for k in SOURCE_KINDS if k in entry]
    if "sdist" in entry or "wheels" in entry:
        kinds.append("sdist/wheels")
    if len(kinds) != 1:
        raise BadInput("%s (%s) must have exactly one source (vcs, directory, archive, or sdist/wheels), not %s" % (
            where, name, ", ".join(kinds) or "none"))
    if kinds[0] != "sdist/wheels":
        raise BadInput("%s (%s) is a %s source; pinguard checks index packages only" % (where, name, kinds[0]))
    try:
        version = Version(str(entry.get("version")))
    except InvalidVersion:
        raise BadInput("%s (%s) has no valid version" % (where, name))
    wheels = [_file(w, "%s (%s) wheel" % (where, name), missing) for w in entry.get("wheels", []) or []]
    sdist = _file(entry["sdist"], "%s (%s) sdist" % (where, name), missing) if "sdist" in entry else None
    tool = ((entry.get("tool") or {}).get("pinguard") or {}) if isinstance(entry.get("tool"), dict) else {}
    return LockedPackage(str(name), version, wheels, sdist, entry.get("index"),
                         [str(r) for r in tool.get("rules", [])], [str(r) for r in tool.get("reasons", [])])


def _file(entry: Any, where: str, missing: List[str]) -> LockFile:
    if not isinstance(entry, dict) or not (isinstance(entry.get("url"), str) or isinstance(entry.get("path"), str)):
        raise BadInput("%s has no url or path" % where)
    location = str(entry.get("url") or entry.get("path"))
    filename = str(entry.get("name") or location.rstrip("/").rsplit("/", 1)[-1])
    hashes = entry.get("hashes")
    hashes = {str(k): str(v) for k, v in hashes.items()} if isinstance(hashes, dict) else {}
    if not hashes:
        missing.append("%s %s" % (filename, where))
    size = entry.get("size") if isinstance(entry.get("size"), int) else None
    upload = entry.get("upload-time")
    return LockFile(filename, str(location), hashes, size, str(upload) if upload is not None else None)


def _logical_lines(text: str) -> List[str]:
    lines, pending = [], ""
    for raw in text.lstrip("\ufeff").splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    if pending:
        lines.append(pending)
    return lines


def parse_hashed_requirements(text: str, where: str, python: Optional[Version] = None) -> Lock:
    """A hashed requirements file: `name==version --hash=...` lines, index lines, `# pinguard:` provenance."""
    meta: Dict[str, str] = {}
    inputs: Dict[str, str] = {}
    packages: List[LockedPackage] = []
    missing: List[str] = []
    sources: List[Tuple[str, str]] = []
    for number, line in enumerate(_logical_lines(text), 1):
        stripped = line.strip()
        found = _PINGUARD_LINE.match(stripped)
        if found:
            if found.group("path"):
                inputs[found.group("path")] = found.group("value").strip()
            else:
                meta[found.group("key")] = found.group("value").strip()
            continue
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("-"):
            option, _, value = stripped.partition(" ")
            if option in ("--index-url", "-i", "--extra-index-url", "--find-links", "-f") and value.strip():
                sources.append((option, value.strip()))
            continue
        packages.append(_requirement_line(stripped, "%s:%d" % (where, number), missing))
    text_python = meta.get("python") or ("%d.%d" % (python.major, python.minor) if python is not None else None)
    if text_python is None:
        raise BadInput("%s does not say which Python it is for (no `# pinguard: python` line): give --python X.Y" %
                       where)
    target = _target({"python": text_python, "build": meta.get("build"), "gpu": meta.get("gpu"),
                      "platform": meta.get("platform", "linux_x86_64")}, {}, where, python)
    lock = Lock(target, meta.get("anchors", "").split(), packages, meta.get("knowledge", ""), inputs, sources)
    lock.missing_hashes = missing
    lock.backend, lock.version = meta.get("backend", ""), meta.get("version", "")
    return lock


def _requirement_line(line: str, where: str, missing: List[str]) -> LockedPackage:
    text = line.split(" #", 1)[0]
    hashes = _HASH.findall(text)
    requirement_text = _HASH.sub("", text).strip()
    try:
        requirement = Requirement(requirement_text)
        pins = [s for s in requirement.specifier if s.operator in ("==", "===")]
        version = Version(pins[0].version) if len(pins) == 1 else None
    except (InvalidRequirement, InvalidVersion):
        version = None
    if version is None:
        raise BadInput("%s: %s is not an exact pin (name==version --hash=...)" % (where, quote(requirement_text)))
    files = [LockFile("", "", {algo.lower(): digest.lower()}) for algo, digest in hashes]
    if not files:
        missing.append("%s %s" % (normalize(requirement.name), where))
    return LockedPackage(str(normalize(requirement.name)), version, files)


def lock_pin_list(text: str, where: str, python: Optional[Version] = None):
    """A pylock.toml's packages as a pin list, for `pinguard check`."""
    from packaging.specifiers import SpecifierSet

    from pinguard.model import Pin
    from pinguard.sources.pins import PinList

    lock = parse_pylock(text, where, python or Version("3"))
    pins = [Pin(p.name, p.name, SpecifierSet("==%s" % p.version), number)
            for number, p in enumerate(lock.packages, 1)]
    if not pins:
        raise BadInput("%s locks no package" % where)
    return PinList(pins, [], [where])
