"""A `Lock` as a hashed requirements file, for the pips that cannot read pylock.toml (every pip that runs on
Python 3.7): `pip install --require-hashes -r FILE` (pip adds --require-hashes itself once a line has a hash).

The index lines come first (the sources the files were read from, and the knowledge base's index for a `+label`
build), then one `name==version` per package with a `--hash` per file. pinguard's provenance is kept in
`# pinguard: key = value` comment lines, which `lock --check` and `check` read back."""

from __future__ import annotations

from typing import List

from pinguard.adapters.pylock_output import tool_table
from pinguard.engines.lock import Lock

PREFIX = "# pinguard: "


def render_requirements(lock: Lock, header: str = "") -> str:
    lines = ["# " + header] if header else []
    table = tool_table(lock)
    for key in ("anchors", "python", "platform", "build", "gpu", "knowledge", "backend", "version"):
        value = table.get(key)
        if value:
            lines.append("%s%s = %s" % (PREFIX, key, " ".join(value) if isinstance(value, list) else value))
    for path, digest in sorted(lock.inputs.items()):
        lines.append("%sinput %s = %s" % (PREFIX, path, digest))
    lines += _source_lines(lock)
    for package in lock.packages:
        lines.append("%s==%s \\" % (package.name, package.version))
        hashes = ["--hash=%s:%s" % (algo, digest) for f in package.files for algo, digest in sorted(f.hashes.items())]
        lines += ["    %s%s" % (h, " \\" if i < len(hashes) - 1 else "") for i, h in enumerate(hashes)]
        notes = package.reasons + (["rules: " + ", ".join(package.rules)] if package.rules else [])
        if notes:
            lines.append("    # %s" % "; ".join(notes))
    return "\n".join(lines) + "\n"


def _source_lines(lock: Lock) -> List[str]:
    lines = []
    options = [option for option, _ in lock.sources]
    if "--index-url" not in options:
        lines.append("--no-index")
    for option, location in lock.sources:
        lines.append("%s %s" % (option, location))
    if lock.build_index and tuple(lock.build_index) not in [tuple(s) for s in lock.sources]:
        lines.append("# the +%s build is published at %s %s" % (lock.target.build, lock.build_index[0],
                                                                 lock.build_index[1]))
    return lines
