"""A `Lock` as PEP 751 `pylock.toml` text: `lock-version = "1.0"`, `created-by = "pinguard"`, the exact
`requires-python` and `environments` of the target, each package's `version`, `index`, `wheels` and `sdist`
(`url`, `size`, sha256 `hashes`); pinguard's provenance (anchor, target, build, knowledge base and input digests,
and for each package the rule ids behind its bounds and why it is there) under `[tool.pinguard]` and
`[packages.tool.pinguard]`, which installers ignore."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from pinguard.adapters import toml_writer
from pinguard.engines.lock import Lock, LockedPackage, LockFile
from pinguard.errors import BadInput

NAME = re.compile(r"^pylock\.([^.]+)\.toml$")
LOCK_VERSION = "1.0"


def is_pylock_name(filename: str) -> bool:
    return filename == "pylock.toml" or bool(NAME.match(filename))


def check_name(filename: str) -> None:
    if not is_pylock_name(filename):
        raise BadInput("a PEP 751 lock is named pylock.toml or pylock.<name>.toml (no dot in <name>), not %s"
                       % filename)


def environment_marker(lock: Lock) -> str:
    python = lock.target.python
    return 'python_version == "%d.%d" and sys_platform == "linux" and platform_machine == "x86_64"' % (
        python.major, python.minor)


def requires_python(lock: Lock) -> str:
    return "==%d.%d.*" % (lock.target.python.major, lock.target.python.minor)


def _file(item: LockFile) -> Dict[str, Any]:
    entry: Dict[str, Any] = {}
    if not item.url.rstrip("/").endswith("/" + item.filename):
        entry["name"] = item.filename
    entry["url"] = item.url
    if item.upload_time:
        entry["upload-time"] = item.upload_time
    if item.size is not None:
        entry["size"] = item.size
    entry["hashes"] = dict(item.hashes)
    return entry


def _package(package: LockedPackage) -> List[str]:
    body: Dict[str, Any] = {"name": package.name, "version": str(package.version), "index": package.index}
    if package.sdist is not None:
        body["sdist"] = _file(package.sdist)
    if package.wheels:
        body["wheels"] = [_file(w) for w in package.wheels]
    lines = toml_writer.table(["packages"], body, array=True)
    tool = {"rules": package.rules or None, "reasons": package.reasons or None}
    if any(v is not None for v in tool.values()):
        lines += toml_writer.table(["packages", "tool", "pinguard"], tool)
    return lines + [""]


def tool_table(lock: Lock) -> Dict[str, Any]:
    target = lock.target
    return {
        "anchors": list(lock.anchors),
        "python": "%d.%d" % (target.python.major, target.python.minor),
        "platform": target.platform,
        "build": target.build,
        "gpu": str(target.gpu) if target.gpu is not None else None,
        "knowledge": lock.knowledge or None,
        "backend": lock.backend or None,
        "version": lock.version or None,
        "sources": [list(s) for s in lock.sources],
        "build-index": list(lock.build_index) if lock.build_index else None,
    }


def render_pylock(lock: Lock, header: Optional[str] = None) -> str:
    lines = ["# " + header] if header else []
    lines += toml_writer.pairs({
        "lock-version": LOCK_VERSION,
        "environments": [environment_marker(lock)],
        "requires-python": requires_python(lock),
        "extras": [],
        "dependency-groups": [],
        "default-groups": [],
        "created-by": "pinguard",
    })
    lines.append("")
    for package in lock.packages:
        lines += _package(package)
    lines += toml_writer.table(["tool", "pinguard"], tool_table(lock))
    if lock.inputs:
        lines += [""] + toml_writer.table(["tool", "pinguard", "inputs"], dict(sorted(lock.inputs.items())))
    return "\n".join(lines) + "\n"
