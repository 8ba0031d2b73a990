"""The `constraints/` folder: a ready pip constraints file for every torch release x build, and an index.

Regenerate with `python -m pinguard.adapters.constraints_dir constraints/`; the test suite fails when a committed
file differs from what the knowledge base generates.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, List, Optional

from pinguard import kb as kb_module
from pinguard.adapters.formats import render_pip
from pinguard.engines.generate import generate
from pinguard.fsutil import write_atomic
from pinguard.kb_types import KnowledgeBase
from pinguard.model import Anchor


def file_name(torch: str, build: str) -> str:
    return "torch-%s-%s.txt" % (torch, build)


def expected_files(kb: KnowledgeBase) -> Dict[str, str]:
    """file name -> content, for every release and build, plus README.md and index.json."""
    files: Dict[str, str] = {}
    entries: List[Dict[str, Any]] = []
    for release in kb.releases:
        anchor = [Anchor.parse("torch==%s" % release.torch)]
        for build in release.builds:
            default = release.on_pypi and build == release.default_build
            result = generate(kb, anchor, build=None if default else build)
            name = file_name(str(release.torch), build)
            files[name] = render_pip(kb, result)
            entries.append({"file": name, "torch": str(release.torch), "build": build, "pypi_default": default,
                            "python": list(release.python), "index": result.index[1] if result.index else None,
                            "missing_wheels": {m: list(p) for m, p in release.missing_wheels.items()}})
    files["index.json"] = json.dumps(entries, indent=1) + "\n"
    files["README.md"] = _readme(entries)
    return files


def _readme(entries: List[Dict[str, Any]]) -> str:
    lines = [
        "# Ready constraints files, one per torch release and build",
        "",
        "Generated from pinguard's knowledge base (`python -m pinguard.adapters.constraints_dir constraints/`);",
        "do not edit by hand. Use: `pip install -c constraints/torch-1.10.0-cu113.txt ...`. The PyPI default",
        "build's file pins plain versions (what PyPI serves); the others pin `+build` labels and carry the index",
        "option that reaches them. `index.json` lists the same in machine form. A family member without a wheel",
        "for one of the listed Pythons (last column) is pinned with a `python_version !=` marker: on that Python",
        "the file installs torch without it.",
        "",
        "| file | torch | build | PyPI default | Python | no member wheel |",
        "|---|---|---|---|---|---|",
    ]
    for entry in entries:
        missing = entry["missing_wheels"]
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            entry["file"], entry["torch"], entry["build"], "yes" if entry["pypi_default"] else "",
            ", ".join(entry["python"]),
            "; ".join("%s: %s" % (m, ", ".join(p)) for m, p in sorted(missing.items()))))
    return "\n".join(lines) + "\n"


def write(directory: str, kb: Optional[KnowledgeBase] = None) -> List[str]:
    """Write every expected file and remove stale generated ones; returns the names written."""
    kb = kb or kb_module.load()
    files = expected_files(kb)
    os.makedirs(directory, exist_ok=True)
    for stale in os.listdir(directory):
        if stale.startswith("torch-") and stale.endswith(".txt") and stale not in files:
            os.unlink(os.path.join(directory, stale))
    for name, text in files.items():
        write_atomic(os.path.join(directory, name), text)
    return sorted(files)


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "constraints"
    print("wrote %d files to %s" % (len(write(target)), target))
