"""A `Lock` for conda (`lock --format conda`): `conda-meta/pinned` lines with conda's names (exact versions, the
torch build as a build-string glob, the CUDA runtime of a `+cuXXX` build), then an `@EXPLICIT`-style list. A lock
resolved from package indexes knows no conda channel, so the explicit list names a URL only for files served from
a conda channel, and says for the others that they are PyPI files (install them from the hashed requirements)."""

from __future__ import annotations

from typing import List

from pinguard.adapters.formats import _conda_build_glob, _cuda_dotted, conda_name
from pinguard.engines.lock import Lock
from pinguard.kb_types import KnowledgeBase

CONDA_SUFFIXES = (".conda", ".tar.bz2")


def render_conda_lock(kb: KnowledgeBase, lock: Lock, header: str = "") -> str:
    lines = ["# " + header] if header else []
    lines.append("# conda-meta/pinned lines")
    pypi_only: List[str] = []
    for package in lock.packages:
        name = conda_name(kb, package.name)
        if name is None:
            pypi_only.append("%s==%s" % (package.name, package.version))
            continue
        build = _conda_build_glob(lock.target.build) if package.name == "torch" and lock.target.build else ""
        lines.append(("%s ==%s %s" % (name, package.version.base_version, build)).rstrip())
    dotted = _cuda_dotted(lock.target.build) if lock.target.build else None
    torch = lock.package("torch")
    if dotted and torch is not None:
        runtime = "cudatoolkit" if torch.version.release < (1, 13) else (
            "pytorch-cuda" if torch.version.release < (2, 6) else "cuda-version")
        lines.append("%s %s.*" % (runtime, dotted))
    for line in pypi_only:
        lines.append("# not a conda package (PyPI only): %s" % line)
    lines += ["", "# @EXPLICIT list (files from a conda channel only)", "@EXPLICIT"]
    for package in lock.packages:
        conda_files = [f for f in package.files if f.filename.endswith(CONDA_SUFFIXES)]
        for item in conda_files:
            digest = item.hashes.get("sha256") or item.hashes.get("md5", "")
            lines.append("%s#%s" % (item.url, digest))
        if not conda_files:
            lines.append("# %s==%s: no conda channel known (PyPI files); install it from the hashed "
                         "requirements" % (package.name, package.version))
    return "\n".join(lines) + "\n"
